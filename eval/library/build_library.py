"""Build a library of many councils' reports and index it with the product's own CLI.

A library is what a real user holds: hundreds of Ofsted reports and letters on many
councils and years. It is made from the scale corpus (../shared/scale-corpus/
ofsted-reports-text.tar.xz, 859 documents on 153 councils; never committed) plus the
starting corpus (tests/fixtures/corpus, five Birmingham documents).

  --size small   the CI library: every report and letter on the councils of the library
                 dev set (eval/library/councils.json, "small"), chosen from the corpus
                 manifest by council, plus the starting corpus (64 documents)
  --size full    all 859 scale-corpus documents plus the starting corpus

Run from the repository root:

  .venv/bin/python eval/library/build_library.py --size small
  .venv/bin/rag --index-dir build/library-small/index eval --qa eval/library/qa.jsonl

The result, under --out (default build/library-<size>):
  corpus/         the chosen .txt files, named <council>_<original file name>, and the
                  starting corpus under its own names (with its catalog.toml)
  library.csv     one row per document: file, council, date, collection, origin
  index/          built by `rag --index-dir OUT/index index --quiet OUT/corpus`

Re-running syncs: files no longer chosen are removed from corpus/, and `rag index` only
embeds what changed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TARBALL = ROOT.parent / "shared" / "scale-corpus" / "ofsted-reports-text.tar.xz"
START_CORPUS = ROOT / "tests" / "fixtures" / "corpus"
COUNCILS = HERE / "councils.json"
MANIFEST = "manifest.csv"


def slug(text: str) -> str:
    """'bournemouth, christchurch & poole' -> 'bournemouth-christchurch-poole'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def small_councils() -> list[str]:
    return json.loads(COUNCILS.read_text(encoding="utf-8"))["small"]


def read_tar(tarball: Path) -> tuple[str, dict[str, bytes]]:
    """The tarball's top folder and every member file, by path relative to that folder."""
    if not tarball.is_file():
        sys.exit(
            f"{tarball}: not found. The scale corpus lives in ../shared/scale-corpus/; "
            "pass --tarball PATH if it is elsewhere."
        )
    files: dict[str, bytes] = {}
    top = ""
    with tarfile.open(tarball, "r:xz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            top, _, rel = member.name.partition("/")
            handle = tar.extractfile(member)
            if handle is not None and rel:
                files[rel] = handle.read()
    if MANIFEST not in files:
        sys.exit(f"{tarball}: no {MANIFEST} inside; is this the scale corpus?")
    return top, files


def choose(rows: list[dict[str, str]], size: str) -> list[dict[str, str]]:
    """The manifest rows of the library: by council, never by file name."""
    if size == "full":
        return rows
    wanted = small_councils()
    known = {r["authority"] for r in rows}
    missing = [c for c in wanted if c not in known]
    if missing:
        sys.exit(f"{COUNCILS}: councils not in the manifest: {missing}")
    return [r for r in rows if r["authority"] in wanted]


def library_name(row: dict[str, str]) -> str:
    return f"{slug(row['authority'])}_{Path(row['file']).name}"


def write_corpus(out: Path, size: str, tarball: Path, start: Path) -> list[dict[str, str]]:
    _, files = read_tar(tarball)
    rows = list(csv.DictReader(io.StringIO(files[MANIFEST].decode("utf-8"))))
    chosen = choose(rows, size)
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, bytes] = {}
    listing: list[dict[str, str]] = []
    for row in sorted(chosen, key=lambda r: (r["authority"], r["file"])):
        name = library_name(row)
        if name in wanted:
            sys.exit(f"two manifest rows map to the same library file name {name!r}")
        if row["file"] not in files:
            sys.exit(f"{tarball}: manifest names {row['file']!r} but the tarball lacks it")
        wanted[name] = files[row["file"]]
        listing.append({"file": name, "council": row["authority"], "date": row["date"],
                        "collection": row["collection"], "origin": row["file"]})
    for path in sorted(start.iterdir()):
        if not path.is_file():
            continue
        if path.name in wanted:
            sys.exit(f"{path}: its name clashes with a scale-corpus file in the library")
        wanted[path.name] = path.read_bytes()
        if path.suffix != ".toml":
            listing.append({"file": path.name, "council": "birmingham", "date": "",
                            "collection": "starting corpus",
                            "origin": str(path.relative_to(ROOT))})
    for old in corpus.iterdir():  # sync: drop what is no longer chosen
        if old.is_file() and old.name not in wanted:
            old.unlink()
        elif old.is_dir():
            shutil.rmtree(old)
    for name, data in wanted.items():
        target = corpus / name
        if not (target.is_file() and target.read_bytes() == data):
            target.write_bytes(data)
    with (out / "library.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "council", "date", "collection", "origin"])
        writer.writeheader()
        writer.writerows(listing)
    return listing


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Build and index a many-council library from the scale corpus."
    )
    parser.add_argument("--size", choices=["small", "full"], default="small")
    parser.add_argument("--out", type=Path, help="default: build/library-<size>")
    parser.add_argument("--tarball", type=Path, default=TARBALL)
    parser.add_argument("--start-corpus", type=Path, default=START_CORPUS)
    parser.add_argument("--rag", default=str(ROOT / ".venv" / "bin" / "rag"),
                        help="the rag CLI to index with")
    parser.add_argument("--no-index", action="store_true", help="write corpus/ only")
    args = parser.parse_args()
    out = (args.out or ROOT / "build" / f"library-{args.size}").resolve()
    listing = write_corpus(out, args.size, args.tarball, args.start_corpus)
    councils = sorted({r["council"] for r in listing})
    print(f"{out / 'corpus'}: {len(listing)} documents on {len(councils)} councils")
    if args.no_index:
        return
    cmd = [args.rag, "--index-dir", str(out / "index"), "index", "--quiet", str(out / "corpus")]
    print("$", " ".join(cmd), flush=True)
    sys.exit(subprocess.run(cmd, cwd=ROOT).returncode)


if __name__ == "__main__":
    main()
