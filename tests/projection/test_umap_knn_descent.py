"""UMAP's kNN graph: the neighbour-of-neighbour round finds true neighbours the cells missed."""

from __future__ import annotations

import numpy as np

from explorer.core.progress import run_to_end
from explorer.projection.knn_descent import descend


def _exact(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    idx = np.argsort(d2, axis=1)[:, :k]
    return idx, np.sqrt(np.take_along_axis(d2, idx, axis=1)).astype(np.float32)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, truth)]))


def _poor_graph(x: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each point's k nearest among a random half of the other points (as a search that saw
    only some cells): distances exact, about half of the true neighbours missing."""
    rng = np.random.default_rng(seed)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    d2[rng.random(d2.shape) < 0.5] = np.inf
    np.fill_diagonal(d2, np.inf)
    idx = np.argsort(d2, axis=1)[:, :k]
    return idx, np.sqrt(np.take_along_axis(d2, idx, axis=1)).astype(np.float32)


def test_a_round_finds_missed_neighbours_and_never_a_farther_one():
    from explorer.bench.codes import mixture_codes

    x, _ = mixture_codes(2000, dim=10, classes=5, seed=3)
    k = 10
    truth, _ = _exact(x, k)
    g_i, g_d = _poor_graph(x, k)
    before = _recall(g_i, truth)
    gen = descend(x, g_i, g_d, rounds=2, threads=2)
    steps = 0
    while True:
        try:
            next(gen)
            steps += 1
        except StopIteration as stop:
            out_i, out_d = stop.value
            break
    assert steps >= 2  # a Progress per block and round: a closed job stops between them
    after = _recall(out_i, truth)
    assert before < 0.7 and after > before + 0.2, (before, after)
    # each row nearest first, the k-th neighbour no farther than before, distances true
    assert np.all(np.diff(out_d, axis=1) >= 0)
    assert np.all(out_d[:, -1] <= g_d[:, -1] + 1e-5)
    true_d = np.sqrt(((x[:, None, :] - x[out_i]) ** 2).sum(-1))
    np.testing.assert_allclose(out_d, true_d, rtol=1e-4, atol=1e-4)
    assert not np.any(out_i == np.arange(len(x))[:, None])  # never the point itself
    assert all(len(set(row)) == k for row in out_i)  # no neighbour twice


def test_the_result_does_not_depend_on_the_threads_and_zero_rounds_is_the_input():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1500, 8)).astype(np.float32)
    g_i, g_d = _poor_graph(x, 8, seed=2)
    one = run_to_end(descend(x, g_i, g_d, rounds=1, threads=1))
    two = run_to_end(descend(x, g_i, g_d, rounds=1, threads=2))
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    same = run_to_end(descend(x, g_i, g_d, rounds=0))
    np.testing.assert_array_equal(same[0], g_i)
