"""Landmark layouts: the full fit below the threshold, duplicates on their landmark, cancelling."""

from __future__ import annotations

import time

import numpy as np
import pytest

from explorer.core.progress import run_to_end
from explorer.projection import knn_label_accuracy, project_job
from explorer.projection.landmark_layout import landmark_job
from explorer.projection.pca import sampled_pca
from explorer.projection.landmarks import (
    choose_landmarks,
    knn_graph,
    nearest_landmarks,
    weighted_place,
)
from explorer.projection.tsne import tsne_job
from explorer.projection.umap_layout import umap_job


@pytest.fixture(scope="module")
def blobs():
    from explorer.bench.codes import mixture_codes

    return mixture_codes(3000, dim=12, classes=6, seed=1)


def test_below_the_threshold_the_full_fit_runs_unchanged(blobs):
    x, _ = blobs
    x = x[:250]
    want = run_to_end(tsne_job(x, seed=3, early_iter=20, n_iter=20))
    got = run_to_end(landmark_job(x, "tsne", seed=3, threshold=250, early_iter=20, n_iter=20))
    np.testing.assert_array_equal(got, want)
    via_project = run_to_end(project_job(x, "tsne", seed=3, early_iter=20, n_iter=20))
    np.testing.assert_array_equal(via_project, want)
    want_u = run_to_end(umap_job(x, seed=3, n_epochs=20))
    got_u = run_to_end(project_job(x, "umap", seed=3, n_epochs=20, threshold=250))
    np.testing.assert_array_equal(got_u, want_u)


def test_landmarks_cover_small_classes_and_outliers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 5)).astype(np.float32)
    labels = np.zeros(20000, np.int64)
    labels[:30] = 1  # a class of 30 in 20,000: uniform sampling of 500 would expect 0.75 of them
    x[:30] += 8.0
    x[100] = 40.0  # one far outlier
    chosen = choose_landmarks(x, 500, labels=labels, seed=0)
    assert 480 <= len(chosen) <= 520 and np.all(np.diff(chosen) > 0)
    assert np.isin(np.arange(30), chosen).sum() == 30  # min_per_class: all of a small class
    assert 100 in chosen  # D² sampling picks the far outlier
    assert np.array_equal(chosen, choose_landmarks(x, 500, labels=labels, seed=0))  # seeded


def test_weighted_place_and_duplicates_sit_on_their_landmark():
    xy = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    nb = np.array([[0, 1], [1, 2], [2, 0]])
    w = np.array([[1, 1], [3, 1], [0, 0]], np.float64)
    d = np.array([[1, 1], [0, 2], [1, 1]], np.float32)
    out = weighted_place(nb, w, xy, d)
    np.testing.assert_allclose(out, [[5, 0], [10, 0], [0, 10]])


FAST = {"landmark_search": "approx", "graph": "cells"}


@pytest.mark.parametrize(
    "method,refine,opts",
    [
        ("tsne", "graph", {}),
        ("tsne", "transform", {}),
        ("umap", "graph", {}),
        ("umap", "transform", {}),
        ("tsne", "graph", FAST),
        ("umap", "graph", FAST),
    ],
)
def test_a_point_that_duplicates_a_landmark_lands_on_it(blobs, method, refine, opts):
    x, labels = blobs
    x2 = np.concatenate([x, x])  # every point has a twin
    extra = {"early_iter": 20, "n_iter": 30} if method == "tsne" else {"n_epochs": 30}
    frames = []
    gen = landmark_job(
        x2, method, seed=0, landmarks=400, threshold=1000, refine=refine, refine_steps=10, **opts, **extra
    )
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            layout = stop.value
            break
        if rec.payload is not None:
            frames.append((rec.message, rec.payload))
    assert layout.shape == (6000, 2) and np.isfinite(layout).all()
    chosen = np.flatnonzero(np.isfinite(next(p for m, p in frames if "landmark layout" in m)[:, 0]))
    n = len(x)
    lone = [i for i in chosen if (i + n) % (2 * n) not in set(chosen.tolist())]
    assert len(lone) > 300
    twins = (np.asarray(lone) + n) % (2 * n)
    np.testing.assert_array_equal(layout[twins], layout[lone])
    # the stream: a PCA frame first, then landmark frames (others not placed), then every point
    assert "PCA" in frames[0][0] and np.isfinite(frames[0][1]).all()
    assert np.isnan(frames[1][1]).any()
    assert knn_label_accuracy(layout[:n], labels) > 0.6 * knn_label_accuracy(
        x, labels
    )  # far above chance (1/6)


