"""Placing and refining the points of a landmark layout (t-SNE and UMAP).

Each ``*_work`` function prepares a refinement and returns ``work(emit, stop)`` for
:func:`explorer.projection.stream.threaded`: it runs the library's own optimiser in a helper
thread, calls ``emit(step, layout)`` every few steps and ends (raising
:class:`~explorer.projection.stream.Cancelled`) when ``stop`` is set.

- *transform* (``tsne_transform`` / ``umap_transform``): the libraries' ``transform``: placed points
  move, the landmarks stay (openTSNE's ``PartialTSNEEmbedding.optimize`` at learning rate 0.1,
  exaggeration 1.5, gradients clipped at 0.25; umap-learn's ``optimize_layout_euclidean`` with the
  landmarks as the fixed tail, ``move_other=False``). Both also return the weighted-mean placement.
- *graph* (``tsne_graph_work`` / ``umap_graph_work``): a few iterations of the method over all
  points with their approximate kNN graph (t-SNE: :func:`explorer.projection.tsne_loop.optimise`,
  openTSNE's gradient kernels without its KL evaluation, with perplexity affinities of the
  graph; UMAP: :func:`explorer.projection.umap_sgd.optimise`, umap-learn's SGD as our parallel
  kernel, over ``fuzzy_simplicial_set`` of the graph; ``UMAP_OPTIMISER = "umap-learn"`` runs
  umap-learn's own optimiser instead).
"""

from __future__ import annotations

import numpy as np

from explorer.projection.landmarks import weighted_place
from explorer.projection.stream import Cancelled

TSNE_PLACE_PERPLEXITY = 5.0
NEGATIVE_RATE = 5  # UMAP refinement: negative samples per positive one (umap-learn's default)
UMAP_OPTIMISER = "sgd"  # "sgd": explorer.projection.umap_sgd; "umap-learn": its optimiser
# the refinement's initial learning rate (umap-learn's transform's; its fit starts at 1.0): at 10^5,
# 100 epochs on the exact kNN graph, 10-NN accuracy 0.900 against 0.894 at 1.0 and 0.890 at 0.1;
# from the full fit's own layout (0.905) 60 epochs keep 0.894 at 0.25, 0.886 at 1.0
UMAP_ALPHA = 0.25
UMAP_LOCAL, UMAP_WINDOW = 0.8, 2048  # share of negatives drawn within that many rows
UMAP_GAMMA = 1.0  # weight of the repulsion
GRAPH_PERPLEXITY = 10.0  # t-SNE's refinement over all points: 30 neighbours each (3 x perplexity)


# ---- t-SNE ----------------------------------------------------------------------------------
def _tsne_optimise(embedding, n_iter: int, emit, stop, chunk: int = 4, **params) -> None:
    """``embedding.optimize(n_iter, **params)`` in place, a frame every ``chunk`` iterations,
    Cancelled when ``stop`` is set (looked at every other iteration: openTSNE evaluates the
    KL divergence at each callback, +30% per iteration when called at every one)."""
    from openTSNE.tsne import OptimizationInterrupt

    def callback(iteration, error, current):
        if stop.is_set():
            return True
        if iteration % chunk == 0:
            emit(iteration, current)
        return False

    if n_iter <= 0:
        return
    try:
        embedding.optimize(
            n_iter=n_iter,
            inplace=True,
            propagate_exception=True,
            callbacks=[callback],
            callbacks_every_iters=2,
            **params,
        )
    except OptimizationInterrupt:
        raise Cancelled from None


def tsne_place_weights(neighbours: np.ndarray, distances: np.ndarray, n_reference: int):
    """(N', k) weights of each point's nearest landmarks: openTSNE's point-wise perplexity-5
    affinities, as its ``transform`` uses them; and the same as a sparse (N', M) matrix."""
    from openTSNE.affinity import joint_probabilities_nn

    P = joint_probabilities_nn(
        neighbours,
        distances.astype(np.float64),
        [TSNE_PLACE_PERPLEXITY],
        symmetrize=False,
        normalization="point-wise",
        n_reference_samples=n_reference,
        n_jobs=1,
    )
    return _rows_of(P, neighbours), P


