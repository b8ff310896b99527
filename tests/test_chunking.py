"""Chunking (rag/chunking.py): passages a person can cite, with spans, pages and numbers.

No model: tokens are counted as words, so the sizes below are easy to reason about.
"""

from __future__ import annotations

from rag.chunking import Chunk, chunk_document, is_heading
from rag.documents import Document


def words(text: str) -> int:
    return len(text.split())


def sentences(subject: str, n: int) -> str:
    """n distinct ten-word sentences about a subject."""
    return " ".join(f"Inspectors found that {subject} case number {i} was handled well."
                    for i in range(1, n + 1))


def document(*pages: str, title: str = "Inspection of Testshire") -> Document:
    """A document laid out as the loader lays it out: pages joined by a blank line."""
    starts, offset = [], 0
    for page in pages:
        starts.append(offset)
        offset += len(page) + 2
    return Document(doc_id="testshire.txt", source="testshire.txt", title=title,
                    date="2019-03-12", kind="inspection report", publisher="Ofsted", url=None,
                    text="\n\n".join(pages), page_starts=starts if len(pages) > 1 else [])


def chunk(doc: Document, max_tokens: int = 200, chunk_tokens: int = 40,
          overlap_tokens: int = 0) -> list[Chunk]:
    return chunk_document(doc, words, max_tokens=max_tokens, chunk_tokens=chunk_tokens,
                          overlap_tokens=overlap_tokens)


def by_paragraph(chunks: list[Chunk], number: int, section: str = "Findings") -> list[Chunk]:
    return [c for c in chunks if c.paragraph == number and c.section == section]


def assert_spans_match(doc: Document, chunks: list[Chunk]) -> None:
    assert chunks
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text, (c.ordinal, c.text[:60])
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


PARAGRAPH_2 = "2. " + sentences("the front door", 6)  # 60 words: over chunk_tokens (40)
PARAGRAPH_3 = "3. Care leavers are supported by personal advisers who:"
BULLETS = "- keep in touch with them every month\n- help them to find somewhere to live"
SUMMARY = "Leaders know their services well. Caseloads are manageable."
REPORT = "\n\n".join([
    "Children's services in Testshire require improvement",
    SUMMARY,
    "Findings",
    "1. Children who go missing from home are offered return home interviews.",
    PARAGRAPH_2,
    PARAGRAPH_3,
    BULLETS,
    "Recommendations",
    "1. Ensure that every child who goes missing is offered a return home interview.",
    "2. Improve the timeliness of assessments.",
])


def test_a_numbered_paragraph_longer_than_a_chunk_is_kept_whole_when_the_model_can_take_it():
    doc = document(REPORT)
    chunks = chunk(doc, max_tokens=200, chunk_tokens=40)
    [whole] = by_paragraph(chunks, 2)
    assert whole.text == PARAGRAPH_2
    assert words(whole.text) > 40


def test_a_numbered_paragraph_too_long_for_the_model_is_split_and_each_piece_keeps_its_number():
    doc = document(REPORT)
    chunks = chunk(doc, max_tokens=50, chunk_tokens=20)
    pieces = by_paragraph(chunks, 2)
    assert len(pieces) >= 3
    assert all(words(p.text) <= 20 for p in pieces)
    assert pieces[0].text.startswith("2. Inspectors found") and "case number 6" in pieces[-1].text
    assert_spans_match(doc, chunks)


def test_every_chunk_span_is_its_text_in_the_document_and_ordinals_follow_the_text():
    prose = "\n\n".join(sentences(f"team {t}", 3) for t in range(1, 6))  # 150 words, 5 blocks
    doc = document(REPORT + "\n\nOther findings\n\n" + prose)
    chunks = chunk(doc, chunk_tokens=40, overlap_tokens=5)
    assert_spans_match(doc, chunks)
    assert len([c for c in chunks if c.section == "Other findings"]) >= 3  # the prose, cut


