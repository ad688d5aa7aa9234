"""The bench rows that need no display: t-SNE, UMAP, k-NN query, encoding, headless training.

Each ``*_rows(plan)`` returns a list of :class:`~explorer.bench.table.Row`. Ours and the
reference run on the same data, alternating (ours, reference, reference, ours, ...) so a burst of
load from other processes hits both; a row whose subject is not there yet says so in its note.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from explorer.bench.codes import DESCRIPTION, mnist_codes
from explorer.bench.plan import Plan
from explorer.bench.table import Row
from explorer.bench.umap_child import find_projection_job
from explorer.core.progress import run_to_end


def _order(repeats: int) -> list[bool]:
    """Which of ours (True) / reference (False) runs next: ABBA..., so drift hits both alike."""
    out = []
    for k in range(repeats):
        out += [True, False] if k % 2 == 0 else [False, True]
    return out


def _ratio_met(ours: float | None, ref: float | None, limit: float) -> bool | None:
    if ours is None or not ref:
        return None
    return ours / ref <= limit


def missing(measure: str, unit: str, target: str, note: str, lower_is_better: bool = True) -> Row:
    return Row(measure, None, None, unit, target, None, lower_is_better, note)


# ---- t-SNE ------------------------------------------------------------------------------------
def tsne_rows(plan: Plan, seed: int = 0) -> list[Row]:
    """Wall time of t-SNE to a finished layout, ours vs openTSNE's default, and each layout's 10-NN
    label accuracy."""
    n = plan.tsne_n
    time_measure = f"t-SNE of {n:,} codes to a finished layout"
    acc_measure = f"t-SNE of {n:,} codes: 10-NN label accuracy"
    job = find_projection_job("tsne")
    if job is None:
        note = "explorer.projection has no t-SNE method yet"
        return [
            missing(time_measure, "s", "ratio <= 1 (no slower)", note),
            missing(acc_measure, "", ">= reference - 0.01", note, lower_is_better=False),
        ]
    from openTSNE import TSNE

    from explorer.projection import knn_label_accuracy as knn_accuracy

    codes, labels = mnist_codes(n)
    # warm-up, shared by both sides (same library): imports, and whatever compiles on first use
    TSNE(n_iter=5, early_exaggeration_iter=5, random_state=seed).fit(codes[: min(n, 200)])
    ours_t, ref_t, ours_acc, ref_acc, threads = [], [], [], [], []
    for is_ours in _order(plan.tsne_repeats):
        if is_ours:
            threads.append(_tsne_threads())
        t0 = time.perf_counter()
        if is_ours:
            layout = run_to_end(job(codes, seed=seed))
            ours_t.append(time.perf_counter() - t0)
            ours_acc.append(knn_accuracy(np.asarray(layout), labels))
        else:
            layout = TSNE(random_state=seed).fit(codes)
            ref_t.append(time.perf_counter() - t0)
            ref_acc.append(knn_accuracy(np.asarray(layout), labels))
    ours, ref = statistics.median(ours_t), statistics.median(ref_t)
    acc_o, acc_r = statistics.median(ours_acc), statistics.median(ref_acc)
    runs = lambda ts: ", ".join(f"{t:.1f}" for t in ts)  # noqa: E731
    note = (
        f"codes: {DESCRIPTION}; reference openTSNE.TSNE(random_state={seed}).fit (its default "
        f"n_jobs=1), ours project_job(codes, 'tsne'); runs (s): ours {runs(ours_t)}, "
        f"reference {runs(ref_t)}"
        + (
            f"; ours' openTSNE threads (its choice by load): {', '.join(map(str, threads))}"
            if None not in threads
            else ""
        )
    )
    return [
        Row(
            time_measure,
            ours,
            ref,
            "s",
            "ratio <= 1.05 (no slower, 5% noise)",
            _ratio_met(ours, ref, 1.05),
            True,
            note,
        ),
        Row(
            acc_measure,
            acc_o,
            acc_r,
            "",
            ">= reference - 0.01",
            acc_o >= acc_r - 0.01,
            False,
            "share of points whose 10 nearest layout neighbours vote their label",
        ),
    ]


def _tsne_threads() -> int | None:
    """How many threads the projection engine's t-SNE would use now (it chooses by load)."""
    try:
        from explorer.projection.tsne import free_cores
    except ImportError:
        return None
    return free_cores()


