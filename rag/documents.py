"""Load a corpus file into cleaned text plus the metadata a citation needs.

Supported: .txt and .md (a form feed is a page break), .pdf (pypdf, page by page) and
.html (main content via trafilatura). Metadata is inferred where the file says it and
left unknown where it does not; ``corpus/catalog.toml`` overrides any field.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rag.cleaning import clean_report_text, strip_running_lines
from rag.ofsted import OfstedMeta, read_metadata
from rag.pdf import PdfError, pdf_pages
from rag.webpage import clean_web_text, looks_like_web_page
from rag.words import MONTHS

SUPPORTED = {".txt", ".md", ".pdf", ".html", ".htm"}
CATALOG_NAME = "catalog.toml"
# What editors confirmed for files added through the page (a dot file: never indexed).
UPLOADS_CATALOG_NAME = ".uploads.toml"
KINDS = ("inspection report", "monitoring letter", "focused visit letter",
         "joint targeted area inspection", "council statement", "news article")
# What an Ofsted publication says it is (rag.ofsted), as a document kind.
_OFSTED_KINDS = {"inspection": "inspection report", "monitoring visit": "monitoring letter",
                 "focused visit": "focused visit letter",
                 "joint targeted area inspection": "joint targeted area inspection"}
_LETTERS = ("monitoring letter", "focused visit letter", "joint targeted area inspection")
# Fields catalog.toml may set for a file: the loader's own, and what Ofsted reports carry.
CATALOG_FIELDS = ("title", "date", "kind", "publisher", "url", "council", "inspection_start",
                  "inspection_end", "published", "judgements")


class LoadError(Exception):
    """A file that cannot be indexed. The message names the problem and what to do."""


@dataclass
class Document:
    doc_id: str
    source: str  # path relative to the corpus directory
    title: str
    date: str | None  # ISO "YYYY-MM-DD", or "YYYY" when only the year is known
    kind: str
    publisher: str | None
    url: str | None
    text: str  # cleaned text; chunk spans index into it
    page_starts: list[int] = field(default_factory=list)  # offset of each page; [] = no pages
    content_hash: str = ""
    # What an Ofsted publication states about itself (rag.ofsted); None or {} otherwise.
    council: str | None = None
    inspection_start: str | None = None  # ISO dates
    inspection_end: str | None = None
    published: str | None = None
    judgements: dict[str, str] = field(default_factory=dict)  # {"overall_effectiveness": ...}

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding a character offset, for documents that have pages."""
        if not self.page_starts:
            return None
        return bisect_right(self.page_starts, offset)


# ---------------------------------------------------------------------------- reading

def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_MAGIC = (
    (b"%PDF-", "it is a PDF with a text file's name; rename it to end in .pdf"),
    (b"PK\x03\x04", "it is a ZIP archive (perhaps a .docx or .xlsx renamed); save it as "
                     ".txt or .pdf"),
    (b"\x89PNG", "it is a PNG image; OCR is not supported, supply a text version"),
    (b"\xff\xd8\xff", "it is a JPEG image; OCR is not supported, supply a text version"),
    (b"GIF8", "it is a GIF image; OCR is not supported, supply a text version"),
    (b"\xd0\xcf\x11\xe0", "it is an old Office file (.doc or .xls); save it as .txt or .pdf"),
)
# C0 controls other than tab, newline, carriage return and form feed (a page break).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_C1 = re.compile(r"[\x80-\x9f]")
_BINARY_SHARE = 0.01  # more control characters than this share of the text: not text


