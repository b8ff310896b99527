"""rag.ofsted: the metadata an Ofsted publication states about itself.

Accuracy over all 859 documents of the scale corpus, against its manifest where the
manifest is comparable (reproduce: .venv/bin/python bench/ofsted_metadata_accuracy.py):

- council, by same_council with the manifest's authority: 858/859 (the miss is a 2023
  report whose title says "Hull"; the manifest says "kingston upon hull");
- kind, against the folder: 858/859 (the other is a stand-alone 2015 review of Surrey's
  Local Safeguarding Children Board: not an inspection, so no kind, as intended);
- published, where the document states one (525: 366 of 369 letters, 159 reports;
  ILACS reports state none): 517/525 equal the manifest's date; the 8 others state
  a date a few days from gov.uk's (checked by reading them);
- framework: SIF 166, ILACS 319, none 5 (four 2013 looked-after-children inspections
  and the review), each consistent with its inspection year;
- inspection dates read in 859/859, plausible (start <= end <= publication, within 150
  days) in 858 (Surrey's 2014 inspection was published in June 2015, as it says);
- overall effectiveness read in 478/490 reports: the 12 without are 11 reports of the
  2026 ILACS table (it has no overall row) and the review; the four 2013 inspections of
  looked after children's services are read on their own, older scale ("Grade 3
  (Adequate)", a page or two on).

Over the 105 hand-verified documents of tests/fixtures/ofsted_metadata.json (81 picked
to cover councils, years and layouts, then 24 drawn at random after the reader was
settled): every field of every document right, 735/735.
"""

from __future__ import annotations

import json
import random
import tarfile
import time
from pathlib import Path

import pytest

from rag.ofsted import (
    GRADES,
    JUDGEMENT_KEYS,
    KINDS,
    OfstedMeta,
    council_aliases,
    council_key,
    read_metadata,
    same_council,
)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SCALE_TARBALL = SHARED / "scale-corpus" / "ofsted-reports-text.tar.xz"
UNPACKED = Path("/tmp/scale/ofsted-reports-text")
REAL_PDFS = SHARED / "real-pdfs"
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "ofsted_metadata.json")
                     .read_text(encoding="utf-8"))["documents"]
FIELDS = ("kind", "framework", "inspection_start", "inspection_end", "published")
EMPTY = OfstedMeta()


@pytest.fixture(scope="session")
def scale_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scale corpus, unpacked: /tmp/scale if already there, else from ../shared once."""
    if (UNPACKED / "manifest.csv").is_file():
        return UNPACKED
    if not SCALE_TARBALL.is_file():
        pytest.skip(f"{SCALE_TARBALL} is missing (the scale corpus lives in ../shared/)")
    dest = tmp_path_factory.mktemp("scale")
    with tarfile.open(SCALE_TARBALL) as tar:
        tar.extractall(dest, filter="data")
    return dest / "ofsted-reports-text"


# ------------------------------------------------------------- the hand-verified fixture
def test_the_fixture_covers_what_it_must() -> None:
    councils = {d["manifest_authority"] for d in FIXTURE}
    years = {int(d["file"][-8:-4]) for d in FIXTURE}
    assert len(FIXTURE) >= 60 and len(councils) >= 25
    assert {d["file"].split("/")[0] for d in FIXTURE} == {"ilacs", "focused-visits"}
    assert {"ILACS", "SIF", None} <= {d["framework"] for d in FIXTURE}
    assert {"inspection", "focused visit", None} <= {d["kind"] for d in FIXTURE}
    assert set(range(2013, 2027)) <= years


@pytest.mark.parametrize("doc", FIXTURE, ids=[d["file"] for d in FIXTURE])
def test_a_scale_corpus_document_reads_as_verified_by_hand(scale_root: Path, doc: dict) -> None:
    meta = read_metadata((scale_root / doc["file"]).read_text(encoding="utf-8"))
    got = {f: getattr(meta, f) for f in FIELDS}
    got["overall_effectiveness"] = meta.judgements.get("overall_effectiveness")
    want = {f: doc[f] for f in (*FIELDS, "overall_effectiveness")}
    assert got == want
    assert meta.council is not None and council_key(meta.council) == council_key(doc["council"])
    if meta.kind != "inspection":
        assert meta.judgements == {}


@pytest.mark.slow
def test_the_whole_scale_corpus_reads_without_a_miss_beyond_the_known_ones(
        scale_root: Path) -> None:
    import csv

    rows = list(csv.DictReader(open(scale_root / "manifest.csv", encoding="utf-8")))
    councils = kinds = 0
    for row in rows:
        meta = read_metadata((scale_root / row["file"]).read_text(encoding="utf-8"))
        councils += meta.council is not None and same_council(meta.council, row["authority"])
        kinds += meta.kind == ("focused visit" if row["collection"] == "focused-visits"
                               else "inspection")
        assert meta.inspection_start and meta.inspection_end, row["file"]
        assert set(meta.judgements) <= set(JUDGEMENT_KEYS)
        assert set(meta.judgements.values()) <= set(GRADES)
    assert councils >= len(rows) - 1 and kinds >= len(rows) - 1


# --------------------------------------------------------------------------- short texts
SIF_TITLE_PAGE = """\
 1
