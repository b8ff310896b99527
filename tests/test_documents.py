"""Document metadata (rag/documents.py): dates, kinds and titles read from the file itself.

What a file does not say is left unknown (no date) or falls back plainly (the kind
"document", a title from the file name); catalog.toml corrects the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.documents import find_date, infer_kind, infer_title, load_document

LETTER = """Aviation House 125 Kingsway London WC2B 6SE T 0300 123 1231 enquiries@ofsted.gov.uk

19 October 2017

Mr Colin Diamond CBE
Corporate Director Children and Young People
Birmingham City Council

Dear Mr Diamond

Monitoring visit of Birmingham children's services.

This letter summarises the findings of the monitoring visit to Birmingham children's
services on 19 and 20 September 2017.
"""

REPORT = """Children's services in Birmingham are inadequate

1. Children who need help and protection Inadequate

Executive summary

This re-inspection has identified that serious and widespread failings in some services
to help and protect children have not yet been tackled effectively.
"""

COUNCIL_PAGE = """Response to Ofsted unannounced inspection

By on 19/10/2012 in News

Ofsted has today (Friday 19 October) published the findings of an unannounced inspection.

Our response: We have put in place very clear practice standards.
"""

NEWS_PAGE = """Ofsted: Birmingham is 'maintaining progress'

