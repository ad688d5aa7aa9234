"""Exact k-nearest-neighbour search over codes, L2 or cosine, in bounded memory.

Squared L2 distances come from ``||q||² - 2 q·x + ||x||²`` with the gallery norms computed once,
so a query is one matrix-vector product (torch on CPU, which uses every core) plus a top-k
selection. Many queries go in blocks whose distance matrix stays under a fixed budget.
Cosine distance is ``1 - cos``: codes are normalised once and ranked by their dot product.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

from explorer.core.progress import Progress

METRICS = ("l2", "cosine")
RETRIEVAL_METRICS = (*METRICS, "hamming")  # leave_one_out also ranks binary codes by Hamming distance
# floats in one block's distance matrix (32 MB): bounds memory whatever the gallery size
BLOCK_BUDGET = 8_000_000
# blocks of at most this many queries (the GUI's one query) run on one thread: a matrix-vector
# product is memory-bound, and on busy cores waiting for a second thread costs far more than it
# gains (measured on 2 shared cores: 1.0 ms with one thread vs 28 ms with two at 100,000 codes)
SINGLE_THREAD_QUERIES = 4


@contextmanager
def _threads(n: int | None):
    """Run torch on ``n`` threads in this thread only (OpenMP settings are per thread)."""
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _as_codes(codes: np.ndarray) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (N, D), got shape {codes.shape}")
    return np.ascontiguousarray(codes)


def _normalise(codes: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(codes, axis=1, keepdims=True)
    return codes / np.maximum(norms, np.float32(1e-12))


class KnnIndex:
    """Exact nearest neighbours of queries among ``codes`` (N, D).

    metric "l2": Euclidean distance; "cosine": 1 - cosine similarity.
    The gallery is kept as float32 with its squared norms, shared with torch without a copy.
    """

    def __init__(self, codes: np.ndarray, metric: str = "l2") -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
        self.metric = metric
        codes = _as_codes(codes)
        if metric == "cosine":
            codes = np.ascontiguousarray(_normalise(codes), dtype=np.float32)
        self.codes = codes
        self._x = torch.from_numpy(codes)  # (N, D), shares memory
        self._sq = torch.from_numpy(np.einsum("nd,nd->n", codes, codes).astype(np.float32))  # (N,)
        # squared distances under this are rounding (codes that differ in their last float32 bits,
        # a dropped file decoded to the item's own pixels by another path): (1e-6 x the largest norm)²
        self._resolution = float(1e-12 * self._sq.max()) if len(codes) else 0.0

    @property
    def count(self) -> int:
        return len(self.codes)

    @property
    def dim(self) -> int:
        return self.codes.shape[1]

    def _prepare(self, queries: np.ndarray) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None]
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have {q.shape[1]} dimensions, the codes {self.dim}")
        return _normalise(q).astype(np.float32) if self.metric == "cosine" else q

    def distances(self, queries: np.ndarray) -> np.ndarray:
        """Full (Q, N) float32 distance matrix; only for small Q×N (tests, metrics blocks)."""
        q = torch.from_numpy(np.ascontiguousarray(self._prepare(queries)))
        return self._finish(self._ranking_scores(q) + (q * q).sum(1, keepdim=True)).numpy()

    def _ranking_scores(self, q: torch.Tensor) -> torch.Tensor:
        """(Q, N) scores that order like squared distances: ||x||² - 2 q·x (||q||² left out)."""
        if len(q) == 1:  # one query: a matrix-vector product reads the codes once, no gemm set-up
            return torch.addmv(self._sq, self._x, q[0], beta=1.0, alpha=-2.0).unsqueeze(0)
        return torch.addmm(self._sq.unsqueeze(0), q, self._x.T, beta=1.0, alpha=-2.0)

    def _finish(self, sq_dist: torch.Tensor) -> torch.Tensor:
        """Squared distances (clamped at 0) -> the metric's distance."""
        sq_dist = sq_dist.clamp_min(0.0)
        return sq_dist.sqrt() if self.metric == "l2" else sq_dist * 0.5  # |a-b|²/2 = 1-cos

    def search(
        self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest codes of each query.

        queries: (Q, D) or (D,). exclude: (Q,) gallery index to leave out per query (the query
        itself for leave-one-out), -1 for none. Returns (indices (Q, k) int64, distances (Q, k)
        float32), nearest first; ties go to the lower index.
        """
        q = self._prepare(queries)
        k = int(min(k, self.count - (0 if exclude is None else 1)))
        if k <= 0:
            return np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)
        block = max(1, BLOCK_BUDGET // max(1, self.count))
        out_i = np.empty((len(q), k), dtype=np.int64)
        out_d = np.empty((len(q), k), dtype=np.float32)
        for start in range(0, len(q), block):
            stop = min(len(q), start + block)
            ex = None if exclude is None else np.asarray(exclude[start:stop])
            out_i[start:stop], out_d[start:stop] = self._search_block(q[start:stop], k, ex)
        return out_i, out_d

    def _search_block(self, q: np.ndarray, k: int, exclude: np.ndarray | None):
        with _threads(1 if len(q) <= SINGLE_THREAD_QUERIES else None):
            return self._search_block_now(q, k, exclude)

    def _search_block_now(self, q: np.ndarray, k: int, exclude: np.ndarray | None):
        qt = torch.from_numpy(np.ascontiguousarray(q))
        scores = self._ranking_scores(qt)  # (B, N)
        if exclude is not None:
            rows = np.nonzero(exclude >= 0)[0]
            scores[torch.from_numpy(rows), torch.from_numpy(exclude[rows])] = float("inf")
        # a few spare candidates so ties at the k-th place can be settled by index below
        kk = min(self.count, k + 8)
        _, idx = torch.topk(scores, kk, dim=1, largest=False, sorted=False)
        # the candidates' squared distances again from their differences: ||x||² - 2 q·x + ||q||²
        # cancels to float32's rounding of ||x||² (a query's own image came back at d 0.0014 on
        # 8x8 pixels), and near-ties could swap by it
        diff = self._x[idx] - qt[:, None, :]  # (B, kk, D), a few rows a query
        sq = torch.einsum("bkd,bkd->bk", diff, diff).numpy()
        idx = idx.numpy()
        order = np.lexsort((idx, sq), axis=1)[:, :k]  # by distance, then index
        idx = np.take_along_axis(idx, order, 1)
        sq = np.take_along_axis(sq, order, 1)
        sq[sq < self._resolution] = 0.0  # below float32's resolution at the codes' scale: equal
        dist = self._finish(torch.from_numpy(sq)).numpy()
        return idx.astype(np.int64), dist.astype(np.float32)

    def search_job(
        self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> Iterator[Progress]:
        """:meth:`search` as a job for big query sets: yields Progress, returns (indices, distances)."""
        q = np.asarray(queries, dtype=np.float32)
        q = q[None] if q.ndim == 1 else q
        block = max(1, BLOCK_BUDGET // max(1, self.count))
        parts_i, parts_d = [], []
        for start in range(0, len(q), block):
            stop = min(len(q), start + block)
            ex = None if exclude is None else np.asarray(exclude)[start:stop]
            i, d = self.search(q[start:stop], k, ex)
            parts_i.append(i)
            parts_d.append(d)
            yield Progress(step=stop, total=len(q), message="searching")
        if not parts_i:
            return np.zeros((0, 0), np.int64), np.zeros((0, 0), np.float32)
        return np.concatenate(parts_i), np.concatenate(parts_d)


def knn(
    codes: np.ndarray, queries: np.ndarray, k: int, metric: str = "l2", exclude=None
) -> tuple[np.ndarray, np.ndarray]:
    """One-shot :meth:`KnnIndex.search` (builds the index each call)."""
    return KnnIndex(codes, metric).search(queries, k, exclude)


def numpy_brute_force(codes: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The plain reference: every distance with numpy, then argpartition + sort of the top k."""
    d = np.sqrt(((codes - query[None]) ** 2).sum(1))
    top = np.argpartition(d, k)[:k]
    top = top[np.argsort(d[top], kind="stable")]
    return top, d[top]


def bench_query(n: int, d: int, k: int = 10, repeats: int = 30, seed: int = 0) -> dict:
    """Median latency (ms) of one L2 query over ``n`` random codes of ``d`` dims.

    Returns {"n", "d", "k", "ms" (this engine), "numpy_ms" (plain numpy brute force),
    "speedup", "agree" (same top-k)}. The index is built once, outside the timing, as the GUI does.
    """
    rng = np.random.default_rng(seed)
    codes = rng.standard_normal((n, d), dtype=np.float32)
    queries = rng.standard_normal((repeats, d), dtype=np.float32)
    index = KnnIndex(codes)
    index.search(queries[0], k)  # warm-up
    ours, ref, agree = [], [], True
    for q in queries:
        t0 = time.perf_counter()
        i, _ = index.search(q, k)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        j, _ = numpy_brute_force(codes, q, k)
        ref.append(time.perf_counter() - t0)
        agree = agree and set(i[0].tolist()) == set(j.tolist())
    ms, numpy_ms = 1e3 * float(np.median(ours)), 1e3 * float(np.median(ref))
    return {
        "n": n,
        "d": d,
        "k": k,
        "ms": ms,
        "numpy_ms": numpy_ms,
        "speedup": numpy_ms / ms if ms > 0 else float("inf"),
        "agree": bool(agree),
    }
