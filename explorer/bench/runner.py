"""Run every bench section, survive the ones that fail, and describe the machine."""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from typing import Callable

from explorer.bench.plan import Plan
from explorer.bench.table import Row


def _gui(name: str) -> Callable[[Plan], list[Row]]:
    def call(plan: Plan) -> list[Row]:
        from explorer.bench import gui

        return getattr(gui, name)(plan)

    return call


def _rows(name: str) -> Callable[[Plan], list[Row]]:
    def call(plan: Plan) -> list[Row]:
        from explorer.bench import rows

        return getattr(rows, name)(plan)

    return call


def _app_stalls(plan: Plan) -> list[Row]:
    from explorer.bench.gui_stalls import app_stall_rows

    return app_stall_rows(plan)


def _startup(plan: Plan) -> list[Row]:
    from explorer.bench.gui_startup import startup_rows

    return startup_rows(plan)


def _collections(plan: Plan) -> list[Row]:
    from explorer.bench.collection_rows import collection_rows

    return collection_rows(plan)


def _inspection(plan: Plan) -> list[Row]:
    from explorer.bench.inspection_rows import inspection_rows

    return inspection_rows(plan)


def _cluster(plan: Plan) -> list[Row]:
    from explorer.bench.cluster_rows import cluster_rows

    return cluster_rows(plan)


def _isolation(plan: Plan) -> list[Row]:
    from explorer.bench.isolation_rows import isolation_rows

    return isolation_rows(plan)


def _million(plan: Plan) -> list[Row]:
    from explorer.bench.million_rows import million_rows

    return million_rows(plan)


def _hamming(plan: Plan) -> list[Row]:
    from explorer.bench.hamming_rows import hamming_rows

    return hamming_rows(plan)


def _unseen(plan: Plan) -> list[Row]:
    from explorer.bench.unseen_rows import unseen_rows

    return unseen_rows(plan)


def _million_knn(plan: Plan) -> list[Row]:
    from explorer.bench.million_rows import ann_rows

    return ann_rows(plan)


def _analogy(plan: Plan) -> list[Row]:
    from explorer.bench.analogy_rows import analogy_rows

    return analogy_rows(plan)


def _million_gui(plan: Plan) -> list[Row]:
    from explorer.bench.gui_million import scatter_million_rows

    return scatter_million_rows(plan)


# (key, measure shown if the whole section fails, unit, target, lower is better, function)
SECTIONS: list[tuple[str, str, str, str, bool, Callable[[Plan], list[Row]]]] = [
    ("scatter", "scatter pan/zoom frame", "ms", "< 10 ms / < 50 ms", True, _gui("scatter_rows")),
    ("tsne", "t-SNE to a finished layout", "s", "no slower", True, _rows("tsne_rows")),
    ("umap", "UMAP, second start in a fresh process", "s", "no slower", True, _rows("umap_rows")),
    ("knn", "exact k-NN query", "ms", "< 30 ms", True, _rows("knn_rows")),
    (
        "training",
        "training throughput: GUI worker vs `explorer train`",
        "items/s",
        "ratio >= 0.95",
        False,
        _gui("training_rows"),
    ),
    ("stall", "longest GUI event-loop stall, training + t-SNE", "ms", "< 50 ms", True, _gui("stall_rows")),
    ("app-stall", "longest GUI stall in the app", "ms", "< 50 ms", True, _app_stalls),
    ("encode", "encode throughput", "img/s", "(none)", False, _rows("encode_rows")),
    (
        "inspect",
        "inspection: planted label flips and near-copies",
        "recall",
        ">= cleanlab",
        False,
        _inspection,
    ),
    (
        "cluster",
        "Ray engine: encode throughput vs the local engine",
        "img/s",
        "ratio >= 0.7",
        False,
        _cluster,
    ),
    (
        "startup",
        "start-up: `explorer` to a window shown (the splash)",
        "s",
        "< 2 s",
        True,
        _startup,
    ),
    ("isolation", "external model in a child process vs in-process", "s", "(none)", True, _isolation),
    ("million", "landmark layouts vs full fits, layouts of 10^6 codes", "s", "ratio <= 0.2", True, _million),
    ("million-knn", "10-NN query at 10^7 codes: FAISS vs brute force", "ms", "< 30 ms", True, _million_knn),
    ("hamming", "Hamming 10-NN query over 10^6 binary codes", "ms", "< 30 ms", True, _hamming),
    (
        "unseen",
        "verification of classes never seen in training, vs pixels",
        "AUC",
        ">= 0.95",
        False,
        _unseen,
    ),
    ("analogy", "next-view analogy on unseen turning objects", "nmse", "ratio <= 0.5", True, _analogy),
    ("million-scatter", "scatter of 10^7 points: frame, lasso, index", "ms", "< 30 ms", True, _million_gui),
    (
        "collections",
        "big photo folders: info, first thumbnails, encode, reopen",
        "s",
        "< 2 s",
        True,
        _collections,
    ),
]


def machine() -> dict:
    """nproc, CPU model, Python, platform and the load average now."""
    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return {
        "nproc": cores,
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "loadavg": load_average(),
    }


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def run_bench(plan: Plan, only: list[str] | None = None, log=None) -> dict:
    """Every section of ``SECTIONS`` (or the ``only`` keys) -> {"plan", "machine", "rows", ...}.

    A section that raises becomes one row with ``met: null`` and the error in its note."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    started = time.perf_counter()
    info = machine()
    rows: list[Row] = []
    for key, measure, unit, target, lower, fn in SECTIONS:
        if only and key not in only:
            continue
        t0 = time.perf_counter()
        log(f"bench: {key} ... (load average {load_average()})")
        try:
            got = fn(plan)
        except Exception as err:  # a broken section must not cost the whole table
            traceback.print_exc(file=sys.stderr)
            got = [
                Row(measure, None, None, unit, target, None, lower, f"failed: {type(err).__name__}: {err}")
            ]
        for row in got:
            row.note = f"{row.note}; section took {time.perf_counter() - t0:.0f} s".lstrip("; ")
        rows.extend(got)
        log(f"bench: {key} done in {time.perf_counter() - t0:.1f} s")
    return {
        "plan": plan.name,
        "machine": info,
        "loadavg_end": load_average(),
        "seconds": round(time.perf_counter() - started, 1),
        "rows": [r.as_dict() for r in rows],
    }
