#!/usr/bin/env bash
# The refactoring guard: the CLI's JSON for every dev and held-out question must stay
# byte-identical to eval/golden/, which was written by the code before the restructuring.
#   eval/check_unchanged.sh           compare (exit 1 and show the first differences)
#   eval/check_unchanged.sh --update  rewrite eval/golden/ (only for an intended change)
# The index is built from the test fixture corpus (tests/fixtures/corpus, a copy of the
# starting corpus) into build/golden-index, so uploads into corpus/ cannot move it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
INDEX=build/golden-index
GOLDEN=eval/golden
OUT=build/golden-out
export RAG_CONFIG=/dev/null  # the defaults, whatever rag.toml says
mkdir -p "$OUT"
rm -rf "$INDEX"  # from scratch: a change to cleaning or chunking must show
"$BIN/rag" --index-dir "$INDEX" index --quiet tests/fixtures/corpus >/dev/null
"$BIN/rag" --index-dir "$INDEX" ask --questions eval/qa.jsonl --json > "$OUT/qa.ask.jsonl"
"$BIN/rag" --index-dir "$INDEX" ask --questions eval/holdout.jsonl --json \
  > "$OUT/holdout.ask.jsonl"
"$BIN/rag" --index-dir "$INDEX" search --questions eval/qa.jsonl --json > "$OUT/qa.search.jsonl"
if [ "${1:-}" = "--update" ]; then
  cp "$OUT"/*.jsonl "$GOLDEN"/
  echo "updated $GOLDEN/"
  exit 0
fi
status=0
for f in qa.ask.jsonl holdout.ask.jsonl qa.search.jsonl; do
  if cmp -s "$OUT/$f" "$GOLDEN/$f"; then
    echo "same      $f"
  else
    echo "DIFFERENT $f"
    diff <(tr ',' '\n' < "$GOLDEN/$f") <(tr ',' '\n' < "$OUT/$f") | head -20 || true
    status=1
  fi
done
exit $status
