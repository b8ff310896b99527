"""Where every document came from: the append-only log in data_dir, the metadata an editor
confirms for an upload, and adding and withdrawing end to end (real model, index, files).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from rag import access, editing, provenance, store
from rag.answering import Assistant
from rag.cli import main as cli_main
from rag.config import Settings
from rag.documents import UPLOADS_CATALOG_NAME, load_catalog
from rag.embedding import Embedder
from rag.indexing import sync
from rag.retrieval import Retriever
from rag.uploads import UploadRejected, check_metadata, forget_metadata, preview, remember_metadata

EDITOR = "editor@council.gov.uk"
NAME = "2024-03-01_ofsted_monitoring-visit-letter.txt"
LETTER = b"""1 March 2024

Dear Director

Monitoring visit to Testshire children's services

This letter summarises the findings of the monitoring visit to Testshire children's
services, carried out by Ofsted inspectors.

Inspectors found that the Testshire kinship care panel had met only twice in the last
year, so kinship carers waited many months for their assessments to be approved.

Yours sincerely

A Inspector
"""
QUESTION = "What did inspectors find about the kinship care panel in Testshire?"


# ------------------------------------------------------------------------ the log

def test_the_log_is_append_only(tmp_path: Path) -> None:
    log = tmp_path / "data" / provenance.LOG_NAME
    provenance.record(log, provenance.ADDED, "a.txt", EDITOR)
    provenance.record(log, provenance.WITHDRAWN, "a.txt", EDITOR, moved_to="x")
    with sqlite3.connect(log) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET by = 'someone else'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events")
    assert [(e.action, e.by) for e in provenance.read_log(log)] == [
        ("added", EDITOR), ("withdrawn", EDITOR)]


def test_current_holds_what_was_added_and_not_withdrawn(tmp_path: Path) -> None:
    log = tmp_path / provenance.LOG_NAME
    provenance.record(log, provenance.ADDED, "a.txt", EDITOR, at="2026-01-02T10:00:00+00:00")
    provenance.record(log, provenance.ADDED, "b.txt", "x@c.gov.uk")
    provenance.record(log, provenance.WITHDRAWN, "b.txt", EDITOR)
    now = provenance.current(provenance.read_log(log))
    assert list(now) == ["a.txt"]
    assert now["a.txt"].note == f"added through the page by {EDITOR} on 2026-01-02"
    items = [{"source": "a.txt"}, {"source": "corpus.txt"}]
    provenance.annotate(items, now)
    assert items[0]["added"] == {"through": "page", "by": EDITOR,
                                 "at": "2026-01-02T10:00:00+00:00",
                                 "note": f"added through the page by {EDITOR} on 2026-01-02"}
    assert "added" not in items[1]  # a corpus file's JSON is unchanged


def test_a_missing_log_means_every_document_is_a_corpus_file(tmp_path: Path) -> None:
    assert provenance.read_log(tmp_path / "none" / provenance.LOG_NAME) == []
    assert not (tmp_path / "none").exists()


# -------------------------------------------------------- metadata to confirm

def test_an_upload_is_previewed_with_what_its_words_suggest() -> None:
    found = preview(NAME, LETTER, 10_000_000)
    assert found == {"title": "Monitoring visit to Testshire children's services",
                     "date": "2024-03-01", "kind": "monitoring letter", "publisher": "Ofsted"}


def test_confirmed_metadata_is_checked_field_by_field() -> None:
    ok = {"title": " A letter ", "date": "2024-03", "kind": "document", "publisher": ""}
    assert check_metadata("x.txt", ok)["title"] == "A letter"
    with pytest.raises(UploadRejected, match="x.txt: give it a title"):
        check_metadata("x.txt", {**ok, "title": " "})
    with pytest.raises(UploadRejected, match="date '1 March' is not YYYY-MM-DD"):
        check_metadata("x.txt", {**ok, "date": "1 March"})
    with pytest.raises(UploadRejected, match="kind 'memo' is not one of"):
        check_metadata("x.txt", {**ok, "kind": "memo"})


def test_confirmed_metadata_is_kept_beside_the_corpus_and_catalog_toml_wins(
        tmp_path: Path) -> None:
    remember_metadata(tmp_path, 'odd "name".txt', {"title": "T\u00e9 \\ \"q\"", "date": ""})
    remember_metadata(tmp_path, "b.txt", {"title": "B", "publisher": ""})
    (tmp_path / "catalog.toml").write_text('["b.txt"]\ntitle = "From the catalog"\n')
    catalog = load_catalog(tmp_path)
    assert catalog['odd "name".txt'] == {"title": "T\u00e9 \\ \"q\"", "date": ""}
    assert catalog["b.txt"] == {"title": "From the catalog", "publisher": ""}
    forget_metadata(tmp_path, "b.txt")
    forget_metadata(tmp_path, "never.txt")
    assert load_catalog(tmp_path)["b.txt"] == {"title": "From the catalog"}
    assert 'odd "name".txt' in load_catalog(tmp_path)
    assert (tmp_path / UPLOADS_CATALOG_NAME).is_file()


# ------------------------------------------------------- adding and withdrawing

@pytest.mark.slow
def test_an_editor_adds_and_withdraws_and_the_log_outlives_the_index(
    index_copy: Settings, embedder: Embedder, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(**{**index_copy.__dict__, "editors": EDITOR})
    editor = access.visitor_from({"is_logged_in": True, "email": EDITOR})
    assistant = Assistant(settings, Retriever(settings, embedder=embedder))
    assert assistant.answer(QUESTION).abstained

    confirmed = {"title": "Testshire monitoring visit", "date": "2024-03-01",
                 "kind": "monitoring letter", "publisher": ""}  # not confirmed as Ofsted's
    result = editing.add(settings, editor, [(NAME, LETTER)], [confirmed], embedder=embedder)
    assert [s.name for s in result.added] == [NAME], result.rejected
    answer = assistant.answer(QUESTION)
    cited = [c for c in answer.citations if c.doc.source == NAME]
    assert cited and cited[0].doc.title == "Testshire monitoring visit"
    with closing(store.connect(settings.index_dir, readonly=True)) as conn:
        publisher = conn.execute("SELECT publisher FROM documents WHERE doc_id = ?",
                                 (NAME,)).fetchone()[0]
    assert not publisher
    assert editing.withdrawable(settings) == [NAME]

    # The CLI's JSON says who added it; corpus files carry no new field.
    day = provenance.read_log(provenance.log_path(settings))[0].at[:10]
    assert cli_json_added(settings, monkeypatch, capsys) == \
        f"added through the page by {EDITOR} on {day}"

    done = editing.withdraw(settings, editor, NAME, embedder=embedder)
    assert not (settings.corpus_dir / NAME).exists()
    assert done.moved_to.read_bytes() == LETTER  # moved aside, not destroyed
    assert done.moved_to.is_relative_to(settings.data_dir)
    assert NAME not in load_catalog(settings.corpus_dir)
    assert not any(c.doc.source == NAME for c in assistant.answer(QUESTION).citations)
    assert editing.withdrawable(settings) == []

    log = provenance.read_log(provenance.log_path(settings))
    assert [(e.action, e.source, e.by) for e in log] == [
        ("added", NAME, EDITOR), ("withdrawn", NAME, EDITOR)]
    assert log[0].metadata == confirmed and log[0].original_name == NAME
    assert log[1].moved_to == str(done.moved_to)

    # Deleting and rebuilding index/ keeps the log.
    shutil.rmtree(settings.index_dir)
    sync(settings, embedder=embedder)
    assert provenance.read_log(provenance.log_path(settings)) == log


def cli_json_added(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> str:
    """`rag ask --json` over the settings' folders: the page-added citation's note."""
    for name, value in (("INDEX_DIR", settings.index_dir), ("CORPUS_DIR", settings.corpus_dir),
                        ("DATA_DIR", settings.data_dir), ("CONFIG", "/dev/null")):
        monkeypatch.setenv(f"RAG_{name}", str(value))
    capsys.readouterr()
    assert cli_main(["ask", QUESTION, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    page = [c for c in payload["citations"] if c["source"] == NAME]
    assert page and all("added" not in c for c in payload["citations"] if c["source"] != NAME)
    return page[0]["added"]["note"]
