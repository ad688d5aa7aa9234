"""Score normalisation against a cohort: adaptive symmetric score normalisation (AS-norm).

As in speaker and face verification, a raw pair score s(a, b) is judged against how each side
scores against a cohort of other items: with mu_a, sd_a the mean and standard deviation of a's
``top_k`` highest scores against the cohort,

    s'(a, b) = ((s - mu_a) / sd_a + (s - mu_b) / sd_b) / 2,

so an item that is close to everything (a dense region of the code space) no longer passes every
threshold, and one far from everything is not rejected by all. The cohort says what the score
knows:

* ``train``: codes of the model's training images (or any labelled set the user names): the
  evaluated items are not used, so the score is the model's own (non-transductive);
* ``gallery``: the evaluated set itself, each item against all the others (transductive: it uses
  the unlabelled structure of the set being measured; reports must say so).

Everything is matrix products in row blocks of bounded size, so all 3.1 M pairs of 2,500 codes
take a few seconds and a few tens of MB beyond the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from explorer.core.progress import Progress
from explorer.verification.scores import block_scores, prepared_codes

NORMS = ("none", "as-norm")
COHORTS = ("train", "gallery")
TOP_K = 100
TOP_K_BEST = 300  # the best k measured (docs/performance.md "Score normalisation on unseen classes")
TRANSDUCTIVE = "gallery"


@dataclass(frozen=True)
class CohortStats:
    """Per-item mean and standard deviation (n,) of the top-k cohort scores, and how they came."""

    mean: np.ndarray
    std: np.ndarray
    cohort: str
    top_k: int
    floor: float = 0.0  # the least standard deviation (a cohort of equal scores divides by this)
    about: str = ""  # what the cohort is, in words, when not the training images (e.g. a view's)

    def label(self) -> str:
        """How a normalised score was made, in words for a report or a view."""
        kind = "the evaluated set itself, transductive" if self.cohort == TRANSDUCTIVE else "training images"
        return f"AS-norm, top {self.top_k} of a cohort of {self.about or kind}"


def cohort_stats(
    codes: np.ndarray,
    cohort: np.ndarray | None,
    metric: str = "l2",
    top_k: int = TOP_K,
    budget: int = 4_000_000,
    about: str = "",
) -> Iterator[Progress]:
    """Top-k cohort statistics of each row of ``codes`` (n, D); yields Progress, returns CohortStats.

    ``cohort`` (m, D) codes of other items (``train``), or None: the rows of ``codes`` themselves,
    each without itself (``gallery``, transductive). ``about`` names a ``train`` cohort that is
    not the training images, for the label."""
    x = prepared_codes(codes, metric)
    own = cohort is None
    c = x if own else prepared_codes(cohort, metric)
    if c.ndim != 2 or c.shape[1] != x.shape[1]:
        raise ValueError(f"cohort codes {c.shape} do not match the codes {x.shape}")
    size = len(c) - (1 if own else 0)
    if size < 2:
        raise ValueError("a cohort needs at least two items")
    k = int(min(max(2, top_k), size))
    sq_c = np.einsum("ij,ij->i", c, c)
    mean, std = np.empty(len(x)), np.empty(len(x))
    rows = max(1, budget // max(1, len(c)))
    for r0 in range(0, len(x), rows):
        r1 = min(len(x), r0 + rows)
        mean[r0:r1], std[r0:r1] = _top_stats(x[r0:r1], c, sq_c, metric, k, r0 if own else None)
        yield Progress(step=r1, total=len(x), message="cohort statistics")
    floor = 1e-12 + 1e-6 * float(np.median(std))
    return CohortStats(mean, np.maximum(std, floor), "gallery" if own else "train", k, floor, about)


def _top_stats(x, c, sq_c, metric, k, own_from=None):
    """Mean and standard deviation of the ``k`` highest scores of each row of ``x`` (prepared)
    against the cohort ``c``; ``own_from``: x's rows are c's rows from this one on (not their own
    cohort)."""
    s = block_scores(x, c, np.einsum("ij,ij->i", x, x), sq_c, metric)
    if own_from is not None:  # an item is not its own cohort
        s[np.arange(len(x)), np.arange(own_from, own_from + len(x))] = -np.inf
    top = -np.partition(-s, k - 1, axis=1)[:, :k]
    return top.mean(1), top.std(1)


def item_stats(
    code: np.ndarray, cohort: np.ndarray, stats: CohortStats, metric: str = "l2"
) -> tuple[float, float]:
    """(mean, sd) of the top ``stats.top_k`` scores of one code (D,) that is not in the cohort
    (M, D) (an image dropped from outside the data set), as :func:`cohort_stats` made ``stats``."""
    x = prepared_codes(np.asarray(code)[None], metric)
    c = prepared_codes(cohort, metric)
    mean, std = _top_stats(x, c, np.einsum("ij,ij->i", c, c), metric, min(stats.top_k, len(c)))
    return float(mean[0]), float(max(std[0], stats.floor))


def pair_norm(score: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """AS-norm of one pair score with each side's (mean, sd), as :func:`as_norm` computes it."""
    return float(0.5 * ((score - a[0]) / a[1] + (score - b[0]) / b[1]))


def as_norm(scores: np.ndarray, i: np.ndarray, j: np.ndarray, stats: CohortStats, chunk: int = 1 << 20):
    """AS-norm of the scores (P,) of pairs (i[p], j[p]) with per-item ``stats``; returns (P,)."""
    scores = np.asarray(scores, dtype=np.float64)
    out = np.empty_like(scores)
    m, sd = stats.mean, stats.std
    for s in range(0, len(scores), chunk):
        e = min(len(scores), s + chunk)
        a, b, v = i[s:e], j[s:e], scores[s:e]
        out[s:e] = 0.5 * ((v - m[a]) / sd[a] + (v - m[b]) / sd[b])
    return out


def check_norm(norm: str, cohort: str | None) -> None:
    """One sentence when the options do not fit together."""
    if norm not in NORMS:
        raise ValueError(f"unknown score normalisation {norm!r}; use one of {', '.join(NORMS)}")
    if norm != "none" and cohort not in COHORTS:
        raise ValueError(f"AS-norm needs a cohort: {' or '.join(COHORTS)}, not {cohort!r}")
