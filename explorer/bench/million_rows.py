"""Bench rows of issue 16: landmark layouts against the full fit, a million-point layout's
stages (section ``million``), and 10-NN queries at 10^7 codes, brute force against the FAISS
index (section ``million-knn``).

Codes are :func:`explorer.bench.codes.mixture_codes` (a seeded labelled mixture of 50-D sheets
whose classes overlap, so the codes' own 10-NN accuracy is below 1). Accuracies are 10-NN label
accuracy on a seeded sample of 5,000 points (neighbours among all points). Every timed row's
note gives the process CPU time (all threads) beside the wall time and the 1-minute load
average before and after: on a shared machine wall times move with the load, CPU times less.
"""

from __future__ import annotations

import os
import time

import numpy as np

from explorer.bench.codes import mixture_codes
from explorer.bench.plan import Plan
from explorer.bench.table import Row
from explorer.core.progress import run_to_end

ACC_SAMPLE = 5_000


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "?"


class _Clock:
    """Wall and process CPU seconds of a block, and the load average at its start and end."""

    def __enter__(self):
        self.load0 = _load()
        self.t0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0
        self.load1 = _load()

    def __str__(self) -> str:
        return f"wall {self.wall:.1f} s, CPU {self.cpu:.1f} s, load {self.load0} -> {self.load1}"


def _acc(points: np.ndarray, labels: np.ndarray) -> float:
    from explorer.projection import knn_label_accuracy

    return knn_label_accuracy(points, labels, sample=ACC_SAMPLE)


def _staged(gen) -> tuple[np.ndarray, dict]:
    """Run a landmark job to its end; (layout, its last stage metrics)."""
    metrics: dict = {}
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            return stop.value, metrics
        if rec.metrics:
            metrics = dict(rec.metrics)


