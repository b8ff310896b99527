"""`rag index` syncs index/ with corpus/: only what changed is embedded, nothing is lost."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from rag import store
from rag.chunking import Chunk
from rag.config import Settings, load_settings
from rag.documents import Document
from rag.indexing import embed_chunks, manifest_for, manifest_mismatch, sync
from rag.words import split_sentences
from tests.conftest import SHARED, settings_for

NEW_LETTER = """19 March 2018

Dear Mr Example

Monitoring visit of Testshire children's services

This letter summarises the findings of the third monitoring visit to Testshire children's
services on 20 and 21 February 2018. Inspectors reviewed services for care leavers.

Personal advisers now keep in touch with almost all care leavers, and pathway plans are
more specific about education, employment and housing.

Yours sincerely

A Inspector
Her Majesty's Inspector
"""


def assert_consistent(settings: Settings) -> store.IndexReader:
    """FAISS ids, SQLite chunk rows and the FTS5 table agree exactly."""
    reader = store.IndexReader(settings.index_dir)
    ids = {r[0] for r in reader.conn.execute("SELECT id FROM chunks")}
    fts = {r[0] for r in reader.conn.execute("SELECT rowid FROM chunks_fts")}
    assert reader.faiss is not None
    faiss_ids = {int(reader.faiss.id_map.at(i)) for i in range(reader.faiss.ntotal)}
    assert faiss_ids == ids
    assert fts == ids
    # the FAISS file on disk is the one for the current generation
    assert store.faiss_path(reader.dir, reader.generation).is_file()
    return reader


def chunk_count(settings: Settings, source: str) -> int:
    conn = store.connect(settings.index_dir, readonly=True)
    n = conn.execute("SELECT count(*) FROM chunks c JOIN documents d USING (doc_id)"
                     " WHERE d.source = ?", (source,)).fetchone()[0]
    conn.close()
    return n


def test_first_index_adds_the_five_documents(built_index: Settings) -> None:
    reader = assert_consistent(built_index)
    st = store.status(reader.conn)
    assert st.documents == 5
    assert st.chunks > 50
    assert st.model == built_index.model


def test_second_run_with_nothing_changed_embeds_nothing(index_copy: Settings) -> None:
    # No embedder is passed: a no-change run must not need (or load) the model.
    report = sync(index_copy)
    assert report.chunks_embedded == 0
    assert len(report.unchanged) == 5
    assert not (report.added or report.updated or report.removed or report.failed)
    assert_consistent(index_copy)


def test_adding_a_letter_embeds_only_its_chunks(index_copy: Settings, embedder) -> None:
    (index_copy.corpus_dir / "2018-03-19_testshire_monitoring-letter.txt").write_text(NEW_LETTER)
    report = sync(index_copy, embedder=embedder)
    assert report.added == ["2018-03-19_testshire_monitoring-letter.txt"]
    assert report.chunks_embedded == chunk_count(index_copy, report.added[0]) > 0
    assert len(report.unchanged) == 5
    reader = assert_consistent(index_copy)
    row = reader.conn.execute("SELECT * FROM documents WHERE source = ?",
                              (report.added[0],)).fetchone()
    assert row["date"] == "2018-03-19"
    assert row["kind"] == "monitoring letter"
    assert row["title"] == "Monitoring visit of Testshire children's services"


def test_editing_a_file_re_embeds_only_it(index_copy: Settings, embedder) -> None:
    path = index_copy.corpus_dir / "community-care_fifth-monitoring-visit.txt"
    path.write_text(path.read_text() + "\nA late correction: inspectors praised the trust.\n")
    report = sync(index_copy, embedder=embedder)
    assert report.updated == [path.name]
    assert report.chunks_embedded == chunk_count(index_copy, path.name)
    assert len(report.unchanged) == 4
    assert_consistent(index_copy)


def test_deleting_a_file_removes_its_chunks_from_sqlite_and_faiss(index_copy: Settings) -> None:
    before = assert_consistent(index_copy)
    gone = {r[0] for r in before.conn.execute(
        "SELECT id FROM chunks WHERE doc_id = '2012-10-19_birmingham-city-council_response-to-"
        "inspection.txt'")}
    assert gone
    (index_copy.corpus_dir / "2012-10-19_birmingham-city-council_response-to-inspection.txt"
     ).unlink()
    report = sync(index_copy)
    assert report.removed == ["2012-10-19_birmingham-city-council_response-to-inspection.txt"]
    after = assert_consistent(index_copy)
    faiss_ids = {int(after.faiss.id_map.at(i)) for i in range(after.faiss.ntotal)}
    assert not gone & faiss_ids
    assert store.status(after.conn).documents == 4


def test_unreadable_file_is_reported_by_name_and_the_rest_indexes(
    tmp_path: Path, embedder
) -> None:
    settings = settings_for(tmp_path)
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "good.txt").write_text(NEW_LETTER)
    (settings.corpus_dir / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (settings.corpus_dir / "empty.txt").write_text("   \n")
    (settings.corpus_dir / "notes.docx").write_bytes(b"PK\x03\x04")
    report = sync(settings, embedder=embedder)
    assert report.added == ["good.txt"]
    failed = dict(report.failed)
    assert set(failed) == {"binary.txt", "empty.txt", "notes.docx"}
    assert "binary" in failed["binary.txt"]
    assert "empty" in failed["empty.txt"]
    assert "unsupported" in failed["notes.docx"]
    assert_consistent(settings)


def test_a_file_that_breaks_keeps_its_indexed_version(index_copy: Settings, embedder) -> None:
    path = index_copy.corpus_dir / "community-care_fifth-monitoring-visit.txt"
    before = chunk_count(index_copy, path.name)
    path.write_bytes(b"\x00\xff" * 50)
    report = sync(index_copy, embedder=embedder)
    assert [name for name, _ in report.failed] == [path.name]
    assert chunk_count(index_copy, path.name) == before
    assert_consistent(index_copy)


def test_changed_settings_rebuild_the_index_and_say_so(index_copy: Settings, embedder) -> None:
    changed = settings_for(index_copy.corpus_dir.parent, chunk_tokens=100)
    report = sync(changed, embedder=embedder)
    assert report.rebuilt_because and "chunk_tokens" in report.rebuilt_because
    assert len(report.added) == 5
    reader = assert_consistent(changed)
    assert reader.manifest["chunk_tokens"] == 100


def test_switching_how_chunk_vectors_are_made_rebuilds(index_copy: Settings, embedder) -> None:
    """Vectors made one way do not rank against vectors made the other: no mixed index."""
    changed = settings_for(index_copy.corpus_dir.parent, chunk_vectors="embedded")
    report = sync(changed, embedder=embedder)
    assert report.rebuilt_because == "chunk_vectors changed from 'sentences' to 'embedded'"
    assert assert_consistent(changed).manifest["chunk_vectors"] == "embedded"


def test_an_index_from_before_the_setting_had_embedded_chunk_vectors() -> None:
    wanted = manifest_for(load_settings(env={}))
    old = {k: v for k, v in wanted.items() if k != "chunk_vectors"}
    assert manifest_mismatch(old, wanted) == (
        "chunk_vectors changed from 'embedded' to 'sentences'")


def test_an_unknown_way_to_make_chunk_vectors_is_named() -> None:
    with pytest.raises(ValueError, match="chunk_vectors.*RAG_CHUNK_VECTORS.*sentences, embedded"):
        load_settings(env={"RAG_CHUNK_VECTORS": "pooled"})


@pytest.mark.model
def test_a_chunk_vector_is_the_sum_of_its_sentences_and_heading(embedder) -> None:
    """The default: the model reads a chunk's text once, as sentences; the chunk's vector
    is built from theirs. A chunk with no sentence, and the "embedded" setting, embed
    the heading and text as one text."""
    doc = Document(doc_id="t.txt", source="t.txt", title="Monitoring visit of Testshire",
                   date="2018-03-19", kind="letter", publisher=None, url=None,
                   text=NEW_LETTER, content_hash="x")
    chunks = [Chunk(doc_id="t.txt", ordinal=i, text=text, start=0, end=len(text), page=None,
                    paragraph=None, section=section)
              for i, (text, section) in enumerate([
                  ("Personal advisers now keep in touch with almost all care leavers. "
                   "Pathway plans are more specific about housing.", "Care leavers"),
                  ("Care leavers", None)])]
    assert [len(split_sentences(c.text)) for c in chunks] == [2, 0]
    vectors, sentences = embed_chunks(embedder, [(doc, chunks)], "sentences")
    assert [len(s) for s in sentences] == [2, 0]
    parts = embedder.encode(["Personal advisers now keep in touch with almost all care leavers.",
                             "Pathway plans are more specific about housing.",
                             "Monitoring visit of Testshire - Care leavers"])
    assert np.allclose(sentences[0], parts[:2], atol=1e-4)
    total = parts.sum(axis=0)
    assert np.allclose(vectors[0], total / np.linalg.norm(total), atol=1e-4)
    whole = embedder.encode([chunks[1].embed_text(doc.title)])[0]
    assert np.allclose(vectors[1], whole, atol=1e-4)
    embedded, same_sentences = embed_chunks(embedder, [(doc, chunks)], "embedded")
    assert np.allclose(embedded, embedder.encode([c.embed_text(doc.title) for c in chunks]),
                       atol=1e-4)
    assert np.allclose(same_sentences[0], sentences[0], atol=1e-4)


def test_numbered_report_paragraphs_carry_their_number(built_index: Settings) -> None:
    reader = store.IndexReader(built_index.index_dir)
    rows = reader.conn.execute(
        "SELECT text, paragraph, section FROM chunks WHERE doc_id = "
        "'2016_ofsted_inspection-report.txt'").fetchall()
    numbered = [r for r in rows if re.match(r"\s*(\d{1,3})\.\s+[A-Z]", r["text"])]
    assert len(numbered) > 100
    for r in numbered:
        assert r["paragraph"] == int(re.match(r"\s*(\d+)", r["text"])[1]), r["text"][:80]
    para41 = [r for r in rows if r["paragraph"] == 41]
    assert para41 and para41[0]["text"].startswith("41. Services for children missing")
    assert {r["paragraph"] for r in rows} >= set(range(18, 125))


WEB_BOILERPLATE = [
    "Read Full Story", "closechevron", "linkedin", "Subscribe Today", "Respect4SocialWork",
    "Make an Enquiry", "Mackman", "More from Community Care", "Comments are closed",
    "subscribe now", "Tags:", "Fotolia", "COVID",
]


@pytest.mark.parametrize("source", [
    "children-first_fourth-monitoring-visit.txt",
    "community-care_fifth-monitoring-visit.txt",
    "2012-10-19_birmingham-city-council_response-to-inspection.txt",
])
def test_no_chunk_of_a_web_article_is_navigation(built_index: Settings, source: str) -> None:
    reader = store.IndexReader(built_index.index_dir)
    texts = [r[0] for r in reader.conn.execute(
        "SELECT text FROM chunks WHERE doc_id = ?", (source,))]
    assert texts
    for text in texts:
        for marker in WEB_BOILERPLATE:
            assert marker.lower() not in text.lower(), (marker, text[:200])


def test_vectors_in_faiss_match_those_stored(built_index: Settings) -> None:
    reader = store.IndexReader(built_index.index_dir)
    row = reader.conn.execute("SELECT id, vector FROM chunks LIMIT 1").fetchone()
    stored = np.frombuffer(row["vector"], dtype=np.float32)
    assert np.allclose(reader.faiss.reconstruct(int(row["id"])), stored)


REAL_PDFS = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"


@pytest.mark.slow
@pytest.mark.skipif(not REAL_PDFS.is_dir(), reason="../shared/real-pdfs is not present")
def test_real_ofsted_pdfs_index_with_pages_paragraphs_and_no_letterhead(
    tmp_path: Path, embedder
) -> None:
    settings = settings_for(tmp_path)
    settings.corpus_dir.mkdir()
    for name in ("sandwell_inspection-report_2018-01-29.pdf",
                 "coventry_focused-visit-letter_2018-02-22.pdf"):
        (settings.corpus_dir / name).write_bytes((REAL_PDFS / name).read_bytes())
    report = sync(settings, embedder=embedder)
    assert len(report.added) == 2 and not report.failed
    reader = assert_consistent(settings)
    docs = {r["source"]: r for r in reader.conn.execute("SELECT * FROM documents")}
    assert docs["sandwell_inspection-report_2018-01-29.pdf"]["date"] == "2018-01-29"
    assert docs["sandwell_inspection-report_2018-01-29.pdf"]["kind"] == "inspection report"
    assert docs["coventry_focused-visit-letter_2018-02-22.pdf"]["kind"] == "focused visit letter"
    assert docs["coventry_focused-visit-letter_2018-02-22.pdf"]["council"] == "Coventry"
    chunks = reader.conn.execute("SELECT doc_id, text, page, paragraph FROM chunks").fetchall()
    assert all(c["page"] is not None and c["page"] >= 1 for c in chunks)
    sandwell = [c for c in chunks if c["doc_id"].startswith("sandwell")]
    para22 = [c for c in sandwell if c["paragraph"] == 22]
    assert para22 and para22[0]["page"] == 12 and para22[0]["text"].startswith("22. ")
    assert max(c["page"] for c in sandwell) >= 30
    for c in chunks:
        assert "Piccadilly Gate" not in c["text"] and "Textphone" not in c["text"], c["text"]
    letter = [c for c in chunks if c["doc_id"].startswith("coventry")]
    # The letterhead's contact line is furniture (Sandwell's complaints paragraph, which
    # mentions the address in a sentence, is content and stays).
    assert letter and not any("enquiries@ofsted.gov.uk" in c["text"] for c in letter)


def test_form_feeds_in_text_files_are_page_breaks(tmp_path: Path, embedder) -> None:
    settings = settings_for(tmp_path)
    settings.corpus_dir.mkdir()
    pages = [
        "Inspection of Testshire children's services\n\nThe first page talks about adoption "
        "panels and how quickly adopters are approved.",
        "The second page describes care leavers and their personal advisers in detail.",
        "The third page is about the multi-agency safeguarding hub and its thresholds.",
    ]
    (settings.corpus_dir / "testshire.txt").write_text("\f".join(pages))
    sync(settings, embedder=embedder)
    reader = assert_consistent(settings)
    by_page = {r["page"]: r["text"] for r in reader.conn.execute("SELECT page, text FROM chunks")}
    assert set(by_page) == {1, 2, 3}
    assert "care leavers" in by_page[2] and "safeguarding hub" in by_page[3]


def test_every_chunk_span_points_at_its_text(built_index: Settings) -> None:
    reader = store.IndexReader(built_index.index_dir)
    docs = {r["doc_id"]: r["text"]
            for r in reader.conn.execute("SELECT doc_id, text FROM documents")}
    for c in reader.conn.execute("SELECT doc_id, start, end, text FROM chunks"):
        assert docs[c["doc_id"]][c["start"]:c["end"]] == c["text"], c["text"][:80]


SCALE_TARBALL = SHARED / "scale-corpus" / "ofsted-reports-text.tar.xz"


@pytest.mark.skipif(not SCALE_TARBALL.is_file(),
                    reason=f"{SCALE_TARBALL} is missing (the scale corpus lives in ../shared/)")
def test_a_real_scale_corpus_report_gets_page_numbers_from_its_form_feeds(
    tmp_path: Path, embedder
) -> None:
    with tarfile.open(SCALE_TARBALL) as tar:
        member = next(m for m in tar if m.isfile() and m.name.endswith(".txt")
                      and "/focused-visits/" in m.name)
        raw = tar.extractfile(member).read()
    settings = settings_for(tmp_path)
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "letter.txt").write_bytes(raw)
    assert not sync(settings, embedder=embedder).failed
    reader = assert_consistent(settings)
    pages = raw.decode().count("\f") + 1
    assert pages > 1
    doc = reader.conn.execute("SELECT page_starts FROM documents").fetchone()
    assert len(json.loads(doc["page_starts"])) == pages
    on = {r["page"] for r in reader.conn.execute("SELECT page FROM chunks")}
    assert on <= set(range(1, pages + 1)) and len(on) > 1
