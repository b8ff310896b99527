"""What the page shows: escaping, highlighting, sources, documents and filters.

The escaping is checked against a real CommonMark parser where one is installed (the
browser test, tests/test_page_e2e.py, checks Streamlit's own renderer); the rest is
plain data in, data out.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rag.config import Settings
from rag.display import (
    DocumentView,
    IndexOverview,
    SourceRef,
    answer_markdown,
    answer_pieces,
    build_filters,
    date_bounds,
    describe_filters,
    document_view,
    escape_inline,
    escape_markdown,
    index_overview,
    locate_passage,
    marked_markdown,
    sources_for,
    whole_lines,
)
from rag.records import Answer, Citation, DocumentRef, Filters, Passage
from rag.store import IndexStatus

HOSTILE = ("<script>window.__pwned=1</script> <b>bold</b> [click](javascript:alert(1)) "
           "![img](x.png) **strong** _em_ `code` :red[colour] $x^2$ # not a heading | a | b | "
           "<https://example.com> www.example.com me@example.com &amp; \\ ~~gone~~")


def unescape(markdown: str) -> str:
    """What CommonMark shows for our escaped text (backslash escapes undone)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


# ------------------------------------------------------------------------------ escaping

def test_escape_inline_leaves_no_markup_unescaped() -> None:
    out = escape_inline(HOSTILE)
    # No markup character is left bare: every ASCII punctuation is preceded by "\".
    assert not re.search(r"(?<!\\)[<>\[\]()*_`$:|#!&~]", out.replace("\\\\", "")), out
    assert unescape(out) == HOSTILE


def test_escape_breaks_bare_links_invisibly() -> None:
    out = escape_inline("see www.example.com, https://x.org and me@example.com")
    assert "www\u2060" in out and "https\u2060" in out and "me\u2060" in out
    assert unescape(out) == "see www.example.com, https://x.org and me@example.com"


@pytest.mark.parametrize("text", ["_https://evil.example/a", "_www.evil.example",
                                  "x+@evil.example", "a.@evil.example", "x-@evil.example"])
def test_escape_breaks_links_markdown_finds_after_punctuation(text: str) -> None:
    """Markdown links "www." and "https:" after an underscore, and a mail address whose
    name ends in "+", ".", "-" or "_"; a pattern's word boundary missed all of them
    (tests/test_page_e2e.py checks the page shows no link for them in Chromium)."""
    out = escape_inline(text)
    assert "www\u2060" in out or "https\u2060" in out or "\u2060\\@" in out, out
    assert unescape(out) == text


def test_escape_markdown_keeps_lines_and_paragraphs() -> None:
    text = "Heading\n\n56. First line\n- a bullet\n    indented code?\n\n\n\nNext paragraph"
    out = escape_markdown(text)
    assert out == ("Heading\n\n56\\. First line  \n\\- a bullet  \nindented code\\?\n\n"
                   "Next paragraph")


def test_escape_markdown_removes_control_characters() -> None:
    assert escape_markdown("a\x00b\x1bc") == "a b c"


@pytest.mark.parametrize("text", [HOSTILE, "plain words", "x\n\ny", "1. list\n2. list"])
def test_escaped_text_renders_literally_in_commonmark(text: str) -> None:
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py not installed")
    html = markdown_it.MarkdownIt("commonmark").render(escape_markdown(text))
    assert "<script" not in html and "<b>" not in html and "<a " not in html
    assert "<img" not in html and "<strong>" not in html and "<em>" not in html
    assert "<ol" not in html and "<h1" not in html and "<code>" not in html


# ---------------------------------------------------------------------------- highlights

def test_marked_markdown_highlights_only_the_span() -> None:
    text = "Services are poor. Return home interviews (RHIs) are rare. Plans are weak."
    start = text.index("Return")
    end = text.index("rare.") + len("rare.")
    out = marked_markdown(text, [(start, end)])
    assert out == ("Services are poor\\. :orange-background[Return home interviews \\(RHIs\\) "
                   "are rare\\.] Plans are weak\\.")


def test_a_highlight_over_a_line_break_is_split_per_line() -> None:
    text = "one two\nthree four"
    out = marked_markdown(text, [(4, 13)])
    assert out == "one :orange-background[two]  \n:orange-background[three] four"


