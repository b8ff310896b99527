"""Thumbs up or down on answers, kept in SQLite beside the index.

A separate file (``index/feedback.sqlite``) rather than a table in ``rag.sqlite``: the
index database is emptied and rebuilt whenever the model or chunking settings change,
and people's judgements of past answers must survive that. Each row keeps the question,
the answer and its citations as shown, so a rating can be read later without the index
that produced it.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.answering import Answer

FEEDBACK_NAME = "feedback.sqlite"
UP, DOWN = 1, -1

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1))
);
"""


@dataclass
class FeedbackRow:
    answer_id: str
    created_at: str
    question: str
    answer: str
    abstained: bool
    citations: list[dict]
    filters: dict
    rating: int


def feedback_path(index_dir: Path) -> Path:
    return index_dir / FEEDBACK_NAME


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    conn.executescript(SCHEMA)
    return conn


def rating_from_thumbs(value: int | None) -> int | None:
    """st.feedback("thumbs") gives 1 for up, 0 for down, None when cleared."""
    if value is None:
        return None
    return UP if value == 1 else DOWN


def record(path: Path, answer_id: str, answer: Answer, rating: int | None,
           filters_json: str = "{}", now: dt.datetime | None = None) -> None:
    """Store (or change) the rating of one answer; ``None`` withdraws it.

    Keyed by the answer's id, so changing one's mind updates the row instead of
    counting the answer twice.
    """
    if rating not in (UP, DOWN, None):
        raise ValueError(f"rating must be {UP}, {DOWN} or None, not {rating!r}")
    with closing(_connect(path)) as conn, conn:
        if rating is None:
            conn.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,))
            return
        stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
        citations = json.dumps([asdict(c) for c in answer.citations], ensure_ascii=False)
        conn.execute(
            "INSERT INTO feedback (answer_id, created_at, question, answer, abstained,"
            " citations, filters, rating) VALUES (?,?,?,?,?,?,?,?)"
            " ON CONFLICT(answer_id) DO UPDATE SET created_at = excluded.created_at,"
            " rating = excluded.rating",
            (answer_id, stamp, answer.question, answer.answer, int(answer.abstained),
             citations, filters_json, rating))


def read_all(path: Path) -> list[FeedbackRow]:
    """Every rating, oldest first (for review or export)."""
    if not path.is_file():
        return []
    with closing(_connect(path)) as conn:
        rows = conn.execute("SELECT * FROM feedback ORDER BY created_at, rowid").fetchall()
    return [FeedbackRow(r["answer_id"], r["created_at"], r["question"], r["answer"],
                        bool(r["abstained"]), json.loads(r["citations"]),
                        json.loads(r["filters"]), r["rating"]) for r in rows]
