"""The page in a real browser: `streamlit run app.py` driven by Playwright and Chromium.

AppTest (tests/test_app.py) runs the script but renders nothing, so only a browser can
show that an answer's markers, sources and the opened document appear where a person
looks, that an upload becomes answerable, and that text from a document stays text in
the DOM (no <script> run, no <b> element, no javascript: link). Screenshots of each
state are saved under test-artifacts/ for a person to look at.

Real components throughout: the real model, a real index (a copy of the session's
built index, plus one hostile document indexed into it), a real server and browser.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import feedback
from rag.config import Settings
from rag.embedding import Embedder
from rag.indexing import sync
from tests.conftest import ROOT, settings_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
STREAMLIT = Path(sys.executable).parent / "streamlit"
ARTIFACTS = ROOT / "test-artifacts"
VIEWPORT = {"width": 1366, "height": 768}  # a laptop screen
START_TIMEOUT_S = 90
ANSWER_TIMEOUT_MS = 120_000  # the first answer loads the model; the CPU may be shared
UI_TIMEOUT_MS = 30_000

HOSTILE_NAME = "2018-06-01_testshire-fostering-review.txt"
HOSTILE = """Testshire fostering review <b>bold</b>

1 June 2018

Inspectors found that case records for foster carers in Testshire contained the text
<script>window.__pwned=1</script> where the child's plan should have been.

Managers in Testshire linked supervision notes to [click](javascript:alert(1)) rather
than to the plan, so foster carers could not follow it.

Foster carers in Testshire were sent to _https://evil.example/plan, _www.evil.example,
carers+@evil.example and a.@evil.example instead of the plan.
"""
# Text a Markdown renderer would make a link of (GitHub's autolinks): none may be one.
LINKED_TEXT = 'a[href*="evil.example"]'


UPLOAD_NAME = "2019-03-12 Sampleshire monitoring letter.txt"
UPLOAD = """12 March 2019

Dear Ms Example

Monitoring visit of Sampleshire children's services

This letter summarises the findings of the first monitoring visit to Sampleshire
children's services on 5 and 6 February 2019.

Inspectors found that the Sampleshire kinship care panel had met only twice in the
last year, so kinship carers waited many months for their assessments to be approved.

Yours sincerely

A Inspector
Her Majesty's Inspector
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def page_settings(tmp_path_factory: pytest.TempPathFactory, built_index: Settings,
                  embedder: Embedder) -> Settings:
    """A private copy of the built corpus and index with the hostile document added."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium "
                    "(apt-get install chromium, or `make browser`) to run the browser tests")
    tmp = tmp_path_factory.mktemp("page")
    shutil.copytree(built_index.corpus_dir, tmp / "corpus")
    shutil.copytree(built_index.index_dir, tmp / "index")
    (tmp / "corpus" / HOSTILE_NAME).write_text(HOSTILE)
    settings = settings_for(tmp)
    report = sync(settings, embedder=embedder)
    assert report.added == [HOSTILE_NAME], report
    return settings


@pytest.fixture(scope="module")
def server(page_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` on a free port, pointed at the copy; its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_CORPUS_DIR=str(page_settings.corpus_dir),
               RAG_INDEX_DIR=str(page_settings.index_dir),
               RAG_DATA_DIR=str(page_settings.data_dir),
               # No sign-in here (tests/test_page_signin.py has it): uploads open to all.
               RAG_OPEN_UPLOADS="1",
               RAG_CONFIG=str(page_settings.index_dir / "no-rag.toml"),  # ignore ./rag.toml
               HF_HUB_OFFLINE="1")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    yield from streamlit_page(f"http://127.0.0.1:{port}", port, env, ROOT, log)


def streamlit_page(url: str, port: int, env: dict[str, str], cwd: Path,
                   log: Path) -> Iterator[str]:
    """`streamlit run app.py` on ``port`` until the generator is closed; yields ``url``
    once it serves (the page tests' server fixtures)."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(STREAMLIT), "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _serving(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start serving {url}:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server: str):  # noqa: ANN001, ANN201 - Playwright objects
    """A fresh browser session (so a fresh conversation) on the page, ready for input."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(UI_TIMEOUT_MS)
    pg.goto(server)
    pg.get_by_placeholder("Ask about the inspection reports").wait_for(timeout=ANSWER_TIMEOUT_MS)
    pg.get_by_text("documents ·").first.wait_for()  # the sidebar's index status
    yield pg
    context.close()


def shot(page, name: str) -> None:  # noqa: ANN001
    """Save a screenshot, and check the state fits the laptop screen's width."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"))
    overflow = page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll(
                   '[data-testid="stMain"], [data-testid="stSidebarContent"], [role="dialog"]')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1)
                 .map(e => (e.dataset.testid || e.getAttribute('role') || e.tagName)
                           + ' ' + e.scrollWidth + '>' + e.clientWidth)""")
    assert overflow == [], f"horizontal scrolling in {name}: {overflow}"


def ask(page, question: str):  # noqa: ANN001, ANN201 - the answer's chat message locator
    """Type a question, wait until its answer is complete (the rating widget comes last).

    The answers are counted once the page's script has finished running. During a rerun
    the last run's elements linger until the new ones replace them: after a withdrawal,
    the first answer (drawn one place lower, under the opening caption) stood beside its
    redrawn copy, the count read two, and the wait was for a third answer that never
    came (a CI run on a loaded machine)."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=ANSWER_TIMEOUT_MS)
    answers = page.locator('[data-testid="stChatMessage"]'
                           ':has([data-testid="stChatMessageAvatarAssistant"])')
    before = answers.count()
    box = page.get_by_placeholder("Ask about the inspection reports")
    box.fill(question)
    box.press("Enter")
    answer = answers.nth(before)
    failed = page.locator('[data-testid="stException"]')  # shown at once, not after a wait
    answer.locator('[data-testid="stFeedback"]').or_(failed).first.wait_for(
        timeout=ANSWER_TIMEOUT_MS)
    assert failed.count() == 0, failed.first.inner_text()
    return answer


