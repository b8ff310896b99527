"""Each evaluation metric on tiny cases computed by hand: a metric that cannot fail is a defect."""

from __future__ import annotations

import math

import pytest

from rag.evaluation import (
    answer_statements,
    citation_scores,
    evidence_ranks,
    key_fact_accuracy,
    ndcg_at,
    recall_at,
    reciprocal_rank,
)
from rag.grounding import Support


def test_evidence_is_found_after_normalising_quotes_dashes_and_line_breaks() -> None:
    passages = ["Nothing here.", "Children\u2019s services are over-\nreliant on agency staff."]
    ranks = evidence_ranks(["children's services are over-reliant", "absent quote"], passages)
    assert ranks == [2, None]


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
