"""t-SNE and UMAP of 10^5-10^7 codes: fit landmarks, place the rest, refine; streamed.

Above ``LANDMARK_ABOVE`` points, :func:`landmark_job` runs in four stages, each yielding frames:

1. a PCA frame at once (:func:`~explorer.projection.pca.sampled_pca`: PCA of a 20,000-point
   sample applied to every point);
2. the landmark layout forming live: openTSNE (125 + 250 iterations) / umap-learn on the
   landmarks of :func:`~explorer.projection.landmarks.choose_landmarks` (stratified by label
   when there are labels, plus D²-sampled outliers), the other points NaN (not placed yet) in
   those frames;
3. every other point placed from its nearest landmarks
   (:func:`~explorer.projection.landmark_search.approx_nearest_landmarks`): t-SNE at the
   weighted mean of their positions, with point-wise perplexity affinities (perplexity 5 over
   15 neighbours, as openTSNE's ``transform``); UMAP on its nearest landmark, spread by half the
   landmarks' spacing (a weighted mean of landmarks of two clusters lands in the gap between
   them, and the refinement drew those points out as streaks toward the middle of the map);
4. a refinement (:mod:`explorer.projection.landmark_refine`): by default ("graph") the method
   run over all points with their approximate kNN graph, searched through the landmarks as the
   cells of an inverted file (:func:`~explorer.projection.ivf_graph.ivf_knn_graph`): t-SNE 50
   iterations of early exaggeration 12 then 150, 200 + 200 up to 300,000 points
   (:func:`tsne_refine_schedule`; a short t-SNE from the placed start, run by
   :func:`~explorer.projection.tsne_loop.optimise`), UMAP 120 epochs up to 300,000 points, 60
   above (:func:`umap_refine_epochs`), of our own SGD
   (:func:`~explorer.projection.umap_sgd.optimise`, on the free cores, 80% of the negatives
   drawn near the point in memory, learning rate from 0.25), its graph first improved by a
   round of neighbour-of-neighbour search (:mod:`~explorer.projection.knn_descent`); the points
   sorted by cell so that the optimiser's memory accesses stay local.
   Or ("transform") the libraries' own ``transform`` with the landmarks held fixed.

Points that duplicate a landmark (distance 0) sit exactly on it. Progress ``metrics`` carry the
stage times (``first_frame_s``, ``landmark_s``, ``placed_s``, ``graph_s``, ``done_s``) and
``landmarks``; the job returns the (N, 2) float32 layout. At or below the threshold the full fit
runs, exactly as :func:`~explorer.projection.jobs.project_job` runs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from explorer.core.progress import Progress
from explorer.projection import landmark_refine as refiners
from explorer.projection.landmark_search import (
    approx_nearest_landmarks,
    cell_knn_graph,
    cell_order,
    landmark_neighbours,
)
from explorer.projection.ivf_graph import ivf_knn_graph
from explorer.projection.landmarks import (
    cells_to_probe,
    choose_landmarks,
    duplicates,
    free_cores,
    landmark_count,
    nearest_landmarks,
)
from explorer.projection.pca import sampled_pca
from explorer.projection.stream import drain, threaded

LANDMARK_ABOVE = 40_000
REFINES = ("graph", "transform", "none")
PLACES = ("mean", "median", "nearest")
TSNE_REFINE_ITER = 150
TSNE_REFINE_EARLY = 50  # iterations of early exaggeration 12 before them
# up to TSNE_LONG_UPTO points the refinement is longer (its iterations are cheap there): 200 of
# early exaggeration then 200, at perplexity 30 (90 neighbours; openTSNE's default): at 100,000
# codes 10-NN label accuracy 0.918 against 0.894
TSNE_LONG_UPTO = 300_000
TSNE_LONG_EARLY, TSNE_LONG_ITER, TSNE_LONG_PERPLEXITY = 125, 125, 30.0
UMAP_REFINE_EPOCHS = 60  # our SGD (umap_sgd) above UMAP_LONG_UPTO points (3.5 CPU s an epoch at 10^6)
# up to UMAP_LONG_UPTO points 120 epochs (at 10^5 ~0.07 CPU s each): with the graph's
# neighbour-of-neighbour round and the learning rate 0.25, the refinement alone 0.899 / 0.892
# (seeds 0 / 1) at 100 epochs against 60 0.891 / 0.876 and 80 0.893 / 0.883; the whole path at
# seeds 0-3: 120 epochs 0.895 0.894 0.891 0.898, 100 0.895 0.897 0.884 0.897 (full fit 0.905)
UMAP_LONG_UPTO, UMAP_LONG_EPOCHS = 300_000, 120
# rounds of neighbour-of-neighbour search over UMAP's kNN graph (knn_descent): the cells' graph
# finds 0.78 of the 14 true neighbours at 10^5, one round 0.85 (1.6 CPU s); 100 epochs on it
# reach 0.899 / 0.892 against 0.889 / 0.886 on the cells' graph and 0.900 / 0.893 on the exact one
UMAP_GRAPH_ROUNDS = 1
# UMAP's inner levels (the landmarks' own layout): umap-learn's fit of the innermost landmarks
# runs 200 epochs (its default above 10,000 points; 500 below), the levels between refine for
# UMAP_REFINE_EPOCHS: at 10^5 1.3 CPU s less, 10-NN accuracy 0.895 / 0.894 against 0.895 / 0.893
# (the landmark layout's own quality hardly shows at the end: umap-learn's full fit of the
# 10,000 landmarks, 10-NN accuracy 0.840 against 0.790, gave the same 0.885 after 60 epochs)
UMAP_LANDMARK_EPOCHS = 200
UMAP_OUTER_MAX = 30_000  # UMAP's outer landmark level: 10% of the points, at most this many
PLACE_K = 15  # nearest landmarks a t-SNE placement is weighted over
# UMAP places a point on its nearest landmark, spread by half the landmarks' spacing: a weighted
# mean of landmarks from two clusters puts it in the gap between them, on the line joining
# them, and the refinement's few epochs leave it there (the streaks of the 10^6 map)
UMAP_JITTER = 0.5
# the t-SNE landmark fit: half openTSNE's 250 + 500 iterations (the refinement has its own early
# exaggeration): at 100,000 codes 10-NN label accuracy 0.893 against 0.890, 14 CPU s less
LANDMARK_EARLY, LANDMARK_ITER = 125, 250


def tsne_refine_schedule(n: int) -> tuple[int, int, float]:
    """(early-exaggeration iterations, plain iterations, perplexity) of t-SNE's refinement over
    ``n`` points.

    Up to TSNE_LONG_UPTO points 125 + 125 at perplexity 30: the placed start is poor (its 10-NN
    label accuracy ~0.50 at 100,000 codes) and a longer early-exaggeration phase untangles it
    (at 100,000 codes, perplexity 10: 50 + 150 0.894, 100 + 300 0.906, 150 + 300 0.905,
    200 + 200 0.909, 300 + 200 0.909; perplexity 30, 200 + 200: 0.918 for 83 against 67 CPU s;
    the full fit 0.928). On a quiet machine (2 Dec 2026, load 0-1.4), perplexity 30, seeds 0 / 1:
    200 + 200 0.919 / 0.917 in 19-23 s (31-35 CPU s), 150 + 150 0.916 / 0.918 in 16-17 s,
    125 + 125 0.913 / 0.916 in 15 s (25 CPU s); the full fit took 82-87 s there (0.927), and
    200 + 200 made the time ratio 0.22, 150 + 150 0.198: 125 + 125 keeps both targets with margin.
    Above, 50 + 150 at perplexity 10 (0.967x the codes' accuracy at 10^6,
    where each iteration costs ~0.7 CPU s)."""
    if n <= TSNE_LONG_UPTO:
        return TSNE_LONG_EARLY, TSNE_LONG_ITER, TSNE_LONG_PERPLEXITY
    return TSNE_REFINE_EARLY, TSNE_REFINE_ITER, refiners.GRAPH_PERPLEXITY


def umap_refine_epochs(n: int) -> int:
    """Epochs of UMAP's refinement over ``n`` points: UMAP_LONG_EPOCHS up to UMAP_LONG_UPTO,
    UMAP_REFINE_EPOCHS above."""
    return UMAP_LONG_EPOCHS if n <= UMAP_LONG_UPTO else UMAP_REFINE_EPOCHS


def landmark_levels(n: int, method: str) -> tuple[int, ...]:
    """Landmark counts, outermost first, for an ``n``-point layout. t-SNE: one level
    (:func:`landmark_count`). UMAP: two, 10% of the points (up to ``UMAP_OUTER_MAX``, 30,000)
    laid out from a tenth of those (at least 1,000): at 50,000 codes 10-NN label accuracy 0.818
    against 0.741 for one level of 1,569 (table in docs/performance.md). At 10^6 codes 30,000
    landmarks cost 15 CPU s to lay out and 65 s to search against 61 s and 128 s for 100,000."""
    if method != "umap":
        return (landmark_count(n),)
    outer = int(min(n, max(landmark_count(n), min(n // 10, UMAP_OUTER_MAX))))
    return (outer, max(1_000, outer // 10))


def _scatter(n: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(N, 2) float32 NaN except ``values`` at ``rows``: a frame where only some points are placed."""
    out = np.full((n, 2), np.nan, dtype=np.float32)
    out[rows] = values
    return out


