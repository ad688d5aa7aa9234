"""The scatter's worker jobs (no Qt): a layout with its faithfulness and point index, and UMAP's
one-off warm-up."""

from __future__ import annotations

import os
import threading

import numpy as np

from explorer.core.progress import Progress
from explorer.ui.scatter_render import PointIndex

_warm_started = False


def warm_up_umap_in_background() -> None:
    """Compile (or load from the disk cache) UMAP's numba code in a daemon thread, once per process,
    so the first UMAP layout starts at once. Set EXPLORER_UMAP_WARMUP=0 to skip (tests do)."""
    global _warm_started
    if _warm_started or os.environ.get("EXPLORER_UMAP_WARMUP", "1") == "0":
        return
    _warm_started = True

    def run() -> None:
        try:
            from explorer.projection.umap_layout import warm_up

            warm_up()
        except Exception:  # a failed warm-up only means the first UMAP compiles on demand
            pass

    threading.Thread(target=run, name="umap-warm-up", daemon=True).start()


def layout_job(codes: np.ndarray, method: str, seed: int, params: dict, previous=None, live: bool = False):
    """Worker job: the layout (partials as Progress payloads), then its faithfulness.
    Returns (layout (N, 2), faithfulness mean, per-point (N,), its PointIndex)."""
    from explorer.projection import faithfulness, live_frame_job, project_job

    if live:
        layout = yield from live_frame_job(codes, method, previous=previous, seed=seed, **params)
    else:
        layout = yield from project_job(codes, method, seed=seed, **params)
    yield Progress(step=1, total=1, message="measuring faithfulness")
    mean, per_point = faithfulness(codes, layout)
    index = PointIndex(layout)  # built here, not on the GUI thread (about 1 s per million points)
    return layout, mean, per_point, index
