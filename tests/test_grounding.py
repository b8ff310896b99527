"""The support judge behind citation checks: exact quotes pass; reversals and invented
figures, names or verdicts fail, however similar the wording."""

from __future__ import annotations

import pytest

from rag.grounding import SupportJudge

PASSAGE = (
    "41. Services for children missing from home or care are poor. Return home interviews "
    "(RHIs) are only being completed for a minority of children who go missing. Of these, "
    "two thirds take over 72 hours to complete and they are not then consistently copied "
    "into children's electronic case files. They are not good enough."
)


@pytest.fixture(scope="module")
def judge(embedder) -> SupportJudge:
    return SupportJudge(embedder)


def test_a_verbatim_sentence_is_supported_exactly(judge: SupportJudge) -> None:
    support = judge("Services for children missing from home or care are poor.", PASSAGE)
    assert support.supported and support.exact and support.score == 1.0


def test_a_faithful_paraphrase_is_supported_approximately(judge: SupportJudge) -> None:
    support = judge("Two thirds of return home interviews take over 72 hours.", PASSAGE)
    assert support.supported and not support.exact
    assert "approximate" in support.reason


@pytest.mark.parametrize("claim, reason", [
    ("Return home interviews take over 48 hours to complete.", "figures"),
    ("Services in Manchester for missing children are poor.", "names"),
    ("Services for children missing from home or care are effective.", "verdict"),
    ("Services for children missing from home or care are not poor.", "negation"),
    ("Services for missing children are good enough.", "negation"),
])
def test_a_changed_fact_is_not_supported(judge: SupportJudge, claim: str, reason: str) -> None:
    support = judge(claim, PASSAGE)
    assert not support.supported
    assert reason in support.reason


def test_an_unrelated_sentence_is_not_supported(judge: SupportJudge) -> None:
    support = judge("Adopters are approved quickly and receive training.", PASSAGE)
    assert not support.supported