def tsne_transform(reference, neighbours: np.ndarray, distances: np.ndarray, n_iter: int, pinned: np.ndarray):
    """openTSNE's transform optimisation of the other points against the fixed landmark
    embedding ``reference`` (a TSNEEmbedding), from their nearest landmarks (N', k) and distances.
    Returns (the weighted-mean placement (N', 2), ``work(emit, stop)`` that refines it)."""
    from openTSNE.tsne import PartialTSNEEmbedding

    weights, P = tsne_place_weights(neighbours, distances, len(reference))
    init = weighted_place(neighbours, weights, np.asarray(reference), distances)

    def work(emit, stop):
        partial = PartialTSNEEmbedding(
            init.astype(np.float64), reference, P=P, **reference.gradient_descent_params
        )
        _tsne_optimise(
            partial, n_iter, emit, stop, learning_rate=0.1, exaggeration=1.5, momentum=0.8, max_grad_norm=0.25
        )
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
    # CSR rows are sorted by column; put the weights back in neighbour order
    order = np.argsort(np.argsort(neighbours, axis=1), axis=1)
    return np.take_along_axis(data, order, axis=1)


def tsne_graph_work(
    layout: np.ndarray,
    neighbours: np.ndarray,
    distances: np.ndarray,
    n_iter: int,
    seed: int,
    exaggeration: float = 1.0,
    perplexity: float = GRAPH_PERPLEXITY,
    learning_rate: float | None = None,
    early_iter: int = 0,
    early_exaggeration: float = 12.0,
):
    """``n_iter`` openTSNE iterations over all N points from ``layout`` (N, 2), with perplexity
    affinities of the approximate kNN graph (N, k): points settle among their own neighbours,
    not only their landmarks'. ``early_iter`` > 0: that many iterations at
    ``early_exaggeration`` (momentum 0.5, as openTSNE's early phase) before them."""
    from openTSNE.affinity import joint_probabilities_nn

    from explorer.projection.tsne import free_cores
    from explorer.projection.tsne_loop import Descent, optimise

    P = joint_probabilities_nn(
        neighbours,
        distances.astype(np.float64),
        [perplexity],
        symmetrize=True,
        normalization="pair-wise",
        n_jobs=free_cores(),
    )

    def work(emit, stop):
        y = np.array(layout, dtype=np.float64)
        state = Descent()
        lr = {} if learning_rate is None else {"learning_rate": learning_rate}
        cores = free_cores()
        if early_iter > 0:
            optimise(
                y, P, early_iter, state, early_exaggeration, 0.5, emit=emit, stop=stop, n_jobs=cores, **lr
            )
        optimise(y, P, n_iter, state, exaggeration, 0.8, emit=emit, stop=stop, n_jobs=cores, **lr)
        return y.astype(np.float32)

    return work


# ---- UMAP -----------------------------------------------------------------------------------
def _umap_setup(min_dist: float, seed: int):
    """(a, b) of the curve for ``min_dist``, the seeded random state and umap's rng_state."""
    from sklearn.utils import check_random_state
    from umap.umap_ import find_ab_params

    a, b = find_ab_params(1.0, min_dist)
    random_state = check_random_state(seed)
    low, high = np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1
    return a, b, random_state, random_state.randint(low, high, 3).astype(np.int64)


def _prune(graph, n_epochs: int):
    """umap's own pruning: edges too weak to be sampled once in ``n_epochs`` are dropped."""
    graph = graph.tocoo()
    graph.sum_duplicates()
    if n_epochs > 0 and graph.nnz:
        graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
        graph.eliminate_zeros()
    return graph


def _umap_optimise(head, tail, graph, n_epochs, ab, rng_state, move_other: bool, emit, stop) -> None:
    """umap-learn's ``optimize_layout_euclidean`` on ``head`` in place (``tail`` the other end of
    each edge: the fixed landmarks, or ``head`` itself), a frame every 5 epochs."""
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import make_epochs_per_sample

    from explorer.projection.umap_layout import _watch

    def observe(epoch, current):
        if stop.is_set():
            raise Cancelled
        if epoch % 5 == 0:
            emit(epoch, current)

    _watch.observer = observe
    try:
        optimize_layout_euclidean(
            head,
            tail,
            graph.row,
            graph.col,
            n_epochs,
            graph.shape[1],
            make_epochs_per_sample(graph.data, n_epochs),
            ab[0],
            ab[1],
            rng_state,
            1.0,
            0.25,
            float(NEGATIVE_RATE),
            False,
            tqdm_kwds={"disable": True},
            move_other=move_other,
        )
    finally:
        _watch.observer = None