def test_knn_graph_through_landmark_cells_finds_the_true_neighbours(blobs):
    x, _ = blobs
    lm = choose_landmarks(x, 200, seed=0)
    cells, _ = run_to_end(nearest_landmarks(x, x[lm], 40))
    idx, dist = run_to_end(knn_graph(x, x[lm], cells, 10))
    from sklearn.neighbors import NearestNeighbors

    true = NearestNeighbors(n_neighbors=10).fit(x).kneighbors(return_distance=False)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, true)])
    assert recall > 0.97
    assert not (idx == np.arange(len(x))[:, None]).any()  # no point is its own neighbour
    assert np.all(np.diff(dist, axis=1) >= 0)


def test_sampled_pca_of_a_small_set_is_the_pca():
    from sklearn.decomposition import PCA

    x = np.random.default_rng(0).normal(size=(500, 6)).astype(np.float32) * np.arange(1, 7)
    got = sampled_pca(x)
    want = PCA(2).fit_transform(x)
    for j in range(2):
        np.testing.assert_allclose(np.abs(got[:, j]), np.abs(want[:, j]), atol=1e-3)


def test_closing_a_million_point_layout_stops_it_within_a_second():
    """Closed while its landmarks are fitted (t-SNE) and while every point is being placed (UMAP).
    (During the refinement a close waits for up to two iterations (t-SNE looks every other
    iteration): about a second each at 10^6 points on 2 busy cores.)"""
    x = np.random.default_rng(0).normal(size=(1_000_000, 4)).astype(np.float32)
    for method, when in (("tsne", "landmarks)"), ("umap", "nearest landmarks")):
        extra = {"early_iter": 5, "n_iter": 5} if method == "tsne" else {"n_epochs": 5}
        gen = project_job(x, method, seed=0, landmarks=2000, **extra)
        first = next(gen)
        assert first.payload.shape == (1_000_000, 2) and "PCA" in first.message
        for rec in gen:
            if when in rec.message:
                break
        t = time.perf_counter()
        gen.close()
        assert time.perf_counter() - t < 1.0, method


def test_grouped_landmark_search_is_exact_for_few_landmarks_and_close_for_many(blobs):
    from explorer.projection.landmark_search import approx_nearest_landmarks

    x, _ = blobs
    few = x[choose_landmarks(x, 300, seed=0)]
    want_i, want_d = run_to_end(nearest_landmarks(x, few, 15))
    got_i, got_d = run_to_end(approx_nearest_landmarks(x, few, 15))
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_allclose(got_d, want_d, rtol=1e-4, atol=1e-4)
    many = np.concatenate([x, x + 0.01])[:5000]  # 5,000 landmarks: 71 groups, 8 probed
    want_i, _ = run_to_end(nearest_landmarks(x, many, 5))
    got_i, got_d = run_to_end(approx_nearest_landmarks(x, many, 5, seed=0))
    assert (got_i[:, 0] == want_i[:, 0]).mean() > 0.9
    assert np.all(np.diff(got_d, axis=1) >= 0)


def test_knn_graph_cell_by_cell_finds_most_true_neighbours(blobs):
    from sklearn.neighbors import NearestNeighbors

    from explorer.projection.landmark_search import cell_knn_graph, cell_order, landmark_neighbours

    x, _ = blobs
    lm = choose_landmarks(x, 100, seed=0)
    cell = run_to_end(nearest_landmarks(x, x[lm], 1))[0][:, 0]
    idx, dist = run_to_end(cell_knn_graph(x, cell, landmark_neighbours(x[lm], 30), 10))
    true = NearestNeighbors(n_neighbors=10).fit(x).kneighbors(return_distance=False)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, true)])
    assert recall > 0.9
    assert not (idx == np.arange(len(x))[:, None]).any()
    assert np.all(np.diff(dist, axis=1) >= 0)
    perm = cell_order(cell, np.random.default_rng(0).normal(size=(100, 2)))
    assert np.array_equal(np.sort(perm), np.arange(len(x)))
    runs = np.flatnonzero(np.diff(cell[perm])) + 1  # each cell one contiguous run
    assert len(runs) == len(np.unique(cell)) - 1


