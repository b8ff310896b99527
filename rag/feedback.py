"""Thumbs up or down on answers, kept in SQLite under the data folder.

``data_dir/feedback.sqlite`` (``data/`` by default), never in ``index/``: the index is
generated, rebuilt whenever the model or chunking settings change and may be deleted by
hand, and people's judgements of past answers must survive all of that. Each row keeps
the question, the answer and its citations as shown, so a rating can be read later
without the index that produced it. Ratings an older version kept in
``index/feedback.sqlite`` are moved on first use (``feedback_path``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from rag import store
from rag.records import Answer

FEEDBACK_NAME = "feedback.sqlite"
UP, DOWN = 1, -1


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
    user: str | None = None  # who rated it, when signed in


def feedback_path(data_dir: Path, index_dir: Path | None = None) -> Path:
    """Where ratings are kept. Given the index folder, ratings an older version kept
    there are moved here first (once: only while the new file does not exist yet)."""
    path = data_dir / FEEDBACK_NAME
    old = index_dir / FEEDBACK_NAME if index_dir is not None else None
    if old is not None and old.is_file() and not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".sqlite.tmp")
        store.copy_database(old, tmp)  # a consistent copy, even mid-write
        tmp.replace(path)
        for leftover in (old, old.with_name(old.name + "-wal"), old.with_name(old.name + "-shm"),
                         old.with_name(old.name + "-journal")):
            leftover.unlink(missing_ok=True)
    return path


def rating_from_thumbs(value: int | None) -> int | None:
    """st.feedback("thumbs") gives 1 for up, 0 for down, None when cleared."""
    if value is None:
        return None
    return UP if value == 1 else DOWN


def record(path: Path, answer_id: str, answer: Answer, rating: int | None,
           filters_json: str = "{}", now: dt.datetime | None = None,
           user: str | None = None) -> None:
    """Store (or change) the rating of one answer; ``None`` withdraws it.

    Keyed by the answer's id, so changing one's mind updates the row instead of
    counting the answer twice. ``user`` is the signed-in person who rated it, if any.
    """
    if rating not in (UP, DOWN, None):
        raise ValueError(f"rating must be {UP}, {DOWN} or None, not {rating!r}")
    if rating is None:
        store.delete_rating(path, answer_id)
        return
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    citations = json.dumps([c.to_json() for c in answer.citations], ensure_ascii=False)
    store.save_rating(path, answer_id, stamp, answer.question, answer.answer,
                      answer.abstained, citations, filters_json, rating, user)


def read_all(path: Path) -> list[FeedbackRow]:
    """Every rating, oldest first (for review or export)."""
    if not path.is_file():
        return []
    rows = store.ratings(path)
    return [FeedbackRow(r["answer_id"], r["created_at"], r["question"], r["answer"],
                        bool(r["abstained"]), json.loads(r["citations"]),
                        json.loads(r["filters"]), r["rating"], r["user"]) for r in rows]
