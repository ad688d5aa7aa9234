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
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def cluster_rows(plan: Plan) -> list[Row]:
    target = "ratio >= 0.7"
    measure = f"encode {plan.ray_encode_n:,} photos (640x480 JPEG), siamese: Ray engine vs local engine"
    if not _ray_available():
        return [_missing(measure, "img/s", target, "Ray not installed (pip install 'relate-explorer[cluster]')",
                         False)]
    return [_encode_row(plan, measure, target)]


def _encode_row(plan: Plan, measure: str, target: str) -> Row:
    import ray

    from explorer.bench.photos import photo_folder
    from explorer.cluster.encode import encode_on_ray_job
    from explorer.core.codes_store import encode_job
    from explorer.core.progress import run_to_end
    from explorer.data import load_data
    from explorer.models import load_encoder

    folder = photo_folder(plan.photos_n)  # the collections rows' folder: made once, shared
    model = os.path.join(os.path.dirname(__file__), "..", "..", "sample_data", "models", "siamese_mnist.safetensors")
    model = os.path.abspath(model)
    data = load_data(folder, file_backed=True)
    data = data.subset(np.arange(min(plan.ray_encode_n, data.count)))
    encoder = load_encoder(model, data)
    n = data.count
    started = not ray.is_initialized()
    if started:  # the cluster is up before the clock starts, as a user's cluster would be
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
    ours, ref = [], []
    try:
        for k in range(plan.ray_encode_repeats):  # interleaved, so a burst of load hits both
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
    return Row(measure, o, r, "img/s", target, o / r >= 0.7, False,
               f"{os.cpu_count()} cores, Ray started before timing (actor start-up and model load included); "
               f"medians of {plan.ray_encode_repeats}")
