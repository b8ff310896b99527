"""Cleaning rules: on the saved pages and PDF text in tests/fixtures/corpus/, and on held-out pages.

The synthetic pages below were written after the rules, in the shape of other sites
(different banners, icon lists, teaser links, cookie notices, footers), to check that
the rules work by features rather than by the corpus's own strings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.cleaning import clean_report_text
from rag.webpage import clean_web_text, looks_like_web_page

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"

CHILDREN_FIRST = "children-first_fourth-monitoring-visit.txt"
COMMUNITY_CARE = "community-care_fifth-monitoring-visit.txt"
COUNCIL = "2012-10-19_birmingham-city-council_response-to-inspection.txt"
REPORT = "2016_ofsted_inspection-report.txt"
LETTER = "2017-10-19_ofsted_monitoring-visit-letter.txt"


def read(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# ------------------------------------------------------------------- corpus web pages

WEB_CASES = {
    CHILDREN_FIRST: (
        [
            "Respect4SocialWork",
            "Make an Enquiry",
            "Contact Us",
            "Knowledge & Resources",
            "Keep abreast of the latest news",
            "Read Full Story",
            "Adult social workers",
            "Myth busters",
            "Left wing loony",
            "Social work during the COVID-19 pandemic",
            "Subscribe Today",
            "online resource for professionals",
            "Delivering a diverse, reliable range",
            "Nesfield Road",
            "WP Quality Assured",
            "Mackman",
            "linkedin",
            "chevron",
        ],
        [
            "Ofsted: Birmingham is \u2018maintaining progress\u2019",
            "Birmingham children\u2019s services is \u201cmaintaining progress\u201d in services "
            "for looked after children, Ofsted has found.",
            "Completion of assessments during the court process, including specialist "
            "assessments, is timely.",
            "Children who do not live with their siblings are supported to have regular "
            "contact with them.",
            "the best outcomes for all children are achieved on a timely and consistent "
            "basis,\u201d the report concluded.",
        ],
    ),
    COMMUNITY_CARE: (
        ["Photo: dubova", "Fotolia", "More from Community Care", "Comments are closed"],
        [
            "Monitoring visit finds uneven progress being made at children\u2019s trust",
            "Insufficient attention to long-term cases",
            "\u2018Tangible evidence of improvements\u2019",
            "Inspectors also identified issues with contact arrangements",
            "with little evidence of enquiry into qualitative issues.\u201d",
            "has been noted,\u201d Booth added.",
        ],
    ),
    COUNCIL: (
        ["By on 19/10/2012", "Tags:", "If you enjoyed this article", "subscribe now"],
        [
            "Response to Ofsted unannounced inspection",
            "Ofsted has today (Friday 19 October) published the findings",
            "\u2022 Ensure that children who are subject to child protection plans receive "
            "statutory visits within appropriate timescales",
            "Response: We have set out clear standards for assuring excellent practice",
            "Responses to all remaining Ofsted recommendations",
            "(For our responses to all recommendations please see note below)",
            "\u201cThere must be significant improvement over the next 12 months",
            "BSCB to review the thresholds document and ensure that all agencies understand "
            "their roles and responsibilities in referral practices",
            "holding all agencies to account.",
        ],
    ),
}


@pytest.mark.parametrize("name", list(WEB_CASES))
def test_corpus_web_pages_lose_boilerplate_and_keep_the_article(name: str) -> None:
    gone, kept = WEB_CASES[name]
    cleaned = clean_web_text(read(name))
    for marker in gone:
        assert marker not in cleaned, f"{name}: boilerplate {marker!r} survived"
    for sentence in kept:
        assert sentence in cleaned, f"{name}: article text {sentence!r} was dropped"


@pytest.mark.parametrize("name", list(WEB_CASES))
def test_corpus_web_pages_start_with_their_headline(name: str) -> None:
    # The loader takes the first short line of the cleaned text as the title.
    first = clean_web_text(read(name)).splitlines()[0]
    assert first == WEB_CASES[name][1][0]


def test_web_cleaning_drops_no_article_paragraph() -> None:
    raw = read(COMMUNITY_CARE)
    article = raw[raw.index("Ofsted has given") : raw.index("More from Community Care")]
    cleaned = clean_web_text(raw)
    for paragraph in lines_of(article):
        assert paragraph.replace("\xa0", " ") in cleaned


# --------------------------------------------------------------- held-out web pages

NEWS_BODY = [
    "Inspectors found that foster carers in Northtown waited up to six months for core "
    "training after approval.",
    "Managers told inspectors they would contact every carer by the end of the month to "
    "book a place.",
    "\u201cWe want every carer to subscribe to the new training calendar so that nobody "
    "misses out,\u201d said Dana Lee, the director of children\u2019s services.",
    "Social workers now keep in contact with carers at least once a fortnight.",
    "Families can contact the fostering team directly.",
    "Parents who subscribe to the council\u2019s text alerts were told about the changes "
    "first.",
    "The council will publish an improvement plan in May.",
]

NEWS_PAGE = f"""Skip to main content
Home
News
Education
Health
Opinion
Sign in
Subscribe

