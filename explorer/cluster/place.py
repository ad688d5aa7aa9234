"""``explorer project --engine ray``: the landmark layout fitted here, every other point placed
by parallel Ray tasks.

The expensive part of placing 10^6-10^8 points is finding each point's nearest landmarks (an exact
search of N points against M landmarks). :func:`ray_landmark_search` returns a drop-in for
:func:`explorer.projection.landmarks.nearest_landmarks` that cuts the points into chunks, puts the
landmarks into Ray's object store once, and runs one task per chunk (each an exact FAISS search on
its worker's cores); results come back as tasks finish, with progress, and a task lost with its
worker is re-run by Ray. The landmark fit, the weighted placement and the refinement stay in this
process (:func:`explorer.projection.landmark_layout.landmark_job`), so the layout is the local
engine's, computed elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from explorer.core.progress import Progress

CHUNK = 50_000  # points per task


def _search_chunk(chunk: np.ndarray, landmark_codes: np.ndarray, k: int, threads: int):
    """One task: exact k nearest landmarks of ``chunk`` (n, D) -> (indices (n, k), distances (n, k))."""
    from explorer.core.progress import run_to_end
    from explorer.projection.landmarks import faiss_threads, nearest_landmarks

    with faiss_threads(max(1, int(threads))):
        return run_to_end(nearest_landmarks(chunk, landmark_codes, k))


def ray_landmark_search(chunk_rows: int = CHUNK, cpus_per_task: int = 1) -> Callable[..., Iterator[Progress]]:
    """A ``search`` for landmark_job that runs on the Ray cluster this process is connected to."""

    def search(codes: np.ndarray, landmark_codes: np.ndarray, k: int, block: int | None = None):
        import ray

        task = ray.remote(num_cpus=cpus_per_task, max_retries=3)(_search_chunk)
        x = np.asarray(codes)
        n = len(x)
        k = int(min(k, len(landmark_codes)))
        lm = ray.put(np.ascontiguousarray(landmark_codes, dtype=np.float32))
        starts = list(range(0, n, chunk_rows))
        pending = {
            task.remote(
                np.ascontiguousarray(x[s : s + chunk_rows], dtype=np.float32), lm, k, cpus_per_task
            ): s
            for s in starts
        }
        out_i = np.empty((n, k), dtype=np.int64)
        out_d = np.empty((n, k), dtype=np.float32)
        done = 0
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                start = pending.pop(ready[0])
                idx, dist = ray.get(ready[0])
                out_i[start : start + len(idx)], out_d[start : start + len(idx)] = idx, dist
                done += len(idx)
                yield Progress(step=done, total=n, message="placing on Ray: nearest landmarks")
        finally:
            for ref in pending:  # stopped early: the rest is not wanted
                ray.cancel(ref, force=True)
        return out_i, out_d

    return search


def project_on_ray_job(
    codes: np.ndarray,
    method: str,
    address: str | None = None,
    seed: int = 0,
    num_cpus: int | None = None,
    **params,
) -> Iterator[Progress]:
    """:func:`explorer.projection.project_job` with the placement on Ray (t-SNE and UMAP above the
    landmark threshold; smaller sets and PCA need no cluster and run here). Returns (N, 2) float32."""
    from explorer.cluster import connect, require_ray
    from explorer.projection import project_job
    from explorer.projection.landmark_layout import LANDMARK_ABOVE

    require_ray()
    x = np.asarray(codes, dtype=np.float32)
    if method not in ("tsne", "umap") or len(x) <= params.get("threshold", LANDMARK_ABOVE):
        return (yield from project_job(x, method, seed=seed, **params))
    ray, started = connect(address, num_cpus=num_cpus)
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        chunk = int(min(CHUNK, max(10_000, np.ceil(len(x) / max(1, 2 * cpus)))))
        return (yield from project_job(x, method, seed=seed, search=ray_landmark_search(chunk), **params))
    finally:
        if started:
            ray.shutdown()