def _place(how: str, neighbours: np.ndarray, landmark_xy: np.ndarray) -> np.ndarray:
    """(N', 2) positions from (N', k) nearest landmarks: the median of the nearest five
    ("median") or the nearest ("nearest")."""
    xy = np.asarray(landmark_xy, np.float32)
    if how == "nearest":
        return xy[neighbours[:, 0]].copy()
    return np.median(xy[neighbours[:, :5]], axis=1).astype(np.float32)


def _spread(landmark_xy: np.ndarray, scale: float, n: int, seed: int) -> np.ndarray:
    """(n, 2) seeded Gaussian offsets of ``scale`` x the median distance between a landmark and
    its nearest other landmark in the layout."""
    from scipy.spatial import cKDTree

    d, _ = cKDTree(landmark_xy).query(landmark_xy, k=2)
    step = float(np.median(d[:, 1])) if len(landmark_xy) > 1 else 1.0
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 2)) * scale * step).astype(np.float32)


def _unsorted(xy: np.ndarray, perm: np.ndarray) -> np.ndarray:
    out = np.empty_like(xy)
    out[perm] = xy
    return out


def _graph(x, chosen, near_i, landmark_xy, k: int, cells: int, probes: int, relabel, reorder: bool):
    """The kNN graph of every point, the points sorted by cell: (perm (N,), indices (N, k) and
    distances (N, k), rows and indices in the order perm gives), a generator. ``probes`` > 0:
    each point searches the cells of its own ``probes`` nearest landmarks (``near_i[:, :probes]``,
    :func:`~explorer.projection.ivf_graph.ivf_knn_graph`); else the cells near its cell's landmark
    (:func:`cell_knn_graph`)."""
    n, m = len(x), len(chosen)
    cell = near_i[:, 0].copy()
    cell[chosen] = np.arange(m)  # a landmark is in its own cell
    if probes:
        g_i, g_d = yield from drain(ivf_knn_graph(x, near_i[:, :probes], k, free_cores()), relabel)
        bad = g_i < 0  # a row that found fewer than k: repeat its last neighbour found
        if bad.any():
            last = np.maximum((~bad).sum(axis=1) - 1, 0)
            rows = np.nonzero(bad)[0]
            g_i[bad] = g_i[rows, last[rows]]
            g_d[bad] = g_d[rows, last[rows]]
    else:
        nb = landmark_neighbours(x[chosen], cells)
        g_i, g_d = yield from drain(cell_knn_graph(x, cell, nb, k), relabel)
    if not reorder:
        return np.arange(n), g_i, g_d
    perm = cell_order(cell, landmark_xy)
    inv = np.empty(n, np.int64)
    inv[perm] = np.arange(n)
    return perm, inv[g_i[perm]], g_d[perm]


