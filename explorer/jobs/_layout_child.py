"""The layout process, ``python -m explorer.jobs._layout_child`` (see :mod:`explorer.jobs.layout_child`).

It reads requests from stdin and answers on stdout, each message one JSON header line plus raw
bytes (``nbytes`` of them), the format :mod:`explorer.models.isolated` uses; nothing is pickled.

Requests (one runs at a time, in order):
  {"op": "layout", "id", "method", "seed", "params", "live", "shape", "previous", "faith", "nbytes"}
      + codes float32 (N, D) [+ previous float32 (N, 2)]: lay the codes out with the projection
      engine (``project_job`` or, with ``live``, ``live_frame_job``) and measure faithfulness;
  {"op": "warm", "id"}: import the engines and compile (or load from numba's disk cache) UMAP's code;
  {"op": "cancel", "id"}: stop that job at its next step (read at once, even while a job runs).
Answers, each with the request's ``id``:
  {"kind": "progress", "step", "total", "message", "n"} + an (n, 2) float32 partial layout (n 0: none);
  {"kind": "done", "n", "mean"} + the (n, 2) float32 layout + the (n,) float32 faithfulness per point;
  {"kind": "cancelled"}; {"kind": "error", "message", "user"} (user: an ExplorerError, one sentence).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time

import numpy as np

from explorer.core.child import read_message, write_message

PAYLOAD_EVERY_S = 0.04  # partial layouts sent at most this often (the GUI draws at most 20 a second)
HEARTBEAT_EVERY_S = 0.25  # records without a layout (progress text only)


class _Out:
    def __init__(self, stream) -> None:
        self.stream = stream
        self.lock = threading.Lock()

    def send(self, head: dict, *arrays: np.ndarray) -> None:
        data = b"".join(np.ascontiguousarray(a, dtype=np.float32).tobytes() for a in arrays)
        with self.lock:
            write_message(self.stream, head, data)


def _read_requests(stream, requests: queue.Queue, cancelled: set, lock: threading.Lock) -> None:
    """stdin -> ``requests`` (cancels go straight into ``cancelled``); the process ends with stdin."""
    try:
        while (msg := read_message(stream)) is not None:
            head, data = msg
            if head.get("op") == "cancel":
                with lock:
                    cancelled.add(head.get("id"))
            else:
                requests.put((head, data))
    except (OSError, ValueError):
        pass
    os._exit(0)  # stdin ended: the parent is gone (or closed us), so is the job's reader


def _arrays(head: dict, data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    n, d = (int(s) for s in head["shape"])
    codes = np.frombuffer(data, np.float32, count=n * d).reshape(n, d)
    previous = None
    if head.get("previous"):
        previous = np.frombuffer(data, np.float32, count=n * 2, offset=n * d * 4).reshape(n, 2)
    return codes, previous


def _layout(head: dict, data: bytes, out: _Out, is_cancelled) -> None:
    from explorer.projection import faithfulness, live_frame_job, project_job

    job_id = head["id"]
    codes, previous = _arrays(head, data)
    method, seed, params = head["method"], int(head.get("seed", 0)), dict(head.get("params") or {})
    if head.get("live"):
        gen = live_frame_job(codes, method, previous=previous, seed=seed, **params)
    else:
        gen = project_job(codes, method, seed=seed, **params)
    last_payload = last_sent = 0.0
    skipped = None  # the newest layout not sent because one went out less than PAYLOAD_EVERY_S ago
    while True:
        if is_cancelled(job_id):
            gen.close()  # the engines stop their helper threads when closed
            out.send({"id": job_id, "kind": "cancelled"})
            return
        try:
            rec = next(gen)
        except StopIteration as stop:
            layout = np.asarray(stop.value, dtype=np.float32)
            if skipped is not None:  # a fast job's last frame still reaches the viewer as a frame
                _send_progress(out, job_id, skipped, skipped.payload)
            break
        now = time.perf_counter()
        payload = rec.payload if rec.payload is not None and now - last_payload >= PAYLOAD_EVERY_S else None
        if rec.payload is not None:
            skipped = rec if payload is None else None
        if payload is None and now - last_sent < HEARTBEAT_EVERY_S:
            continue
        _send_progress(out, job_id, rec, payload)
        if payload is not None:
            last_payload = now
        last_sent = now
    if head.get("faith", True):
        if is_cancelled(job_id):
            out.send({"id": job_id, "kind": "cancelled"})
            return
        out.send(
            {"id": job_id, "kind": "progress", "step": 1, "total": 1, "message": "measuring faithfulness"}
        )
        mean, per_point = faithfulness(codes, layout)
    else:
        mean, per_point = float("nan"), np.full(len(layout), np.nan, np.float32)
    out.send({"id": job_id, "kind": "done", "n": int(len(layout)), "mean": float(mean)}, layout, per_point)


def _send_progress(out: _Out, job_id, rec, payload) -> None:
    head_out = {"id": job_id, "kind": "progress", "step": int(rec.step), "total": int(rec.total)}
    head_out["message"] = str(rec.message)
    if payload is not None:
        payload = np.asarray(payload, dtype=np.float32)
        head_out["n"] = int(len(payload))
        out.send(head_out, payload)
    else:
        head_out["n"] = 0
        out.send(head_out)


def _warm(head: dict, out: _Out) -> None:
    import explorer.projection  # noqa: F401  (numpy, scikit-learn, openTSNE)
    from explorer.projection.umap_layout import warm_up

    warm_up()
    out.send({"id": head["id"], "kind": "done", "n": 0, "mean": float("nan")})


def main() -> int:
    try:  # a layout is background work: the GUI process comes first
        os.nice(int(os.environ.get("EXPLORER_LAYOUT_NICE", "5")))
    except (AttributeError, OSError, ValueError):
        pass
    out = _Out(sys.stdout.buffer)
    requests: queue.Queue = queue.Queue()
    cancelled: set = set()
    lock = threading.Lock()
    threading.Thread(
        target=_read_requests, args=(sys.stdin.buffer, requests, cancelled, lock), daemon=True
    ).start()

    def is_cancelled(job_id) -> bool:
        with lock:
            return job_id in cancelled

    while True:
        item = requests.get()
        if item is None:
            return 0
        head, data = item
        job_id = head.get("id")
        if is_cancelled(job_id):
            out.send({"id": job_id, "kind": "cancelled"})
            continue
        try:
            if head.get("op") == "warm":
                _warm(head, out)
            elif head.get("op") == "layout":
                _layout(head, data, out, is_cancelled)
            else:
                out.send({"id": job_id, "kind": "error", "message": f"unknown request {head.get('op')!r}"})
        except Exception as err:
            from explorer.core.errors import ExplorerError

            user = isinstance(err, ExplorerError)
            message = str(err) if user else f"{type(err).__name__}: {err}"
            out.send({"id": job_id, "kind": "error", "message": message, "user": user})
        finally:
            with lock:
                cancelled.discard(job_id)


if __name__ == "__main__":
    sys.exit(main())
