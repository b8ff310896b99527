"""Sign-in, readers and editors, in a real browser against a real OpenID Connect provider.

The provider is `oidc-provider-mock` (from PyPI), started inside the test on localhost:
it stands in for the council's own identity provider (Entra ID, Google, Keycloak), which
cannot be reached from here. It is a real OpenID Connect server (discovery, authorize
form, tokens, ID token signed with its key, userinfo, end-session): Streamlit's
`st.login` talks to it exactly as it would to the council's, through Authlib. Its
authorize form signs in whoever's subject is typed; the e-mail claim is that subject.

Everything else is real too: `streamlit run app.py` with `.streamlit/secrets.toml`
pointing at the provider, the real model and index, Chromium driven by Playwright.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import provenance
from rag.config import Settings
from rag.embedding import Embedder
from tests.conftest import ROOT, settings_for
from tests.test_page_e2e import (
    ANSWER_TIMEOUT_MS,
    CHROMIUM,
    UI_TIMEOUT_MS,
    VIEWPORT,
    _free_port,
    ask,
    browser,  # noqa: F401 - the fixture, on this module's server
    shot,
    source_headings,
    streamlit_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EDITOR = "editor@council.gov.uk"
READER = "reader@council.gov.uk"
LETTER_NAME = "2024-03-01_ofsted_monitoring-visit-letter.txt"
LETTER = """1 March 2024

Dear Director

Monitoring visit to Testshire children's services

This letter summarises the findings of the monitoring visit to Testshire children's
services, carried out by Ofsted inspectors on 6 and 7 February 2024.

Inspectors found that the Testshire kinship care panel had met only twice in the last
year, so kinship carers waited many months for their assessments to be approved.

Yours sincerely

A Inspector
"""
CONFIRMED_TITLE = "Testshire monitoring visit, February 2024"
QUESTION = "What did inspectors find about the kinship care panel in Testshire?"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """The stand-in for the council's identity provider; its issuer URL."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=_free_port()) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signin_settings(tmp_path_factory: pytest.TempPathFactory, built_index: Settings,
                    embedder: Embedder) -> Settings:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium (`make browser`)")
    tmp = tmp_path_factory.mktemp("signin")
    shutil.copytree(built_index.corpus_dir, tmp / "corpus")
    shutil.copytree(built_index.index_dir, tmp / "index")
    return settings_for(tmp, editors=EDITOR)


