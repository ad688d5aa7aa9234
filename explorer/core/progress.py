"""Progress records: what long-running generators yield.

Long work (training, encoding, projection, evaluation) is a generator that yields one of these
between small steps. The caller stops it by closing the generator (``gen.close()``) or simply not
asking for more; the CLI draws a text bar from the records (``drive``), the GUI worker turns them
into signals.
Records are frozen and carry numpy copies, never live tensors.
"""

from __future__ import annotations

import math
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping


@dataclass(frozen=True)
class Progress:
    """One step of a long job.

    step, total: how far along (total 0 when unknown).
    message:     short text for a status line ("epoch 2/5", "encoding").
    loss:        current training loss, if any.
    metrics:     other numbers worth plotting (val_loss, auc, kl, throughput, eta_s, ...).
    payload:     a partial result (numpy layout, codes, sample images) for a view to show.
    """

    step: int = 0
    total: int = 0
    message: str = ""
    loss: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    payload: Any = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total else 0.0


def run_to_end(gen: Iterator[Progress]):
    """Drive a progress generator to its end and return its ``return`` value (no UI)."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


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


_COUNTER = re.compile(r"\d[\d,]*\s*/\s*\d[\d,]*")


def _describe(rec: Progress) -> str:
    """One line's text: the message, then one counter: ``step/total`` or, when the message
    counts something of its own ("epoch 2/5", "searching 5,000/1,000,000"), the share done, so a
    line never shows two bare counters whose meanings swap from line to line."""
    parts = [rec.message] if rec.message else []
    if rec.total and _COUNTER.search(rec.message or ""):
        parts.append(f"({100 * rec.fraction:.0f}%)")
    elif rec.total:
        parts.append(f"{rec.step:,}/{rec.total:,}")
    if rec.loss is not None and math.isfinite(rec.loss):
        parts.append(f"loss {rec.loss:.4g}")
    for key in ("val_loss", "eta_s"):
        if key in rec.metrics:
            value = rec.metrics[key]
            parts.append(f"ETA {value:.0f}s" if key == "eta_s" else f"{key} {value:.4g}")
    return " ".join(parts)
