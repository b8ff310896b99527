"""How well rag.ofsted reads the scale corpus's own headings, field by field.

    .venv/bin/python bench/ofsted_metadata_accuracy.py [CORPUS_DIR] [--show FIELD]

CORPUS_DIR is the unpacked scale corpus (default /tmp/scale/ofsted-reports-text; if it
is missing, ../shared/scale-corpus/ofsted-reports-text.tar.xz is unpacked there). The
manifest is the reference where it is comparable:

- council: the manifest's authority, compared by `same_council` (key or initialism);
- published: the manifest's date (gov.uk's publication date). A report of the 2018-on
  ILACS framework states no publication date, so coverage is reported beside accuracy;
- kind: the folder (`focused-visits/` holds only focused-visit letters in this corpus,
  `ilacs/` only inspection reports, one a stand-alone LSCB review);
- framework, inspection dates, overall effectiveness: no manifest column, so coverage
  and plausibility (framework against the visit's year, start <= end <= publication,
  the visit ending within 150 days before publication).

`--show FIELD` lists the documents that disagree on that field, to read them.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.ofsted import read_metadata, same_council  # noqa: E402

DEFAULT = Path("/tmp/scale/ofsted-reports-text")
ARCHIVE = (Path(__file__).resolve().parent.parent.parent / "shared" / "scale-corpus"
           / "ofsted-reports-text.tar.xz")


def corpus_dir(arg: str | None) -> Path:
    root = Path(arg) if arg else DEFAULT
    if not (root / "manifest.csv").exists():
        if arg or not ARCHIVE.exists():
            sys.exit(f"no manifest.csv under {root} and no archive at {ARCHIVE}")
        root.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-xJf", str(ARCHIVE), "-C", str(root.parent)], check=True)
    return root


def manifest_date(text: str) -> str | None:
    try:
        return datetime.strptime(text.strip(), "%d %B %Y").date().isoformat()
    except ValueError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?")
    parser.add_argument("--show", choices=["council", "published", "kind", "framework",
                                           "dates", "overall"])
    args = parser.parse_args()
    root = corpus_dir(args.corpus)
    rows = list(csv.DictReader(open(root / "manifest.csv", encoding="utf-8")))
    seen, right, wrong = Counter(), Counter(), {}
    started = time.perf_counter()
    for row in rows:
        text = (root / row["file"]).read_text(encoding="utf-8")
        meta = read_metadata(text)
        letter = row["collection"] == "focused-visits"
        checks: dict[str, bool | None] = {}
        checks["council"] = meta.council is not None and same_council(meta.council,
                                                                       row["authority"])
        checks["kind"] = meta.kind == ("focused visit" if letter else "inspection")
        want = manifest_date(row["date"])
        checks["published"] = None if meta.published is None else meta.published == want
        seen["published: stated"] += meta.published is not None
        if not letter:
            year = int(meta.inspection_start[:4]) if meta.inspection_start else None
            fw = meta.framework
            checks["framework"] = (fw is not None and year is not None and (
                (fw == "SIF" and 2013 <= year <= 2018) or (fw == "ILACS" and year >= 2018)))
            checks["overall"] = meta.judgements.get("overall_effectiveness") is not None
        else:
            checks["framework"] = meta.framework is None and meta.judgements == {}
        start, end = meta.inspection_start, meta.inspection_end
        published = meta.published or want
        plausible = bool(start and end and published and start <= end <= published and (
            date.fromisoformat(published) - date.fromisoformat(end)).days <= 150)
        checks["dates"] = plausible
        for name, ok in checks.items():
            if ok is None:
                continue
            seen[name] += 1
            right[name] += ok
            if not ok:
                wrong.setdefault(name, []).append((row["file"], row["authority"], row["date"],
                                                   meta))
    elapsed = time.perf_counter() - started
    print(f"{len(rows)} documents, {elapsed:.2f} s ({1000 * elapsed / len(rows):.2f} ms each)")
    labels = {
        "council": "council = manifest authority",
        "kind": "kind = folder's kind",
        "published": "published = manifest date (where stated)",
        "framework": "framework plausible (reports) / none (letters)",
        "dates": "inspection dates present and plausible",
        "overall": "overall effectiveness read (reports)",
    }
    for name, label in labels.items():
        if seen[name]:
            print(f"  {label:50s} {right[name]:4d}/{seen[name]:<4d} "
                  f"{right[name] / seen[name]:.3f}")
    print(f"  published stated: {seen['published: stated']}/{len(rows)}")
    if args.show:
        for file, authority, when, meta in wrong.get(args.show, []):
            print(f"\n{file} | {authority} | {when}\n  {meta}")


if __name__ == "__main__":
    main()
