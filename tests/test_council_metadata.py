"""A document's council when it is not an Ofsted publication, where a report states a
judgement, the catalog's new fields, and the library table the page shows. No model."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.display import IndexOverview, build_filters
from rag.documents import LoadError, infer_council, load_catalog
from rag.ofsted import stated_judgement
from rag.records import DocumentRef
from rag.store import IndexStatus, LibraryEntry


def test_a_press_release_or_article_is_about_the_council_it_writes_as_one() -> None:
    assert infer_council("Ofsted has published its findings into Birmingham City Council's "
                         "children's services.") == "Birmingham"
    assert infer_council("Sandwell children's services is maintaining progress.") == "Sandwell"
    assert infer_council("Ofsted praised children's social care in Dudley this week.") == "Dudley"
    assert infer_council("The minister spoke about social care budgets.") is None
    # The place written most often wins; a bare "The Council" is no place.
    assert infer_council("The Council met. Walsall Council agreed. Walsall Council "
                         "voted. Dudley Council abstained.") == "Walsall"


def test_where_a_report_states_a_judgement_is_found_verbatim() -> None:
    text = ("Children\u2019s services in Dudley Metropolitan Borough Council are \ninadequate \n"
            "1. Children who need help and protection Inadequate \n")
    s, e = stated_judgement(text, "overall_effectiveness")
    assert text[s:e].startswith("Children\u2019s services in Dudley") and text[s:e].endswith(
        "inadequate")
    s, e = stated_judgement(text, "help_and_protection")
    assert text[s:e] == "Children who need help and protection Inadequate"
    assert stated_judgement(text, "adoption") is None
    assert stated_judgement("x" * 1_000_000, "overall_effectiveness") is None


def test_a_report_s_own_grade_is_not_taken_from_the_previous_inspection_s() -> None:
    text = ("The judgements for the local authority were: Overall effectiveness: inadequate. "
            "Overall effectiveness of services for looked after children and young people\n"
            "Grade 3 (Adequate)\n")
    s, e = stated_judgement(text, "overall_effectiveness", "adequate")
    assert text[s:e].startswith("Overall effectiveness of services") and text[s:e].endswith(
        "(Adequate)")
    s, e = stated_judgement(text, "overall_effectiveness")
    assert text[s:e] == "Overall effectiveness: inadequate"
    assert stated_judgement(text, "overall_effectiveness", "good") is None


def test_the_catalog_names_an_entry_that_is_not_a_table(tmp_path: Path) -> None:
    (tmp_path / "catalog.toml").write_text('reviewed = 2024\n')
    with pytest.raises(LoadError, match="'reviewed' is not a table"):
        load_catalog(tmp_path)
    (tmp_path / "catalog.toml").write_text('["a.txt"]\njudgements = "good"\n')
    with pytest.raises(LoadError, match="judgements must be a table"):
        load_catalog(tmp_path)
    (tmp_path / "catalog.toml").write_text(
        '["a.txt"]\ncouncil = "Dudley"\njudgements = {overall_effectiveness = "good"}\n')
    assert load_catalog(tmp_path)["a.txt"]["council"] == "Dudley"


def entry(council: str | None, kind: str, overall: str | None, title: str) -> LibraryEntry:
    doc = DocumentRef(title + ".txt", title, title + ".txt", "2016-04-05", kind, council)
    return LibraryEntry(doc, "2016-01-11", "2016-02-08", "2016-04-05",
                        {"overall_effectiveness": overall} if overall else {})


def test_the_library_table_lists_and_filters_documents_by_council_and_kind() -> None:
    rows = [entry("Dudley", "inspection report", "inadequate", "Dudley 2016"),
            entry("Dudley", "focused visit letter", None, "Dudley visit"),
            entry("Sandwell", "inspection report", "good", "Sandwell 2016"),
            entry(None, "news article", None, "News")]
    overview = IndexOverview(IndexStatus(4, 10, None, 1, None), [r.doc for r in rows], rows)
    assert overview.councils == ["Dudley", "Sandwell"]
    table = overview.library_table()
    assert len(table) == 4
    assert table[0] == {"Council": "Dudley", "Kind": "inspection report",
                        "Inspected": "2016-01-11 to 2016-02-08", "Published": "2016-04-05",
                        "Overall effectiveness": "inadequate", "Document": "Dudley 2016"}
    assert [r["Document"] for r in overview.library_table(["Dudley"])] == [
        "Dudley 2016", "Dudley visit"]
    assert [r["Document"] for r in overview.library_table((), ["inspection report"])] == [
        "Dudley 2016", "Sandwell 2016"]


def test_the_council_filter_is_by_key() -> None:
    filters = build_filters(councils=["Sandwell Children's Trust"])
    assert filters.councils == ("sandwell",) and not filters.is_empty()
