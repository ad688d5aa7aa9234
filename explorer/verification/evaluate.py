"""Verification of a whole labelled set as a job: pairs -> scores -> ROC, EER, TAR@FAR, accuracy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.verification import metrics
from explorer.verification import norm as norms
from explorer.verification.pairs import Pairs, make_pairs
from explorer.verification.scores import PairScorer, all_pair_code_scores, pair_code_scores, pair_model_scores

FARS = (1e-2, 1e-3)


@dataclass(frozen=True)
class VerificationResult:
    """Everything the panel and the CLI show about one model on one data set.

    pairs, scores: the pairs and their (P,) scores (higher = same).
    roc:           the ROC (FAR rising).
    auc, eer:      area under the ROC; equal error rate and the threshold where FAR = FRR.
    tar:           {far: (TAR at that FAR, its threshold)} for far in FARS.
    accuracy:      10-fold (LFW protocol) balanced accuracy, mean and standard deviation.
    """

    pairs: Pairs
    scores: np.ndarray
    roc: metrics.Roc
    auc: float
    eer: float
    eer_threshold: float
    tar: dict = field(default_factory=dict)
    accuracy: float = float("nan")
    accuracy_std: float = float("nan")
    metric: str = ""
    score: str = "raw"  # how scores were normalised (verification/norm.py): "raw" or its label
    stats: norms.CohortStats | None = None  # AS-norm's per-item cohort statistics (None: raw)

    def threshold_at_far(self, far: float) -> float:
        return self.tar[far][1]

    def summary(self) -> dict:
        """The JSON of `explorer evaluate verification` (None where a figure is undefined)."""
        out = {
            "auc": self.auc,
            "eer": self.eer,
            "tar_at_far_1e_2": self.tar[1e-2][0],
            "tar_at_far_1e_3": self.tar[1e-3][0],
            "accuracy": self.accuracy,
            "threshold": self.eer_threshold,
            "accuracy_std": self.accuracy_std,
            "threshold_at_far_1e_3": self.tar[1e-3][1],
            "pairs": len(self.pairs),
            "genuine_pairs": self.pairs.genuine,
            "impostor_pairs": self.pairs.impostor,
            "protocol": self.pairs.protocol,
            "metric": self.metric,
            "score": self.score,
        }
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in out.items()}

    def hardest(self, threshold: float, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """Hardest false accepts and false rejects at ``threshold``: (k, 2) item index pairs each."""
        fa, fr = metrics.hardest_errors(self.scores, self.pairs.same, threshold, k)
        pick = lambda p: np.stack([self.pairs.i[p], self.pairs.j[p]], axis=1)  # noqa: E731
        return pick(fa), pick(fr)


def summarise(
    pairs: Pairs,
    scores: np.ndarray,
    metric: str = "",
    seed: int = 0,
    score: str = "raw",
    stats: norms.CohortStats | None = None,
) -> VerificationResult:
    """All figures of scored pairs (no progress: this part takes well under a second per 1M pairs)."""
    roc = metrics.roc_points(scores, pairs.same)
    rate, thr = metrics.eer(roc)
    acc, acc_std = metrics.kfold_accuracy(scores, pairs.same, folds=10, seed=seed)
    return VerificationResult(
        pairs=pairs,
        scores=np.asarray(scores, dtype=np.float64),
        roc=roc,
        auc=metrics.auc(scores, pairs.same),
        eer=rate,
        eer_threshold=thr,
        tar={far: metrics.tar_at_far(roc, far) for far in FARS},
        accuracy=acc,
        accuracy_std=acc_std,
        metric=metric,
        score=score,
        stats=stats,
    )


# a pair classifier runs a network per pair: past this many, it is measured on a balanced sample
SCORER_MAX_PAIRS = 200_000


def _pairs_for(labels, seed, max_pairs=None) -> Pairs:
    if labels is None:
        raise ValueError("verification needs a labelled data set")
    return make_pairs(labels, seed=seed, max_pairs=max_pairs)


def evaluate_codes(
    codes: np.ndarray,
    labels: np.ndarray,
    metric: str = "l2",
    seed: int = 0,
    pairs: Pairs | None = None,
    max_pairs: int | None = None,
    norm: str = "none",
    cohort: np.ndarray | None = None,
    top_k: int = norms.TOP_K,
    cohort_about: str = "",
) -> Iterator[Progress]:
    """Verification of codes (N, D) of a labelled set; yields Progress, returns VerificationResult.

    ``pairs`` fixes the pairs (e.g. to compare two models on the same ones); otherwise they come
    from :func:`make_pairs` (``max_pairs`` caps them). ``norm="as-norm"`` normalises each score
    against ``cohort`` codes (M, D) (verification/norm.py), or, with ``cohort`` None, against the
    evaluated codes themselves (transductive; the result's ``score`` says which; ``cohort_about``
    names a cohort that is not the training images)."""
    norms.check_norm(norm, "gallery" if cohort is None else "train")
    pairs = pairs if pairs is not None else _pairs_for(labels, seed, max_pairs)
    if pairs.protocol == "all":  # every pair of the labelled items: Gram blocks, much faster
        known = np.flatnonzero(np.asarray(labels) >= 0)
        scores = yield from all_pair_code_scores(np.asarray(codes)[known], metric)
    else:
        scores = yield from pair_code_scores(codes, pairs.i, pairs.j, metric)
    label, stats = "raw", None
    if norm != "none":
        stats = yield from norms.cohort_stats(codes, cohort, metric, top_k, about=cohort_about)
        scores, label = norms.as_norm(scores, pairs.i, pairs.j, stats), stats.label()
    yield Progress(step=1, total=1, message="computing ROC")
    return summarise(pairs, scores, metric, seed, label, stats)


def evaluate_scorer(
    scorer: PairScorer,
    data: ImageSet,
    seed: int = 0,
    pairs: Pairs | None = None,
    max_pairs: int | None = SCORER_MAX_PAIRS,
) -> Iterator[Progress]:
    """Verification of a pair classifier on a labelled image set; returns VerificationResult."""
    pairs = pairs if pairs is not None else _pairs_for(data.labels, seed, max_pairs)
    scores = yield from pair_model_scores(scorer, data, pairs.i, pairs.j)
    yield Progress(step=1, total=1, message="computing ROC")
    return summarise(pairs, scores, "pair classifier", seed)
