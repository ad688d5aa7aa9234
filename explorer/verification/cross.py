"""Verification across two domains: an image x_i against the partner y_j of a pair set
(``sample:stereo``: a left-camera patch against right-camera patches). The genuine pair of x_i is
its own partner y_i; impostors are other items' partners. Query codes come from one encoder (f_Q)
and gallery codes from another (f_B; the same one for a tied model)."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from explorer.core.progress import Progress
from explorer.verification.evaluate import VerificationResult, summarise
from explorer.verification.pairs import Pairs
from explorer.verification.scores import code_scores

IMPOSTORS_PER_ITEM = 50


def partner_protocol(n: int, seed: int = 0, impostors: int = IMPOSTORS_PER_ITEM) -> Pairs:
    """Pairs (i, j) of ``n`` items: every (i, i) genuine, and for each i ``impostors`` other items
    j != i drawn without repeats (seeded; all of them when n - 1 <= impostors). ``i`` indexes
    queries (x), ``j`` the gallery (partners y)."""
    if n < 2:
        raise ValueError("cross-domain verification needs at least two pairs")
    rng = np.random.default_rng([seed, 29])
    k = min(int(impostors), n - 1)
    # offsets 1..n-1 without repeats per row: j = (i + offset) % n is never i
    offsets = (
        np.stack([rng.choice(np.arange(1, n), k, replace=False) for _ in range(n)])
        if k < n - 1
        else (np.tile(np.arange(1, n), (n, 1)))
    )
    i_imp = np.repeat(np.arange(n), k)
    j_imp = (i_imp + offsets.reshape(-1)) % n
    i = np.concatenate([np.arange(n), i_imp]).astype(np.int64)
    j = np.concatenate([np.arange(n), j_imp]).astype(np.int64)
    same = np.concatenate([np.ones(n, bool), np.zeros(len(i_imp), bool)])
    return Pairs(i, j, same, "partners")


def evaluate_cross_codes(
    query: np.ndarray,
    gallery: np.ndarray,
    metric: str = "l2",
    seed: int = 0,
    pairs: Pairs | None = None,
    chunk: int = 100_000,
) -> Iterator[Progress]:
    """Verification of query codes (N, D) of x against gallery codes (N, D) of the partners y;
    yields Progress, returns a VerificationResult over :func:`partner_protocol` pairs."""
    query, gallery = np.asarray(query), np.asarray(gallery)
    if query.shape != gallery.shape:
        raise ValueError(f"query codes {query.shape} and gallery codes {gallery.shape} differ in shape")
    pairs = pairs if pairs is not None else partner_protocol(len(query), seed)
    scores = np.empty(len(pairs), dtype=np.float64)
    for s in range(0, len(pairs), chunk):
        e = min(len(pairs), s + chunk)
        scores[s:e] = code_scores(query[pairs.i[s:e]], gallery[pairs.j[s:e]], metric)
        yield Progress(step=e, total=len(pairs), message="scoring pairs")
    yield Progress(step=1, total=1, message="computing ROC")
    return summarise(pairs, scores, metric, seed)


__all__ = ["VerificationResult", "evaluate_cross_codes", "partner_protocol"]
