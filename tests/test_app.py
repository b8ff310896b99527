"""The chat page, driven headless with Streamlit's AppTest.

Only behaviour is pinned: the page runs without an exception, the sidebar reports what
the index holds, a question in the chat input brings back text from the reports, and a
first start with no index builds one; then the chat itself: numbered citations with
their sources and the opened document, filters narrowing the sources, follow-ups read
with the previous question, clearing, markup shown as text, ratings stored, uploads
checked and answerable at once. The layout is free to change; tests/test_page_e2e.py
looks at it in a real browser.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag import feedback
from rag.config import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# Absolute: AppTest resolves a relative path against the calling file (tests/), not the cwd.
APP = ROOT / "app.py"
TIMEOUT = 120

RHI_QUESTION = "What did inspectors say about return home interviews?"
# In the 2016 report (paragraphs 41 and 112), and not in the question itself.
RHI_EVIDENCE = "only being completed for a minority of children who go missing"

LETTER = """12 March 2019

Dear Ms Example

Monitoring visit of Sampleshire children's services

This letter summarises the findings of the first monitoring visit to Sampleshire
children's services on 5 and 6 February 2019. Inspectors reviewed services for
children in care.

Social workers now visit children in care regularly, and their records describe the
children's wishes and feelings clearly. Independent reviewing officers challenge drift
in care plans more effectively than at the last inspection.

Yours sincerely

A Inspector
Her Majesty's Inspector
"""


def texts(node: object) -> list[str]:
    """Every string a user can read under a node of the element tree, in page order."""
    found: list[str] = []
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for attr in ("label",):  # e.g. an expander's title
            value = _safe(node, attr)
            if isinstance(value, str):
                found.append(value)
        for child in children.values():
            found.extend(texts(child))
        return found
    for attr in ("value", "body", "label", "help"):
        value = _safe(node, attr)
        if isinstance(value, str) and value:
            found.append(value)
    return found


def _safe(node: object, attr: str) -> object:
    try:
        return getattr(node, attr, None)
    except Exception:  # some elements compute values lazily and can refuse
        return None


def page_text(at: AppTest) -> str:
    return "\n".join(texts(at._tree))


def sidebar_text(at: AppTest) -> str:
    return "\n".join(texts(at.sidebar))


def documents_shown(text: str) -> set[int]:
    """Numbers shown as a document count: "5 documents", "Documents: 5", "documents\\n5"."""
    found = re.findall(r"(\d+)\s+documents?\b", text, re.I)
    found += re.findall(r"\bdocuments?\W{0,5}(\d+)\b", text, re.I)
    return {int(n) for n in found}


@pytest.fixture
def page_env(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - a setter
    """Point the page at given folders, with nothing else from RAG_* leaking in."""
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # Nor a developer's ./rag.toml: point the settings file at one that does not exist.
    monkeypatch.setenv("RAG_CONFIG", str(ROOT / "tests" / "no-such-rag.toml"))

    def point(corpus_dir: Path, index_dir: Path) -> None:
        monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus_dir))
        monkeypatch.setenv("RAG_INDEX_DIR", str(index_dir))
        monkeypatch.setenv("RAG_DATA_DIR", str(index_dir.parent / "data"))

    return point


def test_page_shows_the_index_and_answers_from_the_reports(
    index_copy: Settings, page_env,  # noqa: ANN001
) -> None:
    page_env(index_copy.corpus_dir, index_copy.index_dir)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    sidebar = sidebar_text(at)
    assert 5 in documents_shown(sidebar), sidebar

    assert len(at.chat_input) >= 1
    # The box stops a pasted page at the question length limit (max_question_chars).
    assert at.chat_input[0].proto.max_chars == index_copy.max_question_chars
    at.chat_input[0].set_value(RHI_QUESTION).run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    shown = page_text(at)
    assert RHI_EVIDENCE in shown, shown[:2000]


@pytest.mark.model  # the page indexes the letter with the model itself
def test_first_start_without_an_index_builds_it(
    tmp_path: Path, page_env,  # noqa: ANN001
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "2019-03-12_ofsted_monitoring-visit-letter.txt").write_text(LETTER)
    index = tmp_path / "index"
    index.mkdir()  # there, but empty
    page_env(corpus, index)

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    sidebar = sidebar_text(at)
    assert 1 in documents_shown(sidebar), sidebar
    assert any(index.iterdir()), "the index was not written to RAG_INDEX_DIR"


# ------------------------------------------------------------------ the chat, in detail

CASELOAD_QUESTION = "What did inspectors say about caseloads?"
LETTER_KIND = "monitoring letter"


def plain(markdown: str) -> str:
    """What a person reads from the page's Markdown: highlights, bold and escapes undone."""
    text = re.sub(r":orange-background\[((?:\\.|[^\]\\])*)\]", r"\1", markdown)
    text = re.sub(r"(?<!\\)\*\*", "", text)
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)
    return text.replace("\u2060", "")


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    return at


