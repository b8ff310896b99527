"""PDF to clean page text: generated PDFs with known furniture, broken files, real reports."""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from rag.pdf import PdfError, pdf_pages

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-pdfs"
HEADER = "Inspection of Testshire children's services"

# Each page is a list of lines as printed; "" is the gap between paragraphs. "• " lines
# are bullets with the glyph drawn apart, "  " lines their continuations under the text,
# and "12. " lines numbered paragraphs with the number set in a hanging indent.
PAGES = [
    [
        "Testshire County Council is making steady progress in most areas of its work",
        "with children and families, and leaders have a clear understanding of the",
        "strengths and weaknesses of the service.",
        "",
        "Inspectors found that the assess-",
        "ment of risk is thorough and timely in the multi-",
        "agency safeguarding hub, where partners share information quickly.",
        "",
        "Each assessment is reviewed by a team manager within five working days.",
    ],
    [
        "Fostering services are well led, and the recruitment of new foster carers has",
        "improved since the last inspection in the spring.",
        "",
        "12. Services for care leavers are strong. Personal advisers keep in touch",
        "with almost all young people and help them to find suitable homes.",
        "13. Return home interviews are offered to children who go missing, but too",
        "few take place within the expected time.",
        "",
        "\u2022 Managers should improve the quality of supervision so that it is",
        "  reflective and focused on the child's plan.",
        "\u2022 Leaders should publish the sufficiency strategy.",
    ],
    [
        "Leaders know what they need to do next and have credible plans to do it.",
    ],
]


def _body_font() -> str:
    """An embedded TrueType font (reportlab's own Vera), so that "•" is extracted as "•",
    as it is from real documents with embedded fonts."""
    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
    return "Vera"


