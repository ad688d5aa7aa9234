"""t-SNE and UMAP of 10^5-10^7 codes: fit landmarks, place the rest, refine; streamed.

Above ``LANDMARK_ABOVE`` points, :func:`landmark_job` runs in four stages, each yielding frames:

1. a PCA frame at once (PCA fitted on a 20,000-point sample, applied to every point);
2. the landmark layout forming live: openTSNE / umap-learn on the landmarks of
   :func:`~explorer.projection.landmarks.choose_landmarks` (stratified by label when there are
   labels, plus D²-sampled outliers), the other points NaN (not placed yet) in those frames;
3. every other point placed at the weighted mean of its nearest landmarks (exact search), with
   t-SNE's point-wise perplexity affinities (perplexity 5 over 15 neighbours, as openTSNE's
   ``transform``) or UMAP's fuzzy memberships (as umap-learn's ``transform``) as weights;
4. a short refinement with the landmarks held fixed, the optimisation each library's own
   ``transform`` runs: openTSNE's ``PartialTSNEEmbedding.optimize`` (learning rate 0.1,
   exaggeration 1.5, gradient norm clipped at 0.25) or umap-learn's ``optimize_layout_euclidean``
   with the landmarks as the fixed tail (its ``move_other=False``).

Points that duplicate a landmark (distance 0) sit exactly on it. Progress ``metrics`` carry the
stage times (``first_frame_s``, ``landmark_s``, ``placed_s``) and ``landmarks``; the job returns
the (N, 2) float32 layout. At or below the threshold the full fit runs, exactly as
:func:`~explorer.projection.jobs.project_job` runs it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from explorer.core.progress import Progress
from explorer.projection.landmarks import (
    cells_to_probe,
    choose_landmarks,
    duplicates,
    knn_graph,
    landmark_count,
    nearest_landmarks,
    weighted_place,
)

LANDMARK_ABOVE = 40_000
PCA_SAMPLE = 20_000
TSNE_PLACE_PERPLEXITY = 5.0
REFINES = ("graph", "transform", "none")
TSNE_REFINE_ITER = 50
UMAP_REFINE_EPOCHS = 30
GRAPH_PERPLEXITY = 10.0  # t-SNE's refinement over all points: 30 neighbours each (3 x perplexity)


def sampled_pca(codes: np.ndarray, seed: int = 0, sample: int = PCA_SAMPLE) -> np.ndarray:
    """(N, D) -> (N, 2) float32: PCA fitted on a seeded sample of ``sample`` rows (the covariance
    eigenvectors), applied to every row; the whole set when it is smaller. Under a second at 10^6."""
    x = np.asarray(codes, dtype=np.float32)
    n = len(x)
    rows = (
        np.sort(np.random.default_rng(seed).choice(n, sample, replace=False)) if n > sample else slice(None)
    )
    s = x[rows].astype(np.float64)
    mean = s.mean(axis=0)
    s -= mean
    evals, evecs = np.linalg.eigh(s.T @ s)
    top = evecs[:, np.argsort(evals)[::-1][:2]]
    top *= np.sign(top[np.abs(top).argmax(axis=0), range(top.shape[1])])  # fixed signs
    out = np.zeros((n, 2), dtype=np.float32)
    out[:, : top.shape[1]] = (x - mean.astype(np.float32)) @ top.astype(np.float32)
    return out


def _scatter(n: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(N, 2) float32 NaN except ``values`` at ``rows``: a frame where only some points are placed."""
    out = np.full((n, 2), np.nan, dtype=np.float32)
    out[rows] = values
    return out


def _threaded(work: Callable, label: str, total: int) -> Iterator[Progress]:
    """Run ``work(emit, stopped)`` in a helper thread; its ``emit(step, xy)`` calls become
    frames; closing the generator sets ``stopped`` (work should raise or return at its next
    check). Returns ``work``'s return value."""
    frames: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    done = threading.Event()
    outcome: dict = {}

    def emit(step: int, xy: np.ndarray) -> None:
        try:
            frames.put_nowait((step, np.array(xy, np.float32)))
        except queue.Full:  # the consumer is slow: skip a frame rather than wait
            pass

    def run() -> None:
        try:
            outcome["value"] = work(emit, stop)
        except BaseException as err:  # handed to the generator below
            outcome["error"] = err
        finally:
            done.set()

    thread = threading.Thread(target=run, name=f"{label}-refine", daemon=True)
    thread.start()
    step = 0
    try:
        while not (done.is_set() and frames.empty()):
            try:
                step, xy = frames.get(timeout=0.1)
            except queue.Empty:
                yield Progress(step=step, total=total, message=f"{label}: refining")
                continue
            yield Progress(step=step, total=total, message=f"{label}: refining", payload=xy)
    finally:
        stop.set()
        thread.join()
    if "error" in outcome and not isinstance(outcome["error"], _Cancelled):
        raise outcome["error"]
    return outcome.get("value")