def source_labels(at: AppTest) -> list[str]:
    """The headings of the sources under answers (the sidebar's expander is not one)."""
    return [plain(e.label) for e in at.main.expander]


def blocks_of_type(node: object, kind: str) -> list[object]:
    found = []
    for child in getattr(node, "children", {}).values():
        if getattr(child, "type", None) == kind:
            found.append(child)
        found.extend(blocks_of_type(child, kind))
    return found


@pytest.fixture
def page_at(index_copy: Settings, page_env):  # noqa: ANN001, ANN201 - an AppTest
    """The page over a private copy of the index, run once and ready for a question."""
    page_env(index_copy.corpus_dir, index_copy.index_dir)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_answer_cites_numbered_sources_and_opens_the_document(
    page_at: AppTest, index_copy: Settings,
) -> None:
    at = ask(page_at, RHI_QUESTION)
    assert len(at.chat_message) == 2
    answer = plain(at.chat_message[1].markdown[0].value)
    assert "[1]" in answer and "[2]" in answer, answer
    labels = source_labels(at)
    assert len(labels) >= 2, labels
    assert all(label.startswith("[") and "2016 · inspection report" in label
               for label in labels), labels
    at112 = next(i for i, label in enumerate(labels) if "paragraph 112" in label)
    passage = at.main.expander[at112].markdown[0].value
    assert ":orange-background[" in passage  # the cited sentence is highlighted
    assert RHI_EVIDENCE in plain(passage)

    # "Open the document" shows the whole report with paragraph 112 marked.
    at.main.expander[at112].button[0].click().run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    dialogs = blocks_of_type(at._tree, "dialog")
    assert len(dialogs) == 1
    shown = "\n".join(plain(t) for t in texts(dialogs[0]))
    assert "Children’s services in Birmingham are inadequate" in shown
    assert "112. Services for children missing from home or care are poor" in shown
    assert len(shown) > 20_000  # the whole document, not just the passage

    # A thumbs up is kept in the data folder (not index/) with the question and citations.
    at.feedback[0].set_value(1).run(timeout=TIMEOUT)
    rows = feedback.read_all(feedback.feedback_path(index_copy.data_dir))
    assert [(r.question, r.rating) for r in rows] == [(RHI_QUESTION, feedback.UP)]
    assert len(rows[0].citations) >= 2


def test_kind_filter_narrows_the_sources(page_at: AppTest) -> None:
    at = ask(page_at, CASELOAD_QUESTION)
    unfiltered = source_labels(at)
    assert any(LETTER_KIND not in label for label in unfiltered), unfiltered

    at.sidebar.multiselect(key="filter_kinds").set_value([LETTER_KIND]).run(timeout=TIMEOUT)
    at = ask(at, CASELOAD_QUESTION)
    filtered = source_labels(at)[len(unfiltered):]
    assert filtered, source_labels(at)
    assert all(f"· {LETTER_KIND}" in label and "Monitoring visit of Birmingham" in label
               for label in filtered), filtered
    assert any("searched only in kind: monitoring letter" in plain(c.value)
               for c in at.chat_message[3].caption)


def test_a_follow_up_is_read_with_the_previous_question(page_at: AppTest) -> None:
    at = ask(page_at, RHI_QUESTION)
    follow_up = "And how quickly were they completed?"  # "they": the interviews
    at = ask(at, follow_up)
    turns = at.session_state["turns"]
    assert [t.question for t in turns] == [RHI_QUESTION, follow_up]
    assert "return home interviews" in turns[1].answer.searched_for
    assert any("72 hours" in c.quote for c in turns[1].answer.citations)