def source_headings(answer) -> list[str]:  # noqa: ANN001
    return [s.inner_text().strip() for s in
            answer.locator('[data-testid="stExpander"] summary').all()]


def test_answer_shows_citations_sources_and_opens_the_document(
    page, page_settings: Settings,  # noqa: ANN001
) -> None:
    shot(page, "1-start")
    answer = ask(page, "What did inspectors say about return home interviews?")
    body = answer.locator('[data-testid="stMarkdownContainer"]').first.inner_text()
    markers = {m for m in ("[1]", "[2]", "[3]") if m in body}
    assert len(markers) >= 2, body
    headings = source_headings(answer)
    assert len(headings) >= 2, headings
    assert any("paragraph 112" in h for h in headings), headings
    assert all("2016" in h and "inspection report" in h for h in headings), headings
    shot(page, "2-answer")

    # Expand the source at paragraph 112: the passage with the cited sentence.
    source = answer.locator('[data-testid="stExpander"]').filter(has_text="paragraph 112")
    source.locator("summary").click()
    passage = source.locator('[data-testid="stExpanderDetails"]')
    passage.get_by_text("only being completed for a minority", exact=False).wait_for()
    assert passage.get_by_text("112.", exact=False).count() >= 1
    source.scroll_into_view_if_needed()
    shot(page, "3-source-expanded")

    # Open the whole document there: a dialog, scrolled to the highlighted paragraph.
    source.get_by_role("button", name="Open the document at paragraph 112").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    cited = dialog.locator(".st-key-cited-passage")
    cited.get_by_text("only being completed for a minority", exact=False).wait_for()
    assert "112." in cited.inner_text()
    # The rest of the report is there too, before and after the passage.
    assert dialog.get_by_text("Children’s services in Birmingham are inadequate").count() >= 1
    assert len(dialog.locator(".st-key-document-text").inner_text()) > 20_000
    page.wait_for_function(
        """() => {
            const el = document.querySelector('.st-key-cited-passage');
            const box = document.querySelector('.st-key-document-text');
            if (!el || !box) return false;
            const a = el.getBoundingClientRect(), b = box.getBoundingClientRect();
            return a.top >= b.top - 1 && a.top < b.bottom - 40;
        }""", timeout=UI_TIMEOUT_MS)
    shot(page, "4-document-at-paragraph")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # A thumbs up is stored in the data folder, with the question and its citations.
    answer.locator('[data-testid="stFeedbackButton"]').first.click()
    path = feedback.feedback_path(page_settings.data_dir)
    deadline = time.monotonic() + 30
    while not (rows := feedback.read_all(path)) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert rows and rows[-1].rating == feedback.UP, rows
    assert rows[-1].question == "What did inspectors say about return home interviews?"
    assert len(rows[-1].citations) >= 2

    # The conversation downloads as Markdown with its citations.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as Markdown").click()
    text = Path(download.value.path()).read_text()
    assert "return home interviews" in text and "paragraph 112" in text, text[:2000]


