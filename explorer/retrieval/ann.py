"""Approximate neighbours for galleries too big for brute force: a FAISS inverted-file index.

Exact search (:class:`~explorer.retrieval.search.KnnIndex`) reads every code for every query, so
its time grows with N x D: at about ``EXACT_MAX_FLOATS`` floats (10^6 codes of 64 dimensions on
these 2 cores) one query takes about 30 ms. Above that, :func:`build_job` builds an index
following FAISS's "Guidelines to choose an index": HNSW would add (M * 2 * 4) bytes per vector
on top of the vectors (M = 32: +2.56 GB at 10^7 codes) and takes long to build on 2 cores, so an
inverted file (``IVF{nlist}``) is used instead, its ``nlist`` = 4 sqrt(N) cells rounded to a power
of two (at most 16,384) and k-means-trained on a seeded sample, the coarse assignment through an
HNSW graph of the centroids (``IVF{nlist}_HNSW32``), and the vectors stored as 8-bit scalar codes
(``SQ8``: a quarter of the float32 size). Candidates (``rerank`` x k of them) are then re-ranked
with exact distances to the float32 codes, which the caller holds anyway, so the distances
returned are exact and only a true neighbour the index never proposed can be missed.

The build is a generator (train, add in blocks, measure) so a worker thread can run it with a
progress bar and cancel it; its last step measures recall@10 against brute force on a seeded
sample of queries (``recall_queries``) and picks the smallest ``nprobe`` that reaches
``target_recall``. :meth:`AnnIndex.save` writes the index (temp file + rename) and a JSON beside
it saying what made it; :func:`index_path` puts it beside the codes cache
(``cache_dir("codes", key)``), keyed by the codes' fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from explorer.core.paths import cache_dir
from explorer.core.progress import Progress
from explorer.retrieval.search import METRICS, KnnIndex, _normalise

EXACT_MAX_FLOATS = 64_000_000  # N x D above which one brute-force query takes more than ~30 ms
ADD_BLOCK = 262_144
NPROBES = (8, 16, 32, 64, 128, 256)


def free_cores() -> int:
    """Cores not already busy (1-minute load average), at least 1: FAISS's OpenMP threads spin
    at every barrier, so on cores other work holds a second thread costs more than it gives."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    return int(max(1, min(cores, round(cores - busy + 1))))


MIN_INDEXED = 25_000  # below, 4 sqrt(N) cells get fewer than the 39 points each FAISS k-means asks for


def wants_index(n: int, d: int) -> bool:
    """True when ``n`` codes of ``d`` dimensions are too many for a 30 ms brute-force query and
    enough to train an inverted file on (a few hundred photos of 300,000 pixels each are many
    floats but few codes: brute force reads them in tens of milliseconds, k-means would not learn)."""
    return n * d > EXACT_MAX_FLOATS and n >= MIN_INDEXED


def cell_count(n: int) -> int:
    """4 sqrt(N) cells (FAISS's guideline is 4-16 sqrt(N)), a power of two, 64..16,384."""
    return int(min(16384, max(64, 2 ** round(np.log2(max(1.0, 4.0 * np.sqrt(n)))))))


def fingerprint(codes: np.ndarray) -> str:
    """A short hex key of the codes: shape, dtype and a seeded sample of 4,096 rows."""
    x = np.asarray(codes)
    rows = np.random.default_rng(0).choice(len(x), min(4096, len(x)), replace=False) if len(x) else []
    h = hashlib.sha256(f"{x.shape}{x.dtype}".encode())
    h.update(np.ascontiguousarray(x[np.sort(rows)]).tobytes())
    return h.hexdigest()[:24]


def index_path(codes: np.ndarray, metric: str = "l2", key: str | None = None) -> str:
    """Where the index of ``codes`` lives: ``cache_dir("codes", key)/ann-<metric>.faiss``, beside
    the codes cache of the same key (the codes' :func:`fingerprint` when no key is given)."""
    return os.path.join(cache_dir("codes", key or fingerprint(codes)), f"ann-{metric}.faiss")