def test_clear_conversation_empties_the_history(page_at: AppTest) -> None:
    at = ask(page_at, RHI_QUESTION)
    assert len(at.chat_message) == 2
    assert not at.sidebar.download_button[0].proto.disabled
    next(b for b in at.sidebar.button if b.label == "Clear conversation").click().run(
        timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.chat_message) == 0
    assert at.session_state["turns"] == []
    assert at.sidebar.download_button[0].proto.disabled


def test_markup_in_a_question_is_shown_as_text(page_at: AppTest) -> None:
    question = "<b>Return</b> home interviews [x](javascript:alert(1)) <script>x()</script>?"
    at = ask(page_at, question)
    shown = at.chat_message[0].markdown[0].value
    assert "<b>" not in shown and "<script>" not in shown and "](" not in shown, shown
    assert plain(shown) == question


def test_without_sign_in_the_page_is_read_only(page_at: AppTest) -> None:
    """No identity provider and no open_uploads: a reader's page, and it says why."""
    assert len(page_at.sidebar.file_uploader) == 0
    assert not [b for b in page_at.sidebar.button if b.label in ("Add to the index", "Withdraw")]
    assert "Read-only" in sidebar_text(page_at), sidebar_text(page_at)
    assert "Add documents" not in [e.label for e in page_at.sidebar.expander]
    at = ask(page_at, RHI_QUESTION)  # a reader can still ask
    assert RHI_EVIDENCE in page_text(at)


def test_open_uploads_says_so_in_the_sidebar(
    page_at: AppTest, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAG_OPEN_UPLOADS", "1")
    at = page_at.run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    warnings = [plain(w.value) for w in at.sidebar.warning]
    assert any("Uploads are open to everyone" in w for w in warnings), warnings
    assert len(at.sidebar.file_uploader) == 1
    assert "Read-only" not in sidebar_text(at)


def test_an_upload_is_checked_saved_and_answerable_at_once(
    page_at: AppTest, index_copy: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAG_OPEN_UPLOADS", "1")  # no sign-in here: uploads open to all
    page_at.run(timeout=TIMEOUT)
    before = sorted(p.name for p in index_copy.corpus_dir.iterdir())
    uploader = page_at.sidebar.file_uploader[0]
    uploader.set_value(("letter.pdf", b"PK\x03\x04 a zip, not a PDF", "application/pdf"))
    at = page_at.run(timeout=TIMEOUT)
    next(b for b in at.sidebar.button if b.label == "Add to the index").click().run(
        timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    errors = [plain(e.value) for e in at.sidebar.error]
    assert any("letter.pdf is not a PDF" in e and "ZIP" in e for e in errors), errors
    assert sorted(p.name for p in index_copy.corpus_dir.iterdir()) == before

    at.sidebar.file_uploader[0].set_value(
        ("../../Sampleshire letter.txt", LETTER.encode(), "text/plain"))
    at.run(timeout=TIMEOUT)
    # What was read from the letter is shown to confirm or correct before indexing.
    fields = {t.label: t for t in at.sidebar.text_input}
    assert fields["Date (YYYY-MM-DD)"].value == "2019-03-12"
    assert at.sidebar.selectbox[0].value == LETTER_KIND
    fields["Title"].set_value("Sampleshire first monitoring visit")
    fields["Publisher"].set_value("")  # not confirmed as Ofsted's
    at.run(timeout=TIMEOUT)
    next(b for b in at.sidebar.button if b.label == "Add to the index").click().run(
        timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    assert (index_copy.corpus_dir / "Sampleshire_letter.txt").is_file()
    assert 6 in documents_shown(sidebar_text(at)), sidebar_text(at)
    at = ask(at, "What did the monitoring visit find about independent reviewing officers "
                 "in Sampleshire?")
    assert "challenge drift" in plain(at.chat_message[1].markdown[0].value)
    labels = source_labels(at)
    assert any("Sampleshire first monitoring visit" in label
               and "added through the page by anonymous" in label for label in labels), labels