# ---- UMAP -------------------------------------------------------------------------------------
def _child_seconds(mode: str, path: str, timeout: float) -> tuple[float | None, str]:
    """Wall time of one fresh ``umap_child`` process (interpreter start and imports included)."""
    cmd = [sys.executable, "-m", "explorer.bench.umap_child", mode, path, "0"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    last = (proc.stdout.strip().splitlines() or ["{}"])[-1]
    try:
        info = json.loads(last)
    except ValueError:
        info = {}
    if proc.returncode != 0:
        why = info.get("missing") or (proc.stderr.strip().splitlines() or ["failed"])[-1]
        return None, why
    return wall, ""


def umap_rows(plan: Plan) -> list[Row]:
    """UMAP in a fresh process, second start: ours vs umap-learn's default. Each side runs once to
    warm its caches (numba's on-disk cache), then again; the second run's wall time is reported."""
    n = plan.umap_n
    measure = f"UMAP of {n:,} codes, second start in a fresh process"
    target = "ratio <= 1.05 (no slower)"
    if find_projection_job("umap") is None:
        return [missing(measure, "s", target, "explorer.projection has no UMAP method yet")]
    codes, _ = mnist_codes(n)
    timeout = 1800.0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "codes.npy")
        np.save(path, codes)
        first: dict[bool, float] = {}
        times: dict[bool, float] = {}
        # first starts, then the second starts, interleaved; with umap_reference_starts == 1
        # umap-learn's one start stands for both (it caches no compiled code between processes)
        runs = [True, False, False, True] if plan.umap_reference_starts > 1 else [True, False, True]
        for is_ours in runs:
            mode = "ours" if is_ours else "reference"
            seconds, why = _child_seconds(mode, path, timeout)
            if seconds is None:
                return [missing(measure, "s", target, f"{mode} failed: {why}")]
            if is_ours in first:
                times[is_ours] = seconds
            else:
                first[is_ours] = seconds
        times.setdefault(False, first[False])
    ref_first = (
        f"umap-learn {first[False]:.1f} s"
        if plan.umap_reference_starts > 1
        else "umap-learn started once, which stands for its second start: it recompiles in every process"
    )
    note = (
        f"wall time of the second `python -m explorer.bench.umap_child` process, imports "
        f"included (first starts: ours {first[True]:.1f} s, {ref_first}); "
        f"reference umap.UMAP(random_state=0).fit_transform"
    )
    ours, ref = times[True], times[False]
    return [Row(measure, ours, ref, "s", target, _ratio_met(ours, ref, 1.05), True, note)]


# ---- k-NN query -------------------------------------------------------------------------------
def knn_rows(plan: Plan) -> list[Row]:
    """One exact L2 10-NN query over (n, d) random codes: the retrieval engine vs numpy."""
    measure = f"exact 10-NN query over {plan.knn_n:,} x {plan.knn_d} codes"
    try:
        from explorer.retrieval import bench_query
    except ImportError:
        return [missing(measure, "ms", "< 30 ms", "explorer.retrieval has no bench_query yet")]
    r = bench_query(plan.knn_n, plan.knn_d, k=10, repeats=plan.knn_repeats, seed=0)
    note = (
        f"median of {plan.knn_repeats} queries (explorer.retrieval.bench_query, index built "
        f"once); same top-10 as numpy: {r['agree']}"
    )
    return [Row(measure, r["ms"], r["numpy_ms"], "ms", "< 30 ms", r["ms"] < 30.0 and r["agree"], True, note)]