@dataclass
class AnnIndex:
    """A FAISS IVF index over ``codes`` (N, D) with exact re-ranking; see the module docstring."""

    index: object
    codes: np.ndarray  # (N, D) float32, normalised for cosine
    metric: str = "l2"
    nprobe: int = 16
    rerank: int = 4
    recall_at_10: float | None = None  # measured against brute force on a sample of queries
    recall_queries: int = 0
    about: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.codes)

    def search(
        self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None, nprobe: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`KnnIndex.search`: (Q, D) or (D,) queries -> (indices (Q, k) int64,
        distances (Q, k) float32, exact, nearest first). ``exclude``: (Q,) index to leave out."""
        q = np.asarray(queries, dtype=np.float32)
        q = q[None] if q.ndim == 1 else q
        if self.metric == "cosine":
            q = _normalise(q).astype(np.float32)
        q = np.ascontiguousarray(q)
        k = int(min(k, self.count - (0 if exclude is None else 1)))
        if k <= 0:
            return np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)
        self.index.nprobe = int(nprobe or self.nprobe)
        depth = int(min(self.count, self.rerank * k + 1))
        _, cand = self.index.search(q, depth)  # (Q, depth), -1 where a probe found fewer
        out_i = np.full((len(q), k), -1, dtype=np.int64)
        out_d = np.full((len(q), k), np.inf, dtype=np.float32)
        for row in range(len(q)):  # exact distances of each query's few candidates
            c = cand[row]
            c = c[c >= 0]
            if exclude is not None and exclude[row] >= 0:
                c = c[c != exclude[row]]
            diff = self.codes[c] - q[row]
            d2 = np.einsum("nd,nd->n", diff, diff)
            order = np.lexsort((c, d2))[:k]
            out_i[row, : len(order)] = c[order]
            dist = np.sqrt(d2[order]) if self.metric == "l2" else d2[order] * 0.5
            out_d[row, : len(order)] = dist
        return out_i, out_d

    def save(self, path: str) -> str:
        """Write the index to ``path`` (temp file + rename) and ``path + '.json'`` beside it."""
        import faiss

        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
        faiss.write_index(self.index, tmp)
        os.replace(tmp, path)
        about = dict(
            self.about,
            metric=self.metric,
            nprobe=self.nprobe,
            rerank=self.rerank,
            recall_at_10=self.recall_at_10,
            recall_queries=self.recall_queries,
            fingerprint=fingerprint(self.codes),
            count=self.count,
            dim=int(self.codes.shape[1]),
        )
        meta_tmp = tmp + ".json"
        with open(meta_tmp, "w", encoding="utf-8") as f:
            json.dump(about, f, indent=1)
        os.replace(meta_tmp, path + ".json")
        return path


def load(path: str, codes: np.ndarray) -> AnnIndex | None:
    """The index saved at ``path`` for these ``codes``, or None when it is missing, unreadable or
    was made from other codes (a stale cache is rebuilt, not trusted)."""
    import faiss

    try:
        with open(path + ".json", encoding="utf-8") as f:
            about = json.load(f)
        x = _prepared(codes, about.get("metric", "l2"))
        if about.get("fingerprint") != fingerprint(x) or about.get("count") != len(x):
            return None
        index = faiss.read_index(path)
    except (OSError, ValueError, RuntimeError):
        return None
    return AnnIndex(
        index,
        x,
        about["metric"],
        int(about["nprobe"]),
        int(about.get("rerank", 4)),
        about.get("recall_at_10"),
        int(about.get("recall_queries", 0)),
        about,
    )


def _prepared(codes: np.ndarray, metric: str) -> np.ndarray:
    x = np.ascontiguousarray(codes, dtype=np.float32)
    return np.ascontiguousarray(_normalise(x), dtype=np.float32) if metric == "cosine" else x


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each row of ``truth`` (Q, k) found in the same row of ``found`` (Q, k)."""
    k = truth.shape[1]
    return float(np.mean([len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(found, truth)]))


def build_job(
    codes: np.ndarray,
    metric: str = "l2",
    seed: int = 0,
    nlist: int | None = None,
    train_size: int | None = None,
    recall_queries: int = 200,
    target_recall: float = 0.95,
    threads: int | None = None,
) -> Iterator[Progress]:
    """(N, D) codes -> yields Progress (train, add, measure), returns an :class:`AnnIndex`.

    ``nlist`` defaults to :func:`cell_count`; k-means trains on ``train_size`` seeded rows
    (default 32 per cell, at least 10,000). The last step searches ``recall_queries`` seeded
    codes (leave-one-out) with each ``nprobe`` in NPROBES until recall@10 against brute force
    reaches ``target_recall``; that ``nprobe`` and its recall go with the index.
    """
    import faiss

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    x = _prepared(codes, metric)
    n, d = x.shape
    nlist = int(nlist or cell_count(n))
    rng = np.random.default_rng(seed)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(threads or free_cores()))
    try:
        t0 = time.perf_counter()
        total = 2 + (n + ADD_BLOCK - 1) // ADD_BLOCK
        yield Progress(step=0, total=total, message=f"index: training {nlist:,} cells")
        quantizer = faiss.IndexHNSWFlat(d, 32)
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit)
        index.cp.seed = int(seed)
        index.cp.niter = 10
        size = int(min(n, train_size or max(10_000, 32 * nlist)))
        index.cp.max_points_per_centroid = max(1, size // nlist + 1)  # no silent resampling
        # 32 a cell is our choice (FAISS asks 39 and prints a warning below it): say so to it
        index.cp.min_points_per_centroid = max(1, min(39, size // nlist))
        sample = x[np.sort(rng.choice(n, size, replace=False))]
        index.train(sample)
        del sample
        step = 1
        yield Progress(step=step, total=total, message="index: adding codes")
        for start in range(0, n, ADD_BLOCK):
            index.add(x[start : start + ADD_BLOCK])
            step += 1
            yield Progress(
                step=step, total=total, message=f"index: added {min(n, start + ADD_BLOCK):,}/{n:,}"
            )
        build_s = time.perf_counter() - t0
        ann = AnnIndex(
            index,
            x,
            metric,
            about={
                "nlist": nlist,
                "train_size": size,
                "build_s": round(build_s, 2),
                "kind": f"IVF{nlist}_HNSW32,SQ8 + exact re-rank",
            },
        )
        q = np.sort(rng.choice(n, min(recall_queries, n), replace=False))
        truth, _ = KnnIndex(x, "l2").search(x[q], 10, exclude=q)
        for nprobe in NPROBES:
            if nprobe > nlist:
                break
            found, _ = ann.search(x[q], 10, exclude=q, nprobe=nprobe)
            ann.nprobe, ann.recall_at_10 = nprobe, recall_at_k(found, truth)
            message = f"index: recall@10 {ann.recall_at_10:.3f} at nprobe {nprobe}"
            yield Progress(
                step=step, total=total, message=message, metrics={"recall_at_10": ann.recall_at_10}
            )
            if ann.recall_at_10 >= target_recall:
                break
        ann.recall_queries = len(q)
        yield Progress(
            step=total, total=total, message="index: ready", metrics={"recall_at_10": ann.recall_at_10}
        )
        return ann
    finally:
        faiss.omp_set_num_threads(before)


def neighbour_index_job(
    codes: np.ndarray, metric: str = "l2", key: str | None = None, save: bool = True, **build
) -> Iterator[Progress]:
    """The right search for ``codes``: the exact :class:`KnnIndex` when :func:`wants_index` is
    False, else the saved :class:`AnnIndex` beside the codes cache (built and saved on first use).
    Yields Progress, returns the index (both answer ``search(queries, k, exclude)``)."""
    x = np.asarray(codes, dtype=np.float32)
    if not wants_index(*x.shape):
        yield Progress(step=1, total=1, message="exact search")
        return KnnIndex(x, metric)
    path = index_path(x, metric, key)
    ann = load(path, x)
    if ann is not None:
        yield Progress(step=1, total=1, message="index: loaded")
        return ann
    ann = yield from build_job(x, metric, **build)
    if save:
        ann.save(path)
    return ann
