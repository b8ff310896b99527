"""Checks on the dev QA set eval/qa.jsonl: well formed, and honest against the corpus.

Fast and model-free: only the standard library and rag.words.normalise are used.
Every evidence quote must occur (after normalising) in some corpus file, and every
key fact must match the item's own evidence, so the set cannot drift from the corpus.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from rag.words import normalise

ROOT = Path(__file__).parent.parent
QA_PATH = ROOT / "eval" / "qa.jsonl"
# The suite's copy of the starting corpus, which the set was written from; the live
# corpus/ gains whatever is uploaded through the page.
CORPUS_DIR = ROOT / "tests" / "fixtures" / "corpus"

TYPES = {"fact", "figure", "summary", "paraphrase", "acronym", "cross-document", "unanswerable"}
REQUIRED = {
    "id": str,
    "question": str,
    "type": str,
    "answerable": bool,
    "evidence": list,
    "key_facts": list,
}
MIN_QUESTIONS = 40
MIN_UNANSWERABLE = 6
# Quotes should be a clause or a sentence: long enough to be unambiguous, short enough
# to sit inside one retrieved passage.
MIN_QUOTE_CHARS, MAX_QUOTE_CHARS = 20, 300


@cache
def load_items() -> list[dict]:
    items = []
    for lineno, line in enumerate(QA_PATH.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            pytest.fail(f"{QA_PATH.name} line {lineno} is not valid JSON: {exc}")
    return items


@cache
def corpus_texts() -> dict[str, str]:
    files = sorted(p for p in CORPUS_DIR.iterdir() if p.is_file() and not p.name.startswith("."))
    return {p.name: normalise(p.read_text(encoding="utf-8")) for p in files}


def answerable_items() -> list[dict]:
    return [item for item in load_items() if item["answerable"]]


def quotes(item: dict) -> list[str]:
    """Every quote of an item: an evidence entry is a quote or a list of alternatives
    (the same finding stated in different places, any one of which counts)."""
    return [q for e in item["evidence"] for q in ([e] if isinstance(e, str) else e)]


def test_every_line_parses_and_has_required_fields():
    items = load_items()
    assert items, f"{QA_PATH} is empty"
    for item in items:
        ident = item.get("id", "<no id>")
        for field, kind in REQUIRED.items():
            assert field in item, f"{ident}: missing field {field!r}"
            assert isinstance(item[field], kind), (
                f"{ident}: field {field!r} should be {kind.__name__}, "
                f"got {type(item[field]).__name__}"
            )
        assert item["question"].strip(), f"{ident}: empty question"
        assert item["type"] in TYPES, f"{ident}: type {item['type']!r} not in {sorted(TYPES)}"
        assert all(isinstance(q, str) or (isinstance(q, list) and q and all(
            isinstance(a, str) for a in q)) for q in item["evidence"]), (
            f"{ident}: evidence items must be quotes or non-empty lists of alternative quotes")
        assert all(isinstance(k, str) for k in item["key_facts"]), f"{ident}: key_facts not strings"
        if "history" in item:
            history = item["history"]
            assert isinstance(history, list) and history, f"{ident}: history must be a list"
            assert all(isinstance(h, str) and h.strip() for h in history), (
                f"{ident}: history entries must be non-empty strings"
            )


def test_ids_unique():
    counts = Counter(item["id"] for item in load_items())
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    assert not duplicates, f"duplicate ids: {duplicates}"


def test_size_and_unanswerable_share():
    items = load_items()
    assert len(items) >= MIN_QUESTIONS, f"only {len(items)} questions, want {MIN_QUESTIONS}+"
    unanswerable = [item for item in items if not item["answerable"]]
    assert len(unanswerable) >= MIN_UNANSWERABLE, (
        f"only {len(unanswerable)} unanswerable questions, want {MIN_UNANSWERABLE}+"
    )


def test_answerable_flag_agrees_with_type():
    for item in load_items():
        is_unanswerable_type = item["type"] == "unanswerable"
        assert item["answerable"] is not is_unanswerable_type, (
            f"{item['id']}: type {item['type']!r} but answerable={item['answerable']}"
        )


def test_unanswerable_items_have_no_evidence_or_key_facts():
    for item in load_items():
        if not item["answerable"]:
            assert item["evidence"] == [], f"{item['id']}: unanswerable but has evidence"
            assert item["key_facts"] == [], f"{item['id']}: unanswerable but has key_facts"


def test_answerable_items_have_evidence_and_key_facts():
    for item in answerable_items():
        assert item["evidence"], f"{item['id']}: answerable but no evidence"
        assert item["key_facts"], f"{item['id']}: answerable but no key_facts"


def test_key_facts_compile():
    for item in load_items():
        for pattern in item["key_facts"]:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                pytest.fail(f"{item['id']}: key fact {pattern!r} is not a valid regex: {exc}")


def test_quote_lengths_reasonable():
    for item in answerable_items():
        for quote in quotes(item):
            size = len(normalise(quote))
            assert MIN_QUOTE_CHARS <= size <= MAX_QUOTE_CHARS, (
                f"{item['id']}: quote is {size} chars (want {MIN_QUOTE_CHARS}-{MAX_QUOTE_CHARS}): "
                f"{quote!r}"
            )


def test_evidence_quotes_occur_in_corpus():
    texts = corpus_texts()
    assert texts, f"no files in {CORPUS_DIR}"
    missing = []
    for item in answerable_items():
        for quote in quotes(item):
            needle = normalise(quote)
            if not any(needle in text for text in texts.values()):
                missing.append(f"{item['id']}: {quote!r}")
    assert not missing, "evidence quotes not found in any corpus file:\n" + "\n".join(missing)


def test_key_facts_match_own_evidence():
    failures = []
    for item in answerable_items():
        evidence = " ".join(quotes(item))
        for pattern in item["key_facts"]:
            if not re.search(pattern, evidence, re.IGNORECASE):
                failures.append(f"{item['id']}: {pattern!r} does not match its evidence")
    assert not failures, "key facts not supported by evidence:\n" + "\n".join(failures)


def test_special_questions_present():
    by_question = {item["question"]: item for item in load_items()}
    rhi = by_question.get("What did inspectors say about return home interviews?")
    assert rhi is not None and rhi["answerable"], "return home interviews question missing"
    manchester = by_question.get("What did Ofsted say about Manchester?")
    assert manchester is not None and not manchester["answerable"], (
        "Manchester question missing or marked answerable"
    )


# ------------------------------------------------------------------ plain-words questions

HOLDOUT_PATH = ROOT / "eval" / "holdout.jsonl"
MIN_PLAIN_DEV = 20  # issue 19: at least 20 dev questions re-asked in everyday words
STYLES = {"plain"}
# What a plain-words question copies from the question it re-asks: the same question in
# other words needs the same evidence and the same facts in its answer.
COPIED = ("type", "answerable", "evidence", "key_facts")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


@pytest.mark.parametrize("path", [QA_PATH, HOLDOUT_PATH], ids=["dev", "holdout"])
def test_plain_questions_reask_an_answerable_question_of_the_same_set(path: Path) -> None:
    items = read(path)
    by_id = {item["id"]: item for item in items}
    for item in items:
        if "style" not in item and "paraphrase_of" not in item:
            continue
        ident = item["id"]
        assert item.get("style") in STYLES, f"{ident}: style {item.get('style')!r}"
        original = by_id.get(item.get("paraphrase_of"))
        assert original is not None, f"{ident}: paraphrase_of names no question of {path.name}"
        assert "paraphrase_of" not in original, f"{ident}: re-asks a re-asked question"
        assert original["answerable"] and "history" not in item, (
            f"{ident}: a plain question re-asks one answerable question, on its own")
        for name in COPIED:
            assert item[name] == original[name], f"{ident}: {name} differs from {original['id']}"
        assert normalise(item["question"]) != normalise(original["question"]), (
            f"{ident}: the same words as {original['id']}")


def test_enough_plain_questions_in_the_dev_set() -> None:
    plain = [item for item in load_items() if item.get("style") == "plain"]
    assert len(plain) >= MIN_PLAIN_DEV, f"{len(plain)} plain questions, want {MIN_PLAIN_DEV}+"
    assert len({item["paraphrase_of"] for item in plain}) == len(plain), (
        "each plain question re-asks a different question")