Dudley Metropolitan Borough Council
Inspection of services for children in need of help and
protection, children looked after and care leavers
and
Review of the effectiveness of the Local Safeguarding Children
Board1
Inspection date: 11 January 2016 \u2013 4 February 2016
Report published: 05 April 2016

Children\u2019s services in Dudley require improvement to be good
1. Children who need help and protection Requires improvement
2. Children looked after and achieving
permanence Requires improvement

2.1 Adoption performance Good
2.2 Experiences and progress of care leavers Requires improvement
3. Leadership, management and governance Requires improvement
The effectiveness of the Local Safeguarding Children Board (LSCB) is good
\f 2
Executive summary
At the last inspection in 2012 services were judged to be inadequate.
"""


def test_a_sif_title_page_gives_council_dates_and_its_table() -> None:
    meta = read_metadata(SIF_TITLE_PAGE)
    assert meta == OfstedMeta(
        council="Dudley", kind="inspection", framework="SIF",
        inspection_start="2016-01-11", inspection_end="2016-02-04", published="2016-04-05",
        judgements={
            "overall_effectiveness": "requires improvement to be good",
            "help_and_protection": "requires improvement to be good",
            "looked_after_and_permanence": "requires improvement to be good",
            "adoption": "good",
            "care_leavers": "requires improvement to be good",
            "leadership": "requires improvement to be good",
            "lscb": "good",
        })


def test_an_older_sif_overall_judgement_sentence_is_read() -> None:
    text = SIF_TITLE_PAGE.replace(
        "Children\u2019s services in Dudley require improvement to be good",
        "The overall judgement is that children\u2019s services are inadequate")
    assert read_metadata(text).judgements["overall_effectiveness"] == "inadequate"


# A 2013 inspection of looked after children's services: the contents page first, the
# judgement on the earlier four-point scale a page on (Kent's, Medway's, Norfolk's and
# Sandwell's are laid out so).
LAC_2013 = """\
Inspection of looked after children services
Sandwell Metropolitan Borough Council
Inspection dates: 24 \u2013 28 June 2013
Reporting inspector Christopher Sands HMI
Published: 2 August 2013
\f
Contents
Overall effectiveness of services for looked after children and
young people 5
Capacity to improve 6
\f
Service information
%s
Overall effectiveness of services for looked
after children and young people
Grade %s
13. Overall effectiveness for looked after children is inadequate.
"""


@pytest.mark.parametrize(("grade", "want"), [("4 (Inadequate)", "inadequate"),
                                             ("3 (Adequate)", "adequate"),
                                             ("4 (inadequate)", "inadequate")])
def test_a_2013_looked_after_children_inspection_is_read_on_its_own_scale(
        grade: str, want: str) -> None:
    text = LAC_2013 % ("Sandwell is a metropolitan borough. " * 80, grade)
    meta = read_metadata(text)
    assert meta.kind == "inspection" and meta.framework is None
    assert meta.judgements == {"overall_effectiveness": want}


def test_a_contents_line_is_not_a_grade() -> None:
    text = LAC_2013.replace("Grade %s", "").replace("13. Overall", "13.") % ("",)
    assert read_metadata(text).judgements == {}


ILACS_TABLE = """\
Inspection of Sandwell local authority
children\u2019s services
Inspection dates: 9 May to 20 May 2022
Lead inspector: Tracey Ledder, Her Majesty\u2019s Inspector
Judgement Grade
The impact of leaders on social work
practice with children and families
Requires improvement to be good
The experiences and progress of
children who need help and protection
Requires improvement to be good
The experiences and progress of
children in care and care leavers
Good
Overall effectiveness Requires improvement to be good

