"""How each document entered the library: a corpus file, or added through the page by
whom and when; and the append-only log of every addition and withdrawal.

The log is a SQLite file in ``data_dir`` (``provenance.sqlite``), outside the generated
index, so deleting and rebuilding ``index/`` keeps it. It is the one record of who added
a document: citations, the document view, the library and the CLI's JSON look a
document up here by its source (its path in the corpus). A document the log does not
hold as currently added is a corpus file, put there by whoever manages the corpus.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag import store
from rag.config import Settings

LOG_NAME = "provenance.sqlite"
ADDED, WITHDRAWN = "added", "withdrawn"


@dataclass(frozen=True)
class Event:
    """One row of the log: a document added through the page, or withdrawn."""

    id: int
    at: str  # ISO timestamp, UTC
    action: str  # ADDED or WITHDRAWN
    source: str  # the file's name in the corpus
    by: str  # who: an e-mail address, a name, or "anonymous (uploads open to everyone)"
    original_name: str | None = None  # the name the browser sent
    content_hash: str | None = None
    metadata: dict = field(default_factory=dict)  # title, date, kind, publisher confirmed
    moved_to: str | None = None  # where a withdrawn file was moved aside to


@dataclass(frozen=True)
class Provenance:
    """How a document currently in the library entered it through the page."""

    by: str
    at: str  # ISO timestamp, UTC

    @property
    def day(self) -> str:
        return self.at[:10]

    @property
    def note(self) -> str:
        """What a citation, the document view and the library say of it."""
        return f"added through the page by {self.by} on {self.day}"

    def to_json(self) -> dict:
        """The ``added`` field of the CLI's JSON for a document added through the page."""
        return {"through": "page", "by": self.by, "at": self.at, "note": self.note}


def log_path(settings: Settings) -> Path:
    return settings.data_dir / LOG_NAME


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def record(path: Path, action: str, source: str, by: str, *, at: str | None = None,
           original_name: str | None = None, content_hash: str | None = None,
           metadata: dict | None = None, moved_to: str | None = None) -> Event:
    """Append an addition or a withdrawal to the log, and return it."""
    if action not in (ADDED, WITHDRAWN):
        raise ValueError(f"action must be {ADDED!r} or {WITHDRAWN!r}, not {action!r}")
    if not by:
        raise ValueError("who added or withdrew the document must be recorded")
    at = at or now()
    meta = metadata or {}
    row_id = store.append_event(path, at, action, source, by, original_name, content_hash,
                                json.dumps(meta, ensure_ascii=False, sort_keys=True), moved_to)
    return Event(row_id, at, action, source, by, original_name, content_hash, meta, moved_to)


def read_log(path: Path) -> list[Event]:
    """Every addition and withdrawal, oldest first."""
    return [Event(r["id"], r["at"], r["action"], r["source"], r["by"], r["original_name"],
                  r["content_hash"], json.loads(r["metadata"]), r["moved_to"])
            for r in store.events(path)]


def current(log: Iterable[Event]) -> dict[str, Provenance]:
    """Documents added through the page and not withdrawn since, by source."""
    found: dict[str, Provenance] = {}
    for event in log:
        if event.action == ADDED:
            found[event.source] = Provenance(event.by, event.at)
        else:
            found.pop(event.source, None)
    return found


def lookup(settings: Settings) -> dict[str, Provenance]:
    """The page-added documents of this deployment, by source; {} with no log yet."""
    return current(read_log(log_path(settings)))


def annotate(items: Iterable[dict], added: dict[str, Provenance],
             key: str = "source") -> None:
    """Add ``added`` to each JSON object (hit, citation, library entry) of a document
    added through the page. Corpus files get no new field, so the CLI's JSON for them
    stays byte-identical."""
    for item in items:
        prov = added.get(item.get(key) or "")
        if prov is not None:
            item["added"] = prov.to_json()
