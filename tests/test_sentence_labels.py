"""The sentence labels behind answer precision (eval/sentence_labels.jsonl) are honest data.

Fast and model-free. Every label names a question of the dev or held-out set that can be
answered, and a sentence that occurs, after normalising, in the corpus file it names: a
label cannot drift from the corpus or outlive its question. Whether the current answers
are all labelled needs the pipeline: eval/label_sentences.py checks that.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

from rag.documents import load_catalog, load_document
from rag.evaluation import load_labels
from rag.words import normalise

ROOT = Path(__file__).parent.parent
LABELS = ROOT / "eval" / "sentence_labels.jsonl"
QA_FILES = [ROOT / "eval" / "qa.jsonl", ROOT / "eval" / "holdout.jsonl"]
CORPUS_DIR = ROOT / "tests" / "fixtures" / "corpus"  # the corpus the sets were written from
MIN_LABELS = 300  # "a few hundred", the issue asked


@cache
def rows() -> list[dict]:
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()
            if line.strip()]


@cache
def questions() -> dict[str, dict]:
    return {item["id"]: item for path in QA_FILES
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
            for item in [json.loads(line)]}


def test_the_loader_reads_every_label_without_a_contradiction() -> None:
    labels = load_labels(LABELS)  # raises on a malformed line or a sentence labelled both ways
    assert sum(len(v) for v in labels.values()) >= MIN_LABELS


def test_every_label_has_its_fields_and_a_question_that_can_be_answered() -> None:
    known = questions()
    for n, row in enumerate(rows(), start=1):
        where = f"line {n}"
        assert isinstance(row.get("source"), str) and row["source"], f"{where}: no source"
        assert isinstance(row.get("on_topic"), bool), f"{where}: on_topic must be true/false"
        item = known.get(row.get("id"))
        assert item is not None, f"{where}: no question {row.get('id')!r} in the QA files"
        assert item["answerable"], f"{where}: {row['id']} cannot be answered"
        assert "paraphrase_of" not in item, (
            f"{where}: label {row['id']}'s original {item['paraphrase_of']}, which it shares")


def test_every_labelled_sentence_is_in_the_corpus_file_it_names() -> None:
    # As the index reads the file: cleaned, so a sentence a page footer interrupts in the
    # raw text ("... Improvements / Ofsted is proud to use recycled paper / include ...")
    # is found whole, as the answer quotes it.
    catalog = load_catalog(CORPUS_DIR)
    texts = {p.name: normalise(load_document(p, CORPUS_DIR, catalog).text)
             for p in CORPUS_DIR.iterdir() if p.suffix == ".txt"}
    missing = [f"{row['id']}: {row['source']}: {row['sentence'][:80]!r}" for row in rows()
               if normalise(row["sentence"]) not in texts.get(row["source"], "")]
    assert not missing, "labelled sentences not in their corpus file:\n" + "\n".join(missing)


def test_each_sentence_is_labelled_once_per_question() -> None:
    counts = Counter((row["id"], normalise(row["sentence"])) for row in rows())
    assert not [key for key, n in counts.items() if n > 1]


def test_both_kinds_of_label_are_there() -> None:
    kinds = Counter(row["on_topic"] for row in rows())
    assert kinds[True] and kinds[False], "a label file of one kind measures nothing"
