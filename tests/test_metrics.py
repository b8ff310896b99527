"""Each evaluation metric on tiny cases computed by hand: a metric that cannot fail is a defect."""

from __future__ import annotations

import math

import pytest

from rag.evaluation import (
    Evaluation,
    QuestionResult,
    by_type,
    check_thresholds,
    load_thresholds,
    metrics_of,
    score_response,
    summarise,
)
from rag.grounding import Support
from rag.metrics import (
    answer_statements,
    check_citations,
    citation_scores,
    evidence_ranks,
    key_fact_accuracy,
    missed_key_facts,
    ndcg_at,
    percentile,
    recall_at,
    reciprocal_rank,
)
from rag.records import Answer, Citation, DocumentRef, Passage
from rag.report import problems, render_report, shortfall, worst
from rag.systems import Response, fixed_chunks


def test_evidence_is_found_after_normalising_quotes_dashes_and_line_breaks() -> None:
    passages = ["Nothing here.", "Children\u2019s services are over-\nreliant on agency staff."]
    ranks = evidence_ranks(["children's services are over-reliant", "absent quote"], passages)
    assert ranks == [2, None]


def test_an_evidence_item_with_alternatives_is_found_by_any_copy() -> None:
    # The report states a finding in its summary and again in its findings: either copy
    # retrieved is the evidence retrieved, at the rank of the first one found.
    passages = ["Nothing here.", "Care leavers benefit from good relationships.",
                "Care leavers enjoy positive relationships with their personal advisers."]
    item = ["Care leavers enjoy positive relationships", "Care leavers benefit from good"]
    assert evidence_ranks([item, ["absent", "also absent"]], passages) == [2, None]


def test_recall_mrr_and_ndcg_by_hand() -> None:
    ranks = [2, None, 7]
    assert recall_at(ranks, 1) == 0.0
    assert recall_at(ranks, 5) == pytest.approx(1 / 3)
    assert recall_at(ranks, 10) == pytest.approx(2 / 3)
    assert reciprocal_rank(ranks) == 0.5
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at(ranks, 10) == pytest.approx((1 / math.log2(3) + 1 / math.log2(8)) / ideal)
    assert ndcg_at([1], 10) == 1.0
    assert reciprocal_rank([None]) == 0.0


def test_key_fact_accuracy_counts_matching_patterns() -> None:
    assert key_fact_accuracy("Two thirds take over 72 hours.", ["72 hours", "minority"]) == 0.5
    assert key_fact_accuracy("anything", []) == 1.0


def test_answer_statements_drop_the_lead_in_and_keep_markers() -> None:
    answer = ("The inspection report \u201cX\u201d (2016) says: First finding. [1] Second. [2][3]"
              "\n\nThe monitoring letter \u201cY\u201d (2017-10-19) says: Third. [4]")
    assert answer_statements(answer) == [
        ("First finding.", [1]), ("Second.", [2, 3]), ("Third.", [4])]


def containment_judge(claim: str, passage: str) -> Support:
    """A stand-in judge for metric arithmetic: support = literal containment."""
    ok = claim.rstrip(".") in passage
    return Support(ok, float(ok), ok, "test")


def test_alce_citation_recall_and_precision_by_hand() -> None:
    passages = {1: "alpha beta", 2: "gamma", 3: "unrelated"}
    statements = [
        ("alpha beta.", [1]),  # supported; citation 1 supports alone -> good
        ("gamma.", [2, 3]),  # supported; 2 good; 3 neither supports nor is needed -> bad
        ("delta.", [1]),  # unsupported; citation bad
        ("epsilon.", []),  # no citation: counts against recall only
    ]
    recall, precision = citation_scores(statements, passages, containment_judge)
    assert recall == pytest.approx(2 / 4)
    assert precision == pytest.approx(2 / 4)


def test_check_citations_names_the_unsupported_statements() -> None:
    passages = {1: "alpha beta", 2: "gamma"}
    check = check_citations([("alpha beta.", [1]), ("delta.", [2]), ("epsilon.", [])],
                            passages, containment_judge)
    assert (check.recall, check.precision) == (pytest.approx(1 / 3), 0.5)
    assert check.unsupported == ["delta. [2]", "epsilon. (no citation)"]


