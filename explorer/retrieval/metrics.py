"""Leave-one-out retrieval metrics (Musgrave, Belongie & Lim, "A Metric Learning Reality Check", 2020).

Every labelled item is a query against all the others. For a query of class c, R is the number
of *other* items of class c, and the ranking is the gallery sorted by distance (ties to the
lower index). With rel(i) = 1 when the i-th result is of class c and P(i) the precision of the
first i results:

  precision@1   rel(1)
  R-precision   (number of relevant items among the first R) / R
  MAP@R         (1/R) Σ_{i≤R} P(i)·rel(i)
  AP (for mAP)  (1/R) Σ_{i≤N-1} P(i)·rel(i)        (the full ranking)

Figures are means over the queries with R ≥ 1 (an item alone in its class asks nothing);
items whose label is unknown (-1) are left out entirely. k-NN accuracy is 1:N identification:
the majority label of the k nearest others (ties to the class of the nearer neighbour).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from explorer.core.progress import Progress, run_to_end
from explorer.retrieval.search import BLOCK_BUDGET, KnnIndex

HEADLINE = ("precision_at_1", "r_precision", "map_at_r", "map")


@dataclass
class RetrievalMetrics:
    """Means over the queries, and the per-query and per-class figures behind them.

    per_query: arrays over the evaluated queries: "index" (into the codes), "label", "R",
               "precision_at_1", "r_precision", "map_at_r", "ap", "knn_correct".
    per_class: one dict per class: label, count, and the four headline means.
    """

    precision_at_1: float
    r_precision: float
    map_at_r: float
    map: float
    knn_accuracy: float
    k: int
    metric: str
    n_queries: int
    n_gallery: int
    per_query: dict[str, np.ndarray] = field(default_factory=dict)
    per_class: list[dict] = field(default_factory=list)

    def as_dict(self, per_class: bool = False) -> dict:
        # NaN (mAP not computed) becomes null: strict JSON has no NaN
        out = {name: _finite_or_none(getattr(self, name)) for name in HEADLINE}
        out.update(
            knn_accuracy=float(self.knn_accuracy),
            k=self.k,
            metric=self.metric,
            queries=self.n_queries,
            gallery=self.n_gallery,
        )
        if per_class:
            out["per_class"] = self.per_class
        return out

    def worst_queries(self, n: int = 20, by: str = "ap") -> np.ndarray:
        """Indices (into the codes) of the ``n`` queries with the lowest ``by`` figure."""
        values = self.per_query[by]
        order = np.lexsort((self.per_query["index"], values))[:n]
        return self.per_query["index"][order]


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _block_figures(order_labels: np.ndarray, qlabels: np.ndarray, R: np.ndarray, k: int):
    """Figures of a block of queries from the labels of their ranked galleries (B, M)."""
    rel = order_labels == qlabels[:, None]  # (B, M) bool
    rows, cols = np.nonzero(rel)  # every hit, row by row, nearest first
    b = len(rel)
    first = np.searchsorted(rows, np.arange(b))  # where each row's hits start
    nth = np.arange(len(rows)) - first[rows] + 1  # the hit is the nth of its row ...
    prec = nth / (cols + 1.0)  # ... at rank cols+1: P(i) at that hit
    within_r = cols < R[rows]
    Rf = R.astype(np.float64)
    p1 = rel[:, 0].astype(np.float64)
    rp = np.bincount(rows, within_r, minlength=b) / Rf
    map_r = np.bincount(rows, prec * within_r, minlength=b) / Rf
    ap = np.bincount(rows, prec, minlength=b) / Rf
    knn = _vote(order_labels[:, :k]) == qlabels
    return p1, rp, map_r, ap, knn


def _rank_order(d: np.ndarray) -> np.ndarray:
    """Column order of each row of distances (B, M), nearest first, ties to the lower column.

    Sorting int64 keys (the float's bits above the column) is several times faster than a
    stable argsort and just as deterministic; distances are >= 0 so their bits order like them.
    """
    d = np.abs(d, dtype=np.float32)  # also turns -0.0 into +0.0
    keys = (d.view(np.int32).astype(np.int64) << 32) | np.arange(d.shape[1], dtype=np.int64)[None]
    keys.sort(axis=1)
    return keys & 0xFFFFFFFF


def _vote(neigh: np.ndarray) -> np.ndarray:
    """Majority label per row of (B, k) neighbour labels; a tie goes to the nearer neighbour."""
    if neigh.shape[1] == 0:
        return np.full(len(neigh), -1, dtype=np.int64)
    votes = (neigh[:, :, None] == neigh[:, None, :]).sum(2)  # (B, k) votes for each place's label
    first_best = np.argmax(votes == votes.max(1, keepdims=True), axis=1)  # nearest of the winners
    return neigh[np.arange(len(neigh)), first_best].astype(np.int64)


def leave_one_out(
    codes: np.ndarray,
    labels: np.ndarray,
    metric: str = "l2",
    k: int = 5,
    full_map: bool = True,
    queries: np.ndarray | None = None,
) -> Iterator[Progress]:
    """Leave-one-out retrieval over labelled ``codes`` (N, D); yields Progress, returns RetrievalMetrics.

    labels: (N,) int, -1 = unknown (left out). k: neighbours for the k-NN vote.
    full_map: rank the whole gallery for mAP; when False only the first max(R, k) places are
    ranked (faster on big sets) and ``map`` is reported as NaN.
    queries: optional indices of the items to use as queries (e.g. a seeded sample of a big set);
    all labelled items with R ≥ 1 by default. The gallery is always every labelled item.
    metric "hamming": binary codes (1 where > 0.5) by Hamming distance; on 0/1 codes that is the
    squared L2 distance, so they are ranked by the exact L2 search (same order, ties alike).
    """
    labels = np.asarray(labels, dtype=np.int64)
    codes = np.asarray(codes, dtype=np.float32)
    rank_metric = metric
    if metric == "hamming":
        codes, rank_metric = (codes > 0.5).astype(np.float32), "l2"
    if len(labels) != len(codes):
        raise ValueError(f"{len(labels)} labels for {len(codes)} codes")
    known = np.nonzero(labels >= 0)[0]
    g_codes, g_labels = codes[known], labels[known]
    classes, inverse, counts = np.unique(g_labels, return_inverse=True, return_counts=True)
    R_all = counts[inverse] - 1  # other items of the same class
    q_local = np.nonzero(R_all >= 1)[0]
    if queries is not None:
        pos = np.full(len(codes), -1, dtype=np.int64)
        pos[known] = np.arange(len(known))
        chosen = pos[np.asarray(queries, dtype=np.int64)]
        q_local = np.intersect1d(q_local, chosen[chosen >= 0])
    m = len(g_codes) - 1  # gallery size of one query
    if len(q_local) == 0 or m < 1:
        raise ValueError("retrieval metrics need at least one class with two or more labelled items")
    k = int(max(1, min(k, m)))
    index = KnnIndex(g_codes, rank_metric)
    block = int(max(1, min(len(q_local), BLOCK_BUDGET // (4 * max(1, len(g_codes))))))
    figs = {name: np.empty(len(q_local)) for name in ("p1", "rp", "map_r", "ap")}
    knn_ok = np.empty(len(q_local), dtype=bool)
    for start in range(0, len(q_local), block):
        rows = q_local[start : start + block]
        R = R_all[rows]
        if full_map:
            d = index.distances(g_codes[rows])
            d[np.arange(len(rows)), rows] = np.inf
            order = _rank_order(d)[:, :m]
        else:
            depth = int(max(R.max(), k))
            order, _ = index.search(g_codes[rows], depth, exclude=rows)
        p1, rp, map_r, ap, ok = _block_figures(g_labels[order], g_labels[rows], R, k)
        stop = start + len(rows)
        figs["p1"][start:stop], figs["rp"][start:stop] = p1, rp
        figs["map_r"][start:stop], figs["ap"][start:stop] = map_r, ap
        knn_ok[start:stop] = ok
        yield Progress(
            step=stop,
            total=len(q_local),
            message="retrieval metrics",
            metrics={"map_at_r": float(figs["map_r"][:stop].mean())},
        )
    if not full_map:
        figs["ap"][:] = np.nan
    q_labels = g_labels[q_local]
    per_class = []
    for c in np.unique(q_labels):
        sel = q_labels == c
        per_class.append(
            {
                "label": int(c),
                "count": int(sel.sum()),
                "precision_at_1": float(figs["p1"][sel].mean()),
                "r_precision": float(figs["rp"][sel].mean()),
                "map_at_r": float(figs["map_r"][sel].mean()),
                "map": float(figs["ap"][sel].mean()),
            }
        )
    return RetrievalMetrics(
        precision_at_1=float(figs["p1"].mean()),
        r_precision=float(figs["rp"].mean()),
        map_at_r=float(figs["map_r"].mean()),
        map=float(figs["ap"].mean()),
        knn_accuracy=float(knn_ok.mean()),
        k=k,
        metric=metric,
        n_queries=len(q_local),
        n_gallery=len(g_codes),
        per_query={
            "index": known[q_local],
            "label": q_labels,
            "R": R_all[q_local],
            "precision_at_1": figs["p1"],
            "r_precision": figs["rp"],
            "map_at_r": figs["map_r"],
            "ap": figs["ap"],
            "knn_correct": knn_ok,
        },
        per_class=per_class,
    )


def retrieval_metrics(codes: np.ndarray, labels: np.ndarray, **kwargs) -> RetrievalMetrics:
    """:func:`leave_one_out` run to its end (plain function)."""
    return run_to_end(leave_one_out(codes, labels, **kwargs))


def knn_classify(
    gallery: np.ndarray,
    gallery_labels: np.ndarray,
    queries: np.ndarray,
    k: int = 5,
    metric: str = "l2",
) -> np.ndarray:
    """1:N identification: the majority label among the ``k`` nearest gallery codes of each query."""
    gallery_labels = np.asarray(gallery_labels, dtype=np.int64)
    idx, _ = KnnIndex(gallery, metric).search(queries, k)
    return _vote(gallery_labels[idx])


def knn_accuracy(gallery, gallery_labels, queries, query_labels, k: int = 5, metric: str = "l2") -> float:
    """Fraction of queries whose k-NN vote over the gallery gives their own label."""
    pred = knn_classify(gallery, gallery_labels, queries, k, metric)
    return float(np.mean(pred == np.asarray(query_labels)))
