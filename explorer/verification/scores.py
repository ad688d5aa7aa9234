"""Pair scores: higher means "more likely the same identity".

From codes a score is the negative distance between the two codes (L2, or cosine distance
1 - cos). A pair classifier (a model that sees both images at once, such as ``pairnet``) is a
:class:`PairScorer` and scores image pairs directly.
"""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress

METRICS = ("l2", "cosine")


@runtime_checkable
class PairScorer(Protocol):
    """A model that scores image pairs directly instead of giving each image a code.

    score_pairs: float32 (N, C, H, W) a, b in [0, 1] -> (N,) float scores, higher = same.
    """

    name: str
    input_shape: tuple[int, int, int] | None

    def score_pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray: ...


def is_pair_scorer(model) -> bool:
    return callable(getattr(model, "score_pairs", None))


def _normalise(codes: np.ndarray) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.float64)
    norm = np.linalg.norm(codes, axis=-1, keepdims=True)
    return codes / np.maximum(norm, 1e-12)


def code_scores(a: np.ndarray, b: np.ndarray, metric: str = "l2") -> np.ndarray:
    """Scores of code pairs a[k], b[k] ((P, D) each) -> (P,) float64, the negative distance."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if metric == "cosine":
        return -(1.0 - np.sum(_normalise(a) * _normalise(b), axis=-1))
    return -np.sqrt(np.sum((a - b) ** 2, axis=-1))


def pair_code_scores(
    codes: np.ndarray, i: np.ndarray, j: np.ndarray, metric: str = "l2", budget: int = 4_000_000
) -> Iterator[Progress]:
    """Scores of the pairs (i[k], j[k]) of rows of ``codes`` (N, D); yields Progress, returns (P,).

    Pairs are gathered in chunks of about ``budget`` numbers, so wide codes (raw pixels) stay
    within a few tens of MB."""
    codes = np.asarray(codes, dtype=np.float64)
    chunk = max(256, budget // max(1, codes.shape[1]))
    out = np.empty(len(i), dtype=np.float64)
    for s in range(0, len(i), chunk):
        e = min(len(i), s + chunk)
        out[s:e] = code_scores(codes[i[s:e]], codes[j[s:e]], metric)
        yield Progress(step=e, total=len(i), message="scoring pairs")
    return out


def prepared_codes(codes: np.ndarray, metric: str) -> np.ndarray:
    """``codes`` as float64 rows ready for Gram-block scores: unit rows for cosine."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    x = np.asarray(codes, dtype=np.float64)
    return _normalise(x) if metric == "cosine" else x


def block_scores(a: np.ndarray, b: np.ndarray, sq_a, sq_b, metric: str) -> np.ndarray:
    """Scores (len(a), len(b)) of every row of ``a`` against every row of ``b`` (both from
    :func:`prepared_codes`; ``sq_*`` their squared norms) by one Gram product:
    d^2 = |a|^2 + |b|^2 - 2 a.b in float64."""
    g = a @ b.T
    if metric == "cosine":
        return -(1.0 - g)
    return -np.sqrt(np.maximum(sq_a[:, None] + sq_b[None, :] - 2.0 * g, 0.0))


def all_pair_code_scores(
    codes: np.ndarray, metric: str = "l2", budget: int = 4_000_000
) -> Iterator[Progress]:
    """Scores of every pair a < b of the rows of ``codes`` (n, D), in ``np.triu_indices(n, 1)``
    order; yields Progress, returns (n(n-1)/2,). Row blocks of Gram products (BLAS) instead of
    gathering each pair: d^2 = |a|^2 + |b|^2 - 2 a.b in float64."""
    x = prepared_codes(codes, metric)
    n = len(x)
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    rows = max(1, budget // max(1, n))
    pos = 0
    for r0 in range(0, n - 1, rows):
        r1 = min(n - 1, r0 + rows)
        upper = np.arange(r0, n)[None, :] > np.arange(r0, r1)[:, None]  # only b > a
        block = block_scores(x[r0:r1], x[r0:], sq[r0:r1], sq[r0:], metric)[upper]  # columns from r0 on
        out[pos : pos + len(block)] = block
        pos += len(block)
        yield Progress(step=pos, total=len(out), message="scoring pairs")
    return out


def pair_model_scores(
    scorer: PairScorer, data: ImageSet, i: np.ndarray, j: np.ndarray, batch_size: int = 2048
) -> Iterator[Progress]:
    """Scores of the image pairs (i[k], j[k]) of ``data`` by a pair classifier; returns (P,)."""
    out = np.empty(len(i), dtype=np.float64)
    for s in range(0, len(i), batch_size):
        e = min(len(i), s + batch_size)
        out[s:e] = np.asarray(
            scorer.score_pairs(data.float_images(i[s:e]), data.float_images(j[s:e])), dtype=np.float64
        ).reshape(-1)
        yield Progress(step=e, total=len(i), message=f"scoring pairs with {scorer.name}")
    return out