def test_the_numba_ivf_graph_finds_what_faiss_ivf_finds(blobs):
    from explorer.projection.ivf_graph import ivf_knn_graph

    x, _ = blobs
    x = np.concatenate([x[:1000], x[:10]])  # ten duplicates: their twin at distance exactly 0
    lm = choose_landmarks(x, 50, seed=0)
    cells, _ = run_to_end(nearest_landmarks(x, x[lm], 6))
    want_i, want_d = run_to_end(knn_graph(x, x[lm], cells, 12))
    got_i, got_d = run_to_end(ivf_knn_graph(x, cells, 12, threads=2))
    np.testing.assert_allclose(got_d, want_d, rtol=1e-4, atol=1e-4)
    assert (np.sort(got_i, axis=1) == np.sort(want_i, axis=1)).mean() > 0.999  # ties may swap
    assert not (got_i == np.arange(len(x))[:, None]).any()
    np.testing.assert_array_equal(got_d[np.arange(1000, 1010), 0], 0.0)
    np.testing.assert_array_equal(got_i[np.arange(1000, 1010), 0], np.arange(10))


def test_the_refinements_gradient_loop_is_opentsnes_descent():
    """tsne_loop.optimise (no KL evaluation) = openTSNE's TSNEEmbedding.optimize on one grid."""
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import PrecomputedAffinities, joint_probabilities_nn

    from explorer.projection.tsne_loop import Descent, optimise

    x = np.random.default_rng(0).normal(size=(600, 5))
    idx, dist = run_to_end(nearest_landmarks(x.astype(np.float32), x.astype(np.float32), 16))
    P = joint_probabilities_nn(idx[:, 1:], dist[:, 1:].astype(np.float64), [5.0], symmetrize=True)
    y0 = np.random.default_rng(1).normal(size=(600, 2)) * 1e-2
    ref = TSNEEmbedding(
        y0.copy(), PrecomputedAffinities(P, normalize=False), n_jobs=1, negative_gradient_method="fft"
    )
    ref.optimize(8, exaggeration=12, momentum=0.5, inplace=True)
    ref.optimize(12, exaggeration=1, momentum=0.8, inplace=True)
    y, state, frames = y0.copy(), Descent(), []
    optimise(y, P, 8, state, 12.0, 0.5, emit=lambda i, _: frames.append(i), max_intervals=10**6, single=False)
    optimise(y, P, 12, state, 1.0, 0.8, emit=lambda i, _: frames.append(i), max_intervals=10**6, single=False)
    np.testing.assert_allclose(y, np.asarray(ref), rtol=1e-6, atol=1e-6)
    assert frames == list(range(4, 21, 4)) and state.done == 20


def test_grouped_landmark_search_beyond_the_exact_columns(blobs):
    """Columns past EXACT_COLS keep matrix-product distances: still nearest first, close."""
    from explorer.projection.landmark_search import EXACT_COLS, approx_nearest_landmarks

    x, _ = blobs
    few = x[choose_landmarks(x, 300, seed=0)]
    want_i, want_d = run_to_end(nearest_landmarks(x, few, 40))
    got_i, got_d = run_to_end(approx_nearest_landmarks(x, few, 40))
    np.testing.assert_array_equal(got_i[:, :EXACT_COLS], want_i[:, :EXACT_COLS])
    np.testing.assert_allclose(got_d[:, :EXACT_COLS], want_d[:, :EXACT_COLS], rtol=1e-4, atol=1e-4)
    assert (got_i == want_i).mean() > 0.99
    np.testing.assert_allclose(got_d, want_d, rtol=1e-3, atol=1e-2)