class _Cancelled(Exception):
    """Raised inside a refinement thread whose job was closed."""


# ---- t-SNE ----------------------------------------------------------------------------------
def _tsne_refine(
    reference, neighbours: np.ndarray, distances: np.ndarray, n_iter: int, pinned: np.ndarray, chunk: int = 5
):
    """openTSNE's transform optimisation of the other points against the fixed landmark
    embedding ``reference`` (a TSNEEmbedding), from their nearest landmarks (N', k) and distances.
    Returns (the weighted-mean placement (N', 2), ``work(emit, stop)`` that refines it)."""
    from openTSNE.affinity import joint_probabilities_nn
    from openTSNE.tsne import OptimizationInterrupt, PartialTSNEEmbedding

    P = joint_probabilities_nn(
        neighbours,
        distances.astype(np.float64),
        [TSNE_PLACE_PERPLEXITY],
        symmetrize=False,
        normalization="point-wise",
        n_reference_samples=len(reference),
        n_jobs=1,
    )
    init = weighted_place(neighbours, _rows_of(P, neighbours), np.asarray(reference), distances)

    def work(emit, stop):
        partial = PartialTSNEEmbedding(
            init.astype(np.float64), reference, P=P, **reference.gradient_descent_params
        )

        def callback(iteration, error, current):
            if stop.is_set():
                return True
            if iteration % chunk == 0:
                emit(iteration, current)
            return False

        if n_iter > 0:
            try:
                partial.optimize(
                    n_iter=n_iter,
                    learning_rate=0.1,
                    exaggeration=1.5,
                    momentum=0.8,
                    max_grad_norm=0.25,
                    inplace=True,
                    propagate_exception=True,
                    callbacks=[callback],
                    callbacks_every_iters=1,
                )
            except OptimizationInterrupt:
                raise _Cancelled from None
        out = np.array(partial, dtype=np.float32)
        out[pinned] = init[pinned]
        return out

    return init, work


def _rows_of(P, neighbours: np.ndarray) -> np.ndarray:
    """The (N', k) weights of a CSR matrix whose row i holds exactly the columns neighbours[i]."""
    P = P.tocsr()
    P.sort_indices()
    k = neighbours.shape[1]
    data = np.asarray(P.data).reshape(-1, k)
    cols = np.asarray(P.indices).reshape(-1, k)
    # CSR rows are sorted by column; put the weights back in neighbour order
    order = np.argsort(np.argsort(neighbours, axis=1), axis=1)
    del cols
    return np.take_along_axis(data, order, axis=1)


# ---- UMAP -----------------------------------------------------------------------------------
def _umap_refine(
    landmark_xy: np.ndarray,
    neighbours: np.ndarray,
    distances: np.ndarray,
    n_neighbors: int,
    min_dist: float,
    n_epochs: int,
    seed: int,
    pinned: np.ndarray,
):
    """umap-learn's transform of the placed points against the fixed landmark layout."""
    import scipy.sparse
    from sklearn.utils import check_random_state
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import (
        compute_membership_strengths,
        find_ab_params,
        make_epochs_per_sample,
        smooth_knn_dist,
    )

    from explorer.projection.umap_layout import _watch

    d = np.ascontiguousarray(distances, dtype=np.float32)
    sigmas, rhos = smooth_knn_dist(d, float(n_neighbors), local_connectivity=0.0)
    rows, cols, vals, _ = compute_membership_strengths(
        np.ascontiguousarray(neighbours, dtype=np.int32), d, sigmas, rhos, bipartite=True
    )
    weights = np.asarray(vals, dtype=np.float64).reshape(neighbours.shape)
    init = weighted_place(neighbours, weights, landmark_xy, distances)
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(neighbours), len(landmark_xy)))
    if n_epochs > 0 and graph.nnz:
        graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
        graph.eliminate_zeros()
    a, b = find_ab_params(1.0, min_dist)
    random_state = check_random_state(seed)
    rng_state = random_state.randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1, 3).astype(
        np.int64
    )

    def work(emit, stop):
        head = np.array(init, dtype=np.float32)  # a copy: init keeps the pinned positions
        if n_epochs <= 0 or graph.nnz == 0:
            return head

        def observe(epoch, current):
            if stop.is_set():
                raise _Cancelled
            if epoch % 5 == 0:
                emit(epoch, current)

        _watch.observer = observe
        try:
            optimize_layout_euclidean(
                head,
                np.ascontiguousarray(landmark_xy, dtype=np.float32),
                graph.row,
                graph.col,
                n_epochs,
                graph.shape[1],
                make_epochs_per_sample(graph.data, n_epochs),
                a,
                b,
                rng_state,
                1.0,
                0.25,
                5.0,
                False,
                tqdm_kwds={"disable": True},
                move_other=False,
            )
        finally:
            _watch.observer = None
        head[pinned] = init[pinned]
        return head

    return init, work


