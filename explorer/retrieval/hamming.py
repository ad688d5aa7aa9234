"""Binary codes searched by Hamming distance: packing, an exact index and its bench.

Binary codes (from ``binae`` or ``textae binary=true``) arrive as float32 (N, bits) of 0.0 / 1.0.
:func:`pack_bits` packs them 8 to a byte, (N, ceil(bits / 8)) uint8 (256 bits: 32 bytes a code,
a 32nd of the float32 codes' memory). :class:`HammingIndex` answers k-NN queries over packed
codes exactly, by one of two engines:

- ``"faiss"``: ``faiss.IndexBinaryFlat`` (a popcount over 64-bit words in C++, one thread for a
  single query). Measured at 10^6 codes of 256 bits, one query: 3.2 ms (load 2);
- ``"numpy"``: XOR of the packed 64-bit words and ``np.bitwise_count`` column by column, then a
  partial sort: 14 ms for the distances alone at the same size. It ranks ties (common: Hamming
  distances are small integers) by the lower index; FAISS ranks the codes at the k-th distance
  in its heap's order.

``faiss`` is the default when it is installed (it is a dependency); both give the same distances.
For leave-one-out metrics over many queries :func:`explorer.retrieval.metrics.leave_one_out`
takes ``metric="hamming"``: on 0/1 codes the squared L2 distance *is* the Hamming distance, so
the metrics rank with the exact float search (a matrix product, ties to the lower index).
"""

from __future__ import annotations

import time

import numpy as np

ENGINES = ("faiss", "numpy")
SINGLE_THREAD_QUERIES = 4  # like KnnIndex: one query is memory-bound, a second thread only waits


def is_binary(codes: np.ndarray, sample: int | None = None) -> bool:
    """True when every value of ``codes`` (N, D) is exactly 0 or 1 (``sample``: check only that many
    seeded rows, for a cheap first look at big sets)."""
    x = np.asarray(codes)
    if x.ndim != 2 or x.size == 0:
        return False
    if sample is not None and len(x) > sample:
        x = x[np.sort(np.random.default_rng(0).choice(len(x), sample, replace=False))]
    return bool(np.all((x == 0) | (x == 1)))


def pack_bits(codes: np.ndarray) -> np.ndarray:
    """(N, bits) codes, 1 where > 0.5 -> (N, ceil(bits / 8)) uint8, first bit the highest."""
    x = np.asarray(codes)
    if x.ndim == 1:
        x = x[None]
    return np.ascontiguousarray(np.packbits(x > 0.5, axis=1))


def unpack_bits(packed: np.ndarray, bits: int) -> np.ndarray:
    """:func:`pack_bits` undone: (N, bytes) uint8 -> (N, bits) float32 of 0.0 / 1.0."""
    return np.unpackbits(np.asarray(packed, np.uint8), axis=1, count=bits).astype(np.float32)


def _words(packed: np.ndarray) -> np.ndarray:
    """(N, bytes) uint8 -> (N, ceil(bytes / 8)) uint64, zero-padded (XOR and popcount 8 bytes at once)."""
    n, b = packed.shape
    pad = (-b) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((n, pad), np.uint8)], axis=1)
    return np.ascontiguousarray(packed).view(np.uint64)


def hamming_distances(words: np.ndarray, query_words: np.ndarray) -> np.ndarray:
    """Hamming distance of one query (W,) uint64 to every row of ``words`` (N, W): (N,) uint16."""
    d = np.bitwise_count(words[:, 0] ^ query_words[0]).astype(np.uint16)
    for w in range(1, words.shape[1]):
        d += np.bitwise_count(words[:, w] ^ query_words[w])
    return d