def smooth(layout: np.ndarray, neighbours: np.ndarray, fixed: np.ndarray, rounds: int) -> np.ndarray:
    """``rounds`` of moving every point but the ``fixed`` ones (bool (N,)) to the mean of its kNN
    graph neighbours (N, k): positions follow each point's own neighbours, not only its landmarks'
    (a harmonic interpolation from the landmarks). (N, 2) float32 in and out."""
    out = np.array(layout, dtype=np.float32)
    move = ~np.asarray(fixed)
    nb = neighbours[move]
    for _ in range(rounds):
        out[move] = out[nb].mean(axis=1)
    return out


def landmark_job(
    codes: np.ndarray,
    method: str,
    seed: int = 0,
    labels: np.ndarray | None = None,
    landmarks: int | None = None,
    refine: str = "graph",
    refine_steps: int | None = None,
    threshold: int = LANDMARK_ABOVE,
    perplexity: float = 30.0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    search: Callable[..., Iterator[Progress]] | None = None,
    place: str | None = None,
    refine_exaggeration: float = 1.0,
    refine_perplexity: float | None = None,
    landmark_search: str = "approx",
    graph: str = "ivf",
    reorder: bool = True,
    smooth_rounds: int = 0,
    jitter: float | None = None,
    inner_steps: int | None = None,
    refine_scale: float = 1.0,
    refine_lr: float | None = None,
    refine_early: int | None = None,
    refine_early_exaggeration: float = 12.0,
    graph_rounds: int | None = None,
    **fit_params,
) -> Iterator[Progress]:
    """(N, D) float32 codes -> yields Progress (payload (N, 2) float32 frames; NaN rows are
    points not placed yet), returns the (N, 2) float32 layout. ``method``: "tsne" | "umap".

    ``labels`` (N,) int (optional) stratify the landmarks; ``landmarks`` overrides their count
    (default :func:`landmark_levels`), an int or counts per level, outermost first (each level's
    layout is the landmark layout of the one above). ``refine``: "graph" (default: a few iterations of the
    method over all points with an approximate kNN graph found through the landmarks),
    "transform" (the libraries' transform: placed points move, landmarks stay) or "none"
    (placement only); ``refine_steps`` its iterations (t-SNE, default
    :func:`tsne_refine_schedule`) or epochs (UMAP, default :func:`umap_refine_epochs`);
    ``refine_early`` iterations of t-SNE's graph refinement at ``refine_early_exaggeration``
    come first (default
    :func:`tsne_refine_schedule`, or a third of ``refine_steps`` when that is given);
    ``refine_exaggeration`` and ``refine_perplexity`` (t-SNE's graph refinement; default
    :func:`tsne_refine_schedule`).
    ``place``: "mean" | "median" | "nearest" (where a point starts from its nearest landmarks;
    default "mean" for t-SNE, "nearest" for UMAP), ``jitter`` (a spread of the start, x the
    landmarks' spacing; default 0 for t-SNE, ``UMAP_JITTER`` for UMAP), ``smooth_rounds`` (mean of the
    graph neighbours before refining), ``refine_scale``/``refine_lr`` (t-SNE start scale and
    learning rate), ``inner_steps`` (inner levels' refinement; default UMAP_REFINE_EPOCHS),
    ``landmark_search`` ("approx" | "exact"), ``graph`` ("ivf": per-point cells | "cells": cell
    by cell) and ``reorder`` (points sorted by cell while refining), ``graph_rounds`` (rounds of
    neighbour-of-neighbour search over the kNN graph, :mod:`~explorer.projection.knn_descent`;
    default UMAP_GRAPH_ROUNDS for UMAP, 0 for t-SNE): the settings measured in docs/performance.md.
    N <= ``threshold``: the full fit. ``search``: how every point finds its nearest landmarks, a
    generator function (codes, landmark_codes, k) -> (indices, distances) (default
    :func:`approx_nearest_landmarks`); ``explorer.cluster.place`` passes one that runs on Ray.
    """
    from explorer.projection.tsne import effective_perplexity, tsne_embedding_job
    from explorer.projection.umap_layout import umap_job

    x = np.asarray(codes, dtype=np.float32)
    n = len(x)
    label = "t-SNE" if method == "tsne" else "UMAP"
    if n <= threshold:
        if method == "tsne":
            emb = yield from tsne_embedding_job(x, seed=seed, perplexity=perplexity, **fit_params)
            return np.array(emb, dtype=np.float32)
        return (yield from umap_job(x, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, **fit_params))
    if place is None:
        place = "nearest" if method == "umap" else "mean"
    if jitter is None:
        jitter = UMAP_JITTER if method == "umap" else 0.0
    if refine not in REFINES:
        raise ValueError(f"refine must be one of {REFINES}, got {refine!r}")
    if place not in PLACES:
        raise ValueError(f"place must be one of {PLACES}, got {place!r}")
    early_default, steps_default, perplexity_default = tsne_refine_schedule(n)
    if refine_perplexity is None:
        refine_perplexity = perplexity_default
    if refine_steps is None:
        steps = steps_default if method == "tsne" else umap_refine_epochs(n)
    else:
        steps = refine_steps
    if graph_rounds is None:
        graph_rounds = UMAP_GRAPH_ROUNDS if method == "umap" else 0
    if refine == "none":
        steps = 0
    if refine_early is None:  # t-SNE's graph refinement starts with early exaggeration
        refine_early = early_default if refine_steps is None else steps // 3

    t0 = time.perf_counter()
    times: dict[str, float] = {}
    m = 0

    def stage(step: int, message: str, payload=None) -> Progress:
        return Progress(
            step=step,
            total=4,
            message=f"{label}: {message}",
            payload=payload,
            metrics=dict(times, landmarks=float(m)),
        )

    def relabel(step: int):  # a sub-job's progress as this job's step, with its counts
        return lambda r: Progress(step=step, total=4, message=f"{label}: {r.message} {r.step:,}/{r.total:,}")

    yield stage(0, "PCA preview", sampled_pca(x, seed))
    times["first_frame_s"] = time.perf_counter() - t0
    if landmarks is None:
        levels = landmark_levels(n, method)
    else:
        levels = (landmarks,) if isinstance(landmarks, int) else tuple(landmarks)
    chosen = choose_landmarks(x, levels[0], labels=labels, seed=seed)
    m = len(chosen)
    lx = np.ascontiguousarray(x[chosen])
    yield stage(1, f"fitting {m:,} landmarks")

    if len(levels) > 1 and refine == "graph":  # the landmarks' own layout from landmarks of theirs
        fit = landmark_job(
            lx,
            method,
            seed=seed,
            labels=None if labels is None else np.asarray(labels)[chosen],
            landmarks=levels[1:],
            refine=refine,
            refine_steps=inner_steps or (UMAP_REFINE_EPOCHS if refine_steps is None else steps),
            threshold=0,
            perplexity=perplexity,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            place=place,
            refine_perplexity=refine_perplexity,
            landmark_search=landmark_search,
            graph=graph,
            smooth_rounds=smooth_rounds,
            graph_rounds=graph_rounds,
            **fit_params,
        )
    elif method == "tsne":
        iters = {"early_iter": LANDMARK_EARLY, "n_iter": LANDMARK_ITER, **fit_params}
        fit = tsne_embedding_job(lx, seed=seed, perplexity=effective_perplexity(m, perplexity), **iters)
    else:
        epochs = {"n_epochs": UMAP_LANDMARK_EPOCHS, **fit_params}
        fit = umap_job(lx, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, preview=False, **epochs)
    reference = yield from drain(
        fit,
        lambda r: Progress(
            step=1,
            total=4,
            message=f"{r.message} ({m:,} landmarks)",
            payload=None if r.payload is None else _scatter(n, chosen, r.payload),
        ),
    )
    if method == "tsne":  # centred, as openTSNE's transform centres its reference
        reference -= (np.max(reference, axis=0) + np.min(reference, axis=0)) / 2
    if refine == "transform" and method == "tsne" and not hasattr(reference, "gradient_descent_params"):
        raise ValueError("refine='transform' fits its landmarks directly (one level of landmarks)")
    landmark_xy = np.array(reference, dtype=np.float32)
    times["landmark_s"] = time.perf_counter() - t0
    yield stage(2, "landmark layout", _scatter(n, chosen, landmark_xy))

    k_place = PLACE_K if method == "tsne" else max(2, min(n_neighbors, m - 1))
    probes = cells_to_probe(n, m) if refine == "graph" and steps > 0 and graph == "ivf" else 0
    if search is None:
        search = nearest_landmarks if landmark_search == "exact" else approx_nearest_landmarks
    near_i, near_d = yield from drain(search(x, lx, max(k_place, probes)), relabel(2))
    others = np.setdiff1d(np.arange(n), chosen, assume_unique=True)
    neighbours, distances = near_i[others, :k_place], near_d[others, :k_place]
    pinned = duplicates(distances)
    transform_work = None
    if place == "mean" or refine == "transform":  # the transform starts from the weighted mean
        if method == "tsne":
            init, transform_work = refiners.tsne_transform(reference, neighbours, distances, steps, pinned)
        else:
            init, transform_work = refiners.umap_transform(
                landmark_xy, neighbours, distances, n_neighbors, min_dist, steps, seed, pinned
            )
    if place != "mean":
        init = _place(place, neighbours, landmark_xy)
        init[pinned] = landmark_xy[neighbours[pinned, 0]]
    if jitter > 0:  # points on one spot get one repulsive force and never part: spread them
        init = init + _spread(landmark_xy, jitter, len(init), seed)
        init[pinned] = landmark_xy[neighbours[pinned, 0]]
    layout = np.empty((n, 2), dtype=np.float32)
    layout[chosen] = landmark_xy
    layout[others] = init
    times["placed_s"] = time.perf_counter() - t0
    yield stage(3, "all points placed", layout.copy())

    if steps > 0 and refine == "transform":

        def wrap(r):
            if r.payload is None:
                return Progress(step=3, total=4, message=r.message)
            frame = layout.copy()
            frame[others] = r.payload
            return Progress(step=3, total=4, message=r.message, payload=frame)

        layout[others] = yield from drain(threaded(transform_work, label, steps), wrap)
    elif steps > 0:
        k_graph = int(3 * refine_perplexity) if method == "tsne" else max(2, n_neighbors - 1)
        perm, g_i, g_d = yield from _graph(
            x, chosen, near_i, landmark_xy, k_graph, cells_to_probe(n, m), probes, relabel(3), reorder
        )
        if graph_rounds > 0:  # neighbours of neighbours: the true ones the cells missed
            from explorer.projection.knn_descent import descend

            g_i, g_d = yield from drain(descend(x[perm], g_i, g_d, graph_rounds, free_cores()), relabel(3))
        times["graph_s"] = time.perf_counter() - t0
        start = layout[perm]
        if method == "tsne" and refine_scale != 1.0:  # <= 0: sqrt(N / M), a full fit's spread
            start = start * (np.sqrt(n / m) if refine_scale <= 0 else refine_scale)
        if smooth_rounds:
            fixed = np.zeros(n, bool)
            fixed[chosen] = True
            start = smooth(start, g_i, fixed[perm], smooth_rounds)
            yield stage(3, "smoothed over the neighbour graph", _unsorted(start, perm))
        work = (
            refiners.tsne_graph_work(
                start,
                g_i,
                g_d,
                steps,
                seed,
                exaggeration=refine_exaggeration,
                perplexity=refine_perplexity,
                learning_rate=refine_lr,
                early_iter=refine_early,
                early_exaggeration=refine_early_exaggeration,
            )
            if method == "tsne"
            else refiners.umap_graph_work(start, g_i, g_d, n_neighbors, min_dist, steps, seed)
        )

        def unsort(r):
            if r.payload is None:
                return Progress(step=3, total=4, message=r.message)
            frame = np.empty_like(r.payload)
            frame[perm] = r.payload
            return Progress(step=3, total=4, message=r.message, payload=frame)

        total = steps + (refine_early if method == "tsne" else 0)
        refined = yield from drain(threaded(work, label, total), unsort)
        layout = np.empty_like(refined)
        layout[perm] = refined
        dup = others[pinned]  # duplicates of a landmark stay on it
        layout[dup] = layout[chosen[neighbours[pinned, 0]]]
    times["done_s"] = time.perf_counter() - t0
    yield stage(4, "done", layout.copy())
    return layout
