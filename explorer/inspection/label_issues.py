"""Likely label mistakes: items whose neighbours in code space disagree with their label.

Cross-validated k-NN: every item gets a seeded fold (``folds`` of them); its class probabilities
are the votes of its ``k`` nearest neighbours *from the other folds* (neighbours from its own fold,
which a classifier trained without that fold would not have seen, are skipped), weighted by rank
and smoothed so no class has probability 0 or 1.

Then the confident-learning rule (Northcutt, Jiang & Chuang, "Confident Learning", JAIR 2021),
written here from the paper: the threshold of class j is the mean probability of j over the items
labelled j; an item labelled y is *confidently* of class j* = argmax {p_j : p_j >= t_j} and is an
issue when j* != y. Items are ranked by the normalised margin p_suggested - p_label (in [-1, 1];
high means the neighbours vote against the label), the confident issues first.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator

import numpy as np

from explorer.core.progress import Progress
from explorer.inspection.neighbours import NeighbourGraph

FOLDS = 5
K = 10


@dataclass(frozen=True)
class LabelIssues:
    """Items ranked by how likely their label is wrong, most likely first.

    index:      (M,) int64 item indices, ranked.
    label:      (M,) int64 the given label.
    suggested:  (M,) int64 the label the neighbours vote for (never the given one).
    score:      (M,) float32 p_suggested - p_label in [-1, 1]; > 0: the neighbours prefer another label.
    confident:  (M,) bool the confident-learning rule flags it.
    probs:      (Q, C) float32 cross-validated class probabilities of the graph's query items.
    queries:    (Q,) int64 the items ``probs`` belongs to (all labelled items unless sampled).
    thresholds: (C,) float32 per-class thresholds of the rule.
    """

    index: np.ndarray
    label: np.ndarray
    suggested: np.ndarray
    score: np.ndarray
    confident: np.ndarray
    probs: np.ndarray
    queries: np.ndarray
    thresholds: np.ndarray

    def top(self, n: int) -> np.ndarray:
        return self.index[:n]

    def rows(self, n: int | None = None, min_score: float = 0.0) -> list[dict]:
        """JSON-able rows {index, label, suggested, score, confident} with score > ``min_score``."""
        keep = np.nonzero((self.score > min_score) | self.confident)[0][:n]
        return [
            {
                "index": int(self.index[i]),
                "label": int(self.label[i]),
                "suggested": int(self.suggested[i]),
                "score": round(float(self.score[i]), 4),
                "confident": bool(self.confident[i]),
            }
            for i in keep
        ]


def fold_of(count: int, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """(count,) int fold of each item: a seeded permutation dealt round-robin (even fold sizes)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(count, dtype=np.int64)
    fold[rng.permutation(count)] = np.arange(count) % folds
    return fold


def cv_knn_probabilities(
    graph: NeighbourGraph,
    labels: np.ndarray,
    n_classes: int | None = None,
    k: int = K,
    folds: int = FOLDS,
    seed: int = 0,
    smoothing: float = 0.05,
) -> np.ndarray:
    """(Q, C) float32 class probabilities of the graph's query items from the labels of their
    nearest neighbours in other folds (see the module doc). labels: (N,) int, -1 unknown."""
    labels = np.asarray(labels, dtype=np.int64)
    c = int(n_classes or labels.max() + 1)
    neigh = graph.indices
    usable = labels[neigh] >= 0  # (Q, K)
    if folds > 1:  # folds=1: plain leave-one-out votes
        fold = fold_of(len(labels), folds, seed)
        usable &= fold[neigh] != fold[graph.queries][:, None]
    # keep the first k usable neighbours of each row, weights falling with rank (1 .. 1/2)
    rank = np.cumsum(usable, axis=1) - 1
    keep = usable & (rank < k)
    weight = np.where(keep, 1.0 - 0.5 * rank / max(1, k), 0.0)  # (Q, K)
    probs = np.zeros((len(neigh), c), dtype=np.float64)
    rows = np.broadcast_to(np.arange(len(neigh))[:, None], neigh.shape)
    np.add.at(probs, (rows[keep], labels[neigh][keep]), weight[keep])
    probs += smoothing / c
    probs /= probs.sum(1, keepdims=True)
    return probs.astype(np.float32)


def confident_learning(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The confident-learning rule on (Q, C) ``probs`` and (Q,) given ``labels`` (all >= 0).

    Returns (confident class (Q,) int64, -1 where no class reaches its threshold;
    thresholds (C,) float32: mean p_j over the items labelled j, 1.0 for an absent class)."""
    q, c = probs.shape
    counts = np.bincount(labels, minlength=c)
    sums = np.zeros(c)
    np.add.at(sums, labels, probs[np.arange(q), labels])
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0).astype(np.float32)
    above = probs >= thresholds[None] - 1e-6
    masked = np.where(above, probs, -1.0)
    best = masked.argmax(1)
    best[~above.any(1)] = -1
    return best.astype(np.int64), thresholds


def rank_label_issues(probs: np.ndarray, labels: np.ndarray, queries: np.ndarray) -> LabelIssues:
    """Rank the query items (``queries`` (Q,), their ``probs`` (Q, C) and given labels (N,))."""
    labels = np.asarray(labels, dtype=np.int64)
    known = labels[queries] >= 0
    qi, p = queries[known], probs[known]
    y = labels[qi]
    rows = np.arange(len(qi))
    confident_class, thresholds = confident_learning(p, y)
    others = p.copy()
    others[rows, y] = -1.0
    suggested = others.argmax(1)
    flagged = (confident_class >= 0) & (confident_class != y)
    suggested = np.where(flagged, confident_class, suggested)
    score = p[rows, suggested] - p[rows, y]
    order = np.lexsort((qi, -score, ~flagged))  # confident first, then by margin, then by index
    return LabelIssues(
        index=qi[order],
        label=y[order],
        suggested=suggested[order].astype(np.int64),
        score=score[order].astype(np.float32),
        confident=flagged[order],
        probs=probs,
        queries=queries,
        thresholds=thresholds,
    )


def label_issues_job(
    graph: NeighbourGraph,
    labels: np.ndarray,
    n_classes: int | None = None,
    k: int = K,
    folds: int = FOLDS,
    seed: int = 0,
) -> Iterator[Progress]:
    """Cross-validated k-NN + confident learning on a built graph; yields Progress, returns
    :class:`LabelIssues`. labels: (N,) int, -1 for unknown (never ranked, never a vote)."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != graph.count:
        raise ValueError(f"{len(labels)} labels for {graph.count} items")
    if not (labels >= 0).any():
        raise ValueError("label issues need labels")
    yield Progress(0, 2, "cross-validated k-NN votes")
    probs = cv_knn_probabilities(graph, labels, n_classes, k=k, folds=folds, seed=seed)
    yield Progress(1, 2, "ranking label issues")
    issues = rank_label_issues(probs, labels, graph.queries)
    yield Progress(2, 2, "label issues ranked")
    return issues
