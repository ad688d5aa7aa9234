"""The FAISS index: brute force's neighbours on a small set, measured recall, saved and reloaded."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.progress import run_to_end
from explorer.retrieval import KnnIndex
from explorer.retrieval.ann import (
    build_job,
    index_path,
    load,
    neighbour_index_job,
    wants_index,
)


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 16)).astype(np.float32) * 3
    return (centres[rng.integers(0, 20, 6000)] + rng.normal(size=(6000, 16))).astype(np.float32)


@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_faiss_index_returns_the_brute_force_neighbours(codes, metric):
    gen = build_job(codes, metric=metric, nlist=32, recall_queries=100, target_recall=0.99)
    messages = []
    while True:
        try:
            messages.append(next(gen).message)
        except StopIteration as stop:
            ann = stop.value
            break
    assert any("training" in m for m in messages) and any("recall" in m for m in messages)
    assert ann.recall_at_10 >= 0.99 and ann.recall_queries == 100
    q = np.arange(0, 6000, 37)
    want_i, want_d = KnnIndex(codes, metric).search(codes[q], 10, exclude=q)
    got_i, got_d = ann.search(codes[q], 10, exclude=q, nprobe=32)  # every cell: exact after re-ranking
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_allclose(got_d, want_d, rtol=1e-4, atol=1e-4)


def test_the_index_is_saved_beside_the_codes_cache_and_a_stale_one_is_not_trusted(codes, tmp_path):
    ann = run_to_end(build_job(codes, nlist=32, recall_queries=50))
    path = index_path(codes)
    assert path.startswith(str(tmp_path.parent.parent)) or "codes" in path
    ann.save(path)
    back = load(path, codes)
    assert back is not None and back.nprobe == ann.nprobe and back.recall_at_10 == ann.recall_at_10
    np.testing.assert_array_equal(back.search(codes[:5], 10)[0], ann.search(codes[:5], 10)[0])
    other = codes.copy()
    other[::7] += 1.0
    assert load(path, other) is None


def test_small_sets_stay_exact(codes):
    assert not wants_index(*codes.shape) and wants_index(10_000_000, 64)
    assert not wants_index(560, 318_000)  # a few hundred photos as pixels: few codes, brute force
    assert isinstance(run_to_end(neighbour_index_job(codes)), KnnIndex)
