"""Uploads from the browser: names made safe, content checked by its bytes, never overwritten.

The pure checks are tested directly; ``ingest`` is tested end to end with the real model
and a real index copy, because "answerable at once" is the point of it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rag.answering import Assistant
from rag.config import Settings
from rag.embedding import Embedder
from rag.records import Filters
from rag.retrieval import Retriever
from rag.uploads import (
    UploadRejected,
    check_content,
    decode_upload,
    existing_copy,
    ingest,
    sanitise_name,
    save,
    validate,
)

MB = 1_000_000
LETTER = (b"12 March 2019\n\nDear Ms Example\n\nMonitoring visit of Sampleshire children's "
          b"services\n\nInspectors found that the Sampleshire fostering panel had not met "
          b"since the autumn, so carers waited months for approval.\n\nYours sincerely\n")


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


# ------------------------------------------------------------------------------- names

@pytest.mark.parametrize(("sent", "stored"), [
    ("letter.txt", "letter.txt"),
    ("2019-03-12 Monitoring letter.PDF", "2019-03-12_Monitoring_letter.pdf"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\Windows\\evil.md", "evil.md"),
    ("/abs/path/report.html", "report.html"),
    ("..txt", "upload.txt"),
    ("a..b...c.txt", "a.b.c.txt"),
    (".hidden.txt", "hidden.txt"),
    ("nul\x00byte.txt", "nulbyte.txt"),
    ("tab\tand\nnewline.txt", "tabandnewline.txt"),
    ("CON.txt", "CON_.txt"),
    ("lpt1.md", "lpt1_.md"),
    ("README.md", "README_.md"),
    ("Café <script>.htm", "Cafe_script.htm"),
    ("rapport d’inspection (final).pdf", "rapport_dinspection_final.pdf"),
    ("-rf.txt", "rf.txt"),
    ("$(rm -rf).txt", "rm_-rf.txt"),
])
def test_names_are_made_safe(sent: str, stored: str) -> None:
    assert sanitise_name(sent) == stored


def test_a_long_name_is_shortened() -> None:
    name = sanitise_name("x" * 500 + ".txt")
    assert name.endswith(".txt") and len(name) <= 104


@pytest.mark.parametrize("sent", ["letter", "letter.docx", "letter.exe", "archive.tar.gz",
                                  "evil.txt/", "catalog.toml"])
def test_names_without_an_accepted_type_are_refused(sent: str) -> None:
    with pytest.raises(UploadRejected, match="not accepted|no extension"):
        sanitise_name(sent)


# ----------------------------------------------------------------------------- content

def test_text_pdf_html_and_markdown_pass() -> None:
    check_content("a.txt", LETTER, MB)
    check_content("a.md", b"# Heading\n\nSome *findings*.", MB)
    check_content("a.html", b"<!DOCTYPE html><html><body><p>Findings</p></body></html>", MB)
    check_content("a.htm", b"<div><p>Findings</p></div>", MB)
    check_content("a.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", MB)
    check_content("a.txt", "Caf\u00e9 \u2018quoted\u2019".encode("cp1252"), MB)
    check_content("a.txt", "\ufeffUTF-16 letter".encode("utf-16"), MB)


def test_a_zip_renamed_pdf_is_refused_by_its_content() -> None:
    with pytest.raises(UploadRejected, match=r"not a PDF: it is a ZIP archive"):
        check_content("letter.pdf", a_zip(), MB)


def test_a_pdf_must_start_with_the_pdf_header() -> None:
    with pytest.raises(UploadRejected, match="does not start with %PDF-"):
        check_content("letter.pdf", b"Dear Ms Example, this is text", MB)
    with pytest.raises(UploadRejected, match="not a PDF"):
        check_content("letter.pdf", b"  %PDF-1.4 preceded by spaces", MB)


@pytest.mark.parametrize(("data", "why"), [
    (b"%PDF-1.4\n...", "is a PDF file with a .txt name"),
    (a_zip(), "ZIP archive"),
    (b"\x89PNG\r\n\x1a\n....", "PNG image"),
    (b"{\\rtf1\\ansi Letter}", "RTF document"),
    (b"text\x00with\x00nuls", "NUL bytes"),
    (bytes(range(1, 32)) * 20, "control characters"),
    (b"\x81\x8d\x8f\x90\x9d" * 10, "not readable text"),
])
def test_binary_content_named_txt_is_refused(data: bytes, why: str) -> None:
    with pytest.raises(UploadRejected, match=why):
        check_content("letter.txt", data, MB)


def test_html_must_look_like_html() -> None:
    with pytest.raises(UploadRejected, match="does not look like HTML"):
        check_content("page.html", b"Just a plain letter, no tags at all.", MB)


def test_size_limit_and_empty_files() -> None:
    with pytest.raises(UploadRejected, match=r"over the 1 MB limit \(RAG_MAX_FILE_MB\)"):
        check_content("big.txt", b"a" * (MB + 1), MB)
    with pytest.raises(UploadRejected, match="is empty"):
        check_content("empty.txt", b" \n\t ", MB)


def test_decode_upload_reads_what_the_loader_reads() -> None:
    assert decode_upload("a.txt", "\ufeffhello".encode()) == "hello"
    assert decode_upload("a.txt", "\u2019".encode("cp1252")) == "\u2019"


def test_validate_returns_the_safe_name() -> None:
    assert validate("../x/My letter.txt", LETTER, MB) == "My_letter.txt"


# ------------------------------------------------------------------------------ saving

def test_save_never_overwrites(tmp_path: Path) -> None:
    first = save(tmp_path, "letter.txt", b"one")
    second = save(tmp_path, "letter.txt", b"two")
    third = save(tmp_path, "letter.txt", b"three")
    assert [p.name for p in (first, second, third)] == [
        "letter.txt", "letter-2.txt", "letter-3.txt"]
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "letter-2.txt", "letter-3.txt", "letter.txt"]  # no temporary file left behind


def test_save_stays_in_the_corpus_folder(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    path = save(corpus, sanitise_name("../../outside.txt"), b"x")
    assert path.parent == corpus.resolve()
    assert not (tmp_path / "outside.txt").exists()


def test_identical_content_is_found(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(LETTER)
    assert existing_copy(tmp_path, LETTER) == "a.txt"
    assert existing_copy(tmp_path, LETTER + b"!") is None


# ------------------------------------------------------------------------------ ingest

@pytest.mark.slow
def test_ingest_indexes_new_files_and_they_are_answerable_at_once(
    index_copy: Settings, embedder: Embedder,
) -> None:
    assistant = Assistant(index_copy, Retriever(index_copy, embedder=embedder))
    question = "What did inspectors find about the fostering panel in Sampleshire?"
    assert assistant.answer(question).abstained  # nothing about Sampleshire yet

    progress: list[tuple[str, int, int]] = []
    result = ingest(index_copy, [
        ("../Sampleshire letter.txt", LETTER),
        ("fake.pdf", a_zip()),
        ("copy of the letter.txt", LETTER),  # same bytes: would be indexed twice
    ], embedder=embedder, progress=lambda *a: progress.append(a))

    assert [(s.original, s.name) for s in result.added] == [
        ("../Sampleshire letter.txt", "Sampleshire_letter.txt")]
    assert [name for name, _ in result.rejected] == ["fake.pdf", "copy of the letter.txt"]
    assert "already in the corpus as Sampleshire_letter.txt" in result.rejected[1][1]
    assert result.report is not None and result.report.added == ["Sampleshire_letter.txt"]
    assert progress and progress[-1][1] == progress[-1][2]
    assert not (index_copy.corpus_dir / "fake.pdf").exists()

    # The same (cached) Assistant sees the new generation without being rebuilt.
    answer = assistant.answer(question)
    assert not answer.abstained, answer.notice
    assert any(c.doc.doc_id == "Sampleshire_letter.txt" for c in answer.citations)


@pytest.mark.slow
def test_a_file_the_indexer_cannot_read_is_removed_again(
    index_copy: Settings, embedder: Embedder,
) -> None:
    result = ingest(index_copy, [("broken.pdf", b"%PDF-1.4\nthis is not really a pdf")],
                    embedder=embedder)
    assert result.added == []
    assert result.rejected and "could not be indexed" in result.rejected[0][1]
    assert not (index_copy.corpus_dir / "broken.pdf").exists()


def test_an_upload_into_a_folder_that_lost_most_files_indexes_nothing(
    index_copy: Settings, embedder: Embedder,
) -> None:
    """Syncing would remove more than half the index: the upload says why and the
    index stays as it was (rag.indexing.PruneRefused)."""
    for path in sorted(index_copy.corpus_dir.glob("*.txt"))[:3]:
        path.unlink()
    result = ingest(index_copy, [("letter.txt", b"Dear Sir\n\nInspectors visited.\n" * 20)],
                    embedder=embedder)
    assert result.added == [] and result.report is None
    assert "lacks 3 of the 5 indexed documents" in result.rejected[0][1]
    assert not (index_copy.corpus_dir / "letter.txt").exists()
    assert len(Retriever(index_copy, embedder=embedder).reader.library(Filters())) == 5
