"""Check the library dev set against a built library index, without the model.

Every evidence quote of eval/library/qa.jsonl must be found, after rag.words.normalise
on both sides, inside one chunk of the index (table `chunks`, column `text` of
the index in INDEX), which is the rule `rag eval` scores retrieval by. A failing quote is
printed with its question id, and the exit status is 1. Of a list of alternatives, one
found is enough: the others may be in documents only the full library holds, so the
check is run on both libraries. A quote written {"source": FILE, "quote": TEXT} (a
judgement table, word for word the same in other reports) must be in FILE's chunks.

Warnings (printed, not failures): a quote of a question about one council found only
in another council's documents, or in several councils' documents (so retrieving the
wrong council would still count); a question's council and year that no indexed
document carries (the index's date, as the loader read it); key facts that neither the
chunks holding a question's evidence nor the chunks next to them match; an
unanswerable question whose council or year the library does hold.

  .venv/bin/python eval/library/check_qa.py [--qa eval/library/qa.jsonl]
                                            [--index build/library-small/index]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from rag import metrics, store  # noqa: E402
from rag.words import normalise  # noqa: E402

START_PUBLISHERS = ("children-first", "community-care")  # starting-corpus file prefixes
FIELDS = {"id", "question", "answerable", "evidence", "key_facts", "type", "council", "year",
          "why", "history"}


def slug(text: str) -> str:
    text = text.lower().replace("&", " ").replace(" and ", " ")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def council_of(doc_id: str) -> str:
    """Library files are named <council>_<original name>; the starting corpus is Birmingham."""
    head, sep, _ = doc_id.partition("_")
    if sep and re.fullmatch(r"[a-z-]+", head) and head not in START_PUBLISHERS:
        return head
    return "birmingham"


def load_index(index: Path) -> tuple[list[tuple[str, str, str, int]], dict[str, str]]:
    try:
        con = store.connect(index, readonly=True)
    except store.IndexMissing:
        sys.exit(f"{index}: no index; build it with eval/library/build_library.py --size small")
    chunks = [(doc, text, normalise(text), ordinal) for doc, text, ordinal in
              con.execute("SELECT doc_id, text, ordinal FROM chunks ORDER BY id")]
    dates = dict(con.execute("SELECT doc_id, coalesce(date, '') FROM documents"))
    con.close()
    return chunks, dates


def quotes_of(item: dict) -> list[list[metrics.Quote]]:
    return [metrics.alternatives(ev) for ev in item.get("evidence", [])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, default=HERE / "qa.jsonl")
    parser.add_argument("--index", type=Path, default=ROOT / "build" / "library-small" / "index")
    args = parser.parse_args()
    chunks, dates = load_index(args.index)
    by_place = {(doc, ordinal): text for doc, text, _, ordinal in chunks}
    councils = {council_of(d) for d in dates}
    items = [json.loads(line) for line in args.qa.read_text(encoding="utf-8").splitlines()
             if line.strip()]

    failures: list[str] = []
    absent = 0
    warnings: list[str] = []
    seen: set[str] = set()
    n_quotes = 0
    for item in items:
        qid = item.get("id", "?")
        # --- the record itself
        if qid in seen:
            failures.append(f"{qid}: duplicate id")
        seen.add(qid)
        unknown = set(item) - FIELDS
        if unknown:
            failures.append(f"{qid}: unknown fields {sorted(unknown)}")
        if not isinstance(item.get("answerable"), bool) or not item.get("question"):
            failures.append(f"{qid}: needs a question and a boolean answerable")
        for rx in item.get("key_facts", []):
            try:
                re.compile(rx)
            except re.error as exc:
                failures.append(f"{qid}: key fact {rx!r} is not a regex ({exc})")
        if item.get("answerable") and not (item.get("evidence") and item.get("key_facts")):
            failures.append(f"{qid}: an answerable question needs evidence and key facts")
        if not item.get("answerable") and item.get("evidence"):
            failures.append(f"{qid}: an unanswerable question has evidence")
        # --- evidence quotes: each in one chunk
        target = slug(item["council"]) if item.get("council") else None
        evidence_places: set[tuple[str, int]] = set()
        for alternatives in quotes_of(item):
            missing = []
            for quote in alternatives:
                n_quotes += 1
                # A quote tied to a source is looked for in that document alone.
                source = None if isinstance(quote, str) else quote["source"]
                quote = metrics.quote_text(quote)
                nq = normalise(quote)
                hits = [(doc, ordinal) for doc, _, norm, ordinal in chunks
                        if nq in norm and source in (None, doc)]
                if not hits:
                    missing.append(quote)
                    continue
                evidence_places.update(hits)
                words = len(quote.split())
                if not 6 <= words <= 30:
                    warnings.append(f"{qid}: quote of {words} words: {quote[:60]!r}")
                found_in = {council_of(doc) for doc, _ in hits}
                if target and found_in != {target}:
                    warnings.append(f"{qid}: quote about {target} found in {sorted(found_in)}: "
                                    f"{quote[:60]!r}")
            # An alternative may come from a document only the full library holds (the
            # no-council questions' pooled judgements): missing here is fine while another
            # alternative is found. Run the check on both libraries.
            if len(missing) == len(alternatives):
                failures += [f"{qid}: quote not in any chunk: {q!r}" for q in missing]
            else:
                absent += len(missing)
        # --- key facts: does the evidence, or the chunk either side of it, say them?
        # (A report's judgement table is often a chunk of its own, naming no council,
        # just before the opening paragraph that the evidence quotes.)
        if item.get("answerable") and evidence_places:
            joined = "\n".join(by_place.get((doc, ordinal + step), "")
                               for doc, ordinal in evidence_places for step in (-1, 0, 1))
            for rx in item.get("key_facts", []):
                if not re.search(rx, joined, re.I):
                    warnings.append(f"{qid}: key fact {rx!r} not in its evidence chunks")
        # --- answerable: the index dates some document of that council in that year
        if item.get("answerable") and target and item.get("year"):
            held = [d for d in dates if council_of(d) == target
                    and dates[d][:4] == str(item["year"])]
            if not held:
                warnings.append(f"{qid}: no {target} document is dated {item['year']} in the index")
        # --- unanswerable: the library must lack the council or the year
        if not item.get("answerable") and target:
            if target in councils:
                year = str(item.get("year", ""))
                held = [d for d in dates if council_of(d) == target and dates[d][:4] == year]
                if not year or held:
                    warnings.append(f"{qid}: the library holds {target} {year}: {held}")
            else:
                name = normalise(item["council"])
                mentions = {doc for doc, _, norm, _ in chunks if name in norm}
                if mentions:
                    warnings.append(f"{qid}: {item['council']} is mentioned in {sorted(mentions)}")

    for line in warnings:
        print("warning:", line)
    for line in failures:
        print("FAIL:", line)
    answerable = [i for i in items if i.get("answerable")]
    print(f"{len(items)} questions ({len(answerable)} answerable, "
          f"{len(items) - len(answerable)} unanswerable); {n_quotes} quotes checked against "
          f"{len(chunks)} chunks of {len(dates)} documents in {args.index}")
    print("by type:", dict(Counter(i.get("type", "?") for i in items)))
    asked = Counter(slug(i["council"]) for i in answerable if i.get("council"))
    print(f"councils asked about ({len(asked)}):", dict(sorted(asked.items())))
    print(f"{len(failures)} failures, {len(warnings)} warnings; {absent} alternative quotes "
          "are not in this library (another alternative of theirs is)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
