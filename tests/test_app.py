"""The chat page, driven headless with Streamlit's AppTest.

Only behaviour is pinned: the page runs without an exception, the sidebar reports what
the index holds, a question in the chat input brings back text from the reports, and a
first start with no index builds one. The layout is free to change.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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

    def point(corpus_dir: Path, index_dir: Path) -> None:
        monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus_dir))
        monkeypatch.setenv("RAG_INDEX_DIR", str(index_dir))

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
    at.chat_input[0].set_value(RHI_QUESTION).run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    shown = page_text(at)
    assert RHI_EVIDENCE in shown, shown[:2000]


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