@pytest.fixture(scope="module")
def server(signin_settings: Settings, provider: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page with sign-in configured the documented way: .streamlit/secrets.toml in the
    folder it is started from (here a temporary one, so no real secrets are touched)."""
    port = _free_port()
    url = f"http://localhost:{port}"
    home = tmp_path_factory.mktemp("home")
    (home / ".streamlit").mkdir()
    (home / ".streamlit" / "secrets.toml").write_text(f"""[auth]
redirect_uri = "{url}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "inspection-reports-qa"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    s = signin_settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_CORPUS_DIR=str(s.corpus_dir), RAG_INDEX_DIR=str(s.index_dir),
               RAG_DATA_DIR=str(s.data_dir), RAG_EDITORS=s.editors,
               RAG_CONFIG=str(home / "no-rag.toml"), HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    yield from streamlit_page(url, port, env, home, home / "streamlit.log")


@pytest.fixture
def page(browser, server: str):  # noqa: ANN001, ANN201, F811 - Playwright objects; the fixture
    """A fresh browser (no cookies: not signed in) on the page, ready for a question."""
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(UI_TIMEOUT_MS)
    pg.goto(server)
    ready(pg)
    yield pg
    context.close()


def ready(page) -> None:  # noqa: ANN001
    page.get_by_placeholder("Ask about the inspection reports").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.get_by_text("documents ·").first.wait_for()


def sidebar(page):  # noqa: ANN001, ANN201
    return page.locator('[data-testid="stSidebar"]')


def sign_in(page, who: str) -> None:  # noqa: ANN001
    """Through the provider's own authorize form, back to the page signed in."""
    sidebar(page).get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**")
    page.locator('input[name="sub"]').fill(who)
    page.get_by_role("button", name="Authorize").click()
    ready(page)
    signed_in_as(page, who)


def plain(text: str) -> str:
    """Text as read: the page escapes an address with a word joiner (no auto-link)."""
    return text.replace("\u2060", "")


def signed_in_as(page, who: str, role: str = "") -> None:  # noqa: ANN001
    line = sidebar(page).get_by_text("Signed in as", exact=False)
    line.wait_for()
    assert plain(line.inner_text()).startswith(f"Signed in as {who} {role}".strip())


def no_edit_controls(page) -> None:  # noqa: ANN001
    bar = sidebar(page)
    assert bar.get_by_text("Add documents").count() == 0
    assert bar.get_by_text("Withdraw a document").count() == 0
    assert page.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0


def test_an_anonymous_visitor_can_ask_and_cannot_upload(page) -> None:  # noqa: ANN001
    no_edit_controls(page)
    assert sidebar(page).get_by_role("button", name="Sign in").count() == 1
    answer = ask(page, "What did inspectors say about return home interviews?")
    assert len(source_headings(answer)) >= 1
    shot(page, "signin-1-anonymous")


def test_the_upload_endpoint_called_directly_adds_nothing(
    page, server: str, signin_settings: Settings,  # noqa: ANN001
) -> None:
    """Past the page: a PUT straight to Streamlit's upload endpoint, as a script would
    send it, while an anonymous visitor's session is open. Streamlit only keeps such
    bytes in memory for an uploader widget of that session, and an anonymous session
    has none, so nothing may reach corpus/, the index or the log. (The session id the
    browser holds is not exposed to the test; one made up stands for it, and the server
    must refuse both alike.)"""
    import urllib.error
    import urllib.request

    s = signin_settings
    before = (sorted(p.name for p in s.corpus_dir.iterdir()),
              provenance.read_log(provenance.log_path(s)))
    boundary = secrets.token_hex(8)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{LETTER_NAME}\"\r\nContent-Type: text/plain\r\n\r\n{LETTER}\r\n"
            f"--{boundary}--\r\n").encode()
    for session in ("00000000-0000-0000-0000-000000000000", secrets.token_hex(16)):
        request = urllib.request.Request(
            f"{server}/_stcore/upload_file/{session}/{secrets.token_hex(8)}", data=body,
            method="PUT", headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                status = reply.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status >= 400, status
    page.reload()
    ready(page)
    no_edit_controls(page)
    assert (sorted(p.name for p in s.corpus_dir.iterdir()),
            provenance.read_log(provenance.log_path(s))) == before
    assert LETTER_NAME not in before[0]


def test_a_signed_in_reader_cannot_upload(page) -> None:  # noqa: ANN001
    sign_in(page, READER)
    signed_in_as(page, READER, "(reader)")
    no_edit_controls(page)
    shot(page, "signin-2-reader")


def test_an_editor_adds_a_letter_it_is_cited_with_who_added_it_then_withdraws_it(
    page, signin_settings: Settings, tmp_path: Path,  # noqa: ANN001
) -> None:
    sign_in(page, EDITOR)
    bar = sidebar(page)
    signed_in_as(page, EDITOR, "(editor)")

    # Upload: what was read from the letter is shown, corrected, then confirmed.
    letter = tmp_path / LETTER_NAME
    letter.write_text(LETTER)
    bar.get_by_text("Add documents").click()
    bar.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(letter))
    def field(label: str):  # noqa: ANN202
        return bar.get_by_role("textbox", name=label, exact=True)

    title = field("Title")
    title.wait_for()
    assert field("Date (YYYY-MM-DD)").input_value() == "2024-03-01"
    assert field("Publisher").input_value() == "Ofsted"  # only its words say so
    title.fill(CONFIRMED_TITLE)
    title.press("Enter")
    field("Publisher").fill("")
    field("Publisher").press("Enter")
    shot(page, "signin-3-confirm-metadata")
    bar.get_by_role("button", name="Add to the index").click()
    bar.get_by_text("Ask about it now", exact=False).wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert (signin_settings.corpus_dir / LETTER_NAME).is_file()

    answer = ask(page, QUESTION)
    assert "met only twice" in answer.inner_text()
    added = f"added through the page by {EDITOR} on "
    headings = [plain(h) for h in source_headings(answer)]
    assert any(CONFIRMED_TITLE in h and added in h for h in headings), headings
    shot(page, "signin-4-cited-with-who-added-it")

    # Withdraw: out of the corpus (kept aside) and the index; the next answer does not cite it.
    bar.get_by_text("Withdraw a document").click()
    bar.get_by_role("button", name="Withdraw").click()
    bar.get_by_text(f"Withdrew {LETTER_NAME}", exact=False).wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert not (signin_settings.corpus_dir / LETTER_NAME).exists()
    answer = ask(page, QUESTION)
    headings = [plain(h) for h in source_headings(answer)]
    assert not any(CONFIRMED_TITLE in h or added in h for h in headings), headings
    assert "met only twice" not in answer.inner_text()
    shot(page, "signin-5-withdrawn")

    log = provenance.read_log(provenance.log_path(signin_settings))
    assert [(e.action, e.source, e.by) for e in log] == [
        ("added", LETTER_NAME, EDITOR), ("withdrawn", LETTER_NAME, EDITOR)]
    assert log[0].metadata["title"] == CONFIRMED_TITLE and log[0].metadata["publisher"] == ""

    # Signing out returns to a reader's page.
    bar.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/oauth2/end_session**")  # the provider ends its session too
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(lambda url: "/oauth2/end_session" not in url)
    if not page.get_by_placeholder("Ask about the inspection reports").count():
        page.goto(page.url.split("/oauth2callback")[0])
    ready(page)
    sidebar(page).get_by_role("button", name="Sign in").wait_for()
    no_edit_controls(page)
    shot(page, "signin-6-signed-out")