def smallest_k(d: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest integer distances ``d`` (N,), nearest first, ties to the lower
    index: every index below the k-th distance, then the first ones at it (O(N), no full sort)."""
    counts = np.bincount(d, minlength=1)
    cum = np.cumsum(counts)
    t = int(np.searchsorted(cum, k))  # the k-th smallest distance
    below = np.flatnonzero(d < t)
    at = np.flatnonzero(d == t)[: k - len(below)]
    idx = np.concatenate([below, at])
    return idx[np.lexsort((idx, d[idx]))]


class HammingIndex:
    """Exact k nearest binary codes by Hamming distance.

    codes: (N, bits) of 0/1 (floats or bools), or already packed (N, bytes) uint8 with ``bits``
    given. engine: "faiss" (IndexBinaryFlat) or "numpy" (popcount); see the module docstring.
    """

    def __init__(self, codes: np.ndarray, bits: int | None = None, engine: str = "faiss") -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        codes = np.asarray(codes)
        if codes.ndim != 2:
            raise ValueError(f"codes must be (N, bits), got shape {codes.shape}")
        if bits is None:
            self.bits = codes.shape[1]
            self.packed = pack_bits(codes)
        else:
            if codes.dtype != np.uint8 or codes.shape[1] != -(-bits // 8):
                raise ValueError(f"packed codes of {bits} bits must be (N, {-(-bits // 8)}) uint8")
            self.bits, self.packed = int(bits), np.ascontiguousarray(codes)
        self.engine = engine
        self._words = _words(self.packed) if engine == "numpy" else None
        self._faiss = None
        if engine == "faiss":
            import faiss

            self._faiss = faiss.IndexBinaryFlat(8 * self.packed.shape[1])
            if len(self.packed):
                self._faiss.add(self.packed)

    @property
    def count(self) -> int:
        return len(self.packed)

    @property
    def nbytes(self) -> int:
        return int(self.packed.nbytes)

    def _pack_queries(self, queries: np.ndarray) -> np.ndarray:
        q = np.asarray(queries)
        q = q[None] if q.ndim == 1 else q
        if q.dtype == np.uint8 and q.shape[1] == self.packed.shape[1] and q.shape[1] != self.bits:
            return np.ascontiguousarray(q)
        if q.shape[1] != self.bits:
            raise ValueError(f"queries have {q.shape[1]} bits, the codes {self.bits}")
        return pack_bits(q)

    def search(
        self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest codes of each query by Hamming distance.

        queries: (Q, bits) 0/1, (bits,), or packed (Q, bytes) uint8. exclude: (Q,) index to leave
        out per query (-1: none). Returns (indices (Q, k) int64, distances (Q, k) float32 in bits),
        nearest first.
        """
        q = self._pack_queries(queries)
        k = int(min(k, self.count - (0 if exclude is None else 1)))
        if k <= 0:
            return np.zeros((len(q), 0), np.int64), np.zeros((len(q), 0), np.float32)
        ex = None if exclude is None else np.asarray(exclude, dtype=np.int64).reshape(-1)
        if self.engine == "faiss":
            return self._search_faiss(q, k, ex)
        out_i = np.empty((len(q), k), np.int64)
        out_d = np.empty((len(q), k), np.float32)
        for row, qw in enumerate(_words(q)):
            d = hamming_distances(self._words, qw)
            if ex is not None and ex[row] >= 0:
                d[ex[row]] = np.iinfo(d.dtype).max  # the query itself goes last
            idx = smallest_k(d, k)
            out_i[row], out_d[row] = idx, d[idx]
        return out_i, out_d

    def _search_faiss(self, q: np.ndarray, k: int, ex: np.ndarray | None):
        import faiss

        depth = min(self.count, k + (0 if ex is None else 1))
        before = faiss.omp_get_max_threads()
        if len(q) <= SINGLE_THREAD_QUERIES:
            faiss.omp_set_num_threads(1)
        try:
            d, idx = self._faiss.search(q, depth)
        finally:
            faiss.omp_set_num_threads(before)
        if ex is None:
            return idx[:, :k].astype(np.int64), d[:, :k].astype(np.float32)
        out_i = np.empty((len(q), k), np.int64)
        out_d = np.empty((len(q), k), np.float32)
        for row in range(len(q)):
            keep = idx[row] != ex[row]
            out_i[row] = idx[row][keep][:k]
            out_d[row] = d[row][keep][:k]
        return out_i, out_d


def bench_hamming(n: int, bits: int = 256, k: int = 10, repeats: int = 30, seed: int = 0) -> dict:
    """Median latency (ms) of one Hamming k-NN query over ``n`` seeded random codes of ``bits``:
    {"faiss_ms", "numpy_ms", "agree" (same distances), "n", "bits", "k", "bytes"}."""
    rng = np.random.default_rng(seed)
    packed = rng.integers(0, 256, (n, -(-bits // 8)), dtype=np.uint8)
    queries = packed[rng.choice(n, repeats, replace=False)].copy()
    queries[:, 0] ^= 1  # not exactly an item
    engines = {e: HammingIndex(packed, bits, engine=e) for e in ENGINES}
    times = {e: [] for e in ENGINES}
    agree = True
    for index in engines.values():
        index.search(queries[0], k)  # warm-up
    for qrow in queries:
        got = {}
        for e, index in engines.items():
            t0 = time.perf_counter()
            got[e] = index.search(qrow[None], k)
            times[e].append(time.perf_counter() - t0)
        agree = agree and np.array_equal(got["faiss"][1], got["numpy"][1])
    out = {f"{e}_ms": 1e3 * float(np.median(t)) for e, t in times.items()}
    return dict(out, n=n, bits=bits, k=k, bytes=int(packed.nbytes), agree=bool(agree))