def test_adjacent_quotes_make_one_highlight() -> None:
    text = "A one. B two. C three."
    out = marked_markdown(text, [(2, 6), (7, 13)])
    assert out == "A :orange-background[one\\. B two\\.] C three\\."


def test_markup_inside_a_highlight_is_escaped() -> None:
    out = marked_markdown("x ] <b>y</b> [z](javascript:1)", [(0, 30)])
    assert out.startswith(":orange-background[") and out.endswith("]")
    assert "\\]" in out and "\\<b\\>" in out and "\\(javascript\\:1\\)" in out


# ------------------------------------------------------------------------------- answers

ANSWER = ("The inspection report \u201cChildren\u2019s services\u201d (2016) says: Return home "
          "interviews are rare. [1] Of these, two thirds are late. [2]\n\nThe monitoring "
          "letter \u201cVisit\u201d (2017-10-19) says: Caseloads fell. [3]")


def test_answer_pieces_join_to_the_answer_and_end_at_markers() -> None:
    pieces = answer_pieces(ANSWER)
    assert len(pieces) == 3
    assert all(p.rstrip().endswith("\\]**") for p in pieces)
    assert "".join(pieces) == answer_markdown(ANSWER)
    assert "\n\nThe monitoring letter" in pieces[2]
    assert unescape(answer_markdown(ANSWER).replace("**", "")) == ANSWER


def test_markers_glued_to_words_still_turn_bold() -> None:
    assert answer_markdown("late[1]next") == "late **\\[1\\]** next"


# ------------------------------------------------------------------------------- sources

REPORT = DocumentRef("r.txt", "Report", "r.txt", "2016", "inspection report")


def citation(n: int, chunk_id: int, quote: str, text: str, page: int | None = None,
             ) -> Citation:
    """Cited at paragraph 56, or on a page when one is given."""
    passage = Passage(chunk_id=chunk_id, doc=REPORT, page=page,
                      paragraph=None if page else 56, section=None, text=text)
    return Citation(n=n, passage=passage, quote=quote)


def test_citations_of_one_passage_are_one_source() -> None:
    text = "56. Interviews are rare. This means risks are unknown. Other text."
    answer = Answer("q", "a", False, [
        citation(1, 7, "Interviews are rare.", text),
        citation(2, 7, "This means risks are unknown.", text),
        citation(3, 9, "Something else.", "Something else.", page=3),
    ])
    refs = sources_for(answer)
    assert [r.numbers for r in refs] == [[1, 2], [3]]
    assert refs[0].heading == "[1] [2] Report · 2016 · inspection report · paragraph 56"
    assert refs[0].open_label == "Open the document at paragraph 56"
    assert refs[0].passage_markdown().count(":orange-background[") == 1  # adjacent: merged
    assert refs[1].heading.endswith("page 3")


def test_an_abstained_answer_shows_its_closest_passages() -> None:
    hit = Passage(chunk_id=3, doc=DocumentRef("l.txt", "Letter", "l.txt", None, "news article"),
                  page=None, paragraph=None, section="Letter", score=0.1,
                  text="Letter\nMr Colin Diamond CBE Corporate Director Children and Young People")
    refs = sources_for(Answer("q", "not covered", True, closest=[hit]))
    assert len(refs) == 1 and refs[0].numbers == []
    assert refs[0].heading == ("Letter · undated · news article · \u201cMr Colin Diamond CBE "
                               "Corporate Director Children and\u2026\u201d")
    assert refs[0].open_label == "Open the document at the passage"


# ----------------------------------------------------------------------------- documents

def test_locate_passage_trusts_a_span_only_when_it_matches() -> None:
    text = "Intro.\n\nThe passage here.\n\nEnd."
    at = text.index("The passage")
    assert locate_passage(text, "The passage here.", (at, at + 17)) == (at, at + 17)
    assert locate_passage(text, "The passage here.", (0, 17)) == (at, at + 17)  # stale span
    assert locate_passage(text, "Not there", None) is None


def test_whole_lines_widens_to_line_ends() -> None:
    text = "aaa\nbbb ccc\nddd"
    assert whole_lines(text, 6, 8) == (4, 11)


