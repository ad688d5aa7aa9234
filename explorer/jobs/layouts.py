"""The scatter's worker jobs: a layout with its faithfulness and point index (from the layout cache
when it holds one), and UMAP's one-off warm-up.

t-SNE and UMAP run in a layout process (:mod:`explorer.jobs.layout_child`): their engines hold the
GIL for long stretches, which in a worker thread freezes the GUI. PCA, the cache and the point
index stay in the caller's (worker) thread."""

from __future__ import annotations

import os
import sys
import threading

from typing import NamedTuple

import numpy as np

from explorer.core.progress import Progress

_warm_started = False


def warm_up_umap_in_background() -> None:
    """Compile (or load from the disk cache) UMAP's numba code once per process, so the first UMAP
    layout starts at once: in an idle layout process (which the first layout then uses) or, with
    layouts in this process (EXPLORER_LAYOUT_CHILD=0), in a daemon thread. Set
    EXPLORER_UMAP_WARMUP=0 to skip (tests do)."""
    global _warm_started
    if _warm_started or os.environ.get("EXPLORER_UMAP_WARMUP", "1") == "0":
        return
    _warm_started = True
    from explorer.jobs import layout_child

    def run() -> None:
        try:
            if layout_child.enabled():
                layout_child.warm_up()
                return
            from explorer.projection.umap_layout import warm_up

            warm_up()
        except Exception:  # a failed warm-up only means the first UMAP compiles on demand
            pass

    threading.Thread(target=run, name="umap-warm-up", daemon=True).start()


class LayoutResult(NamedTuple):
    """What :func:`layout_job` returns."""

    layout: np.ndarray  # (N, 2) float32
    faithfulness: float  # mean share of 10 code-space neighbours kept in the plot
    per_point: np.ndarray  # (N,) float32 in [0, 1], NaN for points outside the measured sample
    index: object  # make_index(layout), or None
    landmark_faithfulness: float = float("nan")  # the landmark layout's own (landmark path only)
    measured: int = 0  # how many points the faithfulness was measured on (a seeded sample)


def _watch_landmarks(job, seen: dict):
    """``job`` (a projection generator) passed through, keeping the landmark frame's rows and
    positions (``seen["landmarks"]``, ``seen["landmark_xy"]``) when the landmark path runs."""
    while True:
        try:
            rec = next(job)
        except StopIteration as stop:
            return stop.value
        if rec.payload is not None and rec.message.endswith("landmark layout"):
            payload = np.asarray(rec.payload)
            rows = np.flatnonzero(np.isfinite(payload[:, 0]))
            seen["landmarks"], seen["landmark_xy"] = rows, payload[rows].copy()
        yield rec


def layout_job(
    codes: np.ndarray,
    method: str,
    seed: int,
    params: dict,
    previous=None,
    live: bool = False,
    make_index=None,
    given: np.ndarray | None = None,
):
    """Worker job: the layout (partials as Progress payloads), then its faithfulness; a training
    run's live frame (``live``) with the BLAS and OpenMP pools at one thread (see
    :func:`_in_one_thread`). The rest as :func:`_layout_job`."""
    job = _layout_job(codes, method, seed, params, previous, live, make_index, given)
    return (yield from (_in_one_thread(job) if live else job))


def _in_one_thread(job):
    """``job`` stepped with this process's BLAS (OpenBLAS) and OpenMP pools at one thread, given back
    between steps. A live frame (PCA, align and faithfulness of the ~1,000 probe codes) took 57 ms
    of its thread's CPU and 127 ms of the process's: the pools' threads split matrices of 1,000 rows
    and spun in wait after each call, beside the training run the frame shows; at one thread 11 ms
    and 11 ms. (OpenBLAS's count is the process's while a step runs; OpenMP's this thread's.) One
    such step runs at a time in the process: a cancelled frame's step may still run when the next
    frame starts on another worker, and of two limits at once the one that ended last gave back
    the count it found, 1, for good (threadpoolctl lets one thread at a time set OpenBLAS's)."""
    controller = _pools()
    while True:
        with _one_step_at_a_time, controller.limit(limits=1):
            try:
                rec = next(job)
            except StopIteration as stop:
                return stop.value
        yield rec


_one_step_at_a_time = threading.Lock()  # of live frames (see _in_one_thread)


