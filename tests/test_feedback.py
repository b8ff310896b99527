"""Ratings of answers: one row per answer, kept in their own SQLite file beside the index."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

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
    path = feedback_path(tmp_path / "index")
    assert path == tmp_path / "index" / FEEDBACK_NAME
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
    path = feedback_path(tmp_path / "index")
    record(path, "turn-1", an_answer(), UP, user="reader@council.gov.uk")
    record(path, "turn-2", an_answer(), DOWN)  # not signed in
    assert [(r.answer_id, r.user) for r in read_all(path)] == [
        ("turn-1", "reader@council.gov.uk"), ("turn-2", None)]


def test_a_feedback_file_from_before_sign_in_gains_the_user_column(tmp_path: Path) -> None:
    import sqlite3

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