def _write_pdf(path: Path, pages: list[list[str]], *, encrypt: str | None = None) -> Path:
    """Draw the pages line by line, as a word processor would, with running furniture."""
    body_font = _body_font()
    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    width, height = A4
    for number, lines in enumerate(pages, start=1):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, height - 40, HEADER)
        pdf.drawCentredString(width / 2, 30, f"Page {number} of {len(pages)}")
        pdf.setFont(body_font, 11)
        y = height - 100
        for line in lines:
            if not line:
                y -= 10  # space after a paragraph
                continue
            if line.startswith("\u2022 "):
                pdf.drawString(72, y, "\u2022")
                pdf.drawString(90, y, line[2:])
            elif line.startswith("  "):
                pdf.drawString(90, y, line.strip())
            elif re.match(r"\d+\. ", line):
                number_text, rest = line.split(" ", 1)
                pdf.drawString(72, y, number_text)
                pdf.drawString(100, y, rest)
            else:
                pdf.drawString(72, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    return path


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return _write_pdf(tmp_path / "testshire.pdf", PAGES)


def _paragraphs(page: str) -> list[str]:
    return [p for p in page.split("\n\n") if p.strip()]


# --------------------------------------------------------------------------- generated


def test_pages_keep_their_order_and_count(report: Path) -> None:
    pages = pdf_pages(report)
    assert len(pages) == 3
    assert pages[1].startswith("Fostering services are well led")
    assert pages[2] == "Leaders know what they need to do next and have credible plans to do it."


def test_running_header_and_page_numbers_are_dropped(report: Path) -> None:
    for page in pdf_pages(report):
        assert "Inspection of Testshire" not in page
        assert not re.search(r"Page \d of 3", page)
        assert not any(re.fullmatch(r"\d+", line.strip()) for line in page.splitlines())


def test_wrapped_lines_rejoin_into_paragraphs(report: Path) -> None:
    first = _paragraphs(pdf_pages(report)[0])
    assert first[0] == (
        "Testshire County Council is making steady progress in most areas of its work with "
        "children and families, and leaders have a clear understanding of the strengths and "
        "weaknesses of the service."
    )
    assert len(first) == 3


def test_line_end_hyphens_follow_the_documents_own_spelling(report: Path) -> None:
    # "assessment" is spelled solid elsewhere; "multiagency" never is, so it stays a compound
    second = _paragraphs(pdf_pages(report)[0])[1]
    assert second == (
        "Inspectors found that the assessment of risk is thorough and timely in the "
        "multi-agency safeguarding hub, where partners share information quickly."
    )


def test_numbered_paragraphs_and_bullets_keep_their_own_lines(report: Path) -> None:
    paragraphs = _paragraphs(pdf_pages(report)[1])
    assert (
        "12. Services for care leavers are strong. Personal advisers keep in touch with almost "
        "all young people and help them to find suitable homes." in paragraphs
    )
    assert (
        "13. Return home interviews are offered to children who go missing, but too few take "
        "place within the expected time." in paragraphs
    )
    assert paragraphs[-1] == (
        "- Managers should improve the quality of supervision so that it is reflective and "
        "focused on the child's plan.\n"
        "- Leaders should publish the sufficiency strategy."
    )


def test_owner_password_only_still_reads(report: Path, tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=report)
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    locked = tmp_path / "owner-only.pdf"
    with locked.open("wb") as fh:
        writer.write(fh)
    assert pdf_pages(locked) == pdf_pages(report)


def test_recoverable_damage_is_read_quietly(
    report: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # a wrong startxref offset: pypdf repairs it, logging warnings a user cannot act on
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(
        re.sub(
            rb"startxref\s+(\d+)",
            lambda m: b"startxref\n" + str(int(m.group(1)) + 7).encode(),
            report.read_bytes(),
        )
    )
    logger = logging.getLogger("pypdf")
    before = logger.level
    with caplog.at_level(logging.WARNING):
        pages = pdf_pages(damaged)
    assert pages == pdf_pages(report)
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert logger.level == before


def test_letterhead_in_the_header_is_dropped_and_the_recipient_kept(tmp_path: Path) -> None:
    """An Ofsted letter of the older layout: sender block and direct lines top right."""
    path = tmp_path / "letter.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setFont(_body_font(), 8)
    for y, left, right in [
        (800, "Aviation House", "T 0300 123 1231"),
        (790, "125 Kingsway", "Textphone 0161 618 8524"),
        (780, "London", "enquiries@ofsted.gov.uk"),
        (770, "WC2B 6SE", "www.gov.uk/ofsted"),
        (755, "Direct T 0300 013 1234", ""),
        (745, "Email: jane.inspector@ofsted.gov.uk", ""),
    ]:
        pdf.drawString(350, y, left)
        if right:
            pdf.drawString(460, y, right)
    pdf.setFont(_body_font(), 11)
    y = 700
    for line in [
        "1 March 2019", "", "Ms Jane Doe", "Director of Children's Services",
        "Testshire County Council", "County Hall", "Testford", "TE1 1ST", "",
        "Dear Ms Doe", "", "Monitoring visit to Testshire children's services", "",
        "This letter summarises the findings of the monitoring visit to Testshire",
        "children's services on 5 and 6 February 2019.", "",
        "Yours sincerely", "Jane Inspector", "Her Majesty's Inspector",
    ]:
        if line:
            pdf.drawString(72, y, line)
        y -= 14 if line else 12
    pdf.showPage()
    pdf.save()

    (page,) = pdf_pages(path)
    for furniture in [
        "Aviation House", "Kingsway", "London", "WC2B", "0300", "Textphone", "ofsted.gov.uk",
        "Direct T", "Email:", "TE1 1ST",
    ]:
        assert furniture not in page
    assert page.startswith("1 March 2019\n\nMs Jane Doe\nDirector of Children's Services\n")
    paragraphs = _paragraphs(page)
    assert "Dear Ms Doe" in paragraphs
    assert (
        "This letter summarises the findings of the monitoring visit to Testshire children's "
        "services on 5 and 6 February 2019." in paragraphs
    )
    assert paragraphs[-1] == "Yours sincerely\nJane Inspector\nHer Majesty's Inspector"


# --------------------------------------------------------------------------- errors


def _error(path: Path) -> str:
    with pytest.raises(PdfError) as info:
        pdf_pages(path)
    return str(info.value)


def test_truncated_pdf_is_refused(report: Path, tmp_path: Path) -> None:
    data = report.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    message = _error(cut)
    assert "cannot be read as a PDF" in message
    assert "re-download" in message


def test_zip_renamed_pdf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "report.pdf"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    message = _error(fake)
    assert "cannot be read as a PDF" in message
    assert "ZIP" in message


def test_garbage_after_a_pdf_header_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 200 + b"\n%%EOF\n")
    assert "cannot be read as a PDF" in _error(broken)


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    locked = _write_pdf(tmp_path / "locked.pdf", PAGES, encrypt="secret")
    message = _error(locked)
    assert "password-protected" in message
    assert "unprotected copy" in message


def test_pdf_without_a_text_layer_is_refused(tmp_path: Path) -> None:
    scan = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(scan), pagesize=A4)
    pdf.rect(72, 400, 300, 200, fill=1)
    pdf.showPage()
    pdf.save()
    message = _error(scan)
    assert "no extractable text" in message
    assert "OCR is not supported" in message


def test_missing_file_is_a_pdf_error(tmp_path: Path) -> None:
    assert "cannot be read" in _error(tmp_path / "absent.pdf")


