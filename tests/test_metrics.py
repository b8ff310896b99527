"""Each evaluation metric on tiny cases computed by hand: a metric that cannot fail is a defect."""

from __future__ import annotations

import math

import pytest

from rag.evaluation import (
    Evaluation,
    QuestionResult,
    by_style,
    by_type,
    check_thresholds,
    find_labels,
    labels_for,
    load_labels,
    load_thresholds,
    metrics_of,
    score_response,
    summarise,
)
from rag.grounding import Support
from rag.metrics import (
    answer_precision,
    answer_statements,
    check_citations,
    citation_scores,
    evidence_ranks,
    first_quote,
    judge_sentences,
    key_fact_accuracy,
    label_key,
    missed_key_facts,
    ndcg_at,
    percentile,
    recall_at,
    reciprocal_rank,
)
from rag.records import Answer, Citation, DocumentRef, Passage
from rag.report import problems, render_report, render_terminal, shortfall, worst
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


def test_a_quote_tied_to_its_source_counts_only_in_that_document() -> None:
    # Two reports with the same grades have word-for-word the same judgement table: only
    # the asked-about report's copy is its evidence.
    table = "Overall effectiveness Requires improvement to be good"
    passages = [table, "Nothing here.", table]
    sources = ["kirklees-2019.txt", "dudley-2019.txt", "dudley-2019.txt"]
    item = [{"source": "dudley-2019.txt", "quote": table}, "absent"]
    assert evidence_ranks([item], passages, sources) == [3]
    assert evidence_ranks([{"source": "walsall.txt", "quote": table}], passages, sources) == [None]
    assert evidence_ranks([item], passages) == [None]  # no sources: never counted
    assert first_quote(item) == table


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
    assert check_thresholds(overall, {"min_mrr": 1.01}) == [
        f"mrr {overall['mrr']:.4f} is below the threshold 1.01 (--min-mrr)"]
    failed = check_thresholds(overall, {"min_recall5": 0.6, "max_wrong_decline": 0.3,
                                        "min_decline": 0.5})
    assert failed == [
        "recall@5 0.5000 is below the threshold 0.6 (--min-recall5)",
        "declined_when_answerable 0.3333 is above the threshold 0.3 (--max-wrong-decline)",
    ]
    only_answerable = summarise(five_results()[:3])
    assert check_thresholds(only_answerable, {"min_decline": 0.5}) == [
        "declined_when_unanswerable not measured (no questions of that kind) (--min-decline)"]


def test_thresholds_on_one_styles_row_guard_it_alone(tmp_path) -> None:  # noqa: ANN001
    """The plain-words questions are guarded apart from the rest, so adding hard
    questions does not force the floor of the others down."""
    path = tmp_path / "t.json"
    path.write_text('{"min-decline": 0.5, "by_style": {"all but plain": {"min-recall5": 0.9},'
                    ' "plain words": {"min-key-facts": 0.2}}}')
    assert load_thresholds(path) == {"min_decline": 0.5, "all but plain/min_recall5": 0.9,
                                     "plain words/min_key_facts": 0.2}
    path.write_text('{"by_style": {"plainish": {"min-recall5": 0.9}}}')
    with pytest.raises(ValueError, match="by_style 'plainish' must be one of"):
        load_thresholds(path)
    overall = summarise(five_results())
    styles = {"all but plain": {**overall, "recall@5": 0.95},
              "plain words": {**overall, "key_fact_accuracy": 0.1}}
    thresholds = {"all but plain/min_recall5": 0.9, "plain words/min_key_facts": 0.2}
    assert check_thresholds(overall, thresholds, styles) == [
        "plain words: key_fact_accuracy 0.1000 is below the threshold 0.2 "
        "(by_style 'plain words' min_key_facts)"]
    assert check_thresholds(overall, thresholds, {}) == [
        "all but plain: recall@5 not measured (no questions of that kind) "
        "(by_style 'all but plain' min_recall5)",
        "plain words: key_fact_accuracy not measured (no questions of that kind) "
        "(by_style 'plain words' min_key_facts)"]


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


# ----------------------------------------------------------------------- answer precision

def test_judge_sentences_sorts_by_label_and_keeps_the_unlabelled_apart() -> None:
    labels = {label_key("Return home interviews are completed for a minority."): True,
              label_key("Plans for children who return home require improvement."): False}
    judged = judge_sentences(["Return home interviews are completed  for a\nminority.",
                              "Plans for children who return home require improvement.",
                              "A sentence nobody labelled."], labels)
    assert judged.on_topic == ["Return home interviews are completed  for a\nminority."]
    assert judged.off_topic == ["Plans for children who return home require improvement."]
    assert judged.unlabelled == ["A sentence nobody labelled."]
    assert answer_precision(3, 1) == 0.75
    assert answer_precision(0, 0) is None  # nothing labelled: not measured, not 0


def labelled(ident: str, on: int, off: int, unlabelled: int = 0, abstained: bool = False,
             answerable: bool = True, style: str = "", of: str = "") -> QuestionResult:
    return QuestionResult(
        id=ident, type="summary", answerable=answerable, abstained=abstained, key_facts=1.0,
        on_topic=None if abstained else on, off_topic=[f"off {i}" for i in range(off)],
        unlabelled=[f"new {i}" for i in range(unlabelled)], style=style, paraphrase_of=of)


