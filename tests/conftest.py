"""Shared fixtures: the real embedding model, and a real index of the suite's corpus built once.

The fixtures index tests/fixtures/corpus (the starting corpus, copied), never the live
corpus/, which page uploads write into.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.config import Settings, load_settings
from rag.embedding import Embedder
from rag.indexing import sync

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real model, loaded once for the whole run."""
    return Embedder(load_settings(env={}).model)


def settings_for(tmp: Path, **overrides: object) -> Settings:
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