def test_document_view_parts_put_the_passage_in_the_middle() -> None:
    text = "Title\n\n1. First.\n\n2. Second, cited here.\n\n3. Third."
    start = text.index("2.")
    end = text.index("here.") + 5
    view = DocumentView(DocumentRef("d", "T", "d.txt", None, "document"), text, (start, end),
                        [(text.index("cited"), end)])
    before, passage, after = view.parts()
    assert before.startswith("Title") and "1\\. First" in before
    assert passage == "2\\. Second\\, :orange-background[cited here\\.]"
    assert after.strip() == "3\\. Third\\."


@pytest.mark.slow
def test_document_view_opens_the_indexed_document_at_the_cited_paragraph(
    built_index: Settings,
) -> None:
    from contextlib import closing

    from rag import store

    with closing(store.connect(built_index.index_dir, readonly=True)) as conn:
        row = conn.execute("SELECT c.id, c.text FROM chunks c WHERE c.paragraph = 112").fetchone()
    quote = "Return home interviews (RHIs) are only being completed for a minority of children"
    doc = DocumentRef("2016_ofsted_inspection-report.txt", "T", "s", "2016", "inspection report")
    ref = SourceRef([4], Passage(chunk_id=row["id"], doc=doc, page=None, paragraph=112,
                                 section=None, text=row["text"]), [quote])
    view = document_view(built_index.index_dir, ref)
    assert view is not None and view.passage is not None
    assert view.text[view.passage[0]:].startswith("112. Services for children missing")
    s, e = view.quotes[0]
    assert view.text[s:e] == quote
    before, passage, after = view.parts()
    assert len(before) > 10_000 and len(after) > 1_000
    assert ":orange-background[Return home interviews" in passage

    gone = SourceRef([1], Passage(chunk_id=1, doc=DocumentRef("no-such-doc.txt", "T", "s", None,
                                                              "document"),
                                  page=None, paragraph=None, section=None, text="x"))
    assert document_view(built_index.index_dir, gone) is None


# ------------------------------------------------------------------------ index, filters

@pytest.mark.slow
def test_index_overview_lists_documents_kinds_and_dates(built_index: Settings) -> None:
    overview = index_overview(built_index.index_dir)
    assert overview.status.documents == 5
    assert "monitoring letter" in overview.kinds and "inspection report" in overview.kinds
    assert overview.date_span == (dt.date(2012, 10, 19), dt.date(2017, 10, 19))
    assert overview.status_lines()[0].startswith("5 documents · ")


def test_date_bounds() -> None:
    assert date_bounds("2016") == (dt.date(2016, 1, 1), dt.date(2016, 12, 31))
    assert date_bounds("2016-02") == (dt.date(2016, 2, 1), dt.date(2016, 2, 29))
    assert date_bounds("2017-10-19") == (dt.date(2017, 10, 19),) * 2
    assert date_bounds("soon") is None


def test_build_filters_ignores_the_full_date_span() -> None:
    span = (dt.date(2012, 10, 19), dt.date(2017, 10, 19))
    assert build_filters((), span, (), span).is_empty()
    narrowed = build_filters(["monitoring letter"], (dt.date(2016, 1, 1), span[1]), ["a.txt"],
                             span)
    assert narrowed == Filters(kinds=("monitoring letter",), date_from="2016-01-01",
                               date_to=None, doc_ids=("a.txt",))
    assert build_filters((), (dt.date(2013, 1, 1),), (), span).date_from == "2013-01-01"


def test_describe_filters() -> None:
    assert describe_filters(Filters()) == ""
    text = describe_filters(Filters(kinds=("monitoring letter",), date_to="2017-12-31",
                                    doc_ids=("a.txt",)), {"a.txt": "Letter (2017)"})
    assert text == "kind: monitoring letter; dates: … to 2017-12-31; documents: Letter (2017)"


def test_overview_without_dates_has_no_span() -> None:
    overview = IndexOverview(IndexStatus(0, 0, None, 0, None), [])
    assert overview.date_span is None and overview.kinds == []
    assert overview.status_lines()[2] == "last indexed: never"
