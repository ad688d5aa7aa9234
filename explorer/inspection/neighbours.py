"""The k-nearest-neighbour graph every inspection is built on, from retrieval's search.

One graph serves label issues (the neighbours' votes), near-duplicates (the nearest distances),
outliers (the k-th distance) and the typical members of clusters. It comes from
``explorer.retrieval``'s public index, so a faster index there (FAISS for very large sets) is
used here as soon as retrieval offers it.

Exact k-NN of every item against every other is quadratic. Past ``max_queries`` items, or past
``PAIR_BUDGET`` query-item distances, the graph is built for a seeded random sample of queries
(each still searched against *all* items), and the graph says so (``sampled``); every figure
built on it then covers the sample only.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress

# queries searched against the whole set at most; every item is a query below this size
MAX_QUERIES = 50_000
# query x item distances at most: exact search costs ~1.7 ms per query over 200,000 codes on two
# cores (the top-k selection, not the product, dominates), so 4e9 pairs is about a minute
# whatever N: 4,000 queries at 10^6 codes, every item up to 63,000
PAIR_BUDGET = 4_000_000_000


@dataclass(frozen=True)
class NeighbourGraph:
    """The ``k`` nearest other items of each query item.

    queries:   (Q,) int64 item indices that were searched (all items unless ``sampled``).
    indices:   (Q, k) int64 their nearest other items, nearest first.
    distances: (Q, k) float32 the distances to them (the metric's units).
    count:     N, the number of items searched among.
    metric:    "l2" or "cosine".
    sampled:   True when the queries are a seeded sample of the items.
    exact:     False when retrieval's approximate (FAISS) index found them (a few true
               neighbours may be missed; the distances are exact).
    """

    queries: np.ndarray
    indices: np.ndarray
    distances: np.ndarray
    count: int
    metric: str
    sampled: bool
    exact: bool = True

    @property
    def k(self) -> int:
        return int(self.indices.shape[1])

    def note(self) -> str:
        """A sentence saying what the graph covers (empty when it is exact and covers every item)."""
        parts = []
        if self.sampled:
            parts.append(
                f"{'exact search is quadratic: ' if self.exact else ''}{len(self.queries):,} "
                f"of {self.count:,} items (a seeded sample) were searched against all of them"
            )
        if not self.exact:
            parts.append("neighbours from retrieval's approximate (FAISS) index")
        return "; ".join(parts)


def make_index(codes: np.ndarray, metric: str = "l2"):
    """Retrieval's exact neighbour index over ``codes`` (N, D): ``.search(queries, k, exclude)``."""
    from explorer.retrieval import KnnIndex

    return KnnIndex(codes, metric)


def index_job(codes: np.ndarray, metric: str = "l2") -> Iterator[Progress]:
    """Retrieval's choice of index for ``codes``: exact below its size limit, else its FAISS index
    (built, or loaded from beside the codes cache). Yields Progress, returns (index, exact)."""
    from explorer.retrieval import KnnIndex, neighbour_index_job

    index = yield from neighbour_index_job(codes, metric)
    return index, isinstance(index, KnnIndex)


def sample_queries(count: int, max_queries: int | None, seed: int) -> tuple[np.ndarray, bool]:
    """All item indices, or a sorted seeded sample of ``max_queries`` of them; and whether sampled."""
    if max_queries is None or count <= max_queries:
        return np.arange(count, dtype=np.int64), False
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(count, size=int(max_queries), replace=False)).astype(np.int64), True


def neighbour_graph_job(
    codes: np.ndarray,
    k: int = 15,
    metric: str = "l2",
    max_queries: int | None = MAX_QUERIES,
    seed: int = 0,
    index=None,
    block: int = 2048,
) -> Iterator[Progress]:
    """Build the :class:`NeighbourGraph` of ``codes`` (N, D); yields Progress, returns the graph.

    k: neighbours per item (the item itself left out). index: an already built index over the
    same codes (retrieval's), else one is built. The search runs in blocks of ``block`` queries
    so the job can be stopped between them.
    """
    codes = np.asarray(codes, dtype=np.float32)
    n = len(codes)
    if n < 2:
        raise ValueError("inspection needs at least two items")
    k = int(max(1, min(k, n - 1)))
    exact = True
    if index is None:
        index, exact = yield from index_job(codes, metric)
    if max_queries is not None and exact:  # an approximate index answers in ~1/100 of the time
        max_queries = max(2, min(int(max_queries), PAIR_BUDGET // n))
    queries, sampled = sample_queries(n, max_queries, seed)
    out_i = np.empty((len(queries), k), dtype=np.int64)
    out_d = np.empty((len(queries), k), dtype=np.float32)
    for start in range(0, len(queries), block):
        rows = queries[start : start + block]
        out_i[start : start + len(rows)], out_d[start : start + len(rows)] = index.search(
            codes[rows], k, exclude=rows
        )
        yield Progress(step=start + len(rows), total=len(queries), message="nearest neighbours")
    return NeighbourGraph(queries, out_i, out_d, n, metric, sampled, exact)
