"""Who may change the library: editors named in the settings, never in the code; with no
identity provider the page is read-only unless open_uploads says otherwise; and the
functions that change the corpus refuse anyone else themselves, before touching a file
(the page's handlers call them, so a hidden control is never the only guard)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import access, editing, provenance
from rag.access import ANONYMOUS, NotAllowed, Visitor
from rag.config import load_settings
from tests.conftest import settings_for

LETTER = b"""1 March 2024

Dear Director

Monitoring visit to Testshire children's services

Inspectors found that Testshire's kinship assessments are now completed on time.
"""


def signed_in(email: str | None, **claims: object) -> Visitor:
    return access.visitor_from({"is_logged_in": True, "email": email, **claims})


def test_an_anonymous_visitor_reads_only_by_default() -> None:
    settings = load_settings(env={}, editors="editor@council.gov.uk")
    assert access.role(settings, ANONYMOUS) == "reader"
    assert not access.may_edit(settings, ANONYMOUS)
    with pytest.raises(NotAllowed):
        access.actor(settings, ANONYMOUS)


def test_editors_are_named_by_address_in_the_settings() -> None:
    settings = load_settings(env={"RAG_EDITORS": "Editor@Council.gov.uk; other@council.gov.uk"})
    assert access.is_editor(settings, signed_in("editor@council.gov.uk"))
    assert access.is_editor(settings, signed_in("other@council.gov.uk"))
    assert access.actor(settings, signed_in("editor@council.gov.uk")) == "editor@council.gov.uk"
    reader = signed_in("reader@council.gov.uk")
    assert access.role(settings, reader) == "reader"
    with pytest.raises(NotAllowed):
        access.actor(settings, reader)
    # Nobody is an editor by default: the code names no one.
    assert not access.is_editor(load_settings(env={}), signed_in("editor@council.gov.uk"))


def test_a_toml_list_of_editors_is_read(tmp_path: Path) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text('editors = ["a@council.gov.uk", "b@council.gov.uk"]\n')
    settings = load_settings(toml_path=toml, env={})
    assert access.editor_emails(settings) == {"a@council.gov.uk", "b@council.gov.uk"}


def test_an_editor_claim_makes_its_holders_editors() -> None:
    settings = load_settings(env={}, editor_claim="groups=childrens-services-editors")
    assert access.is_editor(settings, signed_in(None, groups=["staff",
                                                              "childrens-services-editors"]))
    assert access.is_editor(settings, signed_in("x@c.gov.uk", groups="childrens-services-editors"))
    assert not access.is_editor(settings, signed_in("x@c.gov.uk", groups=["staff"]))
    assert not access.is_editor(settings, signed_in("x@c.gov.uk"))


def test_a_malformed_editor_claim_names_the_setting() -> None:
    with pytest.raises(ValueError, match="editor_claim.*claim=value"):
        access.is_editor(load_settings(env={}, editor_claim="groups"), signed_in("x@c.gov.uk"))


def test_a_visitor_who_is_not_signed_in_is_anonymous_whatever_else_is_sent() -> None:
    assert access.visitor_from({}) == ANONYMOUS
    assert access.visitor_from({"is_logged_in": False, "email": "editor@council.gov.uk"}) \
        == ANONYMOUS
    assert not access.sign_in_configured({})
    assert access.sign_in_configured({"is_logged_in": False})


def test_open_uploads_lets_everyone_edit_and_records_them_as_anonymous() -> None:
    settings = load_settings(env={"RAG_OPEN_UPLOADS": "true"})
    assert access.may_edit(settings, ANONYMOUS)
    assert access.actor(settings, ANONYMOUS) == access.ANONYMOUS_EDITOR
    assert access.actor(settings, signed_in("someone@c.gov.uk")) == "someone@c.gov.uk"


# ------------------------------------- the handlers' own check, without the page

def test_adding_without_an_editor_identity_changes_nothing(tmp_path: Path) -> None:
    """The page's upload handler calls editing.add: called directly with no editor
    identity (as a forged request would reach it) it refuses before saving a byte."""
    settings = settings_for(tmp_path, editors="editor@council.gov.uk")
    settings.corpus_dir.mkdir()
    for visitor in (ANONYMOUS, signed_in("reader@council.gov.uk")):
        with pytest.raises(NotAllowed):
            editing.add(settings, visitor, [("2024-03-01_letter.txt", LETTER)])
    assert list(settings.corpus_dir.iterdir()) == []
    assert not settings.index_dir.exists()
    assert provenance.read_log(provenance.log_path(settings)) == []


def test_withdrawing_without_an_editor_identity_changes_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, editors="editor@council.gov.uk")
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "letter.txt").write_bytes(LETTER)
    log = provenance.log_path(settings)
    provenance.record(log, provenance.ADDED, "letter.txt", "editor@council.gov.uk")
    for visitor in (ANONYMOUS, signed_in("reader@council.gov.uk")):
        with pytest.raises(NotAllowed):
            editing.withdraw(settings, visitor, "letter.txt")
    assert (settings.corpus_dir / "letter.txt").read_bytes() == LETTER
    assert [e.action for e in provenance.read_log(log)] == ["added"]


def test_only_documents_added_through_the_page_can_be_withdrawn(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, editors="editor@council.gov.uk")
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "report.txt").write_bytes(LETTER)
    with pytest.raises(editing.WithdrawError, match="not added through the page"):
        editing.withdraw(settings, signed_in("editor@council.gov.uk"), "report.txt")
    assert (settings.corpus_dir / "report.txt").is_file()
