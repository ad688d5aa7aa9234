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
TRANSDUCTIVE = "gallery"


@dataclass(frozen=True)
class CohortStats:
    """Per-item mean and standard deviation (n,) of the top-k cohort scores, and how they came."""

    mean: np.ndarray
    std: np.ndarray
    cohort: str
    top_k: int

    def label(self) -> str:
        """How a normalised score was made, in words for a report or a view."""
        kind = "the evaluated set itself, transductive" if self.cohort == TRANSDUCTIVE else "training images"
        return f"AS-norm, top {self.top_k} of a cohort of {kind}"


def cohort_stats(
    codes: np.ndarray,
    cohort: np.ndarray | None,
    metric: str = "l2",
    top_k: int = TOP_K,
    budget: int = 4_000_000,
) -> Iterator[Progress]:
    """Top-k cohort statistics of each row of ``codes`` (n, D); yields Progress, returns CohortStats.

    ``cohort`` (m, D) codes of other items (``train``), or None: the rows of ``codes`` themselves,
    each without itself (``gallery``, transductive)."""
    x = prepared_codes(codes, metric)
    own = cohort is None
    c = x if own else prepared_codes(cohort, metric)
    if c.ndim != 2 or c.shape[1] != x.shape[1]:
        raise ValueError(f"cohort codes {c.shape} do not match the codes {x.shape}")
    size = len(c) - (1 if own else 0)
    if size < 2:
        raise ValueError("a cohort needs at least two items")
    k = int(min(max(2, top_k), size))
    sq_x, sq_c = np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", c, c)
    mean, std = np.empty(len(x)), np.empty(len(x))
    rows = max(1, budget // max(1, len(c)))
    for r0 in range(0, len(x), rows):
        r1 = min(len(x), r0 + rows)
        s = block_scores(x[r0:r1], c, sq_x[r0:r1], sq_c, metric)
        if own:  # an item is not its own cohort
            s[np.arange(r1 - r0), np.arange(r0, r1)] = -np.inf
        top = -np.partition(-s, k - 1, axis=1)[:, :k]
        mean[r0:r1] = top.mean(1)
        std[r0:r1] = top.std(1)
        yield Progress(step=r1, total=len(x), message="cohort statistics")
    std = np.maximum(std, 1e-12 + 1e-6 * np.median(std))
    return CohortStats(mean, std, "gallery" if own else "train", k)


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
