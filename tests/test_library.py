"""A library of several councils: metadata read from the reports, questions scoped by the
council and year they name, judgements answered from the reports' own tables. Real model,
real index, real Ofsted reports from ../shared/scale-corpus (skipped where it is absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from rag.answering import Assistant
from rag.config import Settings
from rag.indexing import sync
from rag.retrieval import Retriever
from tests.conftest import CORPUS, SHARED, settings_for

TARBALL = SHARED / "scale-corpus" / "ofsted-reports-text.tar.xz"
REPORTS = {  # file in the tarball -> name in the library's corpus
    "ilacs/dudley/children-s-services-inspection-05-april-2016.txt": "dudley_2016.txt",
    "focused-visits/dudley/children-s-services-focused-visit-16-may-2024.txt":
        "dudley_fv_2024.txt",
    "ilacs/sandwell/children-s-services-inspection-05-july-2022.txt": "sandwell_2022.txt",
    "focused-visits/sandwell/children-s-services-focused-visit-29-november-2024.txt":
        "sandwell_fv_2024.txt",
}
RAG = Path(sys.executable).parent / "rag"
# A local news story about Sandwell that also writes another council's name as a
# council's: the library holds no report on that one.
NEWS = ("Sandwell Children's Trust welcomes inspection\n\nSandwell Children's Trust said "
        "the findings reflected its work. Sandwell Council leaders agreed. Officers from "
        "Wolverhampton City Council had reviewed the trust's fostering service in 2021.\n")


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, embedder) -> Settings:
    if not TARBALL.is_file():
        pytest.skip(f"{TARBALL} is absent: the library tests need real Ofsted reports")
    tmp = tmp_path_factory.mktemp("library")
    shutil.copytree(CORPUS, tmp / "corpus")
    with tarfile.open(TARBALL) as tar:
        for member in tar.getmembers():
            name = member.name.split("/", 1)[-1]
            if name in REPORTS:
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                (tmp / "corpus" / REPORTS[name]).write_bytes(data)
    (tmp / "corpus" / "sandwell_news.txt").write_text(NEWS)
    assert len(list((tmp / "corpus").glob("*.txt"))) == 6 + len(REPORTS)
    settings = settings_for(tmp)
    report = sync(settings, embedder=embedder)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="module")
def assistant(library: Settings, embedder) -> Assistant:
    return Assistant(library, Retriever(library, embedder=embedder))


def test_rag_library_json_lists_council_kind_dates_and_judgements(library: Settings) -> None:
    out = subprocess.run([str(RAG), "--index-dir", str(library.index_dir), "library", "--json"],
                         capture_output=True, text=True, check=True).stdout
    rows = {r["source"]: r for r in json.loads(out)}
    assert len(rows) == 10
    for row in rows.values():
        assert {"source", "title", "council", "kind", "inspection_start", "inspection_end",
                "published", "judgements"} <= set(row)
    dudley = rows["dudley_2016.txt"]
    assert dudley["council"] == "Dudley" and dudley["kind"] == "inspection report"
    assert dudley["inspection_start"] == "2016-01-11" and dudley["published"] == "2016-04-05"
    assert dudley["judgements"]["overall_effectiveness"] == "inadequate"
    visit = rows["dudley_fv_2024.txt"]
    assert visit["kind"] == "focused visit letter" and visit["judgements"] == {}
    assert visit["inspection_start"] == "2024-02-01"
    # The press articles about Birmingham's services are Birmingham's too.
    assert rows["community-care_fifth-monitoring-visit.txt"]["council"] == "Birmingham"


def test_a_question_naming_a_council_cites_only_that_council(assistant: Assistant) -> None:
    for council in ("Dudley", "Sandwell Children's Trust"):
        answer = assistant.answer(f"What did inspectors say about {council}'s social workers' "
                                  "caseloads?")
        assert not answer.abstained, answer.notice
        named = council.split()[0]
        assert {c.doc.council for c in answer.citations} == {named}, answer.answer
        assert all(part.startswith(f"The {named} ") for part in answer.answer.split("\n\n"))


def test_the_year_named_keeps_the_council_s_other_years_out(assistant: Assistant) -> None:
    answer = assistant.answer("What did the 2024 focused visit to Dudley find about "
                              "independent reviewing officers?")
    assert not answer.abstained and answer.citations
    assert {c.doc.source for c in answer.citations} == {"dudley_fv_2024.txt"}


def test_a_council_or_year_the_library_lacks_is_declined_saying_so(
    assistant: Assistant,
) -> None:
    # Wolverhampton is written as a council in a passage, but the library holds no report
    # on it; Sandwell's passages are not an answer about it.
    assert assistant.retriever.reader.used_as_council("Wolverhampton")
    answer = assistant.answer("What did the 2019 Wolverhampton inspection find about "
                              "care leavers?")
    assert answer.abstained, answer.answer
    assert "no report on Wolverhampton" in (answer.notice or ""), answer.notice
    year = assistant.answer("What did the 2019 Dudley inspection find about care leavers?")
    assert year.abstained and "2019" in (year.notice or "")


def test_a_judgement_question_is_answered_from_the_report_that_states_it(
    assistant: Assistant,
) -> None:
    answer = assistant.answer("What was Dudley's overall effectiveness judgement in the 2016 "
                              "inspection?")
    assert not answer.abstained
    first = answer.citations[0]
    assert first.doc.source == "dudley_2016.txt" and "inadequate" in first.quote.lower()
    assert first.quote in first.passage.text
    assert answer.answer.startswith("The Dudley inspection report")
    listing = assistant.answer("Which councils were judged inadequate in 2016?")
    assert not listing.abstained
    assert {c.doc.council for c in listing.citations} == {"Dudley", "Birmingham"}
    assert all("inadequate" in c.quote.lower() for c in listing.citations)


def test_a_question_naming_no_council_groups_the_answer_by_council(
    assistant: Assistant,
) -> None:
    answer = assistant.answer("What did inspectors say about the quality of supervision "
                              "of social workers?")
    assert not answer.abstained
    councils = [c.doc.council for c in answer.citations]
    # Grouped: once a council's sentences end, it does not come back.
    seen: list[str | None] = []
    for council in councils:
        if not seen or seen[-1] != council:
            assert council not in seen, councils
            seen.append(council)
    for part in answer.answer.split("\n\n"):
        assert any(part.startswith(f"The {c} ") for c in ("Dudley", "Sandwell", "Birmingham")
                   ) or "news article" in part, part