Birmingham children's services is "maintaining progress" in services for children in
need, according to the latest monitoring visit by Ofsted.
"""


# ------------------------------------------------------------------------------ dates

@pytest.mark.parametrize(("text", "expected"), [
    ("Aviation House\n\n19 October 2017\n\nDear Mr Diamond", "2017-10-19"),
    ("Published on 1st March 2016 by the inspectorate", "2016-03-01"),
    ("The visit took place on 2nd february 2019.", "2019-02-02"),  # month in lower case
    ("By on 19/10/2012 in News", "2012-10-19"),  # day first, as in the UK
    ("Posted 3/2/2015", "2015-02-03"),
])
def test_find_date_reads_a_full_date_written_in_the_text(text: str, expected: str) -> None:
    assert find_date(text) == expected


def test_find_date_takes_the_first_date_in_the_text_whatever_its_style() -> None:
    assert find_date("Updated 03/02/2015. Inspected on 19 October 2017.") == "2015-02-03"
    assert find_date("Inspected on 19 October 2017. Updated 03/02/2015.") == "2017-10-19"
    assert find_date("Visits on 19 September 2017 and 20 September 2017") == "2017-09-19"


def test_find_date_skips_a_date_that_does_not_exist() -> None:
    assert find_date("Dated 31 February 2017, revised 2 March 2017") == "2017-03-02"
    assert find_date("Dated 29/02/2015, revised 02/03/2015") == "2015-03-02"


@pytest.mark.parametrize("text", [
    "Children's services in Birmingham are inadequate",  # no date at all
    "judged inadequate in November 2016",  # a month and year only
    "the 2016 inspection",  # a year only
    "Posted 10/19/2017",  # month first: no 19th month, so not a date
    "31 February 2017",  # no such day
    "On 19 October 1897",  # outside the years a report can have
    "",
])
def test_find_date_finds_nothing_where_no_full_date_is_written(text: str) -> None:
    assert find_date(text) is None


# ------------------------------------------------------------------------------ kinds

def test_a_letter_to_the_council_about_a_monitoring_visit_is_a_monitoring_letter() -> None:
    assert infer_kind(LETTER, "2017-10-19_ofsted_visit.txt", web=False) == "monitoring letter"
    focused = "Dear Ms Jones\n\nFocused visit to Testshire children's services"
    assert infer_kind(focused, "testshire.pdf", web=False) == "monitoring letter"


def test_a_file_named_as_a_letter_is_a_monitoring_letter() -> None:
    assert infer_kind("Thresholds are applied well.", "testshire-letter.txt",
                      web=False) == "monitoring letter"


def test_a_document_about_an_inspection_is_an_inspection_report() -> None:
    assert infer_kind(REPORT + "\nThis inspection found", "2016_ofsted.txt",
                      web=False) == "inspection report"
    assert infer_kind("Children are safe.", "sandwell_inspection-report_2018-01-29.pdf",
                      web=False) == "inspection report"


def test_a_letter_without_a_monitoring_or_focused_visit_is_not_a_monitoring_letter() -> None:
    thanks = "Dear Mr Diamond\n\nThank you for your inspection feedback."
    assert infer_kind(thanks, "reply.txt", web=False) == "inspection report"


def test_a_salutation_beyond_the_head_of_the_file_does_not_make_a_letter() -> None:
    late = "Children are seen regularly. " * 200 + "Dear Sir, the monitoring visit was useful."
    assert infer_kind(late, "notes.txt", web=False) == "document"


def test_web_pages_are_news_unless_the_council_is_responding() -> None:
    assert infer_kind(NEWS_PAGE, "children-first_fourth-monitoring-visit.txt",
                      web=True) == "news article"
    assert infer_kind(COUNCIL_PAGE, "response-to-inspection.txt", web=True) == "council statement"
    assert infer_kind(NEWS_PAGE, "birmingham-city-council_update.txt",
                      web=True) == "council statement"
    # A web page is never a letter or a report, whatever words it uses.
    assert infer_kind(LETTER, "news.html", web=True) == "news article"


def test_a_file_that_says_nothing_of_its_kind_is_a_document() -> None:
    assert infer_kind("Minutes of the corporate parenting board.", "minutes.txt",
                      web=False) == "document"
    assert infer_kind("", "untitled.txt", web=False) == "document"


# ----------------------------------------------------------------------------- titles

def test_a_monitoring_letter_is_titled_by_its_subject_line() -> None:
    assert infer_title(LETTER, "monitoring letter", "2017-10-19_ofsted_visit") == (
        "Monitoring visit of Birmingham children's services")


def test_other_documents_are_titled_by_their_first_short_line() -> None:
    assert infer_title(REPORT, "inspection report", "2016_ofsted_inspection-report") == (
        "Children's services in Birmingham are inadequate")
    assert infer_title(COUNCIL_PAGE, "council statement", "response") == (
        "Response to Ofsted unannounced inspection")
    # The salutation rule is for letters only: a report's first short line wins.
    assert infer_title(LETTER, "inspection report", "x").startswith("Aviation House")


def test_a_title_is_not_a_sentence_nor_a_fragment() -> None:
    text = "Draft\n\nThis report sets out what inspectors found.\n\nThreshold decisions in 2017\n"
    assert infer_title(text, "document", "x") == "Threshold decisions in 2017"


def test_a_letter_without_a_salutation_falls_back_to_the_first_short_line() -> None:
    text = "Ofsted monitoring visit to Testshire\n\nThe visit found progress."
    assert infer_title(text, "monitoring letter", "x") == "Ofsted monitoring visit to Testshire"


def test_a_title_comes_from_the_file_name_when_the_text_gives_none() -> None:
    prose = ("Inspectors found that the council's early help offer has improved.\n"
             "Social workers visit children regularly.\n")
    assert infer_title(prose, "document", "2016_ofsted_inspection-report") == (
        "2016 ofsted inspection report")
    assert infer_title(prose, "document", "notes_from--the-visit") == "Notes from the visit"
    # Only the first five lines are looked at.
    late = "Yes.\n" * 5 + "Threshold decisions in 2017\n"
    assert infer_title(late, "document", "late_title") == "Late title"
    assert infer_title("", "document", "empty") == "Empty"


def test_c1_control_characters_are_removed_on_load(tmp_path: Path) -> None:
    """U+009B starts a terminal escape sequence; no C1 control is ever text."""
    path = tmp_path / "letter.txt"
    path.write_text("Inspectors found\u009b31m that plans\u0085 were late.\n", encoding="utf-8")
    text = load_document(path, tmp_path).text
    assert text == "Inspectors found31m that plans were late."
    assert not any("\x80" <= c <= "\x9f" for c in text)