def umap_place_weights(neighbours: np.ndarray, distances: np.ndarray, n_neighbors: int) -> np.ndarray:
    """(N', k) fuzzy memberships of each point's nearest landmarks, as umap-learn's transform."""
    from umap.umap_ import compute_membership_strengths, smooth_knn_dist

    d = np.ascontiguousarray(distances, dtype=np.float32)
    sigmas, rhos = smooth_knn_dist(d, float(n_neighbors), local_connectivity=0.0)
    _, _, vals, _ = compute_membership_strengths(
        np.ascontiguousarray(neighbours, dtype=np.int32), d, sigmas, rhos, bipartite=True
    )
    return np.asarray(vals, dtype=np.float64).reshape(neighbours.shape)


def umap_transform(
    landmark_xy: np.ndarray,
    neighbours: np.ndarray,
    distances: np.ndarray,
    n_neighbors: int,
    min_dist: float,
    n_epochs: int,
    seed: int,
    pinned: np.ndarray,
):
    """umap-learn's transform of the placed points against the fixed landmark layout. Returns
    (the weighted-mean placement (N', 2), ``work(emit, stop)`` that refines it)."""
    import scipy.sparse

    weights = umap_place_weights(neighbours, distances, n_neighbors)
    init = weighted_place(neighbours, weights, landmark_xy, distances)
    rows = np.repeat(np.arange(len(neighbours)), neighbours.shape[1])
    graph = scipy.sparse.coo_matrix(
        (weights.ravel(), (rows, neighbours.ravel())), shape=(len(neighbours), len(landmark_xy))
    )
    graph = _prune(graph, n_epochs)
    a, b, _, rng_state = _umap_setup(min_dist, seed)

    def work(emit, stop):
        head = np.array(init, dtype=np.float32)  # a copy: init keeps the pinned positions
        if n_epochs > 0 and graph.nnz:
            tail = np.ascontiguousarray(landmark_xy, dtype=np.float32)
            _umap_optimise(head, tail, graph, n_epochs, (a, b), rng_state, False, emit, stop)
        head[pinned] = init[pinned]
        return head

    return init, work


def umap_graph_work(
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
    from umap.umap_ import fuzzy_simplicial_set

    n = len(layout)
    k = min(n_neighbors, neighbours.shape[1] + 1)
    idx = np.concatenate([np.arange(n)[:, None], neighbours[:, : k - 1]], axis=1)
    dist = np.concatenate([np.zeros((n, 1), np.float32), distances[:, : k - 1]], axis=1)
    a, b, random_state, rng_state = _umap_setup(min_dist, seed)
    # umap only reads X's row count when it is given the neighbours
    graph, _, _ = fuzzy_simplicial_set(
        np.empty((n, 1), np.float32), k, random_state, "euclidean", knn_indices=idx, knn_dists=dist
    )
    graph = _prune(graph, n_epochs)

    def work(emit, stop):
        head = np.ascontiguousarray(layout, dtype=np.float32).copy()
        if UMAP_OPTIMISER == "umap-learn":
            _umap_optimise(head, head, graph, n_epochs, (a, b), rng_state, True, emit, stop)
            return head
        from explorer.projection.landmarks import free_cores
        from explorer.projection.umap_sgd import optimise

        csr = graph.tocsr()
        csr.sort_indices()
        return optimise(
            head,
            csr.indptr,
            csr.indices,
            csr.data,
            n_epochs,
            a,
            b,
            seed=seed,
            negative_rate=NEGATIVE_RATE,
            gamma=UMAP_GAMMA,
            initial_alpha=UMAP_ALPHA,
            local=UMAP_LOCAL,
            window=UMAP_WINDOW,
            threads=free_cores(),
            emit=emit,
            stop=stop,
        )

    return work
