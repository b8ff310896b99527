"""An answer's form (rag/form.py, issue 19): the direct answer first, then the findings as
lists by document and date; a comparison one line per document. Records built by hand,
no model: the plain text, the page's Markdown (rendered here by markdown-it, a CommonMark
parser like the page's) and the metrics' reading of the text all come from one form."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from rag.answering import NOT_COVERED, with_judgements
from rag.display import answer_markdown, answer_pieces
from rag.form import arrange, lead_in, plain_text, short_lead_in
from rag.metrics import answer_statements
from rag.records import Answer, Citation, DocumentRef, Passage

REPORT = DocumentRef("2016.txt", "Children’s services are inadequate", "2016.txt", "2016",
                     "inspection report", council="Birmingham")
LETTER = DocumentRef("2017.txt", "Monitoring visit", "2017.txt", "2017-10-19",
                     "monitoring letter", council="Birmingham")


def cite(n: int, doc: DocumentRef, quote: str) -> Citation:
    passage = Passage(chunk_id=n, doc=doc, page=None, paragraph=n, section=None,
                      text=f"Before. {quote} After.")
    return Citation(n, passage, quote)


CITATIONS = [
    cite(1, REPORT, "Return home interviews are rare."),
    cite(2, REPORT, "Of these, two thirds take over 72 hours."),
    cite(3, REPORT, "Plans are weak."),
    cite(4, LETTER, "Return home interviews are now offered\nto every child."),
    cite(5, LETTER, "Managers check them weekly."),
]
FOLLOWS = {2: 1}


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def test_the_direct_sentence_comes_first_then_lists_by_document() -> None:
    blocks = arrange(CITATIONS, direct=4, follows=FOLLOWS)
    assert plain_text(blocks) == (
        "The Birmingham monitoring letter (2017-10-19) says: Return home interviews are now "
        "offered to every child. [4]\n\n"
        f"{lead_in(REPORT)}\n"
        "- Return home interviews are rare. [1] Of these, two thirds take over 72 hours. [2]\n"
        "- Plans are weak. [3]\n\n"
        f"{lead_in(LETTER)}\n"
        "- Managers check them weekly. [5]")


def test_a_direct_sentence_that_continues_another_brings_it_along() -> None:
    blocks = arrange(CITATIONS, direct=2, follows=FOLLOWS)
    first = plain_text(blocks).split("\n\n")[0]
    assert first == (f"{short_lead_in(REPORT)} Return home interviews are rare. [1] Of these, "
                     "two thirds take over 72 hours. [2]")
    # Its document's heading still introduces the rest of that document's findings.
    assert plain_text(blocks).split("\n\n")[1] == f"{lead_in(REPORT)}\n- Plans are weak. [3]"


def test_a_single_sentence_answer_stays_one_line() -> None:
    one = arrange(CITATIONS[:1], direct=1)
    assert plain_text(one) == f"{lead_in(REPORT)} Return home interviews are rare. [1]"
    # A sentence and the one continuing it are still one item: one line, no list.
    two = plain_text(arrange(CITATIONS[:2], direct=1, follows=FOLLOWS))
    assert "\n" not in two and two.startswith(lead_in(REPORT))
    assert arrange([], direct=None) == []


def test_a_comparison_is_one_line_per_document_oldest_first() -> None:
    text = plain_text(arrange(CITATIONS, direct=4, follows=FOLLOWS, comparison=True))
    assert text == (
        f"- {lead_in(REPORT)} Return home interviews are rare. [1] Of these, two thirds take "
        "over 72 hours. [2] Plans are weak. [3]\n"
        f"- {lead_in(LETTER)} Return home interviews are now offered to every child. [4] "
        "Managers check them weekly. [5]")
    # Drawn from one document, a comparison is one paragraph: no list of one.
    alone = plain_text(arrange(CITATIONS[:3], direct=3, comparison=True))
    assert alone == (f"{lead_in(REPORT)} Return home interviews are rare. [1] Of these, two "
                     "thirds take over 72 hours. [2] Plans are weak. [3]")


def test_the_metrics_read_the_same_statements_from_every_form() -> None:
    expected = sorted((" ".join(c.quote.split()), [c.n]) for c in CITATIONS)
    for comparison in (False, True):
        text = plain_text(arrange(CITATIONS, direct=3, follows=FOLLOWS, comparison=comparison))
        assert sorted(answer_statements(text)) == expected


def test_the_page_shows_the_lists_as_list_items_and_the_quotes_as_text() -> None:
    tricky = [cite(1, REPORT, "Return home interviews are rare."),
              cite(2, REPORT, "- 1. *Plans* are weak # [x](javascript:alert(1))"),
              cite(3, REPORT, "1. Managers check them.")]
    answer = Answer("q", "", False, tricky, blocks=arrange(tricky, direct=1))
    markdown = answer_markdown(answer)
    rendered = html(markdown)
    assert rendered.count("<li>") == 2 and rendered.count("<ul>") == 1
    assert "<ol" not in rendered and "<a " not in rendered and "<h1" not in rendered
    # Only the lead-ins are emphasised (the program's words): none of the quote's "*".
    assert re.findall(r"<em>(.*?)</em>", rendered) == [
        short_lead_in(REPORT), lead_in(REPORT)]
    assert "- 1. *Plans* are weak # [x](javascript:alert(1)) <strong>[2]</strong>" in rendered
    assert "<li>1. Managers check them. <strong>[3]</strong></li>" in rendered
    # The direct sentence is a paragraph before the heading and the list.
    assert rendered.index("are rare. <strong>[1]</strong></p>") < rendered.index("<ul>")


def test_answer_pieces_stream_one_sentence_at_a_time_and_join_to_the_whole() -> None:
    answer = Answer("q", "", False, CITATIONS, blocks=arrange(CITATIONS, direct=4,
                                                              follows=FOLLOWS))
    pieces = answer_pieces(answer)
    assert len(pieces) == len(CITATIONS)
    assert all(p.endswith("\\]**") for p in pieces)
    assert "".join(pieces) == answer_markdown(answer)
    assert pieces[1].startswith("\n\n*The Birmingham inspection report")
    assert "\n\n- Return home interviews are rare" in pieces[1]
    assert pieces[2] == " Of these\\, two thirds take over 72 hours\\. **\\[2\\]**"
    assert pieces[3].startswith("\n- Plans are weak")
    comparison = Answer("q", "", False, CITATIONS,
                        blocks=arrange(CITATIONS, follows=FOLLOWS, comparison=True))
    assert html(answer_markdown(comparison)).count("<li>") == 2


def test_an_answer_without_a_form_is_shown_from_its_text() -> None:
    generated = Answer("q", "RHIs are rare. [1]\n- Plans are weak. [2]", False, CITATIONS[:2])
    assert answer_markdown(generated) == answer_markdown(generated.answer)
    assert "<li>" not in html(answer_markdown(generated))  # the text's "-" is text


def test_judgement_rows_come_first_and_the_answer_form_follows_renumbered() -> None:
    row = cite(1, REPORT, "Overall effectiveness: inadequate")
    extractive = Answer("q", "", False, CITATIONS, blocks=arrange(CITATIONS, direct=4,
                                                                  follows=FOLLOWS))
    extractive.answer = plain_text(extractive.blocks)
    combined = with_judgements([row], extractive)
    assert combined.answer.startswith(f"{lead_in(REPORT)} Overall effectiveness: inadequate "
                                      "[1]\n\nThe Birmingham monitoring letter (2017-10-19) "
                                      "says: Return home interviews are now offered to every "
                                      "child. [5]")
    assert plain_text(combined.blocks) == combined.answer
    assert [c.n for c in combined.citations] == [1, 2, 3, 4, 5, 6]
    assert "- Managers check them weekly. [6]" in combined.answer
    # A sentence the row already quotes (the report's opening) is not quoted again, and
    # the rest are numbered on from the rows without a gap.
    opening = cite(1, REPORT, "Plans are weak.")
    again = with_judgements([opening], extractive)
    assert again.answer.count("Plans are weak.") == 1, again.answer
    assert [c.n for c in again.citations] == [1, 2, 3, 4, 5]
    assert plain_text(again.blocks) == again.answer
    assert "- Managers check them weekly. [5]" in again.answer
    declined = with_judgements([row], Answer("q", NOT_COVERED, True))
    assert declined.answer == f"{lead_in(REPORT)} Overall effectiveness: inadequate [1]"