# ---- refinement over every point (the "graph" mode) ----------------------------------------
def _tsne_graph_work(
    layout: np.ndarray, neighbours: np.ndarray, distances: np.ndarray, n_iter: int, seed: int
):
    """A few openTSNE iterations over all N points from ``layout`` (N, 2), with perplexity
    affinities from the approximate kNN graph (N, k): points settle among their own neighbours,
    not only their landmarks'."""
    from openTSNE import TSNEEmbedding
    from openTSNE.affinity import PrecomputedAffinities, joint_probabilities_nn
    from openTSNE.tsne import OptimizationInterrupt

    from explorer.projection.tsne import free_cores

    P = joint_probabilities_nn(
        neighbours,
        distances.astype(np.float64),
        [GRAPH_PERPLEXITY],
        symmetrize=True,
        normalization="pair-wise",
        n_jobs=free_cores(),
    )

    def work(emit, stop):
        emb = TSNEEmbedding(
            layout.astype(np.float64),
            PrecomputedAffinities(P, normalize=False),
            random_state=seed,
            n_jobs=free_cores(),
        )

        def callback(iteration, error, current):
            if stop.is_set():
                return True
            if iteration % 5 == 0:
                emit(iteration, current)
            return False

        try:
            emb.optimize(
                n_iter=n_iter,
                exaggeration=1.0,
                momentum=0.8,
                inplace=True,
                propagate_exception=True,
                callbacks=[callback],
                callbacks_every_iters=1,
            )
        except OptimizationInterrupt:
            raise _Cancelled from None
        return np.array(emb, dtype=np.float32)

    return work


def _umap_graph_work(
    x: np.ndarray,
    layout: np.ndarray,
    neighbours: np.ndarray,
    distances: np.ndarray,
    n_neighbors: int,
    min_dist: float,
    n_epochs: int,
    seed: int,
):
    """umap-learn's own optimisation over all N points from ``layout``, with its fuzzy graph of
    the approximate kNN graph (``fuzzy_simplicial_set`` on our neighbours, the point itself first)."""
    from sklearn.utils import check_random_state
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import find_ab_params, fuzzy_simplicial_set, make_epochs_per_sample

    from explorer.projection.umap_layout import _watch

    n = len(x)
    k = min(n_neighbors, neighbours.shape[1] + 1)
    idx = np.concatenate([np.arange(n)[:, None], neighbours[:, : k - 1]], axis=1)
    dist = np.concatenate([np.zeros((n, 1), np.float32), distances[:, : k - 1]], axis=1)
    random_state = check_random_state(seed)
    # umap only reads X's row count when it is given the neighbours
    graph, _, _ = fuzzy_simplicial_set(
        np.empty((n, 1), np.float32),
        k,
        random_state,
        "euclidean",
        knn_indices=idx,
        knn_dists=dist.astype(np.float32),
    )
    graph = graph.tocoo()
    graph.sum_duplicates()
    graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
    graph.eliminate_zeros()
    a, b = find_ab_params(1.0, min_dist)
    rng_state = random_state.randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1, 3).astype(
        np.int64
    )

    def work(emit, stop):
        head = np.ascontiguousarray(layout, dtype=np.float32).copy()

        def observe(epoch, current):
            if stop.is_set():
                raise _Cancelled
            if epoch % 5 == 0:
                emit(epoch, current)

        _watch.observer = observe
        try:
            optimize_layout_euclidean(
                head,
                head,
                graph.row,
                graph.col,
                n_epochs,
                n,
                make_epochs_per_sample(graph.data, n_epochs),
                a,
                b,
                rng_state,
                1.0,
                0.25,
                5.0,
                False,
                tqdm_kwds={"disable": True},
                move_other=True,
            )
        finally:
            _watch.observer = None
        return head

    return work


def _drain(gen: Iterator[Progress], wrap: Callable[[Progress], Progress]):
    """``yield from gen`` with every record passed through ``wrap``; returns gen's value."""
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            return stop.value
        yield wrap(rec)


