"""Near-duplicates and outliers from the neighbour graph.

Near-duplicates: every pair (query, neighbour) closer than a threshold, grouped by union-find
(a group is a connected set of such pairs: an image and its two re-saved copies make one group of
three). The histogram of nearest-neighbour distances is what a user sets the threshold on; the
default is a tenth of the median nearest-neighbour distance (a re-saved copy sits far nearer
than any natural neighbour; see the bench rows for how that holds on learned codes).

Outliers: the most isolated items, scored by the mean distance to their k nearest neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.arrays import sorted_unique
from explorer.inspection.neighbours import NeighbourGraph

AUTO_FRACTION = 0.1


@dataclass(frozen=True)
class DuplicateGroup:
    """members: sorted item indices; pairs: (P, 2) int64 the close pairs joining them;
    distances: (P,) float32 their distances."""

    members: np.ndarray
    pairs: np.ndarray
    distances: np.ndarray

    def as_dict(self) -> dict:
        return {
            "indices": self.members.tolist(),
            "pairs": self.pairs.tolist(),
            "distances": [round(float(d), 6) for d in self.distances],
        }


@dataclass(frozen=True)
class Duplicates:
    """groups: largest first (then by first member); threshold: the distance used;
    histogram: (counts (B,), edges (B+1,)) of nearest-neighbour distances."""

    groups: list[DuplicateGroup]
    threshold: float
    histogram: tuple[np.ndarray, np.ndarray]

    @property
    def items(self) -> np.ndarray:
        """Every item in some group (sorted)."""
        if not self.groups:
            return np.zeros(0, dtype=np.int64)
        return sorted_unique(np.concatenate([g.members for g in self.groups]))

    @property
    def pairs(self) -> np.ndarray:
        """(P, 2) every close pair, smaller index first."""
        if not self.groups:
            return np.zeros((0, 2), dtype=np.int64)
        return np.concatenate([g.pairs for g in self.groups])


def nn_histogram(graph: NeighbourGraph, bins: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of each query's nearest-neighbour distance: (counts (bins,), edges (bins+1,))."""
    d1 = graph.distances[:, 0].astype(np.float64)
    top = float(d1.max()) if len(d1) and d1.max() > 0 else 1.0
    counts, edges = np.histogram(d1, bins=bins, range=(0.0, top))
    return counts.astype(np.int64), edges


def auto_threshold(graph: NeighbourGraph, fraction: float = AUTO_FRACTION) -> float:
    """The default duplicate threshold: ``fraction`` of the median nearest-neighbour distance."""
    return float(fraction * np.median(graph.distances[:, 0]))


def union_find_groups(pairs: np.ndarray, count: int) -> np.ndarray:
    """(count,) group id of each item given (P, 2) joined pairs: the connected components of the
    pair graph (what union-find computes, here by scipy's sparse graph routine: fast at 10^7 pairs)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def find_duplicates(graph: NeighbourGraph, threshold: float | None = None, bins: int = 64) -> Duplicates:
    """Groups of items joined by neighbour pairs closer than ``threshold`` (None: automatic)."""
    threshold = auto_threshold(graph) if threshold is None else float(threshold)
    close = graph.distances < threshold  # (Q, k), sorted rows: a prefix of each row
    rows, cols = np.nonzero(close)
    a, b = graph.queries[rows], graph.indices[rows, cols]
    pairs = np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)
    dist = graph.distances[rows, cols]
    if len(pairs):
        pairs, first = np.unique(pairs, axis=0, return_index=True)
        dist = dist[first]
    groups: list[DuplicateGroup] = []
    if len(pairs):
        root = union_find_groups(pairs, graph.count)
        pair_root = root[pairs[:, 0]]
        order = np.argsort(pair_root, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(pair_root[order]) != 0])
        for chunk in np.split(order, starts[1:]):
            groups.append(
                DuplicateGroup(np.unique(pairs[chunk]), pairs[chunk], dist[chunk].astype(np.float32))
            )
        groups.sort(key=lambda g: (-len(g.members), int(g.members[0])))
    return Duplicates(groups, threshold, nn_histogram(graph, bins))


@dataclass(frozen=True)
class Outliers:
    """index: (M,) the most isolated items, most isolated first; score: (M,) their mean distance
    to their k nearest neighbours (the metric's units)."""

    index: np.ndarray
    score: np.ndarray

    def rows(self) -> list[dict]:
        return [{"index": int(i), "score": round(float(s), 6)} for i, s in zip(self.index, self.score)]


def find_outliers(graph: NeighbourGraph, count: int = 50, k: int | None = None) -> Outliers:
    """The ``count`` query items with the largest mean distance to their ``k`` (all) neighbours."""
    k = graph.k if k is None else max(1, min(k, graph.k))
    score = graph.distances[:, :k].mean(1)
    order = np.lexsort((graph.queries, -score))[:count]
    return Outliers(graph.queries[order], score[order].astype(np.float32))
