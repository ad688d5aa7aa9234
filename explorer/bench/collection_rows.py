"""Bench rows of big image collections (issue 15), on a seeded folder of 640x480 JPEG photos.

Each row runs in fresh child processes (``python -m explorer.bench.collection_rows MODE ...``), so
peak memory is the process's own (``ru_maxrss``) and caches in memory do not carry over:
- `explorer info` on the folder vs a bare Python walk + stat of the same files (the floor);
- app start with the folder to the first screen of thumbnails (cold cache) vs Pillow alone
  decoding the same first screen in one process; the app's peak memory over its first 60 s;
- encode with a ResNet-18-sized network (ONNX, TorchScript) at 224x224 from the files, vs
  onnxruntime / torch on already-decoded tensors of the same batches;
- reopen with cached codes and layout to the scatter on screen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from explorer.bench.collection_common import FIRST_SCREEN, _peak_mb, _since_start
from explorer.bench.plan import Plan
from explorer.bench.table import Row


def _child(args: list[str], env_extra: dict | None = None, timeout: float = 1800) -> dict:
    env = dict(os.environ)
    env.update(env_extra or {})
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "explorer.bench.collection_rows", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    lines = [ln for ln in proc.stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{args[0]} child printed nothing: {proc.stderr.strip()[-300:]}")
    out = json.loads(lines[-1])
    out["wall"] = time.time() - t0
    return out


def _folder(plan: Plan) -> str:
    from explorer.bench.photos import photo_folder

    return photo_folder(plan.photos_n)


# ---- rows ---------------------------------------------------------------------------------------
def info_rows(plan: Plan) -> list[Row]:
    folder = _folder(plan)
    n = plan.photos_n
    ours = _child(["info", folder])
    ref = _child(["walk", folder])
    return [
        Row(
            f"`explorer info` on {n:,} photos (640x480 JPEG)",
            ours["seconds"],
            ref["seconds"],
            "s",
            "(none)",
            None,
            True,
            f"count {ours.get('count')}; reference: os.scandir walk + stat of the same files",
        ),
        Row(
            f"`explorer info` on {n:,} photos: peak memory",
            ours["peak_mb"],
            ref["peak_mb"],
            "MB",
            "< 2000 MB",
            ours["peak_mb"] < 2000,
            True,
            "ru_maxrss of each process",
        ),
    ]


def startup_rows(plan: Plan) -> list[Row]:
    folder = _folder(plan)
    n = plan.photos_n
    shots = os.path.join(tempfile.gettempdir(), "explorer-bench-shots")
    with tempfile.TemporaryDirectory(prefix="explorer-bench-cache-") as cold:
        ours = _child(
            ["gui", folder, str(plan.photos_watch_s), shots],
            {"EXPLORER_CACHE_DIR": cold, "EXPLORER_STATE_DIR": cold},
        )
    ref = _child(["thumbs", folder])
    first = ours.get("thumbs")
    return [
        Row(
            f"app start with --data ({n:,} photos) to the first {FIRST_SCREEN} thumbnails",
            first,
            ref["seconds"],
            "s",
            "< 2 s",
            None if first is None else first < 2.0,
            True,
            f"cold renditions cache; data set open after {ours.get('opened', float('nan')):.2f} s; "
            f"reference: python + Pillow (draft mode) decoding the same {FIRST_SCREEN} files to 96 px; "
            f"screenshots in {shots}",
        ),
        Row(
            f"app with {n:,} photos: peak memory over the first {plan.photos_watch_s:.0f} s",
            ours["peak_mb"],
            None,
            "MB",
            "< 2000 MB",
            ours["peak_mb"] < 2000,
            True,
            f"{ours.get('thumbs_done', 0):,} thumbnails built by then; models: pixels and pca",
        ),
    ]


def encode_rows(plan: Plan) -> list[Row]:
    from explorer.bench.resnet import resnet_files

    folder = _folder(plan)
    onnx_path, ts_path = resnet_files()
    rows = []
    for kind, path in (("ONNX", onnx_path), ("TorchScript", ts_path)):
        ours = _child(["encode", folder, path, str(plan.photos_encode_n)])
        ref = _child(["encode-ref", path, str(plan.photos_encode_n)])
        ratio = ours["per_s"] / ref["per_s"] if ref["per_s"] else None
        rows.append(
            Row(
                f"encode {plan.photos_encode_n} photos, ResNet-18-sized {kind} at 224x224",
                ours["per_s"],
                ref["per_s"],
                "img/s",
                "ratio >= 0.8",
                None if ratio is None else ratio >= 0.8,
                False,
                f"ours: decode + resize from the JPEG files overlapped with the model, batch 32; reference: "
                f"{'onnxruntime' if kind == 'ONNX' else 'torch'} on already-decoded tensors",
            )
        )
    return rows


def reopen_rows(plan: Plan) -> list[Row]:
    folder = _folder(plan)
    n = plan.photos_n
    warm = _child(["reopen", folder, "600"])  # makes the codes and the layout (or finds them)
    ours = _child(["reopen", folder, "60"])
    ref = _child(["scatter-ref", warm["layout_file"]]) if warm.get("layout_file") else {"seconds": None}
    return [
        Row(
            f"reopen {n:,} photos with cached codes and layout (pca) to the scatter on screen",
            ours.get("scatter"),
            ref["seconds"],
            "s",
            "< 2 s",
            None if ours.get("scatter") is None else ours["scatter"] < 2.0,
            True,
            f"first open made them in {warm.get('scatter', float('nan')):.1f} s; "
            "reference: python + pyqtgraph showing the same layout from its .npy",
        )
    ]


def collection_rows(plan: Plan) -> list[Row]:
    out = []
    for part in (info_rows, startup_rows, encode_rows, reopen_rows):
        try:
            out += part(plan)
        except Exception as err:  # one part failing must not hide the others
            out.append(
                Row(
                    f"collections: {part.__name__}",
                    None,
                    None,
                    "",
                    "",
                    None,
                    True,
                    f"failed: {type(err).__name__}: {str(err)[:200]}",
                )
            )
    return out


# ---- children -----------------------------------------------------------------------------------
def _info(folder: str) -> dict:
    t0 = time.perf_counter()
    from explorer.core.progress import run_to_end
    from explorer.data import load_data_job

    data = run_to_end(load_data_job(folder))
    facts = data.facts()
    return {"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb(), "count": facts["count"]}


def _walk(folder: str) -> dict:
    t0 = time.perf_counter()
    n = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            os.stat(os.path.join(root, name))
            n += 1
    return {"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb(), "count": n}


def _first_files(folder: str, k: int) -> list[str]:
    from explorer.data.folder import scan

    return scan(folder)[0][:k]


def _thumbs_reference(folder: str) -> dict:
    from PIL import Image

    t0 = time.time()
    for p in _first_files(folder, FIRST_SCREEN):
        with Image.open(p) as im:
            im.draft("RGB", (96, 96))
            im.convert("RGB").resize((96, 96), Image.Resampling.BILINEAR)
    return {"seconds": time.time() - t0 + _since_start(), "peak_mb": _peak_mb()}


def _encode(folder: str, model: str, n: int) -> dict:
    from explorer.core.encoder import encode_dataset
    from explorer.core.progress import run_to_end
    from explorer.data import load_data
    from explorer.models import load_encoder

    data = load_data(folder).subset(np.arange(n))
    enc = load_encoder(model, trust=True)  # the bench made this file itself
    run_to_end(encode_dataset(enc, data.subset(np.arange(32)), batch_size=32))  # warm-up
    t0 = time.perf_counter()
    codes = run_to_end(encode_dataset(enc, data, batch_size=32))
    return {"per_s": n / (time.perf_counter() - t0), "dim": int(codes.shape[1]), "peak_mb": _peak_mb()}


def _encode_reference(model: str, n: int) -> dict:
    rng = np.random.default_rng(0)
    batches = [rng.random((min(32, n - s), 3, 224, 224), dtype=np.float32) for s in range(0, n, 32)]
    if model.endswith(".onnx"):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        sess = ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
        run = lambda x: sess.run(None, {"x": x})[0]  # noqa: E731
    else:
        import warnings

        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(model).eval()

        def run(x):
            with torch.no_grad():
                return module(torch.from_numpy(x)).numpy()

    run(batches[0])  # warm-up
    t0 = time.perf_counter()
    for x in batches:
        run(x)
    return {"per_s": n / (time.perf_counter() - t0), "peak_mb": _peak_mb()}


def main(argv: list[str]) -> None:
    mode, *rest = argv
    if mode == "info":
        out = _info(rest[0])
    elif mode == "walk":
        out = _walk(rest[0])
    elif mode == "thumbs":
        out = _thumbs_reference(rest[0])
    elif mode in ("gui", "reopen", "scatter-ref"):
        from explorer.bench import gui_collections as g

        out = {
            "gui": lambda: g.first_thumbnails(rest[0], float(rest[1]), rest[2]),
            "reopen": lambda: g.reopen(rest[0], float(rest[1])),
            "scatter-ref": lambda: g.scatter_reference(rest[0]),
        }[mode]()
    elif mode == "encode":
        out = _encode(rest[0], rest[1], int(rest[2]))
    elif mode == "encode-ref":
        out = _encode_reference(rest[0], int(rest[1]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # background loaders and decode threads need not finish


if __name__ == "__main__":
    main(sys.argv[1:])