Since the last inspection in 2017, when services were judged inadequate, leaders have...
"""


def test_an_ilacs_judgement_table_gives_its_four_grades() -> None:
    meta = read_metadata(ILACS_TABLE)
    assert (meta.council, meta.kind, meta.framework) == ("Sandwell", "inspection", "ILACS")
    assert (meta.inspection_start, meta.inspection_end, meta.published) == (
        "2022-05-09", "2022-05-20", None)
    assert meta.judgements == {
        "impact_of_leaders": "requires improvement to be good",
        "help_and_protection": "requires improvement to be good",
        "children_in_care": "good",
        "overall_effectiveness": "requires improvement to be good",
    }


def test_the_2023_ilacs_table_judges_care_leavers_apart() -> None:
    text = ILACS_TABLE.replace("children in care and care leavers\nGood",
                               "children in care\nGood\nThe experiences and progress of\n"
                               "care leavers\nOutstanding")
    judgements = read_metadata(text).judgements
    assert judgements["children_in_care"] == "good"
    assert judgements["care_leavers"] == "outstanding"


def test_early_ilacs_titles_and_the_council_line_above_them() -> None:
    text = ("\n\n 1\nCity of Bradford Metropolitan District\nCouncil\n"
            "Inspection of children\u2019s social care services\n"
            "Inspection dates: 17 September to 28 September 2018\n"
            "Lead inspector: Neil Penswick HMI\nJudgement Grade\n"
            "The impact of leaders on social work practice with\nchildren and families\n"
            "Requires improvement\nOverall effectiveness Inadequate\n")
    meta = read_metadata(text)
    assert (meta.council, meta.framework) == ("Bradford", "ILACS")
    assert meta.judgements == {"impact_of_leaders": "requires improvement to be good",
                               "overall_effectiveness": "inadequate"}


FOCUSED_VISIT = """\
Ofsted
Piccadilly Gate
Store Street
Manchester M1 2WD
T 0300 123 1231
www.gov.uk/ofsted

21 January 2020

Ms Catherine Knowles
Interim Director of Children\u2019s Services
Council House
Priory Road
Dudley DY1 1HF

Dear Ms Knowles
Focused visit to Dudley Metropolitan Borough Council children\u2019s services
This letter summarises the findings of the focused visit to Dudley Metropolitan
Borough Council children\u2019s services on 18 and 19 December 2019. The visit was
conducted by Alison Smale and Tara Geere, two of Her Majesty\u2019s Inspectors.
Since the last inspection in 2016, when services were judged to require improvement
to be good, leaders have... Overall effectiveness Requires improvement to be good.
The experiences and progress of children who need help and protection: inadequate.
"""


def test_a_focused_visit_letter_has_no_judgements_of_its_own() -> None:
    assert read_metadata(FOCUSED_VISIT) == OfstedMeta(
        council="Dudley", kind="focused visit", framework=None,
        inspection_start="2019-12-18", inspection_end="2019-12-19", published="2020-01-21",
        judgements={})


def test_a_letter_visit_without_a_year_takes_the_letters() -> None:
    text = FOCUSED_VISIT.replace("21 January 2020", "22 February 2018").replace(
        "18 and 19 December 2019", "30 and 31 January")
    meta = read_metadata(text)
    assert (meta.inspection_start, meta.inspection_end, meta.published) == (
        "2018-01-30", "2018-01-31", "2018-02-22")


def test_a_letter_dated_before_its_own_visit_has_the_year_mended() -> None:
    # The real Dudley letter of 21 January 2020 is dated "21 January 2019".
    meta = read_metadata(FOCUSED_VISIT.replace("21 January 2020", "21 January 2019"))
    assert meta.published == "2020-01-21"


def test_a_page_number_before_the_letter_date_is_not_a_day() -> None:
    text = FOCUSED_VISIT.replace("21 January 2020", "1 16 November 2018").replace(
        "December 2019", "October 2018")
    assert read_metadata(text).published == "2018-11-16"


MONITORING_VISIT = """\
Aviation House 125 Kingsway London WC2B 6SE T 0300 123 1231 www.ofsted.gov.uk

19 October 2017

