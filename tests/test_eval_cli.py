"""`rag eval` end to end: the real model and a private index copy, run as a subprocess.

What CI relies on is pinned here: the files under --out (metrics.json with every system's
metrics in range, report.md with the worst questions, the PNG chart) and the exit status
when a threshold is missed, with the metric named. The QA file is four questions written
below, with evidence quoted from tests/fixtures/corpus/, so a run takes well under a minute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

RAG = Path(sys.executable).parent / "rag"

TINY_QA = [
    {"id": "t1", "type": "figure", "answerable": True,
     "question": "How many children were looked after by Birmingham at 31 August 2016?",
     "evidence": ["At 31 August 2016, 1,816 children were being looked after by the local "
                  "authority"],
     "key_facts": ["1,?816"]},
    {"id": "t2", "type": "figure", "answerable": True,
     "question": "And how many were on a child protection plan?",
     "history": ["How many children were looked after by Birmingham at 31 August 2016?"],
     "evidence": ["At 31 August 2016, 854 children and young people were the subject of a "
                  "child protection plan."],
     "key_facts": ["\\b854\\b"]},
    {"id": "t3", "type": "summary", "answerable": True,
     "question": "What did inspectors say about return home interviews?",
     "evidence": ["Return home interviews are not routinely offered and completed with all "
                  "children looked after following each missing episode."],
     "key_facts": ["return home interview"]},
    {"id": "t4", "type": "unanswerable", "answerable": False,
     "question": "What did Ofsted say about Manchester?", "evidence": [], "key_facts": []},
]

SYSTEM_NAMES = {"full", "bm25", "dense", "naive"}
SHARES = ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10", "key_fact_accuracy",
          "citation_recall", "citation_precision", "quotes_in_passage",
          "declined_when_unanswerable", "declined_when_answerable")


def rag(index_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(
        [str(RAG), "--index-dir", str(index_dir), *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def write_qa(path: Path) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in TINY_QA), encoding="utf-8")
    return path


def test_eval_compare_writes_metrics_report_and_chart_and_fails_an_impossible_threshold(
    index_copy: Settings, tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    proc = rag(index_copy.index_dir, "eval", "--qa", write_qa(tmp_path / "qa.jsonl"),
               "--compare", "--out", out, "--min-recall5", "1.01")

    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "recall@5" in proc.stderr and "--min-recall5" in proc.stderr, proc.stderr
    # The terminal table: every system, and the approximate-judge note.
    for name in SYSTEM_NAMES:
        assert name in proc.stdout
    assert "approximate judge" in proc.stdout

    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["questions"], metrics["answerable"], metrics["unanswerable"]) == (4, 3, 1)
    assert metrics["primary"] == "full" and "approximate" in metrics["judge"]
    assert set(metrics["systems"]) == SYSTEM_NAMES
    for name, system in metrics["systems"].items():
        overall = system["overall"]
        for key in SHARES:
            assert 0.0 <= overall[key] <= 1.0, (name, key, overall[key])
        assert 0.0 <= overall["latency_p50_s"] <= overall["latency_p95_s"], (name, overall)
        assert set(system["by_type"]) == {"figure", "summary", "unanswerable"}
        assert system["by_type"]["figure"]["questions"] == 2
        assert system["by_type"]["unanswerable"]["recall@5"] is None
    assert metrics["systems"]["naive"]["overall"]["declined_when_unanswerable"] == 0.0
    # Manchester is not in the corpus: the product declines it, by its unknown-name check.
    assert metrics["systems"]["full"]["overall"]["declined_when_unanswerable"] == 1.0
    assert metrics["thresholds"] == {"min-recall5": 1.01}
    assert any("recall@5" in line for line in metrics["failed"])

    report = (out / "report.md").read_text()
    assert "## Headline" in report and "## By question type" in report
    assert "## Worst 10 questions" in report
    png = (out / "metrics.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    lines = (out / "questions.jsonl").read_text().splitlines()
    assert len(lines) == 4 * len(SYSTEM_NAMES)


def test_thresholds_file_is_read_and_checked(index_copy: Settings, tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps(TINY_QA[0]) + "\n" + json.dumps(TINY_QA[3]) + "\n")
    easy = tmp_path / "easy.json"
    easy.write_text(json.dumps({"_comment": "met by any run", "min-recall5": 0.0,
                                "max-wrong-decline": 1.0, "min-decline": 0.0}))
    proc = rag(index_copy.index_dir, "eval", "--qa", qa, "--thresholds", easy)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"

    # A flag tightens one threshold of the file; the failure names metric and option.
    proc = rag(index_copy.index_dir, "eval", "--qa", qa, "--thresholds", easy,
               "--max-wrong-decline", "-0.5")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "declined_when_answerable" in proc.stderr and "--max-wrong-decline" in proc.stderr

    # An unknown key stops before any question is run, saying which key and file.
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"min-recal5": 0.7}))
    proc = rag(index_copy.index_dir, "eval", "--qa", qa, "--thresholds", bad)
    assert proc.returncode == 2 and "min-recal5" in proc.stderr and "bad.json" in proc.stderr
