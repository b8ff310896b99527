"""Changing the library from the page: adding documents and withdrawing them.

The page's handlers call these, and only these, to change the corpus. Each asks
``rag.access`` who the visitor is allowed to be before it touches a file, so a visitor
who is not an editor cannot add, change or withdraw a document even by sending the
request a hidden control would have sent; and each writes what it did, by whom, to the
append-only provenance log (rag.provenance).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag import access, provenance
from rag.access import Visitor
from rag.config import Settings
from rag.embedding import Embedder
from rag.indexing import SyncReport, sync
from rag.uploads import IngestResult, forget_metadata, ingest

WITHDRAWN_DIR = "withdrawn"


class WithdrawError(Exception):
    """A withdrawal that cannot be made; the message says why."""


def add(settings: Settings, visitor: Visitor, files: Sequence[tuple[str, bytes]],
        metadata: Sequence[Mapping[str, str] | None] = (),
        embedder: Embedder | None = None,
        progress: Callable[[str, int, int], None] | None = None) -> IngestResult:
    """Check, save, index and log uploads made by ``visitor``.

    Raises access.NotAllowed, before anything is saved, unless the visitor may edit.
    ``metadata[i]`` is what the editor confirmed for ``files[i]``.
    """
    by = access.actor(settings, visitor)
    result = ingest(settings, files, embedder=embedder, progress=progress,
                    metadata=metadata)
    datas = dict(files)
    confirmed = {name: meta for (name, _), meta in zip(files, metadata, strict=False)}
    log = provenance.log_path(settings)
    for entry in result.added:
        data = datas.get(entry.original, b"")
        provenance.record(log, provenance.ADDED, entry.name, by,
                          original_name=entry.original,
                          content_hash=hashlib.sha256(data).hexdigest(),
                          metadata=dict(confirmed.get(entry.original) or {}))
    return result


@dataclass
class Withdrawn:
    source: str
    moved_to: Path
    report: SyncReport


def withdrawable(settings: Settings) -> list[str]:
    """Documents added through the page, not withdrawn, and still in the corpus."""
    return sorted(s for s in provenance.lookup(settings)
                  if (settings.corpus_dir / s).is_file())


def withdraw(settings: Settings, visitor: Visitor, source: str,
             embedder: Embedder | None = None) -> Withdrawn:
    """Take a document added through the page out of the index and the corpus.

    The file is moved aside to ``data_dir/withdrawn/`` (never deleted), its confirmed
    metadata forgotten, the index synced (so answers stop citing it at once) and the
    withdrawal logged. Raises access.NotAllowed unless the visitor may edit, and
    WithdrawError for a document that was not added through the page.
    """
    by = access.actor(settings, visitor)
    if source not in withdrawable(settings):
        raise WithdrawError(
            f"{source} was not added through the page (or is withdrawn already); a corpus "
            "file is removed by whoever keeps the corpus folder")
    path = settings.corpus_dir / source
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = settings.data_dir / WITHDRAWN_DIR / f"{stamp}_{Path(source).name}"
    aside.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, aside)
    forget_metadata(settings.corpus_dir, source)
    report = sync(settings, embedder=embedder, removing=(source,))  # even the last one
    provenance.record(provenance.log_path(settings), provenance.WITHDRAWN, source, by,
                      moved_to=str(aside))
    return Withdrawn(source, aside, report)
