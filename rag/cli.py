"""The `rag` command: index, search, ask, eval, library, status. A thin shell over the
package."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from rag.config import Settings, load_settings


def _progress_bar():  # noqa: ANN202 - returns a (callback, context manager) pair
    """A Rich progress bar driven by indexing's progress(label, done, total) callback."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]Indexing"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("{task.description}"), transient=True)
    task = bar.add_task("", total=None)

    def update(label: str, done: int, total: int) -> None:
        # A file name is text, not Rich markup: "minutes[/].txt" would be a closing tag.
        bar.update(task, completed=done, total=total, description=escape(printable(label)))

    return update, bar


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(name: str) -> str:
    """A file name safe to print on a terminal: control characters (an escape sequence
    in a name would drive the terminal) shown as "?"."""
    return _CONTROL.sub("?", name)


def print_sync_report(report, out=sys.stdout) -> None:  # noqa: ANN001
    if report.rebuilt_because:
        print(f"Settings changed ({report.rebuilt_because}): rebuilt the index from scratch.",
              file=out)
    print(f"added {len(report.added)}, updated {len(report.updated)}, removed "
          f"{len(report.removed)}, unchanged {len(report.unchanged)}, failed "
          f"{len(report.failed)}; {report.chunks_embedded} chunks embedded", file=out)
    for label, names in (("added", report.added), ("updated", report.updated),
                         ("removed", report.removed)):
        for name in names:
            print(f"  {label:8} {printable(name)}", file=out)
    for name, reason in report.failed:
        print(f"  failed   {printable(name)}: {printable(reason)}", file=out)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from rag.indexing import sync

    corpus = Path(args.corpus_dir) if args.corpus_dir else settings.corpus_dir
    if args.quiet or not sys.stderr.isatty():
        report = sync(settings, corpus, prune=args.prune)
    else:
        update, bar = _progress_bar()
        with bar:
            report = sync(settings, corpus, progress=update, prune=args.prune)
    print_sync_report(report)
    return 0


def _questions(args: argparse.Namespace) -> Iterator[dict]:
    """One question from the command line, or each line of --questions FILE.jsonl."""
    if args.questions:
        path = Path(args.questions)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                item["question"]  # noqa: B018 - fail early on a missing field
            except (json.JSONDecodeError, KeyError, TypeError):
                raise SystemExit(
                    f"{path}:{n}: expected a JSON object with a \"question\" field") from None
            yield item
    elif args.question:
        yield {"question": args.question}
    else:
        raise SystemExit("give a QUESTION or --questions FILE.jsonl")


def _filters(args: argparse.Namespace):  # noqa: ANN202
    from rag.records import Filters

    return Filters(kinds=tuple(args.kind or ()), date_from=args.date_from, date_to=args.date_to,
                   doc_ids=tuple(args.doc or ()))


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from rag import provenance
    from rag.answering import too_long
    from rag.query import understand
    from rag.retrieval import Retriever

    retriever = Retriever(settings)
    filters = _filters(args)
    added = provenance.lookup(settings)
    for item in _questions(args):
        if len(item["question"]) > settings.max_question_chars:  # as Assistant.answer says
            print(f"rag: {too_long(item['question'], settings.max_question_chars).answer}",
                  file=sys.stderr)
            hits = []
        else:
            query = understand(item["question"], lexicon=retriever.reader)
            hits = retriever.search(query, k=args.k, filters=filters, mode=args.mode)
        if args.json:
            payload = [h.to_json() for h in hits]
            provenance.annotate(payload, added)
            if args.questions:
                payload = {"id": item.get("id"), "question": item["question"], "hits": payload}
            print(json.dumps(payload, ensure_ascii=False))
        else:
            print(f"Q: {item['question']}")
            for n, h in enumerate(hits, start=1):
                print(f"{n:2}. [{h.score:.4f}] {h.doc.title} ({h.doc.date or 'undated'}), "
                      f"{h.label}")
                print(f"    {h.text[:200].replace(chr(10), ' ')}")
    return 0


