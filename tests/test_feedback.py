"""Ratings of answers: one row per answer, kept in their own SQLite file in the data folder."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest

from rag.config import load_settings
from rag.feedback import (
    DOWN,
    FEEDBACK_NAME,
    UP,
    feedback_path,
    rating_from_thumbs,
    read_all,
    record,
)
from rag.records import Answer, Citation, DocumentRef, Passage


def an_answer() -> Answer:
    doc = DocumentRef("r.txt", "Report", "r.txt", "2016", "inspection report")
    passage = Passage(chunk_id=5, doc=doc, page=None, paragraph=112, section=None,
                      text="112. RHIs are rare.")
    cited = Citation(n=1, passage=passage, quote="RHIs are rare.")
    return Answer("What about RHIs?", "The report says: RHIs are rare. [1]", False, [cited])


def test_a_rating_is_stored_with_question_answer_and_citations(tmp_path: Path) -> None:
    path = feedback_path(tmp_path / "data")
    assert path == tmp_path / "data" / FEEDBACK_NAME
    when = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)
    record(path, "turn-1", an_answer(), UP, '{"kinds": []}', now=when)
    [row] = read_all(path)
    assert (row.answer_id, row.rating, row.question) == ("turn-1", UP, "What about RHIs?")
    assert row.created_at == "2024-05-01T09:30:00+00:00"
    assert row.answer.endswith("[1]") and row.abstained is False
    assert row.citations[0]["label"] == "paragraph 112"
    assert row.citations[0]["quote"] == "RHIs are rare."
    assert row.filters == {"kinds": []}


def test_changing_a_rating_updates_the_row_and_none_withdraws_it(tmp_path: Path) -> None:
    path = tmp_path / FEEDBACK_NAME
    record(path, "turn-1", an_answer(), UP)
    record(path, "turn-1", an_answer(), DOWN)
    record(path, "turn-2", an_answer(), UP)
    assert [(r.answer_id, r.rating) for r in read_all(path)] == [("turn-1", DOWN), ("turn-2", UP)]
    record(path, "turn-1", an_answer(), None)
    assert [r.answer_id for r in read_all(path)] == ["turn-2"]


def test_ratings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rating must be"):
        record(tmp_path / FEEDBACK_NAME, "t", an_answer(), 5)
    assert not (tmp_path / FEEDBACK_NAME).exists()


def test_thumbs_map_to_ratings() -> None:
    assert rating_from_thumbs(1) == UP
    assert rating_from_thumbs(0) == DOWN
    assert rating_from_thumbs(None) is None


def test_no_file_means_no_ratings(tmp_path: Path) -> None:
    assert read_all(tmp_path / "nothing.sqlite") == []


def test_a_rating_records_the_signed_in_user_when_there_is_one(tmp_path: Path) -> None:
    path = feedback_path(tmp_path / "data")
    record(path, "turn-1", an_answer(), UP, user="reader@council.gov.uk")
    record(path, "turn-2", an_answer(), DOWN)  # not signed in
    assert [(r.answer_id, r.user) for r in read_all(path)] == [
        ("turn-1", "reader@council.gov.uk"), ("turn-2", None)]


def test_a_feedback_file_from_before_sign_in_gains_the_user_column(tmp_path: Path) -> None:
    path = tmp_path / FEEDBACK_NAME
    with sqlite3.connect(path) as conn:  # the table as it was, with one old rating
        conn.execute("CREATE TABLE feedback (answer_id TEXT PRIMARY KEY, created_at TEXT NOT "
                     "NULL, question TEXT NOT NULL, answer TEXT NOT NULL, abstained INTEGER "
                     "NOT NULL, citations TEXT NOT NULL, filters TEXT NOT NULL DEFAULT '{}', "
                     "rating INTEGER NOT NULL CHECK (rating IN (-1, 1)))")
        conn.execute("INSERT INTO feedback VALUES ('old', '2024-01-01', 'q', 'a', 0, '[]', "
                     "'{}', 1)")
    conn.close()
    record(path, "new", an_answer(), DOWN, user="editor@council.gov.uk")
    assert [(r.answer_id, r.user) for r in read_all(path)] == [
        ("old", None), ("new", "editor@council.gov.uk")]


def test_ratings_live_outside_the_index_and_survive_deleting_it(tmp_path: Path) -> None:
    settings = load_settings(env={}, corpus_dir=tmp_path / "corpus",
                             index_dir=tmp_path / "index", data_dir=tmp_path / "data")
    (tmp_path / "index").mkdir()
    path = feedback_path(settings.data_dir, settings.index_dir)
    record(path, "turn-1", an_answer(), UP)
    assert not path.is_relative_to(settings.index_dir)
    shutil.rmtree(settings.index_dir)  # "index/ is generated": people delete it
    assert [r.answer_id for r in read_all(feedback_path(settings.data_dir,
                                                        settings.index_dir))] == ["turn-1"]


def test_data_dir_defaults_to_data_and_is_a_setting(tmp_path: Path) -> None:
    assert load_settings(env={}).data_dir == Path("data")
    assert load_settings(env={"RAG_DATA_DIR": str(tmp_path)}).data_dir == tmp_path


def test_ratings_an_older_version_kept_in_index_are_moved_once(tmp_path: Path) -> None:
    index_dir, data_dir = tmp_path / "index", tmp_path / "data"
    old = index_dir / FEEDBACK_NAME
    record(old, "turn-old", an_answer(), DOWN)
    conn = sqlite3.connect(old)  # left open, as a page that still runs would
    path = feedback_path(data_dir, index_dir)
    conn.close()
    assert path == data_dir / FEEDBACK_NAME
    assert not old.exists()
    assert [(r.answer_id, r.rating) for r in read_all(path)] == [("turn-old", DOWN)]
    record(old, "stray", an_answer(), UP)  # a file that turns up later is not merged over
    assert [r.answer_id for r in read_all(feedback_path(data_dir, index_dir))] == ["turn-old"]