def _cp1252_byte(err: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: a byte that is not UTF-8 is read as Windows-1252."""
    return err.object[err.start:err.end].decode("cp1252", errors="replace"), err.end


codecs.register_error("rag-cp1252", _cp1252_byte)


def decode_text(data: bytes, name: str) -> str:
    """Decode bytes the way UK council files are really encoded.

    UTF-8 first (with or without BOM), UTF-16 when a BOM says so, then Windows-1252,
    which is a superset of Latin-1 for printable text. A UTF-8 file with a few stray
    Windows-1252 bytes (a pasted ’ or £) keeps its UTF-8 and gets those bytes right,
    rather than turning every é into Ã©. Binary content, and PDFs, ZIPs and images with a
    text file's name, are refused rather than indexed as mojibake. Stray control
    characters (a NUL in the middle of a file) are dropped.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        head = data[:1024].lstrip()
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise LoadError(f"{name}: cannot be read as text: {what}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Every byte that is not part of a valid UTF-8 sequence is read as cp1252: a
            # whole cp1252 file decodes as cp1252, a UTF-8 file keeps its UTF-8.
            text = data.decode("utf-8-sig", errors="rag-cp1252")
    controls = len(_CONTROL.findall(text))
    if controls > max(8, _BINARY_SHARE * len(text)):
        raise LoadError(
            f"{name}: looks like a binary file, not text ({controls} control characters); "
            "convert it to .txt or .pdf")
    text = _CONTROL.sub("", text) if controls else text
    # C1 controls (U+0080 to U+009F) are never text: a UTF-8 file with them is mojibake
    # or escape sequences (U+009B starts one), which would reach a terminal raw.
    return _C1.sub("", text)


def _read_pages(path: Path, data: bytes) -> tuple[list[str], bool]:
    """Return cleaned page texts and whether the source was a web page."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        try:
            return pdf_pages(path), False
        except PdfError as exc:
            raise LoadError(f"{path.name}: {exc}") from exc
    if suffix in {".html", ".htm"}:
        import trafilatura

        html = decode_text(data, path.name)
        text = trafilatura.extract(html, include_comments=False, include_tables=True)
        if not text:
            raise LoadError(
                f"{path.name}: no article text found in the HTML; save the page as text")
        return [text], True
    text = decode_text(data, path.name)
    web = looks_like_web_page(text)
    pages = text.split("\f")
    cleaned = ([clean_web_text(p) for p in pages] if web else
               [clean_report_text(p) for p in strip_running_lines(pages)])
    return cleaned, web


# --------------------------------------------------------------------------- metadata

_MONTHS = {m: i for i, m in enumerate(MONTHS, start=1)}
_LONG_DATE = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d\d)\b", re.I
)
_SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/((?:19|20)\d\d)\b")
_ISO_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d\d)-(\d\d)-(\d\d)(?!\d)")
_PREFIX_DATE = re.compile(r"^((?:19|20)\d\d)(?:-(\d\d)-(\d\d))?(?=[_\- .])")


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_date(text: str) -> str | None:
    """First full date written in the text ("19 October 2017", "19/10/2012"), UK order."""
    found: list[tuple[int, str]] = []
    for m in _LONG_DATE.finditer(text):
        iso = _iso(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
        if iso:
            found.append((m.start(), iso))
            break
    for m in _SLASH_DATE.finditer(text):
        iso = _iso(int(m[3]), int(m[2]), int(m[1]))
        if iso:
            found.append((m.start(), iso))
            break
    return min(found)[1] if found else None


def date_from_name(name: str) -> str | None:
    """A ``YYYY-MM-DD`` anywhere in the file name, else a ``YYYY`` prefix.

    The corpus names files ``2017-10-19_ofsted_...``; downloads often end in the date
    (``sandwell_inspection-report_2018-01-29.pdf``). A bare year only counts as a
    prefix, where it is a naming convention rather than part of a title.
    """
    full = _ISO_IN_NAME.search(name)
    if full:
        return _iso(int(full[1]), int(full[2]), int(full[3]))
    m = _PREFIX_DATE.match(name)
    if not m:
        return None
    if m[2]:
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    return m[1]


def infer_kind(text: str, name: str, web: bool, ofsted: OfstedMeta | None = None) -> str:
    """Classify by what the document says it is, else by its shape; the catalog can
    correct it."""
    if ofsted is not None and ofsted.kind in _OFSTED_KINDS and not web:
        return _OFSTED_KINDS[ofsted.kind]
    head = text[:4000].lower()
    lname = name.lower()
    if web:
        council = "council" in lname or re.search(r"\bour response\b|\bresponse:", head)
        return "council statement" if council else "news article"
    if re.search(r"\bdear\b", head) and re.search(r"(monitoring|focused) visit", head):
        return "monitoring letter"
    if "letter" in lname:
        return "monitoring letter"
    if "inspection" in head or "inspection" in lname:
        return "inspection report"
    return "document"


_PLACE = r"((?:[A-Z][a-z]+[ -]){0,3}[A-Z][a-z]+)"
_COUNCIL_MENTION = re.compile(
    _PLACE + r"(?:['\u2019]s)? (?:City Council|County Council|Borough Council|[Cc]ouncil\b|"
    r"[Cc]hildren['\u2019]s (?:[Ss]ervices|[Tt]rust|social care))"
    r"|[Cc]hildren['\u2019]s (?:social care|services) in " + _PLACE)
_NOT_PLACES = frozenset({"The", "Our", "This", "Its", "Care", "Social", "City", "County",
                         "Local", "Borough", "Health", "Ofsted", "Children"})
_BODIES = frozenset({"City", "County", "Borough", "Metropolitan", "District", "Council"})


def infer_council(text: str) -> str | None:
    """The council a document that is not an Ofsted publication is about: the place it
    most often writes as a council ("Birmingham City Council", "Birmingham children's
    services", "children's social care in Birmingham"). Press releases and news about a
    council's services answer questions about that council, so a question naming it
    must still find them. Reads the first 20,000 characters (bounded patterns)."""
    counts: dict[str, int] = {}
    for m in _COUNCIL_MENTION.finditer(text[:20_000]):
        place = m[1] or m[2]
        words = place.split()
        while words and words[0] in _NOT_PLACES:
            words = words[1:]
        while words and words[-1] in _BODIES:
            words = words[:-1]
        if words:
            name = " ".join(words)
            counts[name] = counts.get(name, 0) + 1
    return max(counts, key=lambda n: (counts[n], -len(n))) if counts else None


def infer_publisher(text: str, kind: str) -> str | None:
    if kind in _OFSTED_KINDS.values() and re.search(r"\bOfsted\b", text):
        return "Ofsted"
    return None


def infer_title(text: str, kind: str, stem: str) -> str:
    """A letter's subject line, else the first short line, else the file name."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if kind in _LETTERS:
        for i, line in enumerate(lines[:-1]):
            if line.lower().startswith("dear "):
                return lines[i + 1].rstrip(".")
    for line in lines[:5]:
        if 8 <= len(line) <= 120 and not line.endswith((".", ",", ";")):
            return line
    return re.sub(r"[_\-]+", " ", stem).strip().capitalize()


def load_catalog(corpus_dir: Path) -> dict[str, dict[str, str]]:
    """Per-file metadata overrides: a table per file name.

    ``catalog.toml`` is the corpus keeper's; ``.uploads.toml`` holds what an editor
    confirmed when adding a file through the page (written by rag.uploads). Where both
    name a field of a file, ``catalog.toml`` wins.
    """
    merged: dict[str, dict[str, str]] = {}
    for name in (UPLOADS_CATALOG_NAME, CATALOG_NAME):
        for file, entry in read_catalog(corpus_dir / name).items():
            merged.setdefault(file, {}).update(entry)
    return merged


def read_catalog(path: Path) -> dict[str, dict[str, str]]:
    """One catalog file's tables, checked; {} when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise LoadError(f"{path}: not valid TOML ({exc}); fix or remove it") from exc
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise LoadError(f"{path}: {name!r} is not a table; write [\"file name\"] with the "
                            f"fields under it (known: {list(CATALOG_FIELDS)})")
        if not isinstance(entry.get("judgements", {}), dict):
            raise LoadError(f"{path}: [{name!r}] judgements must be a table, such as "
                            '{overall_effectiveness = "good"}')
        unknown = set(entry) - set(CATALOG_FIELDS)
        if unknown:
            raise LoadError(f"{path}: [{name!r}] has unknown fields {sorted(unknown)}; "
                            f"known: {list(CATALOG_FIELDS)}")
    return data


def doc_id_for(source: str) -> str:
    """The relative path: unique, stable across re-indexing, and readable in a citation."""
    return source


# ------------------------------------------------------------------------------ load

def load_document(
    path: Path,
    corpus_dir: Path,
    catalog: dict[str, dict[str, str]] | None = None,
    max_bytes: int | None = None,
) -> Document:
    """Read, clean and describe one file. Raises LoadError with a reason a person can act on."""
    source = path.relative_to(corpus_dir).as_posix()
    if path.suffix.lower() not in SUPPORTED:
        raise LoadError(f"{source}: unsupported type {path.suffix!r}; use {sorted(SUPPORTED)}")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise LoadError(
            f"{source}: {size / 1e6:.0f} MB is over the {max_bytes / 1e6:.0f} MB limit "
            "(RAG_MAX_FILE_MB); split the file or raise the limit"
        )
    data = path.read_bytes()
    if not data.strip():
        raise LoadError(f"{source}: the file is empty")
    pages, web = _read_pages(path, data)
    page_starts: list[int] = []
    parts: list[str] = []
    offset = 0
    for page in pages:
        page_starts.append(offset)
        parts.append(page)
        offset += len(page) + 2
    text = "\n\n".join(parts)
    if not text.strip():
        raise LoadError(f"{source}: no text left after cleaning; check the file has prose")
    # Dates and Ofsted's heading are read from the raw text too: web cleaning drops bylines
    # that carry dates, and report cleaning rewraps the judgement table.
    raw = text if path.suffix.lower() == ".pdf" else decode_text(data, source)
    ofsted = read_metadata(raw) if not web else OfstedMeta()
    name_date = date_from_name(path.name)
    if not (name_date and len(name_date) == 10):
        name_date = ofsted.published or find_date(raw[:3000]) or name_date
    kind = infer_kind(text, path.name, web, ofsted)
    meta = {
        # A letter's subject line as written: report cleaning joins it to the next line.
        "title": infer_title(raw if kind in _LETTERS and not web else text, kind, path.stem),
        "date": name_date,
        "kind": kind,
        "publisher": infer_publisher(text, kind),
        "url": None,
        "council": ofsted.council or infer_council(text),
        "inspection_start": ofsted.inspection_start,
        "inspection_end": ofsted.inspection_end,
        "published": ofsted.published,
        "judgements": dict(ofsted.judgements),
    }
    meta.update((catalog or {}).get(path.name, {}))
    return Document(
        doc_id=doc_id_for(source),
        source=source,
        title=str(meta["title"]),
        date=str(meta["date"]) if meta["date"] else None,
        kind=str(meta["kind"]),
        publisher=meta["publisher"],
        url=meta["url"],
        text=text,
        page_starts=page_starts if len(pages) > 1 or path.suffix.lower() == ".pdf" else [],
        content_hash=hashlib.sha256(data).hexdigest(),
        council=_text_or_none(meta["council"]),
        inspection_start=_text_or_none(meta["inspection_start"]),
        inspection_end=_text_or_none(meta["inspection_end"]),
        published=_text_or_none(meta["published"]),
        judgements={str(k): str(v).lower() for k, v in dict(meta["judgements"] or {}).items()},
    )


def _text_or_none(value: object) -> str | None:
    return str(value) if value else None
