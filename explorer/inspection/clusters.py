"""Clusters of the codes or of a 2-D layout, with what each cluster holds.

HDBSCAN (scikit-learn's) by default: it finds clusters of any shape and leaves sparse items out
as noise (-1); k-means as the fast option. Both fit on at most ``max_fit`` items (a seeded
sample; HDBSCAN's time grows faster than linearly with N): the other items join the cluster of
their nearest fitted item (HDBSCAN, through retrieval's index) or of the nearest centre (k-means).
Codes with more than ``reduce_to`` dimensions are first projected by a seeded PCA (density-based
clustering degrades in high dimensions; a layout is clustered as it is).

For each cluster: its size, majority class and purity (the majority's share of its labelled
members), and its most typical members (nearest the cluster's mean in the fitted space).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress

METHODS = ("hdbscan", "kmeans")
MAX_FIT = 20_000
REDUCE_TO = 32


@dataclass(frozen=True)
class ClusterInfo:
    """One cluster: id, size, majority (class index, -1 when unlabelled), purity in [0, 1]
    (NaN when no member is labelled), typical (T,) member indices, most typical first."""

    id: int
    size: int
    majority: int
    purity: float
    typical: np.ndarray

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "size": self.size,
            "majority": self.majority,
            "purity": None if not np.isfinite(self.purity) else round(self.purity, 4),
            "typical": self.typical.tolist(),
        }


@dataclass(frozen=True)
class Clusters:
    """labels: (N,) int64 cluster of each item, -1 for noise; clusters: one ClusterInfo per id
    (largest first); method, space ("codes" or "layout"); notes: what was sampled or reduced."""

    labels: np.ndarray
    clusters: list[ClusterInfo]
    method: str
    space: str
    notes: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.clusters)

    def centres(self, layout: np.ndarray) -> np.ndarray:
        """(count, 2) where to put each cluster's label on ``layout`` (N, 2): its members' median."""
        layout = np.asarray(layout, dtype=np.float64)
        return np.array([np.median(layout[self.labels == c.id], axis=0) for c in self.clusters]).reshape(
            -1, 2
        )

    def summary(self) -> dict:
        """JSON: count, sizes, purity (size-weighted mean), noise, per-cluster rows, notes."""
        sizes = [c.size for c in self.clusters]
        pur = [(c.purity, c.size) for c in self.clusters if np.isfinite(c.purity)]
        mean_purity = (sum(p * s for p, s in pur) / sum(s for _, s in pur)) if pur else None
        return {
            "count": self.count,
            "sizes": sizes,
            "purity": None if mean_purity is None else round(float(mean_purity), 4),
            "noise": int((self.labels < 0).sum()),
            "method": self.method,
            "space": self.space,
            "clusters": [c.as_dict() for c in self.clusters],
            "notes": list(self.notes),
        }


def _reduce(points: np.ndarray, reduce_to: int | None, seed: int, notes: list[str]) -> np.ndarray:
    if reduce_to is None or points.shape[1] <= reduce_to:
        return points
    from sklearn.decomposition import PCA

    notes.append(f"clustered on a PCA of the codes to {reduce_to} dimensions (from {points.shape[1]})")
    pca = PCA(reduce_to, svd_solver="randomized", random_state=seed)
    sample = (
        points
        if len(points) <= 100_000
        else points[np.random.default_rng(seed).choice(len(points), 100_000, replace=False)]
    )
    pca.fit(sample)
    return pca.transform(points).astype(np.float32)


def _majority(members_labels: np.ndarray) -> tuple[int, float]:
    known = members_labels[members_labels >= 0]
    if len(known) == 0:
        return -1, float("nan")
    counts = np.bincount(known)
    top = int(counts.argmax())
    return top, float(counts[top] / len(known))


def describe(
    points: np.ndarray, assign: np.ndarray, labels: np.ndarray | None, typical: int = 8
) -> list[ClusterInfo]:
    """ClusterInfo of every cluster id >= 0 in ``assign`` (N,), largest first."""
    infos = []
    ids, sizes = np.unique(assign[assign >= 0], return_counts=True)
    for cid, size in zip(ids, sizes):
        members = np.flatnonzero(assign == cid)
        centre = points[members].mean(0)
        d = np.einsum("nd,nd->n", points[members] - centre, points[members] - centre)
        top = members[np.lexsort((members, d))[:typical]]
        major, purity = _majority(labels[members]) if labels is not None else (-1, float("nan"))
        infos.append(ClusterInfo(int(cid), int(size), major, purity, top.astype(np.int64)))
    infos.sort(key=lambda c: (-c.size, c.id))
    return infos


def relabel(found: Clusters, labels: np.ndarray | None) -> Clusters:
    """The same clusters with majority and purity from new ``labels`` (N,) (edited labels): no refit."""
    from dataclasses import replace

    infos = []
    for c in found.clusters:
        members = found.labels == c.id
        major, purity = _majority(labels[members]) if labels is not None else (-1, float("nan"))
        infos.append(replace(c, majority=major, purity=purity))
    return replace(found, clusters=infos)


def cluster_job(
    points: np.ndarray,
    labels: np.ndarray | None = None,
    method: str = "hdbscan",
    n_clusters: int | None = None,
    min_cluster_size: int | None = None,
    space: str = "codes",
    max_fit: int = MAX_FIT,
    reduce_to: int | None = REDUCE_TO,
    typical: int = 8,
    seed: int = 0,
) -> Iterator[Progress]:
    """Cluster ``points`` (N, D) codes or (N, 2) layout; yields Progress, returns :class:`Clusters`.

    labels: (N,) class of each item (-1 unknown) for majority and purity, or None.
    n_clusters: k-means' k (default: the number of classes, else 10).
    min_cluster_size: HDBSCAN's (default: max(10, fitted items / 100)).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    points = np.asarray(points, dtype=np.float32)
    n = len(points)
    if n < 2:
        raise ValueError("clustering needs at least two items")
    labels = None if labels is None else np.asarray(labels, dtype=np.int64)
    notes: list[str] = []
    yield Progress(0, 3, "preparing")
    space_points = _reduce(points, reduce_to if space == "codes" else None, seed, notes)
    rng = np.random.default_rng(seed)
    fit_idx = np.arange(n) if n <= max_fit else np.sort(rng.choice(n, max_fit, replace=False))
    if len(fit_idx) < n:
        notes.append(
            f"fitted on a seeded sample of {len(fit_idx):,} of {n:,} items; the others "
            f"joined the nearest fitted {'centre' if method == 'kmeans' else 'item'}"
        )
    fit = space_points[fit_idx]
    yield Progress(1, 3, f"{method} on {len(fit_idx):,} items")
    if method == "kmeans":
        from sklearn.cluster import KMeans

        k = n_clusters or (int(labels.max()) + 1 if labels is not None and (labels >= 0).any() else 10)
        model = KMeans(n_clusters=int(max(1, min(k, len(fit)))), n_init=3, random_state=seed).fit(fit)
        assign = model.predict(space_points).astype(np.int64)
    else:
        from sklearn.cluster import HDBSCAN

        mcs = min_cluster_size or max(10, len(fit) // 100)
        fitted = HDBSCAN(min_cluster_size=int(mcs), copy=True).fit(fit).labels_.astype(np.int64)
        assign = np.full(n, -1, dtype=np.int64)
        assign[fit_idx] = fitted
        rest = np.setdiff1d(np.arange(n), fit_idx)
        if len(rest):
            from explorer.inspection.neighbours import make_index

            near, _ = make_index(fit).search(space_points[rest], 1)
            assign[rest] = fitted[near[:, 0]]
    yield Progress(2, 3, "describing clusters")
    infos = describe(space_points, assign, labels, typical)
    yield Progress(3, 3, f"{len(infos)} clusters")
    return Clusters(assign, infos, method, space, notes)