def print_answer(result, out=sys.stdout, added=None) -> None:  # noqa: ANN001
    """An answer and its sources as text; ``added`` (rag.provenance.lookup) notes the
    documents added through the page."""
    added = added or {}
    print(result.answer, file=out)
    if result.notice:
        print(f"\nNote: {result.notice}", file=out)
    if result.citations:
        print("\nSources:", file=out)
        for c in result.citations:
            prov = added.get(c.doc.source)
            print(f"  [{c.n}] {c.doc.title} ({c.doc.date or 'undated'}), {c.passage.label}"
                  f" - {c.doc.source}" + (f" ({prov.note})" if prov else ""), file=out)
    elif result.closest:
        print("\nClosest matches:", file=out)
        for h in result.closest:
            print(f"  - {h.doc.title} ({h.doc.date or 'undated'}): {h.text[:160]!r}", file=out)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag import provenance
    from rag.answering import Assistant

    assistant = Assistant(settings)
    filters = _filters(args)
    added = provenance.lookup(settings)
    for item in _questions(args):
        result = assistant.answer(item["question"], history=item.get("history", ()),
                                  filters=filters)
        if args.json:
            payload = result.to_json()
            provenance.annotate(payload["citations"], added)
            provenance.annotate(payload["closest"], added)
            if args.questions:
                payload = {"id": item.get("id"), **payload}
            print(json.dumps(payload, ensure_ascii=False))
        else:
            print_answer(result, added=added)
            print()
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Score the pipeline (and with --compare the baselines); exit 1 if a threshold is missed."""
    from rag.answering import Assistant
    from rag.evaluation import (
        THRESHOLDS,
        evaluate,
        find_labels,
        load_labels,
        load_qa,
        load_thresholds,
        metrics_of,
    )
    from rag.report import render_terminal, write_outputs
    from rag.systems import SYSTEMS

    try:  # bad input is reported before minutes are spent running the questions
        thresholds = load_thresholds(Path(args.thresholds)) if args.thresholds else {}
        items = load_qa(Path(args.qa))
        labels_path = find_labels(Path(args.qa), args.labels)
        labels = load_labels(labels_path) if labels_path else None
    except ValueError as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return 2
    thresholds.update({name: value for name in THRESHOLDS
                       if (value := getattr(args, name)) is not None})
    live = sys.stderr.isatty()

    def progress(system: str, done: int, total: int) -> None:
        if live:
            print(f"\r{system:6} {done}/{total}", end="\n" if done == total else "",
                  file=sys.stderr, flush=True)

    evaluation = evaluate(items, Assistant(settings),
                          systems=SYSTEMS if args.compare else ("full",), progress=progress,
                          labels=labels)
    metrics = metrics_of(evaluation, qa=args.qa, thresholds=thresholds,
                         labels=str(labels_path) if labels_path else None)
    print(render_terminal(metrics))
    if args.out:
        for path in write_outputs(Path(args.out), metrics, evaluation):
            print(f"wrote {path}")
        if not (Path(args.out) / "metrics.png").exists():
            print("no chart: matplotlib is not installed (pip install matplotlib)")
    for line in metrics["failed"]:
        print(f"FAIL: {line}", file=sys.stderr)
    return 1 if metrics["failed"] else 0


def cmd_library(args: argparse.Namespace, settings: Settings) -> int:
    """The library as a table: council, kind, dates and judgements of every document."""
    from contextlib import closing

    from rag import provenance, store

    with closing(store.connect(settings.index_dir, readonly=True)) as conn:
        entries = store.library(conn)
    if args.council:
        from rag.ofsted import same_council

        entries = [e for e in entries if e.doc.council and same_council(e.doc.council,
                                                                       args.council)]
    if args.json:
        payload = [e.to_json() for e in entries]
        provenance.annotate(payload, provenance.lookup(settings))
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        overall = e.judgements.get("overall_effectiveness", "")
        when = e.published or e.inspection_end or e.doc.date or "undated"
        print(f"{e.doc.council or '-':24} {when:10}  {e.doc.kind:24} {overall:32} {e.doc.source}")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from rag import store

    conn = store.connect(settings.index_dir, readonly=True)
    st = store.status(conn)
    print(json.dumps(st.__dict__, indent=2) if args.json else
          f"{st.documents} documents, {st.chunks} chunks, model {st.model}, "
          f"{st.vector_index or 'no'} vector index, generation {st.generation}")
    return 0


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", action="append", help="only this document kind (repeatable)")
    p.add_argument("--doc", action="append", help="only this document id (repeatable)")
    p.add_argument("--date-from", help="only documents dated on or after YYYY-MM-DD")
    p.add_argument("--date-to", help="only documents dated on or before YYYY-MM-DD")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    parser.add_argument("--index-dir", help="index folder (default: index/ or RAG_INDEX_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="sync the index with the corpus folder")
    p.add_argument("corpus_dir", nargs="?", help="corpus folder (default: corpus/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--prune", action="store_true",
                   help="allow a sync that removes all, or more than half, of the documents")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="the passages that best match a question")
    p.add_argument("question", nargs="?")
    p.add_argument("--questions", help="JSONL file, one {\"id\", \"question\"} per line")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    p.add_argument("--json", action="store_true")
    _filter_args(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="a short answer with citations, or an honest decline")
    p.add_argument("question", nargs="?")
    p.add_argument("--questions", help="JSONL file, one {\"id\", \"question\"} per line")
    p.add_argument("--json", action="store_true")
    _filter_args(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="score retrieval and answers on a QA file")
    p.add_argument("--qa", default="eval/qa.jsonl")
    p.add_argument("--out", help="folder for metrics.json, report.md, metrics.png, "
                   "questions.jsonl")
    p.add_argument("--compare", action="store_true",
                   help="also run the BM25-only, dense-only and naive baselines")
    p.add_argument("--labels", help="sentence labels for answer precision (default: "
                   "sentence_labels.jsonl beside the QA file, if there; \"\" for none)")
    p.add_argument("--thresholds", help="JSON file of thresholds, keys as the options below")
    p.add_argument("--min-recall5", type=float, help="fail if recall@5 is below this")
    p.add_argument("--min-mrr", type=float, help="fail if MRR is below this")
    p.add_argument("--min-key-facts", type=float, help="fail if key-fact accuracy is below")
    p.add_argument("--min-citation-precision", type=float,
                   help="fail if citation precision is below this")
    p.add_argument("--max-wrong-decline", type=float,
                   help="fail if the share of answerable questions declined is above this")
    p.add_argument("--min-decline", type=float,
                   help="fail if the share of unanswerable questions declined is below this")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("library", help="every document: council, kind, dates, judgements")
    p.add_argument("--council", help="only this council (any common form of its name)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_library)

    p = sub.add_parser("status", help="what the index holds")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(index_dir=args.index_dir)
    except ValueError as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return 2
    from rag.embedding import ModelError
    from rag.indexing import PruneRefused
    from rag.store import IndexLocked, IndexMissing

    try:
        return args.func(args, settings)
    except (IndexMissing, IndexLocked, ModelError, FileNotFoundError, PruneRefused) as exc:
        print(f"rag: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