def test_missed_key_facts_lists_the_patterns_not_matched() -> None:
    assert missed_key_facts("It rose to 70.", [r"\b70\b", "minority"]) == ["minority"]


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    # position (5 - 1) * 0.95 = 3.8: 4 + 0.8 * (5 - 4)
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 95) == pytest.approx(4.8)
    assert percentile([1.0, 2.0], 95) == pytest.approx(1.95)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_fixed_chunks_cover_the_text_without_overlap() -> None:
    assert fixed_chunks("abcdefghij", 4) == [(0, 4), (4, 8), (8, 10)]
    assert fixed_chunks("", 4) == []


def five_results() -> list[QuestionResult]:
    """Three answerable and two unanswerable questions with known scores."""
    quote = "a quote that was not found"
    return [
        QuestionResult("A", "figure", True, evidence=["q1", "q2"], ranks=[1, None],
                       key_facts=0.5, citation_recall=1.0, citation_precision=0.5, seconds=1.0),
        QuestionResult("B", "figure", True, evidence=[quote], ranks=[6], abstained=True,
                       seconds=2.0),
        QuestionResult("C", "summary", True, evidence=["q3"], ranks=[3], key_facts=1.0,
                       citation_recall=0.5, citation_precision=1.0, seconds=3.0),
        QuestionResult("D", "unanswerable", False, abstained=True, seconds=4.0),
        QuestionResult("E", "unanswerable", False, answer="Something.", seconds=5.0),
    ]


def test_summarise_by_hand() -> None:
    m = summarise(five_results())
    assert (m["questions"], m["answerable"], m["unanswerable"]) == (5, 3, 2)
    assert m["recall@1"] == pytest.approx(0.5 / 3, abs=1e-4)
    assert m["recall@5"] == pytest.approx(1.5 / 3, abs=1e-4)  # 0.5, 0 (rank 6), 1
    assert m["recall@10"] == pytest.approx(2.5 / 3, abs=1e-4)
    assert m["mrr"] == pytest.approx((1 + 1 / 6 + 1 / 3) / 3, abs=1e-4)
    ndcg_a = 1 / (1 + 1 / math.log2(3))  # one of two quotes, at rank 1
    assert m["ndcg@10"] == pytest.approx((ndcg_a + 1 / math.log2(7) + 0.5) / 3, abs=1e-4)
    assert m["key_fact_accuracy"] == pytest.approx(0.5)  # 0.5, declined = 0, 1
    assert m["citation_recall"] == pytest.approx(0.75)  # A and C: answered answerable
    assert m["citation_precision"] == pytest.approx(0.75)
    assert m["declined_when_unanswerable"] == 0.5
    assert m["declined_when_answerable"] == pytest.approx(1 / 3, abs=1e-4)
    assert (m["latency_p50_s"], m["latency_p95_s"]) == (3.0, 4.8)


def test_by_type_aggregates_each_type_alone() -> None:
    types = by_type(five_results())
    assert list(types) == ["figure", "summary", "unanswerable"]
    figure = types["figure"]
    assert figure["questions"] == 2
    assert figure["recall@5"] == 0.25  # (0.5 + 0) / 2
    assert figure["key_fact_accuracy"] == 0.25  # (0.5 + declined 0) / 2
    assert figure["citation_precision"] == 0.5  # only A was answered
    assert figure["declined_when_answerable"] == 0.5
    assert figure["declined_when_unanswerable"] is None
    assert (figure["latency_p50_s"], figure["latency_p95_s"]) == (1.5, 1.95)
    unanswerable = types["unanswerable"]
    assert unanswerable["recall@5"] is None and unanswerable["key_fact_accuracy"] is None
    assert unanswerable["declined_when_unanswerable"] == 0.5
    assert types["summary"]["recall@5"] == 1.0


def test_worst_ranks_by_shortfall_and_says_what_went_wrong() -> None:
    results = five_results()
    # A: 0.5 evidence + 0.5 facts + 0 recall + 0.5 precision; B: no evidence in top 5 + 2
    # for the wrong decline; C: 0.5 citation recall; D: declined correctly; E: answered.
    assert [shortfall(r) for r in results] == [1.5, 3.0, 0.5, 0.0, 2.0]
    assert [r.id for r in worst(results, 10)] == ["B", "E", "A", "C"]
    assert [r.id for r in worst(results, 2)] == ["B", "E"]
    assert problems(results[1]) == [
        "evidence not retrieved in top 5 (rank 6): \u201ca quote that was not found\u201d",
        "wrongly declined an answerable question (no sentence reached min_relevance)",
    ]
    assert problems(results[4]) == ["answered an unanswerable question"]
    assert "not in the top 10" in problems(results[0])[0]


