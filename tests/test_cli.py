"""The `rag` command's contracts (docs/DESIGN.md, "Interfaces other programs rely on").

Every test runs the installed console script as a real subprocess against a private copy
of the corpus and index, so what is pinned here is exactly what another program sees:
exit codes, stdout that parses as JSON, messages on stderr. Each call loads the model
(a few seconds), so several questions share one call through --questions where possible.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

RAG = Path(sys.executable).parent / "rag"

RHI_QUESTION = "What did inspectors say about return home interviews?"
OFF_CORPUS_QUESTION = "What did Ofsted say about Manchester?"

HIT_TYPES: dict[str, type | tuple[type, ...]] = {
    "chunk_id": int,
    "doc_id": str,
    "title": str,
    "source": str,
    "date": (str, type(None)),
    "kind": str,
    "page": (int, type(None)),
    "paragraph": (int, type(None)),
    "score": (int, float),
    "text": str,
}
HIT_OPTIONAL = {"section"}  # Hit.to_json adds it; allowed, not required

CITATION_TYPES: dict[str, type | tuple[type, ...]] = {
    "n": int,
    "chunk_id": int,
    "doc_id": str,
    "title": str,
    "source": str,
    "date": (str, type(None)),
    "page": (int, type(None)),
    "paragraph": (int, type(None)),
    "quote": str,
    "text": str,
}

# Text that FTS5 would read as syntax if it reached MATCH unescaped.
FTS_HOSTILE = [
    '"return home interviews',
    'he said "yes',
    "missing*",
    "*",
    '"',
    "children NEAR missing",
    "NEAR(",
    "adoption OR fostering",
    "adoption AND NOT fostering",
    "(thresholds",
    ")(",
    "AND",
    "title:thresholds ^start",
    "'; DROP TABLE chunks; --",
]
# Those with words the reports contain: read as text, their words still find passages.
FTS_HOSTILE_WITH_WORDS = ['"return home interviews', "missing*", "children NEAR missing",
                          "adoption OR fostering", "adoption AND NOT fostering", "(thresholds",
                          "title:thresholds ^start"]


def rag(settings: Settings | Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run `rag --index-dir DIR ARGS...` with the model offline; never raises on failure."""
    index_dir = settings.index_dir if isinstance(settings, Settings) else settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["HF_HUB_OFFLINE"] = "1"
    # The repo root, like the fixtures: a rag.toml there applies to both sides alike.
    return subprocess.run(
        [str(RAG), "--index-dir", str(index_dir), *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\n" \
                                 f"stderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def write_jsonl(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def assert_typed(obj: dict, types: dict[str, type | tuple[type, ...]]) -> None:
    for key, expected in types.items():
        assert key in obj, f"missing key {key!r} in {sorted(obj)}"
        value = obj[key]
        # bool is an int in Python, never a valid number or id here
        assert isinstance(value, expected) and not isinstance(value, bool), (key, value)


def assert_hit(hit: dict) -> None:
    assert set(HIT_TYPES) <= set(hit) <= set(HIT_TYPES) | HIT_OPTIONAL, sorted(hit)
    assert_typed(hit, HIT_TYPES)
    assert hit["text"].strip()


def markers(answer: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", answer)}


# ---------------------------------------------------------------------------- search

def test_search_json_is_a_list_of_hits_with_the_documented_fields(index_copy: Settings) -> None:
    hits = json.loads(ok(rag(index_copy, "search", RHI_QUESTION, "--k", "10", "--json")))
    assert isinstance(hits, list)
    assert 1 <= len(hits) <= 10
    for hit in hits:
        assert_hit(hit)
    assert len({h["chunk_id"] for h in hits}) == len(hits), "a passage is listed twice"
    # best first: the passages on return home interviews lead the list
    assert "return home interview" in hits[0]["text"].lower()


def test_search_questions_file_gives_one_result_per_line_in_order(
    index_copy: Settings, tmp_path: Path,
) -> None:
    questions = write_jsonl(tmp_path / "questions.jsonl", [
        {"id": "a", "question": RHI_QUESTION},
        {"id": "b", "question": "How were thresholds applied in the 2017 monitoring visit?"},
        {"id": "c", "question": "What support do adopters receive?"},
    ])
    results = json_lines(ok(rag(index_copy, "search", "--questions", questions, "--k", "5",
                                "--json")))
    assert [r["id"] for r in results] == ["a", "b", "c"]
    for r in results:
        assert isinstance(r, dict)
        assert isinstance(r["hits"], list) and 1 <= len(r["hits"]) <= 5
        for hit in r["hits"]:
            assert_hit(hit)


def test_fts5_syntax_in_a_question_is_just_text(index_copy: Settings, tmp_path: Path) -> None:
    # one question on the command line: stdout is a JSON list
    hits = json.loads(ok(rag(index_copy, "search", 'NEAR("return* OR (homes AND NOT "x',
                             "--json")))
    assert isinstance(hits, list) and hits
    for hit in hits:
        assert_hit(hit)
    # the rest in one call
    questions = write_jsonl(tmp_path / "hostile.jsonl",
                            [{"id": str(i), "question": q} for i, q in enumerate(FTS_HOSTILE)])
    # BM25 alone, so dense hits cannot hide a failing MATCH
    results = json_lines(ok(rag(index_copy, "search", "--questions", questions,
                                "--mode", "bm25", "--json")))
    assert [r["id"] for r in results] == [str(i) for i in range(len(FTS_HOSTILE))]
    for r in results:
        assert isinstance(r["hits"], list), r
        for hit in r["hits"]:
            assert_hit(hit)
    found = {r["question"] for r in results if r["hits"]}
    assert set(FTS_HOSTILE_WITH_WORDS) <= found, set(FTS_HOSTILE_WITH_WORDS) - found


# ------------------------------------------------------------------------------- ask

def test_ask_json_answers_with_checkable_citations(index_copy: Settings) -> None:
    result = json.loads(ok(rag(index_copy, "ask", RHI_QUESTION, "--json")))
    assert isinstance(result, dict)
    assert result["question"] == RHI_QUESTION
    assert isinstance(result["answer"], str) and result["answer"].strip()
    assert result["abstained"] is False
    citations = result["citations"]
    assert isinstance(citations, list) and citations
    for c in citations:
        assert_typed(c, CITATION_TYPES)
        assert c["quote"].strip()
        assert c["quote"] in c["text"], "a quote must be verbatim from its passage"
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1))
    assert {c["n"] for c in citations} <= markers(result["answer"]), result["answer"]
    assert markers(result["answer"]) <= {c["n"] for c in citations}, "a marker cites nothing"
    with_paragraph = [c for c in citations if c["paragraph"] is not None]
    assert len(with_paragraph) >= 2, (
        "expected at least two citations to numbered paragraphs of the 2016 report; got "
        f"{[(c['n'], c['doc_id'], c['paragraph']) for c in citations]}")


def test_ask_json_abstains_on_a_question_the_reports_do_not_cover(
    index_copy: Settings,
) -> None:
    result = json.loads(ok(rag(index_copy, "ask", OFF_CORPUS_QUESTION, "--json")))
    assert result["question"] == OFF_CORPUS_QUESTION
    assert result["abstained"] is True, result["answer"]
    assert result["citations"] == []


def test_ask_questions_file_passes_history_and_keeps_order(
    index_copy: Settings, tmp_path: Path,
) -> None:
    questions = write_jsonl(tmp_path / "questions.jsonl", [
        {"id": "first", "question": RHI_QUESTION},
        {"id": "follow-up", "question": "And how long do they take?",
         "history": [RHI_QUESTION]},
        {"id": "last", "question": "What support do adopters receive?"},
    ])
    results = json_lines(ok(rag(index_copy, "ask", "--questions", questions, "--json")))
    assert [r["id"] for r in results] == ["first", "follow-up", "last"]
    for r in results:
        assert {"question", "answer", "abstained", "citations"} <= set(r)
        for c in r["citations"]:
            assert_typed(c, CITATION_TYPES)
            assert c["quote"] in c["text"]
    follow_up = results[1]
    assert follow_up["question"] == "And how long do they take?"
    # the history reached the assistant: the follow-up was read with the earlier question
    assert "return home interviews" in follow_up["searched_for"].lower()
    assert not follow_up["abstained"]
    # "how long" is answered by the time return home interviews take: the 72 hours.
    assert any("72 hours" in c["quote"] and "return home" in c["text"].lower()
               for c in follow_up["citations"]), follow_up["citations"]


def test_ask_plain_text_prints_the_answer_and_its_sources(index_copy: Settings) -> None:
    out = ok(rag(index_copy, "ask", RHI_QUESTION))
    assert not out.lstrip().startswith(("{", "[")), "plain output must not be JSON"
    assert "Sources:" in out
    answer, _, sources = out.partition("Sources:")
    assert re.search(r"\[1\]", answer), answer
    assert re.search(r"^\s*\[1\] .+", sources, re.M), sources
    assert "return home interview" in answer.lower()
    # The readable form (issue 19): the direct answer, then a document's list.
    direct, heading = answer.strip().split("\n\n")[:2]
    assert "\n" not in direct and heading.split("\n")[1].startswith("- "), answer


# ----------------------------------------------------------------------------- index

def test_index_on_an_unchanged_corpus_embeds_nothing(index_copy: Settings) -> None:
    out = ok(rag(index_copy, "index", index_copy.corpus_dir))
    assert "unchanged 5" in out, out
    assert "0 chunks embedded" in out, out
    assert "rebuilt" not in out.lower(), out


# ---------------------------------------------------------------------------- errors

def test_search_without_a_question_fails_with_a_message(index_copy: Settings) -> None:
    proc = rag(index_copy, "search", "--json")
    assert proc.returncode != 0
    assert "question" in proc.stderr.lower(), proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == ""


def test_bad_line_in_a_questions_file_names_the_file_and_line(
    index_copy: Settings, tmp_path: Path,
) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps({"id": "a", "question": "thresholds"}) + "\n"
                    + "{not json\n", encoding="utf-8")
    proc = rag(index_copy, "search", "--questions", path, "--json")
    assert proc.returncode != 0
    assert f"{path}:2" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_search_on_an_empty_index_dir_says_to_run_rag_index(tmp_path: Path) -> None:
    empty = tmp_path / "empty-index"
    empty.mkdir()
    proc = rag(empty, "search", RHI_QUESTION, "--json")
    assert proc.returncode != 0
    assert "rag index" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.strip() == ""


def test_ask_with_a_question_over_the_length_limit_says_so(built_index: Settings) -> None:
    out = ok(rag(built_index, "ask", "x " * built_index.max_question_chars))
    assert f"limited to {built_index.max_question_chars:,} characters" in out


@pytest.mark.parametrize("name", ["minutes[/].txt", "[bold]x[/bold].txt", "a\x1b[2Jb\u009b.txt"])
def test_the_progress_bar_shows_a_file_name_as_text(name: str) -> None:
    """Rich reads "[/]" in a description as a closing tag (MarkupError); a name is text,
    and its control characters do not reach the terminal."""
    import io

    from rich.console import Console

    from rag.cli import _progress_bar

    update, bar = _progress_bar()
    update(name, 0, 2)
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(bar.get_renderable())
    shown = out.getvalue()
    assert name.replace("\x1b", "?").replace("\u009b", "?") in shown
    assert "\x1b" not in shown and "\u009b" not in shown


def test_search_with_a_question_over_the_length_limit_says_so_and_finds_nothing(
        built_index: Settings) -> None:
    proc = rag(built_index, "search", "--json", "x " * built_index.max_question_chars)
    assert json.loads(ok(proc)) == []
    assert f"limited to {built_index.max_question_chars:,} characters" in proc.stderr
