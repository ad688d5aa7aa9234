"""ROC, AUC, EER, TAR at FAR, k-fold accuracy and the hardest errors of scored pairs.

Convention: a pair is accepted (called "same") when its score is >= the threshold. ``same`` is the
truth (True = genuine pair). FAR is the false accept rate (impostor pairs accepted), FRR the false
reject rate (genuine pairs rejected), TAR = 1 - FRR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve


@dataclass(frozen=True)
class Roc:
    """fpr (= FAR), tpr (= TAR) and thresholds, as sklearn's roc_curve gives them (fpr rising)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def _check(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    same = np.asarray(same, dtype=bool).ravel()
    if len(scores) != len(same):
        raise ValueError(f"{len(scores)} scores for {len(same)} pairs")
    if same.all() or not same.any():
        raise ValueError("verification needs both genuine and impostor pairs")
    if not np.isfinite(scores).all():
        raise ValueError("some pair scores are not finite")
    return scores, same


def roc_points(scores: np.ndarray, same: np.ndarray) -> Roc:
    scores, same = _check(scores, same)
    fpr, tpr, thr = roc_curve(same, scores)
    return Roc(fpr, tpr, thr)


def auc(scores: np.ndarray, same: np.ndarray) -> float:
    scores, same = _check(scores, same)
    return float(roc_auc_score(same, scores))


def _finite(thr: np.ndarray, k: int) -> float:
    # sklearn puts +inf as the first threshold ("accept nothing")
    t = thr[k]
    return float(thr[k + 1] if not np.isfinite(t) and k + 1 < len(thr) else t)


def eer(roc: Roc) -> tuple[float, float]:
    """(equal error rate, its threshold), interpolated linearly where FAR = FRR along the ROC."""
    d = roc.fpr - (1.0 - roc.tpr)  # FAR - FRR: rises from -1 to +1
    k = int(np.argmax(d >= 0))
    if k == 0 or d[k] == 0:
        return float(roc.fpr[k]), _finite(roc.thresholds, k)
    t = -d[k - 1] / (d[k] - d[k - 1])
    rate = roc.fpr[k - 1] + t * (roc.fpr[k] - roc.fpr[k - 1])
    lo, hi = roc.thresholds[k - 1], roc.thresholds[k]
    thr = hi if not np.isfinite(lo) else lo + t * (hi - lo)
    return float(rate), float(thr)


def tar_at_far(roc: Roc, far: float) -> tuple[float, float]:
    """(highest TAR with FAR <= ``far``, the threshold that gives it)."""
    ok = np.flatnonzero(roc.fpr <= far)
    k = ok[np.argmax(roc.tpr[ok])]
    return float(roc.tpr[k]), _finite(roc.thresholds, k)


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The threshold with the highest balanced accuracy (mean of TAR and 1 - FAR) on these pairs."""
    roc = roc_points(scores, same)
    k = int(np.argmax(roc.tpr - roc.fpr))
    return _finite(roc.thresholds, k)


def balanced_accuracy(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Accuracy as if genuine and impostor pairs were equally many (as in LFW's 50/50 pairs)."""
    accept = np.asarray(scores) >= threshold
    same = np.asarray(same, dtype=bool)
    return float(0.5 * (accept[same].mean() + (~accept[~same]).mean()))


def kfold_accuracy(
    scores: np.ndarray, same: np.ndarray, folds: int = 10, seed: int = 0
) -> tuple[float, float]:
    """The LFW protocol: split the pairs into ``folds`` seeded folds; for each, choose the threshold
    with the best balanced accuracy on the other folds and measure balanced accuracy on it.
    Returns (mean, standard deviation) over the folds."""
    scores, same = _check(scores, same)
    fold = np.empty(len(scores), dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(len(scores))] = np.arange(len(scores)) % folds
    # one sort serves every fold: accepting the top m pairs is the threshold s[m-1]
    order = np.argsort(-scores, kind="stable")
    s, y, f = scores[order], same[order], fold[order]
    last_of_tie = np.append(s[1:] != s[:-1], True)
    accs = []
    for k in range(folds):
        train = f != k
        pos, neg = y & train, ~y & train
        if not pos.any() or not neg.any() or not (y & ~train).any() or not (~y & ~train).any():
            continue  # a fold without both kinds of pair says nothing
        j = np.cumsum(pos) / pos.sum() - np.cumsum(neg) / neg.sum()  # TAR - FAR
        j = np.where(last_of_tie, j, -np.inf)
        m = int(np.argmax(j))
        thr = s[m] if j[m] > 0 else np.inf  # accepting nothing beats a useless threshold
        accs.append(balanced_accuracy(s[~train], y[~train], thr))
    if not accs:  # too few pairs of each kind to say
        return float("nan"), float("nan")
    return float(np.mean(accs)), float(np.std(accs))


def hardest_errors(
    scores: np.ndarray, same: np.ndarray, threshold: float, k: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the pair arrays) of the worst mistakes at ``threshold``:
    false accepts (impostors scored >= threshold, highest first) and false rejects (genuine pairs
    scored < threshold, lowest first), at most ``k`` of each."""
    scores = np.asarray(scores)
    same = np.asarray(same, dtype=bool)
    fa = np.flatnonzero(~same & (scores >= threshold))
    fr = np.flatnonzero(same & (scores < threshold))
    fa = fa[np.argsort(-scores[fa], kind="stable")[:k]]
    fr = fr[np.argsort(scores[fr], kind="stable")[:k]]
    return fa, fr
