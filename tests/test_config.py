"""Settings: defaults < rag.toml < RAG_* environment < arguments, each value typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import load_settings


def test_later_sources_override_earlier_ones_and_say_where_from(tmp_path: Path) -> None:
    toml = tmp_path / "rag.toml"
    toml.write_text("k = 7\nrank_by_sentence = false\nmin_relevance = 0.5\n")
    settings = load_settings(toml, env={"RAG_K": "9"}, min_relevance=0.6)
    assert (settings.k, settings.rank_by_sentence, settings.min_relevance) == (9, False, 0.6)
    assert settings.origin == {"k": "RAG_K", "rank_by_sentence": str(toml),
                               "min_relevance": "argument"}


@pytest.mark.parametrize(("raw", "value"), [("0", False), ("off", False), ("True", True),
                                            ("yes", True)])
def test_switches_read_the_usual_spellings(tmp_path: Path, raw: str, value: bool) -> None:
    settings = load_settings(tmp_path / "none.toml", env={"RAG_RANK_BY_SENTENCE": raw})
    assert settings.rank_by_sentence is value


def test_a_value_of_the_wrong_type_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rank_by_sentence"):
        load_settings(tmp_path / "none.toml", env={"RAG_RANK_BY_SENTENCE": "maybe"})
    with pytest.raises(ValueError, match="'k'"):
        load_settings(tmp_path / "none.toml", env={"RAG_K": "ten"})
    toml = tmp_path / "rag.toml"
    toml.write_text("top_k = 3\n")
    with pytest.raises(ValueError, match="unknown setting 'top_k'"):
        load_settings(toml, env={})
