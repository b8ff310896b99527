"""Shared fixtures: the real embedding model, and a real index of the suite's corpus built once.

Two tiers. Plain `pytest` runs the fast tier: pyproject.toml's addopts deselect the
`model`, `slow` and `browser` markers, so no embedding model is loaded, no index is built
with it and no browser starts. `pytest -m ""` (what `make test` runs) selects every test.
A test that uses a model-needing fixture is marked `model` here, automatically; a test
that loads the model by other means carries `@pytest.mark.model` itself.

The fixtures index tests/fixtures/corpus (the starting corpus, copied), never the live
corpus/, which page uploads write into.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from rag.config import Settings, load_settings
from rag.embedding import Embedder
from rag.indexing import sync

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
SHARED = ROOT.parent / "shared"

# Fixtures that load the embedding model or build an index with it, here and in the test
# modules. Pytest's fixture closure (item.fixturenames) also catches a fixture that
# depends on one of these; the rest of the list documents what each module adds.
MODEL_FIXTURES = frozenset({
    "embedder", "built_index", "index_copy",  # this file
    "page_at",                                # test_app.py (index_copy)
    "template", "probes",                     # test_crash_safety.py (index_copy)
    "small_index",                            # test_rebuild_safety.py (embedder)
    "judge",                                  # test_grounding.py (embedder)
    "page_settings", "server", "browser", "page",  # test_page_e2e.py (built_index)
    "signin_settings",                        # test_page_signin.py (built_index)
    "retriever", "assistant",                 # test_retrieval.py (built_index, embedder)
    "hnsw_built", "hnsw_copy",                # test_vector_index.py (built_index)
})

# Modules that mean the embedding model was loaded in this process.
MODEL_MODULES = ("sentence_transformers", "openvino")  # what each backend runs on


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `model` every test whose fixtures (directly or through others) need the model."""
    for item in items:
        if MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run with no `model` test must not have imported the model's library: fail it."""
    if any(item.get_closest_marker("model") for item in session.items):
        return
    loaded = [name for name in MODEL_MODULES if name in sys.modules]
    if loaded and session.items:
        session.config.get_terminal_writer().line(
            f"\nFAILED: no `model` test was selected, yet {', '.join(loaded)} was imported; "
            "mark the test that loads it with @pytest.mark.model", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real model, loaded once for the whole run."""
    return Embedder.for_settings(load_settings(env={}))


def settings_for(tmp: Path, **overrides: object) -> Settings:
    overrides.setdefault("data_dir", tmp / "data")
    return load_settings(env={}, corpus_dir=tmp / "corpus", index_dir=tmp / "index", **overrides)


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """The five-document corpus indexed once; tests that change it work on a copy."""
    tmp = tmp_path_factory.mktemp("built")
    shutil.copytree(CORPUS, tmp / "corpus")
    settings = settings_for(tmp)
    report = sync(settings, embedder=embedder)
    assert not report.failed, report.failed
    return settings


@pytest.fixture
def index_copy(tmp_path: Path, built_index: Settings) -> Settings:
    """A private copy of the built corpus and index, free to modify."""
    shutil.copytree(built_index.corpus_dir, tmp_path / "corpus")
    shutil.copytree(built_index.index_dir, tmp_path / "index")
    return settings_for(tmp_path)
