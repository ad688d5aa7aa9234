"""Helpers shared by the subcommands: a text progress bar, JSON output, atomic saves."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Iterator

import numpy as np

from explorer.core.atomic import atomic_write
from explorer.core.progress import Progress


def drive(gen: Iterator[Progress], label: str = "", stream=None):
    """Run a progress generator to its end, drawing a one-line bar on stderr; return its result."""
    stream = sys.stderr if stream is None else stream
    interactive = stream.isatty()
    start = time.perf_counter()
    last_draw = 0.0 if interactive else start  # a log gets a line every 5 s, not one per short job
    rec: Progress | None = None
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            if rec is not None and not interactive:
                stream.write(f"{label} {_describe(rec)} done in {time.perf_counter() - start:.1f}s\n")
            elif interactive:
                stream.write("\n")
            stream.flush()
            return stop.value
        now = time.perf_counter()
        if now - last_draw < (0.1 if interactive else 5.0):
            continue
        last_draw = now
        line = f"{label} {_bar(rec.fraction)} {_describe(rec)}"
        stream.write(("\r" + line[:120].ljust(120)) if interactive else line + "\n")
        stream.flush()


def _bar(fraction: float, width: int = 24) -> str:
    done = int(round(fraction * width))
    return "[" + "#" * done + "." * (width - done) + "]"


def _describe(rec: Progress) -> str:
    parts = [rec.message] if rec.message else []
    if rec.total:
        parts.append(f"{rec.step}/{rec.total}")
    if rec.loss is not None and math.isfinite(rec.loss):
        parts.append(f"loss {rec.loss:.4g}")
    for key in ("val_loss", "eta_s"):
        if key in rec.metrics:
            value = rec.metrics[key]
            parts.append(f"ETA {value:.0f}s" if key == "eta_s" else f"{key} {value:.4g}")
    return " ".join(parts)


def print_json(obj) -> None:
    """Print one JSON object as the last line of standard output (numpy scalars allowed)."""

    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"cannot write {type(o).__name__} as JSON")

    sys.stdout.write(json.dumps(obj, default=default) + "\n")
    sys.stdout.flush()


def atomic_save_npy(path: str, array: np.ndarray) -> None:
    """np.save through a temp file and a rename, so a crash never leaves half a file."""
    atomic_write(path, lambda tmp: np.save(tmp, array))