def test_a_place_the_reports_do_not_cover_is_declined(page) -> None:  # noqa: ANN001
    answer = ask(page, "What did Ofsted say about Manchester?")
    answer.get_by_text("do not cover this question", exact=False).wait_for()
    answer.get_by_text("No indexed document mentions Manchester", exact=False).wait_for()
    answer.get_by_text("Closest passages (they do not answer it)").wait_for()
    assert len(source_headings(answer)) >= 1
    assert "[1]" not in answer.inner_text()
    shot(page, "5-declined")


def test_a_figure_of_another_subject_is_shown_with_a_notice_to_check_it(page) -> None:  # noqa: ANN001
    """Issue 19: the reports never say how many children went missing. The count given
    (of children whose plans were not reviewed) is quoted and cited as ever, and a
    warning under it names the question's words that its figure is not given beside."""
    answer = ask(page, "How many children went missing from home or care in Birmingham in "
                       "the year before the 2016 inspection?")
    warning = answer.locator('[data-testid="stAlert"]')
    warning.get_by_text("Check that this is the figure asked for", exact=False).wait_for()
    assert "\u201cmissing\u201d" in warning.inner_text()
    assert re.search(r"\[1\]", answer.inner_text())
    shot(page, "5b-figure-notice")


def test_uploaded_letter_is_answerable_at_once(page, page_settings: Settings,  # noqa: ANN001
                                               tmp_path: Path) -> None:
    letter = tmp_path / UPLOAD_NAME
    letter.write_text(UPLOAD)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Add documents").click()
    sidebar.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(letter))
    add = sidebar.get_by_role("button", name="Add to the index")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stSidebar"] button')]
                 .some(b => b.innerText.includes('Add to the index') && !b.disabled)""")
    add.click()
    sidebar.get_by_text("Ask about it now", exact=False).wait_for(
        timeout=ANSWER_TIMEOUT_MS)
    saved = "2019-03-12_Sampleshire_monitoring_letter.txt"
    assert (page_settings.corpus_dir / saved).is_file()
    assert sidebar.get_by_text("7 documents", exact=False).count() == 1
    shot(page, "6-uploaded")

    answer = ask(page, "What did inspectors find about the kinship care panel in Sampleshire?")
    body = answer.inner_text()
    assert "met only twice" in body, body
    assert any("Sampleshire" in h and "monitoring letter" in h
               for h in source_headings(answer)), source_headings(answer)
    shot(page, "7-upload-answered")


def test_document_markup_is_shown_as_text(page) -> None:  # noqa: ANN001
    answer = ask(page, "What did inspectors find about case records for foster carers "
                       "in Testshire?")
    # Sources are ordered by document date; pick the hostile document's by its title.
    source = answer.locator('[data-testid="stExpander"]').filter(has_text="Testshire").first
    source.locator("summary").click()
    details = source.locator('[data-testid="stExpanderDetails"]')
    details.get_by_text("[click](javascript:alert(1))", exact=False).wait_for()
    page.wait_for_timeout(500)  # give any script that might run a chance to
    visible = answer.inner_text()
    assert "<script>window.__pwned=1</script>" in visible
    assert "<b>bold</b>" in visible
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("b", has_text="bold").count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator("script", has_text="__pwned").count() == 0
    # The whole document, opened, is text too, and no address in it became a link.
    source.get_by_role("button", name="Open the document").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("[click](javascript:alert(1))", exact=False).wait_for()
    assert "<b>bold</b>" in dialog.inner_text()
    dialog.get_by_text("instead of the plan", exact=False).wait_for()
    shown = dialog.inner_text().replace("\u2060", "")  # the joiners that break the links
    for address in ("_https://evil.example/plan", "_www.evil.example", "carers+@evil.example",
                    "a.@evil.example"):
        assert address in shown, address
    assert page.locator(LINKED_TEXT).count() == 0, page.locator(LINKED_TEXT).evaluate_all(
        "links => links.map(a => a.outerHTML)")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator("b", has_text="bold").count() == 0
    shot(page, "8-markup-as-text")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # Its title in the documents filter's list is text as well.
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
        has_text="Documents").click()
    option = page.get_by_role("option", name="Testshire fostering review <b>bold</b>",
                              exact=False)
    option.wait_for()
    assert option.inner_text().startswith("2018-06-01 · Testshire")
    assert page.locator("b", has_text="bold").count() == 0
    page.wait_for_timeout(500)  # let the list finish opening for the screenshot
    shot(page, "9-markup-in-filter")



def test_the_library_view_lists_documents_and_filters_by_council(page) -> None:  # noqa: ANN001
    page.locator('[data-testid="stSidebar"]').get_by_role(
        "button", name="Open the library").click()
    dialog = page.get_by_role("dialog")
    dialog.locator('[data-testid="stDataFrame"]').wait_for()
    caption = dialog.get_by_text(" documents", exact=False).first
    everything = caption.inner_text()
    total = int(everything.split(" of ")[1].split()[0])
    assert everything.startswith(f"{total} of {total} documents"), everything
    # Narrow to one council: the five starting documents are all Birmingham's (the two
    # press articles because they write the place as a council's), the added ones not.
    dialog.locator('[data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option", name="Birmingham").click()
    dialog.get_by_text(f"5 of {total} documents").wait_for()
    shot(page, "8-library")


def test_a_judgement_question_is_answered_with_a_cited_row(page) -> None:  # noqa: ANN001
    answer = ask(page, "What overall judgement did Ofsted give Birmingham children's "
                       "services in the 2016 inspection?")
    body = answer.inner_text()
    assert "The Birmingham inspection report" in body and "[1]" in body, body
    assert "inadequate" in body.split("[1]")[0].lower(), body
    assert any("[1]" in h for h in source_headings(answer)), source_headings(answer)
    shot(page, "9-judgement")


PHONE = {"width": 390, "height": 844}  # a phone held upright


@pytest.mark.parametrize("viewport", [VIEWPORT, PHONE], ids=["laptop", "phone"])
def test_an_answer_reads_as_the_direct_sentence_then_lists(
    browser, server: str, viewport: dict[str, int],  # noqa: ANN001
) -> None:
    """Issue 19: the direct answer first, then the findings as list items by document; a
    comparison one list item per document. Nothing scrolls sideways on a phone."""
    context = browser.new_context(viewport=viewport)
    pg = context.new_page()
    pg.set_default_timeout(UI_TIMEOUT_MS)
    try:
        pg.goto(server)
        pg.get_by_placeholder("Ask about the inspection reports").wait_for(
            timeout=ANSWER_TIMEOUT_MS)
        name = f"form-{viewport['width']}"
        answer = ask(pg, "What did inspectors say about return home interviews?")
        body = answer.locator('[data-testid="stMarkdownContainer"]').first
        items = body.locator("li")
        assert items.count() >= 2, body.inner_html()
        first = body.locator(":scope > p").first.inner_text()  # before any list
        assert "Return home interviews" in first and re.search(r"\[\d+\]", first), first
        assert all("[" in t for t in items.all_inner_texts())  # each item cites
        # A list's items are one document's: the heading just above names it.
        assert body.locator("p + ul").count() >= 1
        fits(pg, name)
        shot_at(pg, answer, f"{name}-1-answer")

        change = ask(pg, "How did thresholds change between the 2016 inspection and the "
                         "2017 visit?")
        rows = change.locator('[data-testid="stMarkdownContainer"]').first.locator("li")
        # The feedback widget comes last, yet under load the list was once read half
        # drawn (one item): wait for the second item before reading them.
        rows.nth(1).wait_for(timeout=ANSWER_TIMEOUT_MS)
        texts = rows.all_inner_texts()
        assert len(texts) == 2, texts
        assert "(2016)" in texts[0] and "(2017-10-19)" in texts[1], texts
        fits(pg, name)
        shot_at(pg, change, f"{name}-2-comparison")
    finally:
        context.close()


def fits(page, name: str) -> None:  # noqa: ANN001
    """Nothing on the page is wider than the window: no sideways scrolling."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: page {width[0]} px wide in a {width[1]} px window"


def shot_at(page, element, name: str) -> None:  # noqa: ANN001
    """A screenshot of the window scrolled to the top of ``element``, as a person reading
    it from its start sees it, under test-artifacts/."""
    page.wait_for_timeout(500)  # the chat's own scroll to its newest message comes first
    element.evaluate("""e => {
        e.scrollIntoView({block: 'start'});
        for (let p = e.parentElement; p; p = p.parentElement) {  // clear the page header
            if (/(auto|scroll)/.test(getComputedStyle(p).overflowY)
                && p.scrollHeight > p.clientHeight) { p.scrollTop -= 64; break; }
        }
    }""")
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"))