Mr Colin Diamond CBE
Corporate Director Children and Young People
Birmingham City Council
PO Box 16466
Birmingham B2 2DP

Dear Mr Diamond

Monitoring visit of Birmingham children's services

This letter summarises the findings of the monitoring visit to Birmingham children's
services on 19 and 20 September 2017. The visit was the second monitoring visit since
the local authority was judged inadequate in November 2016.
"""


def test_a_monitoring_visit_letter() -> None:
    assert read_metadata(MONITORING_VISIT) == OfstedMeta(
        council="Birmingham", kind="monitoring visit", framework=None,
        inspection_start="2017-09-19", inspection_end="2017-09-20", published="2017-10-19",
        judgements={})


JTAI = """\
22 March 2017

Mr Steve Crocker, Director of Children's Services, Hampshire County Council
Mr Andy Marsh, Chief Constable, Hampshire Constabulary

Dear local partners

Joint targeted area inspection of the multi-agency response to abuse and
neglect in Hampshire

Between 16 and 20 January 2017, Ofsted, the Care Quality Commission (CQC), HMI
Constabulary (HMIC) and HMI Probation (HMIP) undertook a joint inspection of the
multi-agency response to abuse and neglect in Hampshire.
"""


def test_a_joint_targeted_area_inspection_letter() -> None:
    assert read_metadata(JTAI) == OfstedMeta(
        council="Hampshire", kind="joint targeted area inspection", framework=None,
        inspection_start="2017-01-16", inspection_end="2017-01-20", published="2017-03-22",
        judgements={})


PRESS_RELEASE = """\
Response to Ofsted unannounced inspection
By on 19/10/2012 in News
Ofsted has today (Friday 19 October) published the findings of an unannounced
inspection into Birmingham City Council's children's services. Children's services in
Birmingham are inadequate, the report says. Dear readers, the focused visit to
Birmingham children's services on 3 and 4 May will follow.
"""


@pytest.mark.parametrize("text", [
    PRESS_RELEASE, "", " ", "\f\f\n", "Dear Sir", "Inspection of", "1 January 2020",
    "Focused visit to Dudley children's services", "\x00\x01\ufffd" * 100,
])
def test_text_that_is_not_an_ofsted_publication_gives_nothing(text: str) -> None:
    assert read_metadata(text) == EMPTY


def test_the_starting_corpus() -> None:
    metas = {p.name: read_metadata(p.read_text(encoding="utf-8"))
             for p in CORPUS.glob("*.txt")}
    letter = metas["2017-10-19_ofsted_monitoring-visit-letter.txt"]
    assert (letter.council, letter.kind, letter.inspection_start, letter.inspection_end,
            letter.published) == ("Birmingham", "monitoring visit", "2017-09-19",
                                  "2017-09-20", "2017-10-19")
    report = metas["2016_ofsted_inspection-report.txt"]  # its title page was cut off
    assert (report.council, report.kind, report.framework) == ("Birmingham", "inspection",
                                                               "SIF")
    assert report.judgements["overall_effectiveness"] == "inadequate"
    assert report.judgements["adoption"] == "requires improvement to be good"
    for name in ("2012-10-19_birmingham-city-council_response-to-inspection.txt",
                 "children-first_fourth-monitoring-visit.txt",
                 "community-care_fifth-monitoring-visit.txt"):
        assert metas[name] == EMPTY, name


def test_hostile_input_is_read_quickly_and_never_raises() -> None:
    megaline = "x" * 1_000_000
    hostile = [megaline, "Inspection of " * 80_000, "Dear Focused visit to " * 50_000,
               "12 and " * 150_000, "Children's services in the " * 40_000,
               ILACS_TABLE + "9" * 1_000_000, "\n" * 1_000_000]
    for text in hostile:
        began = time.perf_counter()
        meta = read_metadata(text)
        assert time.perf_counter() - began < 0.5
        assert meta.kind in (*KINDS, None)


def test_cut_and_shuffled_headings_never_raise() -> None:
    rng = random.Random(5)
    pieces = (SIF_TITLE_PAGE + ILACS_TABLE + FOCUSED_VISIT + JTAI + MONITORING_VISIT).split()
    for _ in range(300):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 120)))
        meta = read_metadata(text)
        assert set(meta.judgements.values()) <= set(GRADES)


# --------------------------------------------------------------------------- council_key
@pytest.mark.parametrize("forms", [
    ("Sandwell Children's Trust", "Sandwell Metropolitan Borough Council", "Sandwell",
     "SANDWELL MBC", "sandwell"),
    ("Birmingham Children\u2019s Trust", "Birmingham City Council", "birmingham"),
    ("London Borough of Barking and Dagenham", "Barking & Dagenham Council",
     "barking and dagenham"),
    ("Royal Borough of Windsor and Maidenhead", "Windsor & Maidenhead", "windsor and maidenhead"),
    ("City of Bradford Metropolitan District Council", "Bradford", "bradford"),
    ("Bournemouth, Christchurch and Poole Council", "bournemouth, christchurch & poole",
     "bournemouth christchurch and poole"),
    ("Kingston upon Hull City Council", "Kingston-upon-Hull", "kingston upon hull"),
    ("Council of the Isles of Scilly", "Isles of Scilly", "isles of scilly"),
    ("City of London Corporation", "London Corporation", "london"),
    ("Durham County Council", "County Durham", "durham"),
    ("Doncaster Children's Services Trust", "Doncaster", "doncaster"),
    ("St. Helens Metropolitan Borough Council", "St Helens", "st helens"),
])
def test_the_forms_people_write_share_one_key(forms: tuple[str, ...]) -> None:
    *names, key = forms
    assert {council_key(n) for n in names} == {key}


@pytest.mark.parametrize("short, name", [
    ("BCP", "Bournemouth, Christchurch and Poole Council"),
    ("bcp", "Bournemouth, Christchurch & Poole"),
    ("BANES", "Bath and North East Somerset"),
    ("CWAC", "Cheshire West and Chester Council"),
    ("RBWM", "Royal Borough of Windsor and Maidenhead"),
    ("IOW", "Isle of Wight"),
    ("Newcastle", "Newcastle upon Tyne"),
    ("East Riding", "East Riding of Yorkshire"),
    ("Sandwell Children's Trust", "Sandwell Metropolitan Borough Council"),
])
def test_short_forms_and_initialisms_are_the_same_council(short: str, name: str) -> None:
    assert same_council(short, name) and same_council(name, short)


def test_initialisms_are_made_from_the_name_not_looked_up() -> None:
    assert "bcp" in council_aliases("Bournemouth, Christchurch and Poole")
    assert "nelc" in council_aliases("North East Lincolnshire Council")
    assert council_aliases("Dudley") == {"dudley"}  # one word: no initialism


@pytest.mark.parametrize("a, b", [
    ("BCP", "Birmingham"), ("Sandwell", "Walsall"), ("North Somerset", "Somerset"),
    ("Kingston upon Hull", "Kingston upon Thames"), ("West Sussex", "East Sussex"),
    ("Hull", "Kingston upon Hull"), ("", "Dudley"),
])
def test_different_councils_stay_different(a: str, b: str) -> None:
    assert not same_council(a, b)


# ------------------------------------------------------------------------- the real PDFs
@pytest.mark.skipif(not REAL_PDFS.is_dir(), reason="../shared/real-pdfs is not present")
@pytest.mark.parametrize("name, want", [
    ("coventry_focused-visit-letter_2018-02-22.pdf",
     ("Coventry", "focused visit", None, "2018-01-30", "2018-01-31", "2018-02-22")),
    ("walsall_focused-visit-letter_2018-10-18.pdf",
     ("Walsall", "focused visit", None, "2018-09-25", "2018-09-26", "2018-10-18")),
    ("sandwell_inspection-report_2018-01-29.pdf",
     ("Sandwell", "inspection", "SIF", "2017-11-06", "2017-11-30", "2018-01-29")),
])
def test_the_real_pdfs(name: str, want: tuple) -> None:
    from rag.documents import load_document

    meta = read_metadata(load_document(REAL_PDFS / name, REAL_PDFS).text)
    assert (meta.council, meta.kind, meta.framework, meta.inspection_start,
            meta.inspection_end, meta.published) == want
    if meta.kind == "inspection":
        assert meta.judgements == {
            "overall_effectiveness": "inadequate", "help_and_protection": "inadequate",
            "looked_after_and_permanence": "inadequate", "adoption": "inadequate",
            "care_leavers": "requires improvement to be good", "leadership": "inadequate",
        }
    else:
        assert meta.judgements == {}
