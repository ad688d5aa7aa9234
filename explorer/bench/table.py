"""Bench rows and the table they make.

A row measures ours and a reference on the same data in the same process, right beside each
other, so the ratio holds on a noisy shared machine; timings are medians of repeats. Each row
function returns a :class:`Row`; a row whose subject is missing or fails is reported, not fatal.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable


@dataclass
class Row:
    measure: str
    ours: float | None
    reference: float | None
    unit: str
    target: str  # human-readable target, e.g. "< 10 ms" or "ratio <= 1.0"
    met: bool | None
    lower_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.reference in (None, 0):
            return None
        return self.ours / self.reference

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Row:
        names = ("measure", "ours", "reference", "unit", "target", "met", "lower_is_better", "note")
        return cls(**{k: d[k] for k in names if k in d})


def median_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def format_table(rows: list[Row]) -> str:
    header = ("measure", "ours", "reference", "ratio", "target", "met")
    lines = [header]
    for r in rows:

        def fmt(v, unit=r.unit) -> str:
            return "-" if v is None else f"{v:.4g} {unit}".strip()

        met = {True: "yes", False: "NO", None: "-"}[r.met]
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append((r.measure, fmt(r.ours), fmt(r.reference), ratio, r.target, met))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for k, line in enumerate(lines):
        out.append(" | ".join(str(c).ljust(w) for c, w in zip(line, widths)))
        if k == 0:
            out.append("-+-".join("-" * w for w in widths))
    notes = [f"- {r.measure}: {r.note}" for r in rows if r.note]
    return "\n".join(out + ([""] + notes if notes else []))


def format_report(report: dict) -> str:
    """The table of a :func:`explorer.bench.runner.run_bench` report, under a line about the
    machine and its load (the cores are shared, so the load says how far to trust the times)."""
    m = report.get("machine", {})
    head = (
        f"explorer bench ({report.get('plan')}): {m.get('nproc')} cores, {m.get('cpu')}, "
        f"Python {m.get('python')}; load average {m.get('loadavg')} at start, "
        f"{report.get('loadavg_end')} at end; {report.get('seconds')} s"
    )
    rows = [Row.from_dict(d) for d in report.get("rows", [])]
    return head + "\n\n" + format_table(rows)


def format_markdown(report: dict) -> str:
    """The report as a Markdown table (for the README), notes under it."""
    m = report.get("machine", {})
    rows = [Row.from_dict(d) for d in report.get("rows", [])]
    fmt = lambda v, unit: "–" if v is None else f"{v:.4g} {unit}".strip()  # noqa: E731
    lines = [
        f"`explorer bench --{report.get('plan')}` on {m.get('nproc')} cores ({m.get('cpu')}), "
        f"Python {m.get('python')}, {m.get('platform')}; load average {m.get('loadavg')} at the "
        f"start and {report.get('loadavg_end')} at the end; {report.get('seconds')} s in all.",
        "",
        "| measure | ours | reference | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "–"}[r.met]
        ratio = "–" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"| {r.measure} | {fmt(r.ours, r.unit)} | {fmt(r.reference, r.unit)} | {ratio} "
            f"| {r.target} | {met} |"
        )
    notes = [f"- *{r.measure}*: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))