def test_paragraph_numbers_and_sections_are_carried():
    chunks = chunk(document(REPORT))
    numbered = [(c.section, c.paragraph) for c in chunks if c.paragraph is not None]
    assert chunks[0].paragraph is None  # the summary
    assert numbered == [("Findings", 1), ("Findings", 2), ("Findings", 3),
                        ("Recommendations", 1), ("Recommendations", 2)]
    assert all(c.page is None for c in chunks), "a document without pages has no page numbers"


def test_a_list_starting_at_one_keeps_its_heading_and_the_next_paragraph_starts_at_its_number():
    chunks = chunk(document(REPORT))
    [first] = by_paragraph(chunks, 1)
    assert first.text == ("Findings\n\n1. Children who go missing from home are offered return "
                          "home interviews.")
    [again] = by_paragraph(chunks, 1, "Recommendations")
    assert again.text.startswith("Recommendations\n\n1. Ensure")
    [second] = by_paragraph(chunks, 2, "Recommendations")
    assert second.text == "2. Improve the timeliness of assessments."


def test_a_bullet_list_belongs_to_the_paragraph_that_introduces_it():
    [three] = by_paragraph(chunk(document(REPORT)), 3)
    assert three.text == PARAGRAPH_3 + "\n\n" + BULLETS


def test_unnumbered_prose_keeps_its_heading_and_has_no_paragraph_number():
    [summary] = [c for c in chunk(document(REPORT)) if SUMMARY in c.text]
    assert summary.text == "Children's services in Testshire require improvement\n\n" + SUMMARY
    assert summary.section == "Children's services in Testshire require improvement"
    assert summary.paragraph is None


def test_chunks_carry_the_page_their_text_starts_on():
    page_1 = "Findings\n\n1. Thresholds are understood by partners.\n\n" + sentences("page one", 2)
    page_2 = "2. Return home interviews are offered.\n\n" + sentences("page two", 2)
    doc = document(page_1, page_2)
    chunks = chunk(doc)
    assert [(c.paragraph, c.page) for c in chunks] == [(1, 1), (None, 1), (2, 2), (None, 2)]
    assert_spans_match(doc, chunks)


def test_prose_does_not_run_across_a_page_boundary():
    doc = document("Leaders know their services well.", "Caseloads are manageable.")
    chunks = chunk(doc)
    assert [(c.text, c.page) for c in chunks] == [
        ("Leaders know their services well.", 1), ("Caseloads are manageable.", 2)]


def test_a_paragraph_broken_by_a_page_boundary_is_one_chunk_on_its_first_page():
    doc = document("Findings\n\n4. Managers oversee casework and",
                   "supervision is regular and reflective.\n\n5. Staff are well trained.")
    chunks = chunk(doc)
    [four] = by_paragraph(chunks, 4)
    assert four.text.endswith("casework and\n\nsupervision is regular and reflective.")
    assert four.page == 1
    assert [(c.paragraph, c.page) for c in by_paragraph(chunks, 5)] == [(5, 2)]


def test_embedded_text_leads_with_title_and_section():
    [three] = by_paragraph(chunk(document(REPORT)), 3)
    assert three.embed_text("Inspection of Testshire") == (
        "Inspection of Testshire - Findings\n" + three.text)
    untitled = Chunk("d", 0, "Some text.", 0, 10, None, None, None)
    assert untitled.embed_text("") == "Some text."


def test_headings_are_short_unpunctuated_lines():
    assert is_heading("Recommendations")
    assert is_heading("Children's services in Birmingham are inadequate")
    assert not is_heading("Leaders know their services well.")  # a sentence
    assert not is_heading("12. Thresholds are understood")  # a numbered paragraph
    assert not is_heading("- keep in touch")  # a bullet
    assert not is_heading("social workers")  # lower case
    assert not is_heading("Findings\nMore")  # two lines