Join our Local Democracy campaign \u2013 sign our open letter today!

Council told to speed up training for foster carers

Ofsted says carers waited too long, but praises new support network

Published: 12 March 2019 | By Sam Reporter

Picture: Getty Images

{NEWS_BODY[0]}

{NEWS_BODY[1]}

{NEWS_BODY[2]}

Faster training

{NEWS_BODY[3]} {NEWS_BODY[4]}

{NEWS_BODY[5]}

{NEWS_BODY[6]}

Share this article

You may also like

Adoption delays fall in Eastshire
Figures show children are waiting less time to be matched with a family...
Read more

Care leavers win council tax exemption
Young people leaving care will not pay until they turn 25...
Read more

We use cookies to give you the best experience. By continuing you agree to our use of cookies.
Accept all cookies
\u00a9 2019 Some Publisher Ltd. All rights reserved.
Follow us: Twitter Facebook Instagram
icon-twitter icon-facebook icon-whatsapp icon-email
"""

BLOG_BODY = [
    "Westvale\u2019s children\u2019s services have been rated good for the first time since "
    "2014.",
    "Inspectors praised the front door, where social workers make contact with families "
    "within a day of a referral.",
    "Contact arrangements for children in care were described as well planned.",
    "Young people told inspectors they would recommend that other care leavers subscribe "
    "to the council\u2019s Local Offer updates.",
    "- Keep improving the timeliness of health assessments",
    "- Strengthen return home interviews",
    "The director said: \u201cAny family who needs help can contact us at any time.\u201d",
]

BLOG_PAGE = f"""We use cookies on this site to enhance your experience. Manage cookie settings
Home \u203a News \u203a Children\u2019s services

Westvale children\u2019s services rated good

By Priya Shah | 4 June 2019

{BLOG_BODY[0]}

{BLOG_BODY[1]} {BLOG_BODY[2]}

{BLOG_BODY[3]}

The report asks the council to:
{BLOG_BODY[4]}
{BLOG_BODY[5]}

{BLOG_BODY[6]}

Image courtesy of Westvale Council

Tags: fostering, Ofsted, Westvale

Share on Facebook
Get our weekly newsletter delivered to your inbox

Budget pressure on children\u2019s homes

Councils are spending more than ever on residential placements, new figures show \u2026

Continue reading \u2192

Comments (3)

Great news for Westvale, well done to the team.

