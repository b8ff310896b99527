"""Does any answer to a dev question naming one council cite another council's report?

    .venv/bin/python eval/library/check_councils.py build/library-small/index

Runs every answerable question of eval/library/qa.jsonl that names a council through the
assistant and compares the councils of its citations with those the question names.
Prints each offender and a count; exits 1 when there is any.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from rag.answering import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402


def main() -> int:
    index = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "library-small" / "index"
    assistant = Assistant(replace(load_settings(), index_dir=index))
    names = assistant.retriever.reader.councils()
    answered = offenders = 0
    for line in (ROOT / "eval" / "library" / "qa.jsonl").read_text().splitlines():
        item = json.loads(line)
        if not (item.get("council") and item["answerable"]):
            continue
        answer = assistant.answer(item["question"])
        if answer.abstained:
            continue
        answered += 1
        named = {names[k] for k in assistant.understand(item["question"]).councils}
        cited = {c.passage.doc.council for c in answer.citations}
        if not cited <= named:
            offenders += 1
            print(f"{item['id']}: names {sorted(named)}, cites {sorted(map(str, cited))}")
    print(f"{answered} answered questions naming a council; {offenders} cite another council")
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main())
