"""Helpers of the streamed landmark layout: work in a helper thread whose frames become Progress
records, and passing a sub-job's records through with a new message or frame."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

from explorer.core.progress import Progress


def threaded(work: Callable, label: str, total: int) -> Iterator[Progress]:
    """Run ``work(emit, stopped)`` in a helper thread; its ``emit(step, xy)`` calls become
    frames; closing the generator sets ``stopped`` (work should raise or return at its next
    check). Returns ``work``'s return value."""
    frames: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    done = threading.Event()
    outcome: dict = {}

    def emit(step: int, xy: np.ndarray) -> None:
        try:
            frames.put_nowait((step, np.array(xy, np.float32)))
        except queue.Full:  # the consumer is slow: skip a frame rather than wait
            pass

    def run() -> None:
        try:
            outcome["value"] = work(emit, stop)
        except BaseException as err:  # handed to the generator below
            outcome["error"] = err
        finally:
            done.set()

    thread = threading.Thread(target=run, name=f"{label}-refine", daemon=True)
    thread.start()
    step = 0
    try:
        while not (done.is_set() and frames.empty()):
            try:
                step, xy = frames.get(timeout=0.1)
            except queue.Empty:
                yield Progress(step=step, total=total, message=f"{label}: refining")
                continue
            yield Progress(step=step, total=total, message=f"{label}: refining", payload=xy)
    finally:
        stop.set()
        thread.join()
    if "error" in outcome and not isinstance(outcome["error"], Cancelled):
        raise outcome["error"]
    return outcome.get("value")


class Cancelled(Exception):
    """Raised inside a refinement thread whose job was closed."""


def drain(gen: Iterator[Progress], wrap: Callable[[Progress], Progress]):
    """``yield from gen`` with every record passed through ``wrap``; returns gen's value."""
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            return stop.value
        yield wrap(rec)
