"""Bench rows of binary codes (issue 18 item 4): one Hamming 10-NN query at 10^6 codes.

Both rows run in one process on the same seeded data, so their ratios hold on a busy machine:
FAISS's IndexBinaryFlat (the engine the retrieval view uses) against numpy popcount, and the same
Hamming query against an exact float query (KnnIndex) over float codes of the same items.
"""

from __future__ import annotations

import time

import numpy as np

from explorer.bench.plan import Plan
from explorer.bench.table import Row


def hamming_rows(plan: Plan) -> list[Row]:
    from explorer.retrieval import KnnIndex
    from explorer.retrieval.hamming import bench_hamming

    n, bits, d, repeats = plan.hamming_n, plan.hamming_bits, plan.hamming_float_d, plan.hamming_repeats
    if n <= 0:
        return []
    r = bench_hamming(n, bits, k=10, repeats=repeats, seed=0)
    rng = np.random.default_rng(0)
    floats = rng.standard_normal((n, d), dtype=np.float32)
    queries = rng.standard_normal((repeats, d), dtype=np.float32)
    index = KnnIndex(floats)
    index.search(queries[0], 10)  # warm-up
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q, 10)
        times.append(time.perf_counter() - t0)
    float_ms = 1e3 * float(np.median(times))
    what = f"{n:,} codes of {bits} bits ({r['bytes'] / 1e6:.0f} MB packed)"
    return [
        Row(
            f"Hamming 10-NN query over {what}: FAISS IndexBinaryFlat vs numpy popcount",
            r["faiss_ms"],
            r["numpy_ms"],
            "ms",
            "< 30 ms",
            r["faiss_ms"] < 30.0 and r["agree"],
            True,
            f"median of {repeats} seeded queries, one thread; same distances: {r['agree']}",
        ),
        Row(
            f"10-NN query over {n:,} items: {bits}-bit Hamming vs {d}-d float codes (exact L2)",
            r["faiss_ms"],
            float_ms,
            "ms",
            "ratio <= 1",
            r["faiss_ms"] <= float_ms,
            True,
            f"reference: explorer.retrieval.KnnIndex over {n:,} x {d} float32 "
            f"({n * d * 4 / 1e6:.0f} MB), median of {repeats} queries",
        ),
    ]