def citation(n: int, text: str, quote: str) -> Citation:
    doc = DocumentRef("d", "T", "s.txt", "2016", "inspection report")
    passage = Passage(chunk_id=n, doc=doc, page=None, paragraph=n, section=None, text=text)
    return Citation(n=n, passage=passage, quote=quote)


def test_score_response_scores_an_answer_and_a_decline_by_the_same_rules() -> None:
    item = {"id": "x", "type": "figure", "answerable": True, "question": "How many?",
            "evidence": ["alpha beta"], "key_facts": [r"\b70\b", "gamma"]}
    passage = "It rose to 70. Then it fell."
    answered = Answer("How many?", "The inspection report \u201cT\u201d (2016) says: "
                      "It rose to 70. [1]", False, [citation(1, passage, "It rose to 70.")])
    r = score_response(item, Response(["nothing", "Alpha  beta gamma"], answered, 0.5),
                       containment_judge)
    assert r.ranks == [2] and r.key_facts == 0.5 and r.missed_facts == ["gamma"]
    assert (r.citation_recall, r.citation_precision, r.quotes_ok) == (1.0, 1.0, 1.0)
    assert r.seconds == 0.5

    declined = Answer("How many?", "not covered", True)
    r = score_response(item, Response([], declined, 0.1), containment_judge)
    assert r.abstained and r.ranks == [None] and r.key_facts == 0.0
    assert r.missed_facts == item["key_facts"] and r.citation_precision == 0.0


def test_thresholds_from_file_and_the_messages_of_a_miss(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "t.json"
    path.write_text('{"_why": "slack", "min-recall5": 0.7, "max_wrong_decline": 0.1}')
    assert load_thresholds(path) == {"min_recall5": 0.7, "max_wrong_decline": 0.1}
    path.write_text('{"min-recal5": 0.7}')
    with pytest.raises(ValueError, match="unknown threshold 'min-recal5'"):
        load_thresholds(path)
    path.write_text('{"min-recall5": "high"}')
    with pytest.raises(ValueError, match="must be a number"):
        load_thresholds(path)

    overall = summarise(five_results())
    assert check_thresholds(overall, {"min_recall5": 0.5, "max_wrong_decline": 0.34}) == []
    failed = check_thresholds(overall, {"min_recall5": 0.6, "max_wrong_decline": 0.3,
                                        "min_decline": 0.5})
    assert failed == [
        "recall@5 0.5000 is below the threshold 0.6 (--min-recall5)",
        "declined_when_answerable 0.3333 is above the threshold 0.3 (--max-wrong-decline)",
    ]
    only_answerable = summarise(five_results()[:3])
    assert check_thresholds(only_answerable, {"min_decline": 0.5}) == [
        "declined_when_unanswerable not measured (no questions of that kind) (--min-decline)"]


def test_report_tables_have_one_cell_per_column_and_a_worst_section() -> None:
    evaluation = Evaluation({"full": five_results(), "naive": five_results()}, "test judge",
                            {"full": "the product", "naive": "the floor"})
    metrics = metrics_of(evaluation, qa="qa.jsonl", thresholds={"min_recall5": 0.9})
    assert metrics["failed"] == ["recall@5 0.5000 is below the threshold 0.9 (--min-recall5)"]
    assert metrics["systems"]["full"]["by_type"]["figure"]["questions"] == 2
    report = render_report(metrics, evaluation)
    tables = [b for b in report.split("\n\n") if b.startswith("| ")]
    for table in tables:
        counts = {row.count("|") for row in table.splitlines()}
        assert len(counts) == 1, table
    worst_section = report[report.index("## Worst 10 questions"):]
    assert worst_section.index("### 1. B") < worst_section.index("### 2. E")
    assert "wrongly declined" in worst_section and "test judge" in report
    short = render_report(metrics, evaluation, worst_n=2)
    assert "Beyond these, 2 more fell short: A, C." in short