def test_answer_precision_is_pooled_over_answered_answerable_questions() -> None:
    results = [labelled("a", 3, 1), labelled("b", 1, 3, unlabelled=2),
               labelled("c", 0, 0, abstained=True),  # declined: no sentences to judge
               labelled("d", 0, 0, answerable=False)]  # unanswerable: decline rate's business
    m = summarise(results)
    assert m["answer_precision"] == 0.5  # (3 + 1) / (4 + 4), not the mean of 0.75 and 0.25
    assert m["answer_sentences_off_topic"] == 4
    assert m["answer_sentences_unlabelled"] == 2  # counted, not scored either way
    unmeasured = summarise(five_results())  # no labels consulted
    assert unmeasured["answer_precision"] is None
    assert unmeasured["answer_sentences_unlabelled"] is None


def test_by_style_sets_plain_questions_beside_the_ones_they_reask() -> None:
    results = [labelled("q1", 1, 1), labelled("q2", 2, 0), labelled("q3", 1, 0),
               labelled("p1", 0, 2, style="plain", of="q1")]
    styles = by_style(results)
    assert list(styles) == ["plain words", "same, report's words", "all but plain"]
    assert [m["questions"] for m in styles.values()] == [1, 1, 3]
    assert styles["plain words"]["answer_precision"] == 0.0
    assert styles["same, report's words"]["answer_precision"] == 0.5
    assert by_style(results[:3]) == {}  # no plain questions: no rows


def test_score_response_judges_the_cited_quotes_against_the_labels() -> None:
    item = {"id": "x", "type": "figure", "answerable": True, "question": "How many?",
            "evidence": ["rose to 70"], "key_facts": [r"\b70\b"]}
    passage = "It rose to 70. Then it fell."
    answer = Answer("How many?", "It rose to 70. [1] Then it fell. [2]", False,
                    [citation(1, passage, "It rose to 70."),
                     citation(2, passage, "Then it fell.")])
    labels = {label_key("It rose to 70."): True, label_key("Then it fell."): False}
    r = score_response(item, Response([passage], answer, 0.1), containment_judge, labels)
    assert (r.on_topic, r.off_topic, r.unlabelled) == (1, ["Then it fell."], [])
    assert "off-topic sentence: \u201cThen it fell.\u201d" in problems(r)
    r = score_response(item, Response([passage], answer, 0.1), containment_judge)
    assert r.on_topic is None  # without labels nothing is claimed


def test_label_file_is_read_strictly_and_shared_with_paraphrases(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "sentence_labels.jsonl"
    path.write_text('{"id": "q1", "source": "a.txt", "sentence": "On it.", "on_topic": true}\n'
                    '{"id": "q1", "source": "a.txt", "sentence": "Off it.", "on_topic": false,'
                    ' "note": "shares a word"}\n'
                    '{"id": "p1", "source": "a.txt", "sentence": "Own.", "on_topic": true}\n')
    labels = load_labels(path)
    plain = labels_for({"id": "p1", "paraphrase_of": "q1"}, labels)
    assert plain == {"on it.": True, "off it.": False, "own.": True}
    assert labels_for({"id": "q9"}, labels) == {}
    assert find_labels(tmp_path / "qa.jsonl") == path  # found beside the QA file
    assert find_labels(tmp_path / "qa.jsonl", "") is None  # "" asks for none
    assert find_labels(tmp_path / "sub" / "qa.jsonl") is None
    with pytest.raises(ValueError, match="no such label file"):
        find_labels(tmp_path / "qa.jsonl", str(tmp_path / "missing.jsonl"))
    path.write_text('{"id": "q1", "sentence": "On it.", "on_topic": true}\n'
                    '{"id": "q1", "sentence": "On  it.", "on_topic": false}\n')
    with pytest.raises(ValueError, match=r":2: q1 labels this sentence both"):
        load_labels(path)
    path.write_text('{"id": "q1", "sentence": "On it.", "on_topic": "yes"}\n')
    with pytest.raises(ValueError, match=r":1: a label needs"):
        load_labels(path)


def test_terminal_and_report_show_precision_the_plain_rows_and_off_topic_sentences() -> None:
    results = [labelled("q1", 1, 1, unlabelled=1), labelled("p1", 0, 2, style="plain", of="q1")]
    evaluation = Evaluation({"full": results}, "test judge")
    metrics = metrics_of(evaluation, qa="qa.jsonl", labels="labels.jsonl")
    assert metrics["labels"] == "labels.jsonl"
    assert metrics["systems"]["full"]["overall"]["answer_precision"] == 0.25
    terminal = render_terminal(metrics)
    assert "AnsPrec" in terminal and "plain words" in terminal and "labels.jsonl" in terminal
    report = render_report(metrics, evaluation)
    assert "## Plain words" in report
    off = report[report.index("## Off-topic answer sentences"):]
    assert off.count("\n- ") == 3 and "1 answer sentences have no label, in q1" in off