# ---- training (headless half) ---------------------------------------------------------------
def train_setup(plan: Plan):
    """(data, config, train items per run) for the training rows: the `ae` model on the plan's
    data, CPU, torch threads fixed once for every run of the row."""
    from explorer.data import load_data
    from explorer.training.devices import set_cpu_threads
    from explorer.training.engine import TrainConfig, split_indices

    data = load_data(plan.train_data)
    config = TrainConfig(
        model="ae", epochs=plan.train_epochs, device="cpu", seed=0, threads=set_cpu_threads(None)
    )
    train_idx, _ = split_indices(data, config.val_fraction, config.seed)
    return data, config, len(train_idx) * plan.train_epochs


def train_headless_seconds(data, config) -> float:
    """Wall time of one run driven as `explorer train` drives it (text progress bar)."""
    from explorer.core.progress import drive
    from explorer.training.engine import train

    t0 = time.perf_counter()
    drive(train(config, data), label="training", stream=io.StringIO())
    return time.perf_counter() - t0


# ---- encoding ---------------------------------------------------------------------------------
def default_model_files() -> list[str]:
    from explorer.data import sample_data_dir

    folder = os.path.join(os.fspath(sample_data_dir()), "models")
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".safetensors"))


def _tiny_model(folder: str) -> str:
    from explorer.core.progress import drive
    from explorer.data import load_data
    from explorer.training.engine import TrainConfig, train

    path = os.path.join(folder, "ae_tiny.safetensors")
    config = TrainConfig(model="ae", epochs=1, device="cpu", seed=0, checkpoint=path)
    drive(train(config, load_data("sample:digits")), stream=io.StringIO())
    return path


def encode_rows(plan: Plan) -> list[Row]:
    """Images per second through each default model (``sample_data/models``), pixels beside it."""
    from explorer.models import load_encoder

    files = default_model_files()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        note_extra = ""
        if not files:
            files = [_tiny_model(tmp)]
            note_extra = "no sample_data/models/*.safetensors: a 1-epoch ae on sample:digits; "
        pixels = load_encoder("pixels")
        for path in files:
            encoder = load_encoder(path)
            shape = encoder.input_shape or (1, 28, 28)
            images = _images_for(shape, plan.encode_n)
            ours_t, ref_t = [], []
            encoder.encode(images[:64])  # warm-up
            for is_ours in _order(plan.encode_repeats):
                enc = encoder if is_ours else pixels
                t0 = time.perf_counter()
                for start in range(0, len(images), 512):
                    enc.encode(images[start : start + 512])
                (ours_t if is_ours else ref_t).append(time.perf_counter() - t0)
            ours = len(images) / statistics.median(ours_t)
            pixels_rate = len(images) / statistics.median(ref_t)
            rows.append(
                Row(
                    f"encode throughput: {os.path.basename(path)}",
                    ours,
                    None,
                    "img/s",
                    "(none)",
                    None,
                    False,
                    f"{note_extra}{getattr(encoder, 'name', '')}: {len(images):,} images {tuple(shape)} "
                    f"in batches of 512, CPU, {torch_threads()} torch thread(s); no reference (the "
                    f"pixels encoder, a reshape, runs {pixels_rate:.3g} img/s)",
                )
            )
    return rows


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _images_for(shape, n: int) -> np.ndarray:
    from explorer.bench.codes import mnist_images

    c, h, w = shape
    if (c, h, w) == (1, 28, 28):
        return mnist_images(min(n, 5_000))[0]
    if (c, h, w) == (1, 8, 8):
        from explorer.data import load_data

        data = load_data("sample:digits")
        images = data.float_images(slice(0, data.count))
        return np.resize(images, (n, 1, 8, 8)).astype(np.float32)
    rng = np.random.default_rng(0)
    return rng.random((n, c, h, w), dtype=np.float32)