def _pools():
    """The process's thread pools (threadpoolctl), scikit-learn's neighbours (and its OpenMP
    library) loaded first. Made again only when modules were imported since (a new extension may
    bring its own BLAS or OpenMP: a controller made before torch's or faiss's libgomp loaded left
    that pool at 2 threads), else reused: 13 us a limit instead of 2.7 ms."""
    import sklearn.neighbors  # noqa: F401  (faithfulness's kNN)
    from threadpoolctl import ThreadpoolController

    with _pools_lock:
        key = len(sys.modules)
        if _pools_made.get("key") != key:
            _pools_made.update(key=key, controller=ThreadpoolController())
        return _pools_made["controller"]


_pools_made: dict = {}
_pools_lock = threading.Lock()


def _layout_job(
    codes: np.ndarray,
    method: str,
    seed: int,
    params: dict,
    previous=None,
    live: bool = False,
    make_index=None,
    given: np.ndarray | None = None,
):
    """The layout (partials as Progress payloads), then its faithfulness.
    Returns a :class:`LayoutResult`: the layout (N, 2), its faithfulness (mean and per point, on a
    seeded sample of 20,000 points for larger sets), for the landmark path (t-SNE / UMAP of more
    than 40,000 codes) also the landmark layout's own faithfulness, and ``make_index(layout)``:
    the view's point index (explorer.jobs.scatter.index.PointIndex) is passed in and built here,
    in the worker, not on the GUI thread (about 1 s per million points); None without it.
    ``given``: a finished layout of these codes (from the workspace, e.g. a restored session) to
    measure and index instead of laying the codes out again."""

    def index_of(layout):
        return make_index(layout) if make_index is not None else None

    from explorer.core import codes_store

    if given is not None:
        from explorer.projection import faithfulness

        layout = np.asarray(given, dtype=np.float32)
        yield Progress(step=1, total=1, message="measuring faithfulness")
        mean, per_point = faithfulness(codes, layout)
        return LayoutResult(layout, mean, per_point, index_of(layout), measured=_measured(per_point))
    key = None
    if not live:  # finished layouts are kept on disk by (codes, method, seed, settings)
        try:
            key = codes_store.layout_key(
                codes_store.array_digest(codes),
                method,
                {"seed": int(seed), **{k: params[k] for k in sorted(params)}},
            )
        except (TypeError, ValueError):  # settings that are not JSON: no cache
            key = None
    if key is not None:
        found = codes_store.load_layout_full(key, len(codes))
        if found is not None and found[2] is not None:
            layout, about, per_point = found
            yield Progress(step=1, total=1, message="layout from the cache")
            return LayoutResult(
                layout,
                float(about.get("faithfulness", float("nan"))),
                per_point,
                index_of(layout),
                float(about.get("landmark_faithfulness", float("nan"))),
                _measured(per_point),
            )
    from explorer.jobs.layout_child import child_layout_job, runs_in_child

    seen: dict = {}  # the landmark frame, when the landmark path runs (in either process)
    if runs_in_child(method, codes) and _json_params(params):
        job = child_layout_job(codes, method, seed, params, previous, live)
        layout, mean, per_point = yield from _watch_landmarks(job, seen)
    else:
        # imported after the cache lookup: projection pulls in numba/UMAP/openTSNE (seconds, cold)
        from explorer.projection import faithfulness, live_frame_job, project_job

        if live:
            layout = yield from live_frame_job(codes, method, previous=previous, seed=seed, **params)
        else:
            layout = yield from _watch_landmarks(project_job(codes, method, seed=seed, **params), seen)
        yield Progress(step=1, total=1, message="measuring faithfulness")
        mean, per_point = faithfulness(codes, layout)
    landmark_mean = float("nan")
    if "landmarks" in seen:  # the landmark layout as it was fitted, before placing the others
        from explorer.projection import faithfulness

        landmark_mean = faithfulness(codes[seen["landmarks"]], seen["landmark_xy"])[0]
    index = index_of(layout)
    if key is not None:
        about = {"method": method, "faithfulness": float(mean), "landmark_faithfulness": landmark_mean}
        try:
            codes_store.save_layout(key, layout, about, per_point)
        except Exception:  # a cache that cannot be written is no reason to fail
            pass
    return LayoutResult(layout, mean, per_point, index, landmark_mean, _measured(per_point))


def _measured(per_point: np.ndarray) -> int:
    return int(np.count_nonzero(np.isfinite(per_point)))


def _json_params(params: dict) -> bool:
    """Whether ``params`` can go to the layout process (JSON numbers, strings, lists); e.g. a
    labels array for the landmark path stays in this process."""
    import json

    try:
        json.dumps(params)
    except (TypeError, ValueError):
        return False
    return True