def landmark_rows(plan: Plan, methods: tuple[str, ...] = ("tsne", "umap")) -> list[Row]:
    """t-SNE and UMAP (``methods``) of ``plan.million_landmark_n`` codes: the landmark path
    against the full fit (time ratio, 10-NN label accuracy)."""
    from explorer.projection.landmark_layout import landmark_job
    from explorer.projection.tsne import tsne_job
    from explorer.projection.umap_layout import umap_job

    n = plan.million_landmark_n
    if n <= 0:
        return []
    codes, labels = mixture_codes(n)
    m = None if n >= 100_000 else max(300, n // 10)  # None: the defaults (landmark_levels)
    rows = []
    codes_acc = _acc(codes, labels)
    for method, label in (("tsne", "t-SNE"), ("umap", "UMAP")):
        if method not in methods:
            continue
        with _Clock() as ours_c:
            ours, stages = _staged(
                landmark_job(codes, method, seed=0, labels=labels, landmarks=m, threshold=0)
            )
        with _Clock() as full_c:
            full = run_to_end(
                tsne_job(codes, seed=0) if method == "tsne" else umap_job(codes, seed=0, preview=False)
            )
        ours_s, full_s = ours_c.wall, full_c.wall
        acc_o, acc_f = _acc(ours, labels), _acc(full, labels)
        note = (
            f"mixture codes {n:,} x 50; landmark path: {int(stages.get('landmarks', 0)):,} landmarks, "
            f"landmark layout at {stages.get('landmark_s', float('nan')):.1f} s, all placed at "
            f"{stages.get('placed_s', float('nan')):.1f} s, {ours_c}; full fit: {full_c} (CPU ratio "
            f"{ours_c.cpu / max(full_c.cpu, 1e-9):.2f}); reference: the full fit as the app ran it "
            f"before (openTSNE defaults / umap-learn's pipeline)"
        )
        rows.append(
            Row(
                f"{label} of {n:,} codes: landmark path vs full fit",
                ours_s,
                full_s,
                "s",
                "ratio <= 0.2",
                ours_s / full_s <= 0.2,
                True,
                note,
            )
        )
        rows.append(
            Row(
                f"{label} of {n:,} codes: 10-NN label accuracy, landmark vs full",
                acc_o,
                acc_f,
                "",
                ">= full - 0.02",
                acc_o >= acc_f - 0.02,
                False,
                f"on a seeded sample of {ACC_SAMPLE:,} points; the codes themselves: {codes_acc:.3f}",
            )
        )
    return rows


def million_layout_rows(plan: Plan, methods: tuple[str, ...] = ("tsne", "umap")) -> list[Row]:
    """t-SNE and UMAP (``methods``) of ``plan.million_layout_n`` codes (the `explorer project`
    path): seconds to the first frame, to the landmark layout and to the finished layout; 10-NN
    accuracy."""
    from explorer.projection import project_job

    n = plan.million_layout_n
    if n <= 0:
        return []
    codes, labels = mixture_codes(n)
    codes_acc = _acc(codes, labels)
    rows = []
    for method, label in (("tsne", "t-SNE"), ("umap", "UMAP")):
        if method not in methods:
            continue
        with _Clock() as clock:
            layout, st = _staged(project_job(codes, method, seed=0, labels=labels))
        done = clock.wall
        acc = _acc(layout, labels)
        rows += [
            Row(
                f"{label} of {n:,} codes: first frame",
                st.get("first_frame_s"),
                None,
                "s",
                "< 1 s",
                (st.get("first_frame_s") or 99) < 1.0,
                True,
                "a PCA frame (PCA of a 20,000-point sample)",
            ),
            Row(
                f"{label} of {n:,} codes: landmark layout",
                st.get("landmark_s"),
                None,
                "s",
                "(none)",
                None,
                True,
                f"{int(st.get('landmarks', 0)):,} landmarks fitted",
            ),
            Row(
                f"{label} of {n:,} codes: finished layout",
                done,
                None,
                "s",
                "< 300 s",
                done < 300,
                True,
                f"all placed at {st.get('placed_s', float('nan')):.1f} s, then refined over the kNN graph; "
                f"{clock}",
            ),
            Row(
                f"{label} of {n:,} codes: 10-NN label accuracy / the codes'",
                acc,
                codes_acc,
                "",
                "ratio >= 0.95",
                acc >= 0.95 * codes_acc,
                False,
                f"on a seeded sample of {ACC_SAMPLE:,} points",
            ),
        ]
    return rows


def clustered_codes(n: int, d: int, seed: int = 0, clusters: int = 1000) -> np.ndarray:
    """(n, d) float32 codes around ``clusters`` seeded centres, made block by block."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(clusters, d)).astype(np.float32)
    out = np.empty((n, d), np.float32)
    for start in range(0, n, 1_000_000):
        stop = min(n, start + 1_000_000)
        out[start:stop] = centres[rng.integers(0, clusters, stop - start)]
        out[start:stop] += rng.standard_normal((stop - start, d), dtype=np.float32)
    return out


def ann_rows(plan: Plan) -> list[Row]:
    """One 10-NN query over ``plan.million_knn_n`` x ``plan.million_knn_d`` codes: exact brute
    force (KnnIndex) against the FAISS index (median ms, recall@10 against brute force)."""
    from explorer.retrieval import KnnIndex
    from explorer.retrieval.ann import build_job, recall_at_k

    n, d = plan.million_knn_n, plan.million_knn_d
    if n <= 0:
        return []
    x = clustered_codes(n, d)
    exact = KnnIndex(x)
    t0 = time.perf_counter()
    ann = run_to_end(build_job(x, seed=0))
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    nq = plan.million_knn_queries
    q = x[rng.choice(n, nq, replace=False)] + rng.normal(scale=0.1, size=(nq, d)).astype(np.float32)
    exact.search(q[0], 10)
    ann.search(q[0], 10)
    ex_t, an_t, truth, found = [], [], [], []
    for row in q:
        t = time.perf_counter()
        i, _ = exact.search(row, 10)
        ex_t.append(1e3 * (time.perf_counter() - t))
        t = time.perf_counter()
        j, _ = ann.search(row, 10)
        an_t.append(1e3 * (time.perf_counter() - t))
        truth.append(i[0])
        found.append(j[0])
    recall = recall_at_k(np.array(found), np.array(truth))
    ours, ref = float(np.median(an_t)), float(np.median(ex_t))
    note = (
        f"{ann.about.get('kind')}, nprobe {ann.nprobe} (recall@10 {ann.recall_at_10:.3f} measured at "
        f"build on {ann.recall_queries} seeded queries), built in {build_s:.0f} s; {len(q)} seeded queries; "
        f"reference: exact brute force (explorer.retrieval.KnnIndex)"
    )
    return [
        Row(
            f"10-NN query over {n:,} x {d} codes: FAISS index vs brute force",
            ours,
            ref,
            "ms",
            "< 30 ms",
            ours < 30.0,
            True,
            note,
        ),
        Row(
            f"10-NN query over {n:,} x {d} codes: recall@10 of the index",
            recall,
            1.0,
            "",
            ">= 0.95",
            recall >= 0.95,
            False,
            "share of the exact 10 nearest the index returns",
        ),
    ]


def million_rows(plan: Plan) -> list[Row]:
    """Section ``million``: landmark layouts against the full fit, and the 10^6 layouts."""
    return landmark_rows(plan) + million_layout_rows(plan)
