"""Bench rows of the Ray engine (``--engine ray``): its encode throughput beside the local engine's
on the same photo folder and model, and landmark placement on a simulated two-node cluster beside
local placement. Skipped with a note when the cluster extra is not installed."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import numpy as np

from explorer.bench.plan import Plan
from explorer.bench.table import Row


def _missing(measure: str, unit: str, target: str, note: str, lower: bool) -> Row:
    return Row(measure, None, None, unit, target, None, lower, note)


def _ray_available() -> bool:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def cluster_rows(plan: Plan) -> list[Row]:
    target = "ratio >= 0.7"
    measure = f"encode {plan.ray_encode_n:,} photos (640x480 JPEG), siamese: Ray engine vs local engine"
    if not _ray_available():
        return [
            _missing(
                measure, "img/s", target, "Ray not installed (pip install 'relate-explorer[cluster]')", False
            )
        ]
    rows = [_encode_row(plan, measure, target)]
    rows.append(_place_row(plan))
    return rows


def _place_row(plan: Plan) -> Row:
    """Nearest-landmark placement of ``ray_place_n`` codes: two simulated nodes of one CPU each
    (ray.cluster_utils.Cluster on this machine) against the local exact search on all cores."""
    import ray
    from ray.cluster_utils import Cluster

    from explorer.bench.codes import mixture_codes
    from explorer.cluster.place import ray_landmark_search
    from explorer.core.progress import run_to_end
    from explorer.projection.landmarks import (
        cells_to_probe,
        choose_landmarks,
        landmark_count,
        nearest_landmarks,
    )

    n = plan.ray_place_n
    measure = f"place {n:,} codes (50-D) on their nearest landmarks: simulated 2-node Ray cluster vs local"
    codes, labels = mixture_codes(n)
    m = landmark_count(n)
    lx = codes[choose_landmarks(codes, m, labels=labels, seed=0)]
    k = max(15, cells_to_probe(n, m))
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        search = ray_landmark_search(chunk_rows=max(10_000, n // 8))
        ours, ref = [], []
        for _ in range(plan.ray_place_repeats):
            t0 = time.perf_counter()
            local = run_to_end(nearest_landmarks(codes, lx, k))
            ref.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            remote = run_to_end(search(codes, lx, k))
            ours.append(time.perf_counter() - t0)
        same = bool(np.array_equal(local[0][:, 0], remote[0][:, 0]))
    finally:
        ray.shutdown()
        cluster.shutdown()
    o, r = float(np.median(ours)), float(np.median(ref))
    return Row(
        measure,
        o,
        r,
        "s",
        "ratio <= 1.43 (>= 0.7x the local speed)",
        o / r <= 1 / 0.7,
        True,
        f"{m:,} landmarks, k={k}; nearest landmark identical to the local search: {same}; "
        f"medians of {plan.ray_place_repeats}",
    )


def _encode_row(plan: Plan, measure: str, target: str) -> Row:
    import ray

    from explorer.bench.photos import photo_folder
    from explorer.cluster.encode import encode_on_ray_job
    from explorer.core.codes_store import encode_job
    from explorer.core.progress import run_to_end
    from explorer.data import load_data
    from explorer.models import load_encoder

    folder = photo_folder(plan.photos_n)  # the collections rows' folder: made once, shared
    model = os.path.join(
        os.path.dirname(__file__), "..", "..", "sample_data", "models", "siamese_mnist.safetensors"
    )
    model = os.path.abspath(model)
    data = load_data(folder, file_backed=True)
    data = data.subset(np.arange(min(plan.ray_encode_n, data.count)))
    encoder = load_encoder(model, data)
    n = data.count
    started = not ray.is_initialized()
    if started:  # the cluster is up before the clock starts, as a user's cluster would be
        ray.init(
            address="local",
            num_cpus=os.cpu_count(),
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    ours, ref = [], []
    try:
        for _ in range(plan.ray_encode_repeats):  # interleaved, so a burst of load hits both
            t0 = time.perf_counter()
            run_to_end(encode_job(encoder, data, batch_size=256, key=None))
            ref.append(n / (time.perf_counter() - t0))
            out = tempfile.mkdtemp(prefix="explorer-bench-ray-")
            try:
                t0 = time.perf_counter()
                run_to_end(encode_on_ray_job(model, folder, out, batch_size=256, data=data, encoder=encoder))
                ours.append(n / (time.perf_counter() - t0))
            finally:
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if started:
            ray.shutdown()
    o, r = float(np.median(ours)), float(np.median(ref))
    return Row(
        measure,
        o,
        r,
        "img/s",
        target,
        o / r >= 0.7,
        False,
        f"{os.cpu_count()} cores, Ray started before timing (actor start-up and model load included); "
        f"medians of {plan.ray_encode_repeats}",
    )
