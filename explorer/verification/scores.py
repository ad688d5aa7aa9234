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


def all_pair_code_scores(
    codes: np.ndarray, metric: str = "l2", budget: int = 4_000_000
) -> Iterator[Progress]:
    """Scores of every pair a < b of the rows of ``codes`` (n, D), in ``np.triu_indices(n, 1)``
    order; yields Progress, returns (n(n-1)/2,). Row blocks of Gram products (BLAS) instead of
    gathering each pair: d^2 = |a|^2 + |b|^2 - 2 a.b in float64."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    x = np.asarray(codes, dtype=np.float64)
    if metric == "cosine":
        x = _normalise(x)
    n = len(x)
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    rows = max(1, budget // max(1, n))
    pos = 0
    for r0 in range(0, n - 1, rows):
        r1 = min(n - 1, r0 + rows)
        g = x[r0:r1] @ x[r0:].T  # (b, n - r0): columns from r0 on
        upper = np.arange(r0, n)[None, :] > np.arange(r0, r1)[:, None]  # only b > a
        if metric == "cosine":
            block = -(1.0 - g[upper])
        else:
            d2 = sq[r0:r1, None] + sq[None, r0:] - 2.0 * g
            block = -np.sqrt(np.maximum(d2[upper], 0.0))
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
