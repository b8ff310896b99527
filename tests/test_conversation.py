"""The conversation export: Markdown with every citation, document text escaped."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.answering import NOT_COVERED
from rag.conversation import Turn, export_name, history, to_markdown
from rag.records import Answer, Citation, DocumentRef, Filters, Passage

WHEN = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)


REPORT = DocumentRef("2016.txt", "Children’s services", "2016.txt", "2016", "inspection report")


def cited(n: int, quote: str, page: int | None = None) -> Citation:
    """Cited at paragraph 112, or on a page when one is given."""
    passage = Passage(chunk_id=n, doc=REPORT, page=page,
                      paragraph=None if page else 112, section=None, text=quote)
    return Citation(n=n, passage=passage, quote=quote)


def test_export_lists_questions_answers_and_citations() -> None:
    answer = Answer("What about RHIs?", "The report says: RHIs are rare. [1] Most are late. [2]",
                    False, [cited(1, "RHIs are rare."), cited(2, "Most are late.", page=4)])
    turn = Turn("What about RHIs?", answer, Filters(kinds=("inspection report",)))
    text = to_markdown([turn], WHEN)
    assert text.startswith("# Inspection reports Q&A: conversation\n\nExported 2024-05-01 09:30")
    assert "## 1. What about RHIs\\?" in text
    assert "*Searched only in kind\\: inspection report*" in text
    assert "RHIs are rare\\. **\\[1\\]**" in text
    assert ("1. Children’s services (2016\\, inspection report\\, paragraph 112), "
            "`2016.txt`") in text
    assert "   > RHIs are rare\\." in text
    assert "2. Children’s services (2016\\, inspection report\\, page 4)" in text


def test_export_of_a_declined_question_names_the_closest_passages() -> None:
    hit = Passage(chunk_id=3, doc=DocumentRef("l.txt", "Letter", "l.txt", "2017",
                                              "monitoring letter"),
                  page=None, paragraph=None, section=None, text="Caseloads are lower.",
                  score=0.1)
    answer = Answer("Manchester?", NOT_COVERED, True, closest=[hit],
                    notice="No indexed document mentions Manchester.")
    text = to_markdown([Turn("What about Manchester?", answer)], WHEN)
    assert "do not cover this question" in text
    assert "> **Note:** No indexed document mentions Manchester\\." in text
    assert "**Closest passages (they do not answer it)**" in text
    assert "- Letter · 2017 · monitoring letter" in text and "Caseloads are lower\\." in text


def test_export_escapes_markup_from_documents_and_questions() -> None:
    evil = "<script>x()</script> [click](javascript:alert(1))"
    answer = Answer(evil, f"It says: {evil} [1]", False, [cited(1, evil)])
    text = to_markdown([Turn(evil, answer)], WHEN)
    assert "<script>" not in text and "](javascript" not in text
    assert "\\<script\\>" in text


def test_history_is_the_earlier_questions_in_order() -> None:
    turns = [Turn("first?", Answer("first?", "", True)), Turn("second?", Answer("", "", True))]
    assert history(turns) == ["first?", "second?"]
    assert history([]) == []


def test_export_name() -> None:
    assert export_name(dt.datetime(2024, 5, 1, 9, 30)) == "conversation-20240501-0930.md"


def test_a_file_name_cannot_carry_markup_into_the_export() -> None:
    """A line break in a name would end its code span and let HTML after it through."""
    name = "minutes\n\n<img src=x onerror=alert(1)>`<script>x()</script>.txt"
    doc = DocumentRef(name, "Minutes", name, "2016", "inspection report")
    passage = Passage(chunk_id=1, doc=doc, page=None, paragraph=3, section=None,
                      text="Caseloads are lower.")
    answer = Answer("Caseloads?", "It says: Caseloads are lower. [1]", False,
                    [Citation(n=1, passage=passage, quote="Caseloads are lower.")])
    text = to_markdown([Turn("Caseloads?", answer)], WHEN)
    assert "`minutes <img src=x onerror=alert(1)><script>x()</script>.txt`" in text
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py not installed")
    html = markdown_it.MarkdownIt("commonmark").render(text)
    assert "<img" not in html and "<script" not in html


def test_export_shows_the_answer_in_its_readable_form() -> None:
    from rag.form import arrange, plain_text

    letter = DocumentRef("2017.txt", "Visit", "2017.txt", "2017", "monitoring letter")
    citations = [cited(1, "RHIs are rare."), cited(2, "Most are late."),
                 Citation(3, Passage(chunk_id=3, doc=letter, page=None, paragraph=None,
                                     section=None, text="- Caseloads fell."),
                          "- Caseloads fell.")]
    blocks = arrange(citations, direct=2)
    answer = Answer("RHIs?", plain_text(blocks), False, citations, blocks=blocks)
    text = to_markdown([Turn("RHIs?", answer)], WHEN)
    body = text.split("## 1. RHIs\\?\n\n")[1].split("\n\n**Sources**")[0]
    assert body == (
        "*The inspection report \\(2016\\) says\\:* Most are late\\. **\\[2\\]**\n\n"
        "*The inspection report “Children’s services” \\(2016\\) says\\:*\n\n"
        "- RHIs are rare\\. **\\[1\\]**\n\n"
        "*The monitoring letter “Visit” \\(2017\\) says\\:*\n\n"
        "- \\- Caseloads fell\\. **\\[3\\]**")