Registered in England and Wales. Company No. 01234567
Registered office: 1 High Street, Westvale, Wessex, WV1 2AB
Website designed and built by Pixel Studio
fa-facebook fa-twitter fa-youtube fa-rss
"""

HELD_OUT = {
    "news": (
        NEWS_PAGE,
        NEWS_BODY,
        [
            "Skip to main content",
            "Sign in",
            "Opinion",
            "Local Democracy campaign",
            "Published:",
            "Sam Reporter",
            "Getty",
            "Share this article",
            "You may also like",
            "Eastshire",
            "Figures show children",
            "Care leavers win",
            "Read more",
            "cookies",
            "\u00a9",
            "All rights reserved",
            "Follow us",
            "icon-",
        ],
        ["Council told to speed up training for foster carers", "Faster training"],
    ),
    "blog": (
        BLOG_PAGE,
        BLOG_BODY,
        [
            "cookie",
            "\u203a",
            "Priya Shah",
            "Image courtesy",
            "Tags:",
            "Share on Facebook",
            "newsletter",
            "Budget pressure",
            "residential placements",
            "Continue reading",
            "Comments (3)",
            "well done to the team",
            "Registered",
            "WV1 2AB",
            "Pixel Studio",
            "fa-facebook",
        ],
        ["Westvale children\u2019s services rated good", "The report asks the council to:"],
    ),
}


@pytest.mark.parametrize("site", list(HELD_OUT))
def test_held_out_pages_lose_boilerplate(site: str) -> None:
    page, _, gone, _ = HELD_OUT[site]
    cleaned = clean_web_text(page)
    for marker in gone:
        assert marker not in cleaned, f"{site}: boilerplate {marker!r} survived:\n{cleaned}"


@pytest.mark.parametrize("site", list(HELD_OUT))
def test_held_out_pages_keep_every_body_sentence(site: str) -> None:
    page, body, _, headings = HELD_OUT[site]
    cleaned = clean_web_text(page)
    for sentence in [*body, *headings]:
        assert sentence in cleaned, f"{site}: body text {sentence!r} dropped:\n{cleaned}"
    assert cleaned.splitlines()[0] == headings[0]


@pytest.mark.parametrize("site", list(HELD_OUT))
def test_held_out_pages_are_recognised_as_web_pages(site: str) -> None:
    assert looks_like_web_page(HELD_OUT[site][0])


def test_lone_read_more_link_does_not_take_the_article_with_it() -> None:
    body = [
        "The inspection found that return home interviews were offered to every child.",
        "Managers now review each interview within five working days.",
    ]
    page = f"{body[0]}\n\n{body[1]}\n\nRead more\n"
    cleaned = clean_web_text(page)
    assert cleaned == "\n\n".join(body)


# ------------------------------------------------------------------------ report text

@pytest.fixture(scope="module")
def report() -> str:
    return clean_report_text(read(REPORT))


def paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


def test_numbered_paragraph_is_rejoined_whole(report: str) -> None:
    [p41] = [p for p in paragraphs(report) if p.startswith("41. ")]
    assert "\n" not in p41
    assert p41.startswith("41. Services for children missing from home or care are poor. Return")
    assert "two thirds take over 72 hours to complete" in p41
    assert p41.endswith("episodes of going missing are reducing. (Recommendation)")


def test_every_numbered_paragraph_starts_its_own_paragraph(report: str) -> None:
    numbers = [int(m[1]) for m in re.finditer(r"(?m)^(\d{1,3})\. [A-Z]", report)]
    # 1-3 on the cover, 1-17 recommendations, then the findings 18-124 in order.
    assert numbers[:3] == [1, 2, 3]
    assert numbers[3:20] == list(range(1, 18))
    assert numbers[20:] == list(range(18, 125))


def test_page_numbers_are_gone(report: str) -> None:
    assert not [line for line in report.splitlines() if line.strip().isdigit()]


def test_page_break_mid_sentence_is_rejoined(report: str) -> None:
    assert "training and activities to develop their confidence and skills" in report


def test_compounds_split_across_lines_keep_their_hyphen(report: str) -> None:
    for word in ("over-reliant", "non-qualified", "over-optimistic", "joined-up"):
        assert word in report
    for solid in ("overreliant", "nonqualified", "overoptimistic"):
        assert solid not in report


def test_headings_and_lists_keep_their_own_lines(report: str) -> None:
    blocks = paragraphs(report)
    for heading in ("Executive summary", "Inspection findings", "Recommendations"):
        assert heading in blocks
    assert "The experiences and progress of children who need help and protection" in blocks
    assert (
        "- 899 children ceased to be looked after, of whom 8% subsequently returned to be "
        "looked after" in blocks
    )
    assert (
        "- in primary schools is 28.0% (the national average (2016) is 15.2%)\n"
        "- in secondary schools is 27.4% (the national average (2016) is 14.1%)." in report
    )


def test_footnote_markers_go_but_figures_stay(report: str) -> None:
    assert "Information about this local authority area\n" in report
    assert "area1" not in report
    assert "residential special schools, of whom 100% live" in report
    assert "(1) ONS 2015 mid-year population estimate" in report
    assert "283,900 children" in report
    assert "take over 72 hours" in report


def test_letter_keeps_recipient_drops_letterhead_and_rejoins_across_the_page() -> None:
    letter = clean_report_text(read(LETTER))
    assert "Birmingham City Council\nPO Box 16466\n1st Floor, Zone 6" in letter
    # The sender's contact line is furniture; the recipient's address is content.
    assert "Aviation House" not in letter
    assert "enquiries@ofsted.gov.uk" not in letter
    assert "are consistently good. Improvements include the completion of work" in letter
    assert "workers' activities and an appropriate analysis." in letter


SNIPPET = """Page 3 of 12

Summary of findings

4. The service has improved since the last visit. Social workers see children
regularly and 401 visits were recorded in the quarter1. Management over-
sight is stronger, and in 2016 the board agreed a new thresholds document2.
 Some plans remain too
