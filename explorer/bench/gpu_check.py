"""`explorer bench --gpu-check`: the CUDA path (device choice, mixed precision) against the CPU.

On a machine with CUDA it trains every model kind for a few hundred steps three times (CPU; CUDA
in float32; CUDA with mixed precision), encodes a fixed batch, and prints one table:

    model | steps | loss cpu | loss cuda | loss amp | Δloss cuda | Δloss amp | Δcodes cuda | Δcodes amp | s

Δloss is the relative difference of the final training loss to the CPU run's (different devices
round differently, so a few per cent is expected; NaN or far off means the CUDA path is broken).
Δcodes is the largest absolute difference of the codes of 256 items encoded by the CPU-trained
weights on the CPU and on CUDA (float32, and under float16 autocast), relative to the codes' scale:
the same weights must give the same codes. The whole check stops starting new models after
``budget_s`` (4.5 minutes by default), so it finishes in under 5 minutes.

Without CUDA it says so in one sentence and runs nothing (exit status 0).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import numpy as np

PAIR_DATA = "sample:shifts"  # the gated autoencoder learns from image pairs
DATA = "sample:digits"
ENCODE_ITEMS = 256


def no_cuda_reason() -> str | None:
    """One sentence when this machine cannot run the check, else None."""
    try:
        import torch
    except ImportError:
        return "No GPU check: torch is not installed."
    if not torch.cuda.is_available():
        return (
            f"No CUDA device on this machine (torch {torch.__version__} finds none), so the GPU "
            "check has nothing to compare; run `explorer bench --gpu-check` on a machine with CUDA."
        )
    return None


def run_gpu_check(
    out: Callable[[str], None] = print,
    steps: int = 300,
    device: str = "cuda",
    models: list[str] | None = None,
    budget_s: float = 270.0,
) -> list[dict]:
    """Run the check (see the module docstring) and print its table; returns the rows.

    ``device`` other than "cuda" runs the same comparison against that device (tests use "cpu"
    with a few steps to exercise the code on a machine without a GPU)."""
    from explorer.data import load_data
    from explorer.models.base import model_keys

    if device == "cuda":
        reason = no_cuda_reason()
        if reason:
            out(reason)
            return []
    keys = models or [k for k in model_keys() if k != "finetune"] + ["finetune"]
    sets = {}
    start = time.perf_counter()
    rows = []
    for key in keys:
        if time.perf_counter() - start > budget_s:
            rows.append({"model": key, "skipped": "time budget"})
            continue
        path = PAIR_DATA if key == "gae" else DATA
        if path not in sets:
            sets[path] = load_data(path)
        rows.append(_check_model(key, sets[path], steps, device))
    out(format_rows(rows, device))
    return rows


def _check_model(key: str, data, steps: int, device: str) -> dict:
    import torch

    from explorer.core.progress import run_to_end
    from explorer.models.base import model_class
    from explorer.training.engine import TrainConfig, train

    t0 = time.perf_counter()
    cls = model_class(key)
    batch = int(cls.defaults.get("batch_size", 64))
    per_epoch = max(1, math.ceil(data.count * 0.9 / batch))
    epochs = max(1, math.ceil(steps / per_epoch))
    row: dict = {"model": key, "steps": epochs * per_epoch}
    results = {}
    for name, dev, amp in (("cpu", "cpu", False), ("dev", device, False), ("amp", device, True)):
        config = TrainConfig(model=key, epochs=epochs, device=dev, amp=amp, seed=0)
        model = _finetune_of_ae(data) if key == "finetune" else None
        try:
            res = run_to_end(train(config, data, model=model))
            results[name] = res
            row[f"loss_{name}"] = float(res.summary.get("loss", float("nan")))
        except Exception as err:  # a broken path is a row that says so, not a stopped check
            row[f"loss_{name}"] = float("nan")
            row.setdefault("error", f"{name}: {type(err).__name__}: {err}"[:120])
    base = row.get("loss_cpu", float("nan"))
    for name in ("dev", "amp"):
        row[f"dloss_{name}"] = abs(row.get(f"loss_{name}", float("nan")) - base) / max(abs(base), 1e-12)
    if "cpu" in results and getattr(results["cpu"].model, "has_codes", True):
        model = results["cpu"].model.eval()
        x = torch.from_numpy(data.float_images(np.arange(min(ENCODE_ITEMS, data.count))))
        with torch.no_grad():
            ref = model.cpu().encode(x).float()
            scale = float(ref.abs().max()) or 1.0
            model.to(device)
            on_dev = model.encode(x.to(device)).float().cpu()
            with torch.autocast(
                device_type=torch.device(device).type,
                dtype=torch.float16,
                enabled=torch.device(device).type == "cuda",
            ):
                on_amp = model.encode(x.to(device)).float().cpu()
        row["dcodes_dev"] = float((on_dev - ref).abs().max()) / scale
        row["dcodes_amp"] = float((on_amp - ref).abs().max()) / scale
    row["seconds"] = time.perf_counter() - t0
    return row


def _finetune_of_ae(data):
    """A fine-tune (all layers) of a fresh autoencoder: the check needs a backbone, not a good one."""
    import torch

    from explorer.models.base import build_model
    from explorer.training.finetune import finetune_model

    torch.manual_seed(0)
    return finetune_model(build_model("ae", data.shape, 16, {"hidden": (64,)}), data)


def format_rows(rows: list[dict], device: str = "cuda") -> str:
    """The check's one table, as text."""
    d = device
    head = [
        "model",
        "steps",
        "loss cpu",
        f"loss {d}",
        f"loss {d}+amp",
        f"Δloss {d}",
        "Δloss amp",
        f"Δcodes {d}",
        "Δcodes amp",
        "s",
    ]
    lines = [head]
    for r in rows:
        if "skipped" in r:
            lines.append([r["model"], "skipped: " + r["skipped"]] + [""] * (len(head) - 2))
            continue

        def f(k: str, fmt: str = "{:.4g}", r: dict = r) -> str:
            return fmt.format(r[k]) if k in r else "–"

        lines.append(
            [
                r["model"],
                str(r.get("steps", "")),
                f("loss_cpu"),
                f("loss_dev"),
                f("loss_amp"),
                f("dloss_dev", "{:.1%}"),
                f("dloss_amp", "{:.1%}"),
                f("dcodes_dev", "{:.1e}"),
                f("dcodes_amp", "{:.1e}"),
                f("seconds", "{:.0f}"),
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines)
    errors = [f"{r['model']}: {r['error']}" for r in rows if "error" in r]
    return text + ("\n" + "\n".join(errors) if errors else "")


def main() -> int:
    run_gpu_check(out=lambda s: print(s, file=sys.stdout, flush=True))
    return 0
