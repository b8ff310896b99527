"""Add each judgement question's judgement table as alternative evidence.

    .venv/bin/python eval/library/table_evidence.py [--index build/library-full/index] [--write]

A judgement question ("What was Sandwell's overall effectiveness judgement in the 2022
inspection?") is answered by the report's own judgement table, and retrieval puts that
passage first for most of them. The labels as first written accepted only the sentence
beside the table (README, "How it was written"), because a quote from a table ("Overall
effectiveness Requires improvement to be good") cannot tell one report from another, so
a right first passage scored as a miss. This script finds, for each judgement question,
the passage of the report it asks about (its council and year, in the index
`build_library.py --size full` built) that states the asked judgement
(`rag.ofsted.stated_judgement`, as retrieval finds it), checks that the grade stated
there is the question's grade key fact (a question may ask for more besides), and adds
that passage's "Inspection dates: ..." line, which only that report has, as an
alternative quote, so that passage counts and no other report's table does; an older
report with no dates line states its judgement in a sentence naming the council
("Children's services in Croydon are inadequate"), which is used instead when no other
chunk of the library has it. Otherwise (no dates line in the table's passage, or a quote
another report shares: North and West Northamptonshire's 2022 reports are word for word
alike) the stated judgement itself is added tied to its report, `{"source": FILE,
"quote": "Overall effectiveness Good"}`, which counts only in that report's passages
(rag.metrics.evidence_ranks). A question whose passage states another grade than its key
fact, or that is not read as a judgement question, is left as it was. It prints every decision;
`--write` rewrites qa.jsonl.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from rag.metrics import Quote, alternatives
from rag.ofsted import JUDGEMENT_CHUNKS, council_key, stated_judgement
from rag.query import understand
from rag.records import Filters
from rag.store import IndexReader
from rag.words import normalise

HERE = Path(__file__).resolve().parent
_GRADE = re.compile(r"inadequate|requires|good|outstanding", re.I)  # a grade key fact
# The dates line and, where it follows, the lead inspector's name: two councils inspected
# in the same weeks share a dates line (four of the library's did).
_DATES = re.compile(r"Inspection dates?:[^\n]*?(?:19|20)\d\d(?:\s*\n\s*Lead inspector:[^,\n]*)?")


def table_quote(reader: IndexReader, item: dict) -> tuple[Quote | None, str]:
    """The alternative quote for one judgement question, or None, and why."""
    query = understand(item["question"], lexicon=reader)
    if query.judgement is None:
        return None, "not read as a judgement question"
    filters = Filters(councils=(council_key(item["council"]),), years=(str(item["year"]),))
    for doc_id in reader.judged_documents(filters):
        for passage in reader.opening_passages(doc_id, JUDGEMENT_CHUNKS):
            spans = [s for key in query.judgement.keys
                     if (s := stated_judgement(passage.text, key))]
            if not spans:
                continue
            stated = passage.text[spans[0][0]:spans[0][1]]
            grades = [k for k in item["key_facts"] if _GRADE.search(k)]
            if not grades or not all(re.search(k, stated, re.I) for k in grades):
                return None, f"{doc_id}: states {stated!r}, not the grade asked"
            dates = _DATES.search(passage.text)
            if dates is not None and unique(reader, " ".join(dates.group().split())):
                return " ".join(dates.group().split()), f"{doc_id}: {stated!r}"
            # An older report states its judgement in a sentence naming the council
            # ("Children's services in Croydon are inadequate"): that sentence, when no
            # other chunk of the library has it.
            if normalise(item["council"].split(",")[0]) in normalise(stated) and unique(
                    reader, stated):
                return stated, f"{doc_id}: its judgement sentence"
            # Otherwise the table's own words, counted only in this report's passages.
            return ({"source": passage.doc.source, "quote": " ".join(stated.split())},
                    f"{doc_id}: {stated!r}, tied to its report")
    return None, "no judged report of that council and year"


def unique(reader: IndexReader, quote: str) -> bool:
    """Whether exactly one chunk of the index holds the quote."""
    wanted = normalise(quote)
    hits = [t for (t,) in reader.conn.execute("SELECT text FROM chunks")
            if wanted in normalise(t)]
    return len(hits) == 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    # Quotes are checked unique against this index: the full library's, so that no
    # other council's report has them either.
    parser.add_argument("--index", default="build/library-full/index")
    parser.add_argument("--qa", default=str(HERE / "qa.jsonl"))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv[1:])
    reader = IndexReader(Path(args.index))
    lines = Path(args.qa).read_text(encoding="utf-8").splitlines()
    out, added = [], 0
    for line in lines:
        item = json.loads(line)
        if item.get("type") == "judgement" and item.get("council") and item.get("year"):
            quote, why = table_quote(reader, item)
            have = [q for e in item["evidence"] for q in alternatives(e)]
            if quote and quote not in have:
                item["evidence"][0] = [*alternatives(item["evidence"][0]), quote]
                added += 1
                print(f"{item['id']} + {quote!r} ({why})")
            else:
                why = why if not quote else "already there"
                print(f"{item['id']}   unchanged: {why}")
            line = json.dumps(item, ensure_ascii=False)
        out.append(line)
    print(f"{added} judgement questions given their table passage as evidence")
    if args.write:
        Path(args.qa).write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