general.

5. Caseloads have fallen to an average of 18 children. This means that social
workers have more time to spend with families and carers, and are
                                                               12

able to complete assessments within 45 working days.

Recommendations
- Improve the quality of care plans
- Ensure management oversight is recorded

1 Figures supplied by the local authority.
2 The document was agreed in September 2016.
- 7 -
"""


def test_synthetic_pdf_snippet() -> None:
    cleaned = clean_report_text(SNIPPET)
    blocks = paragraphs(cleaned)
    assert blocks[0] == "Summary of findings"
    assert blocks[1] == (
        "4. The service has improved since the last visit. Social workers see children "
        "regularly and 401 visits were recorded in the quarter. Management oversight is "
        "stronger, and in 2016 the board agreed a new thresholds document. Some plans "
        "remain too general."
    )
    assert blocks[2] == (
        "5. Caseloads have fallen to an average of 18 children. This means that social "
        "workers have more time to spend with families and carers, and are able to "
        "complete assessments within 45 working days."
    )
    assert "Recommendations" in blocks
    recommendations = (
        "- Improve the quality of care plans\n- Ensure management oversight is recorded"
    )
    assert recommendations in cleaned
    assert "1 Figures supplied by the local authority." in cleaned
    assert not re.search(r"(?m)^\s*(?:Page \d+ of \d+|[-\s\d]+)$", cleaned)


# ---------------------------------------------------------------------- detection

@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (CHILDREN_FIRST, True),
        (COMMUNITY_CARE, True),
        (COUNCIL, True),
        (REPORT, False),
        (LETTER, False),
    ],
)
def test_looks_like_web_page_on_the_corpus(name: str, expected: bool) -> None:
    assert looks_like_web_page(read(name)) is expected


def test_plain_prose_is_not_a_web_page() -> None:
    prose = (
        "Inspectors visited the council in September. They found that social workers "
        "keep in contact with families and that managers review plans regularly. Parents "
        "can subscribe to updates about the improvement plan, and the council will publish "
        "its response next month."
    )
    assert not looks_like_web_page(prose)


def test_report_with_a_back_page_is_not_a_web_page() -> None:
    # Ofsted's standard back page has a newsletter link and a copyright line.
    back_page = (
        "\n\nInterested in our work? You can subscribe to our monthly newsletter for more "
        "information and updates: http://eepurl.com/iTrDn.\n\n\u00a9 Crown copyright 2016\n"
    )
    assert not looks_like_web_page(read(REPORT) + back_page)
    assert not looks_like_web_page(read(LETTER) + back_page)


# ------------------------------------------------------------ running headers, text pages

RUNNING = Path(__file__).resolve().parent / "fixtures" / "running-headers"


@pytest.mark.parametrize("name, header", [
    ("croydon_children-s-services-inspection-03-december-2024.txt",
     "Inspection of Croydon local authority children’s services"),
    ("sandwell_children-s-services-inspection-pdf-02-august-2013.txt",
     "Sandwell Council Inspection of looked after children services"),
])
def test_a_text_report_loses_the_running_header_of_every_page_but_keeps_its_title(
        name: str, header: str) -> None:
    """Two real reports saved as text (pypdf's text, a form feed between pages), whose
    every page opens with the report's name: left in, each page's first chunk names the
    council and the inspection and little else, and outranks the findings."""
    from rag.cleaning import strip_running_lines

    pages = (RUNNING / name).read_text(encoding="utf-8").split("\f")
    assert sum(header in p for p in pages) >= len(pages) - 2  # every page, as read
    stripped = strip_running_lines(pages)
    assert len(stripped) == len(pages)
    assert stripped[0] == pages[0]  # the title page is the document's own
    assert sum(header in p for p in stripped[1:]) == 0
    # Nothing else goes: the findings' lines are all still there.
    kept = "\n".join(stripped)
    for line in (ln.strip() for p in pages[1:] for ln in p.splitlines()):
        if line and header not in line and not re.fullmatch(r"[\d\s]*|.*\b(19|20)\d\d \d+", line):
            assert line in kept, line


def test_short_documents_and_unrepeated_lines_are_left_alone() -> None:
    from rag.cleaning import strip_running_lines

    letter = ["Dear Ms Smith\nFirst page", "Second page\nof the letter", "Yours sincerely"]
    assert strip_running_lines(letter) == letter
    pages = [f"Heading {w}\nText of the {w} page.\nMore prose on {w}." for w in "abcdef"]
    assert strip_running_lines(pages) == pages
