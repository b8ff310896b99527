"""Files people add from the browser: checked, named safely, saved, then indexed.

A browser upload is untrusted twice over: its name may try to leave the corpus folder
(``../../etc/x``), clash with a reserved or existing name, or hide (``.x``), and its
content may not be what its name says (a zip renamed ``.pdf``). The checks here are
pure functions of name and bytes, so they are tested without a browser; ``ingest``
is the one function with I/O, and it never overwrites a file already in the corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import tomllib
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings
from rag.documents import KINDS, UPLOADS_CATALOG_NAME, LoadError, load_document, read_catalog
from rag.embedding import Embedder
from rag.indexing import IGNORED_NAMES, PruneRefused, SyncReport, sync

ALLOWED_SUFFIXES = (".pdf", ".txt", ".md", ".html", ".htm")
UPLOAD_TYPES = [s.lstrip(".") for s in ALLOWED_SUFFIXES]  # for st.file_uploader(type=...)
MAX_STEM = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.I)
_HTML_SIGNS = re.compile(
    rb"<!doctype\s+html|<(?:html|head|body|title|meta|article|main|section|div|p|h[1-6])[\s>/]",
    re.I)
# Formats that are not text and not PDF, by their first bytes, to name them in a refusal.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (a Word .docx, .xlsx or .odt is one)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (.doc or .xls)"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program"),
)


class UploadRejected(ValueError):
    """An upload refused; the message says why and what to do instead."""


def sanitise_name(name: str) -> str:
    """A safe file name for the corpus folder, or UploadRejected.

    Keeps only the last path component, letters, digits, ``.``, ``-`` and ``_``; no
    leading dot (hidden files are not indexed), no ``..``, no control characters; a
    Windows device name (``CON``, ``LPT1``) or a name the indexer skips (``README.md``)
    gets an underscore so the file is stored and indexed like any other.
    """
    name = unicodedata.normalize("NFKC", name).replace("\x00", "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.split(r"[/\\]", name)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        raise UploadRejected(
            f"{name or 'the file'} has no extension; name it .pdf, .txt, .md or .html")
    suffix = "." + suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadRejected(f"{suffix} files are not accepted; upload PDF, TXT, MD or HTML")
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = _UNSAFE.sub("_", stem)
    stem = re.sub(r"\.{2,}", ".", stem)
    stem = re.sub(r"_{2,}", "_", stem).strip("._- ")[:MAX_STEM].rstrip("._- ")
    if not stem:
        stem = "upload"
    if _WINDOWS_RESERVED.match(stem.split(".")[0]) or f"{stem}{suffix}" in IGNORED_NAMES:
        stem += "_"
    return f"{stem}{suffix}"


def check_content(name: str, data: bytes, max_bytes: int) -> None:
    """Refuse content that is too big, empty, or not what the name's type promises.

    A PDF must start with ``%PDF-``; TXT and MD must decode as text (UTF-8, UTF-16 with
    a byte-order mark, or Windows-1252, as the loader reads them) with no binary
    control bytes; HTML must also contain HTML tags.
    """
    if len(data) > max_bytes:
        raise UploadRejected(
            f"{name} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
            "(RAG_MAX_FILE_MB); split the file or ask for the limit to be raised")
    if not data.strip():
        raise UploadRejected(f"{name} is empty")
    suffix = Path(name).suffix.lower()
    what = next((label for magic, label in _MAGIC if data.startswith(magic)), None)
    if suffix == ".pdf":
        if not data.startswith(b"%PDF-"):
            raise UploadRejected(
                f"{name} is not a PDF: it {'is ' + what if what else 'does not start with %PDF-'}"
                "; export it as PDF and upload that")
        return
    if data.startswith(b"%PDF-"):
        raise UploadRejected(f"{name} is a PDF file with a {suffix} name; rename it to .pdf")
    if what:
        raise UploadRejected(f"{name} is {what}, not text; save it as PDF or plain text")
    text = decode_upload(name, data)
    if suffix in (".html", ".htm") and not _HTML_SIGNS.search(text[:65536].encode()):
        raise UploadRejected(
            f"{name} does not look like HTML (no <html>, <body> or <p> tags); "
            "upload it as .txt if it is plain text")


def decode_upload(name: str, data: bytes) -> str:
    """The upload as text, or UploadRejected if it is binary."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        elif b"\x00" in data:
            raise UploadRejected(f"{name} contains binary data (NUL bytes), not text")
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise UploadRejected(
            f"{name} is not readable text (neither UTF-8 nor Windows-1252); "
            "save it as UTF-8 text") from None
    control = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    if control > max(2, len(text) // 200):
        raise UploadRejected(f"{name} contains binary control characters, not text")
    return text


def validate(name: str, data: bytes, max_bytes: int) -> str:
    """The safe name to store an upload under, after checking its content."""
    safe = sanitise_name(name)
    check_content(safe, data, max_bytes)
    return safe


def existing_copy(corpus_dir: Path, data: bytes) -> str | None:
    """The corpus file with exactly these bytes, if any (it would be indexed twice)."""
    digest = hashlib.sha256(data).digest()
    for path in sorted(corpus_dir.iterdir()):
        if (path.is_file() and path.suffix.lower() in ALLOWED_SUFFIXES
                and path.stat().st_size == len(data)
                and hashlib.sha256(path.read_bytes()).digest() == digest):
            return path.name
    return None


def save(corpus_dir: Path, safe_name: str, data: bytes) -> Path:
    """Write into the corpus folder under ``safe_name``, or ``stem-2.ext`` ... if taken.

    The bytes go to a hidden temporary file first (the indexer skips dot files), which
    is then hard-linked to the final name: the link fails if the name exists, so a file
    is never overwritten, even by two uploads racing for the same name.
    """
    root = corpus_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    stem, suffix = Path(safe_name).stem, Path(safe_name).suffix
    tmp = root / f".upload-{uuid.uuid4().hex}.tmp"
    with tmp.open("xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        for n in range(1, 1000):
            target = root / (safe_name if n == 1 else f"{stem}-{n}{suffix}")
            if target.resolve().parent != root:  # belt and braces: never leave the corpus
                raise UploadRejected(f"{safe_name} would be saved outside the corpus")
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:  # no hard links on this file system: exclusive create instead
                try:
                    with target.open("xb") as out:
                        out.write(data)
                except FileExistsError:
                    continue
            return target
        raise UploadRejected(f"too many files named like {safe_name}; rename it")
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class Saved:
    original: str  # the name the browser sent
    name: str  # the name in the corpus folder

    @property
    def renamed(self) -> bool:
        return self.original != self.name


@dataclass
class IngestResult:
    added: list[Saved] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (name sent, why)
    report: SyncReport | None = None


def ingest(settings: Settings, files: Sequence[tuple[str, bytes]],
           embedder: Embedder | None = None,
           progress: Callable[[str, int, int], None] | None = None,
           metadata: Sequence[Mapping[str, str] | None] = ()) -> IngestResult:
    """Check, save and index uploaded files; the index is then answerable at once.

    Files that fail a check are not saved. A saved file the indexer cannot read after
    all (a damaged PDF, no text) is removed again, so the corpus never keeps a file
    that fails on every later ``rag index``. Only new files are read and embedded.
    ``metadata[i]``, when given, is what an editor confirmed for ``files[i]`` (title,
    date, kind, publisher): written to the uploads catalog before indexing, so the
    document is indexed and cited with it, not with what its words suggested.
    """
    result = IngestResult()
    corpus_dir = settings.corpus_dir
    max_bytes = int(settings.max_file_mb * 1e6)
    saved: list[tuple[Saved, Path]] = []
    for i, (original, data) in enumerate(files):
        meta = metadata[i] if i < len(metadata) else None
        try:
            safe = validate(original, data, max_bytes)
            fields = check_metadata(original, meta) if meta is not None else None
            if corpus_dir.is_dir():
                twin = existing_copy(corpus_dir, data)
                if twin:
                    raise UploadRejected(f"{original} is already in the corpus as {twin}")
            path = save(corpus_dir, safe, data)
            if fields is not None:
                remember_metadata(corpus_dir, path.name, fields)
        except UploadRejected as exc:
            result.rejected.append((original, str(exc)))
            continue
        saved.append((Saved(original, path.name), path))
    if not saved:
        return result
    try:
        report = sync(settings, embedder=embedder, progress=progress)
    except PruneRefused as exc:  # the corpus folder lost most files: index nothing
        for entry, path in saved:
            path.unlink(missing_ok=True)
            result.rejected.append((entry.original, f"not added: {exc}"))
        return result
    result.report = report
    failed = dict(report.failed)
    for entry, path in saved:
        reason = failed.get(entry.name)
        if reason is None:
            result.added.append(entry)
            continue
        path.unlink(missing_ok=True)
        forget_metadata(corpus_dir, entry.name)
        result.rejected.append((entry.original, f"could not be indexed: {reason}"))
    return result


# -------------------------------------------------------------- metadata to confirm

CONFIRMED_FIELDS = ("title", "date", "kind", "publisher")
_ISO_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
UPLOAD_KINDS = (*KINDS, "document")


def preview(name: str, data: bytes, max_bytes: int) -> dict[str, str]:
    """What the loader would infer for an upload (title, date, kind, publisher), for an
    editor to confirm or correct before it is indexed; UploadRejected if it cannot be
    read. The words of an upload are not proof of who published it: a letter saying
    "Ofsted" is shown as Ofsted's only until the editor says otherwise."""
    safe = validate(name, data, max_bytes)
    with tempfile.TemporaryDirectory(prefix="rag-preview-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            doc = load_document(path, Path(tmp), max_bytes=max_bytes)
        except LoadError as exc:
            raise UploadRejected(str(exc)) from None
    return {"title": doc.title, "date": doc.date or "", "kind": doc.kind,
            "publisher": doc.publisher or ""}


def check_metadata(name: str, meta: Mapping[str, str]) -> dict[str, str]:
    """The confirmed fields, trimmed; UploadRejected naming the field that is wrong."""
    fields = {k: str(meta.get(k) or "").strip() for k in CONFIRMED_FIELDS}
    if not fields["title"]:
        raise UploadRejected(f"{name}: give it a title")
    if fields["date"] and not _ISO_DATE.match(fields["date"]):
        raise UploadRejected(f"{name}: the date {fields['date']!r} is not YYYY-MM-DD "
                             "(or YYYY-MM, or YYYY); correct it or leave it empty")
    if fields["kind"] not in UPLOAD_KINDS:
        raise UploadRejected(f"{name}: the kind {fields['kind']!r} is not one of "
                             f"{', '.join(UPLOAD_KINDS)}")
    return fields


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, for the characters it escapes)."""
    return json.dumps(text, ensure_ascii=True)


def _write_uploads_catalog(corpus_dir: Path, entries: dict[str, dict[str, str]]) -> None:
    """Rewrite the program-owned uploads catalog atomically (temp file, then rename)."""
    path = corpus_dir / UPLOADS_CATALOG_NAME
    lines = ["# Written by the page: what editors confirmed when adding these files.", ""]
    for file in sorted(entries):
        lines.append(f"[{_toml_string(file)}]")
        lines += [f"{k} = {_toml_string(str(v))}" for k, v in entries[file].items()]
        lines.append("")
    text = "\n".join(lines)
    tomllib.loads(text)  # never leave a catalog the loader cannot read
    tmp = path.with_name(f".uploads-{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def remember_metadata(corpus_dir: Path, name: str, fields: Mapping[str, str]) -> None:
    entries = read_catalog(corpus_dir / UPLOADS_CATALOG_NAME)
    entries[name] = dict(fields)
    _write_uploads_catalog(corpus_dir, entries)


def forget_metadata(corpus_dir: Path, name: str) -> None:
    entries = read_catalog(corpus_dir / UPLOADS_CATALOG_NAME)
    if entries.pop(name, None) is not None:
        _write_uploads_catalog(corpus_dir, entries)