# ---- the job --------------------------------------------------------------------------------
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
    **fit_params,
) -> Iterator[Progress]:
    """(N, D) float32 codes -> yields Progress (payload (N, 2) float32 frames; NaN rows are
    points not placed yet), returns the (N, 2) float32 layout. ``method``: "tsne" | "umap".

    ``labels`` (N,) int (optional) stratify the landmarks; ``landmarks`` overrides their count
    (default :func:`landmark_count`). ``refine``: "graph" (default: a few iterations of the
    method over all points with an approximate kNN graph found through the landmarks),
    "transform" (the libraries' transform: placed points move, landmarks stay) or "none"
    (weighted placement only); ``refine_steps`` its iterations (t-SNE, default 50) or epochs
    (UMAP, default 30). N <= ``threshold``: the full fit. ``search``: how every point finds its
    nearest landmarks, a generator function with the signature of :func:`nearest_landmarks` (the
    default); ``explorer.cluster.place`` passes one that runs on Ray tasks.
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
    if refine not in REFINES:
        raise ValueError(f"refine must be one of {REFINES}, got {refine!r}")
    steps = (
        (TSNE_REFINE_ITER if method == "tsne" else UMAP_REFINE_EPOCHS)
        if refine_steps is None
        else refine_steps
    )
    if refine == "none":
        steps = 0

    t0 = time.perf_counter()
    times: dict[str, float] = {}

    def stage(step: int, message: str, payload=None) -> Progress:
        return Progress(
            step=step,
            total=4,
            message=f"{label}: {message}",
            payload=payload,
            metrics=dict(times, landmarks=float(m)),
        )

    m = 0
    yield stage(0, "PCA preview", sampled_pca(x, seed))
    times["first_frame_s"] = time.perf_counter() - t0
    chosen = choose_landmarks(x, landmarks or landmark_count(n), labels=labels, seed=seed)
    m = len(chosen)
    lx = np.ascontiguousarray(x[chosen])
    yield stage(1, f"fitting {m:,} landmarks")

    fit = (
        tsne_embedding_job(lx, seed=seed, perplexity=effective_perplexity(m, perplexity), **fit_params)
        if method == "tsne"
        else umap_job(lx, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, preview=False, **fit_params)
    )
    reference = yield from _drain(
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
    landmark_xy = np.array(reference, dtype=np.float32)
    times["landmark_s"] = time.perf_counter() - t0
    yield stage(2, "landmark layout", _scatter(n, chosen, landmark_xy))

    k_place = 15 if method == "tsne" else max(2, min(n_neighbors, m - 1))
    probes = cells_to_probe(n, m) if refine == "graph" and steps > 0 else 0
    near_i, near_d = yield from _drain(
        (search or nearest_landmarks)(x, lx, max(k_place, probes)),
        lambda r: Progress(step=2, total=4, message=f"{label}: {r.message} {r.step:,}/{r.total:,}"),
    )
    others = np.setdiff1d(np.arange(n), chosen, assume_unique=True)
    neighbours, distances = near_i[others, :k_place], near_d[others, :k_place]
    pinned = duplicates(distances)
    if method == "tsne":
        init, transform_work = _tsne_refine(reference, neighbours, distances, steps, pinned)
    else:
        init, transform_work = _umap_refine(
            landmark_xy, neighbours, distances, n_neighbors, min_dist, steps, seed, pinned
        )
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

        layout[others] = yield from _drain(_threaded(transform_work, label, steps), wrap)
    elif steps > 0:
        k_graph = int(3 * GRAPH_PERPLEXITY) if method == "tsne" else max(2, n_neighbors - 1)
        g_i, g_d = yield from _drain(
            knn_graph(x, lx, near_i[:, :probes], k_graph),
            lambda r: Progress(step=3, total=4, message=f"{label}: {r.message} {r.step:,}/{r.total:,}"),
        )
        bad = g_i < 0  # a row that found fewer than k: repeat its last neighbour found
        if bad.any():
            last = np.maximum((~bad).sum(axis=1) - 1, 0)
            rows = np.nonzero(bad)[0]
            g_i[bad] = g_i[rows, last[rows]]
            g_d[bad] = g_d[rows, last[rows]]
        times["graph_s"] = time.perf_counter() - t0
        work = (
            _tsne_graph_work(layout, g_i, g_d, steps, seed)
            if method == "tsne"
            else _umap_graph_work(x, layout, g_i, g_d, n_neighbors, min_dist, steps, seed)
        )
        refined = yield from _drain(
            _threaded(work, label, steps),
            lambda r: Progress(step=3, total=4, message=r.message, payload=r.payload),
        )
        layout = refined
        dup = others[pinned]  # duplicates of a landmark stay on it
        layout[dup] = layout[chosen[neighbours[pinned, 0]]]
    times["done_s"] = time.perf_counter() - t0
    yield stage(4, "done", layout.copy())
    return layout
