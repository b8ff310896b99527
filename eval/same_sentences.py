"""Check that two runs of `rag ask --json` differ only in the answer's layout.

    python eval/same_sentences.py OLD.ask.jsonl NEW.ask.jsonl

For issue 19 (rag/form.py), which changed how an answer is laid out and nothing else:
per question, every field but ``answer`` must be identical (citations, their numbers and
quotes, abstained, closest, notice), and the answers must hold the same cited sentences
with the same markers (rag.metrics.answer_statements, which drops lead-ins and bullets),
in any order. Exits 1 and names the questions that differ otherwise.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from rag.metrics import answer_statements


def differences(old: dict, new: dict) -> list[str]:
    """What differs between two answers to one question, layout aside."""
    out = [f"field {k}" for k in sorted(set(old) | set(new))
           if k != "answer" and old.get(k) != new.get(k)]
    statements = [Counter((text, tuple(marks)) for text, marks in answer_statements(x["answer"]))
                  for x in (old, new)]
    if statements[0] != statements[1]:
        out.append(f"sentences: {statements[0] - statements[1]} -> {statements[1] - statements[0]}")
    return out


def main(argv: list[str]) -> int:
    old, new = ([json.loads(line) for line in Path(p).read_text().splitlines() if line.strip()]
                for p in argv[1:3])
    if len(old) != len(new):
        print(f"{len(old)} answers against {len(new)}")
        return 1
    bad = 0
    for a, b in zip(old, new, strict=True):
        found = differences(a, b)
        if found:
            bad += 1
            print(f"{a.get('id') or a['question']}: {'; '.join(found)}")
    changed = sum(a["answer"] != b["answer"] for a, b in zip(old, new, strict=True))
    print(f"{len(old)} answers: {bad} differ beyond layout; {changed} changed layout")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