# --------------------------------------------------------------------------- real reports

needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real Ofsted PDFs not present at {REAL}"
)

# The sender block and contact lines printed on Ofsted letters and report back covers.
LETTERHEAD = [
    "Piccadilly Gate",
    "Store Street",
    "M1 2WD",
    "0300 123 1231",
    "Textphone",
    "0161 618 8524",
    "enquiries@ofsted.gov.uk",
    "www.gov.uk/ofsted",
]


@pytest.fixture(scope="module")
def sandwell() -> list[str]:
    return pdf_pages(REAL / "sandwell_inspection-report_2018-01-29.pdf")


@needs_real
def test_sandwell_keeps_every_page(sandwell: list[str]) -> None:
    path = REAL / "sandwell_inspection-report_2018-01-29.pdf"
    assert len(sandwell) == len(PdfReader(path).pages) == 33


@needs_real
def test_sandwell_numbered_paragraph_comes_out_whole(sandwell: list[str]) -> None:
    # paragraph 22 is printed over nine lines of page 12
    paragraphs = _paragraphs(sandwell[11])
    twenty_two = [p for p in paragraphs if p.startswith("22. ")]
    assert twenty_two == [
        "22. The MASH is a strength. Both the MASH and assessment teams have a clear "
        "understanding of thresholds. Risk assessment is robust, and the quality of checks "
        "and decisions in the MASH results in clear professional judgements. MASH meetings "
        "and strategy meetings work well and include sufficient information from a range of "
        "professionals. Children receive a timely and proportionate response. However, "
        "referral information from other agencies is not always clear or sufficiently "
        "detailed. In a small number of cases, late or absent referrals from health "
        "professionals reduced the effectiveness of intervention and timely decision-making."
    ]
    # each numbered paragraph on the page starts a paragraph of its own
    numbers = [int(m.group(1)) for p in paragraphs if (m := re.match(r"(\d+)\. ", p))]
    assert numbers == list(range(18, 25))


@needs_real
def test_sandwell_compounds_broken_at_line_ends_keep_their_hyphen(sandwell: list[str]) -> None:
    assert "effective community-based and intensive support" in sandwell[11]
    assert "state-funded pupils" in sandwell[5]


@needs_real
def test_sandwell_page_numbers_and_back_cover_address_are_gone(sandwell: list[str]) -> None:
    for number, page in enumerate(sandwell, start=1):
        lines = [line.strip() for line in page.splitlines()]
        assert str(number) not in lines, f"page number left on page {number}"
        assert not page.startswith(f"{number}\n")
        for furniture in LETTERHEAD[:3] + ["Textphone", "Crown copyright"]:
            assert furniture not in page, f"{furniture!r} left on page {number}"
    # a superscript footnote mark does not glue onto the heading it follows
    assert "Information about this local authority area\n" in sandwell[4] + "\n"
    assert "area1" not in sandwell[4]


@needs_real
@pytest.mark.parametrize(
    ("name", "salutation", "finding"),
    [
        (
            "coventry_focused-visit-letter_2018-02-22.pdf",
            "Dear Ms Quinton",
            "Steady progress is being made, and in the case of the MASH the quality of work "
            "has improved since the time of the last inspection.",
        ),
        (
            "walsall_focused-visit-letter_2018-10-18.pdf",
            "Dear Ms Rowe,",
            "The local authority has made progress in all areas with recommendations from the "
            "last inspection that relate to care leavers.",
        ),
    ],
)
def test_letters_lose_the_letterhead_but_keep_the_letter(
    name: str, salutation: str, finding: str
) -> None:
    pages = pdf_pages(REAL / name)
    assert len(pages) == len(PdfReader(REAL / name).pages)
    for number, page in enumerate(pages, start=1):
        for furniture in LETTERHEAD:
            assert furniture not in page, f"{furniture!r} left on page {number} of {name}"
    first = _paragraphs(pages[0])
    assert salutation in first
    assert any(p.startswith(finding) for p in first)
    assert "Yours sincerely" in _paragraphs(pages[-1])
    assert "Her Majesty’s Inspector" in pages[-1]


@needs_real
def test_letter_bullets_are_normalised() -> None:
    pages = pdf_pages(REAL / "coventry_focused-visit-letter_2018-02-22.pdf")
    findings = _paragraphs(pages[1])
    assert findings[0] == "Findings"
    assert findings[1].startswith(
        "- Leaders understand their service well and this is supporting the development of "
        "better practice."
    )
    assert not re.search("[\ue000-\uf8ff•]", "".join(pages))
