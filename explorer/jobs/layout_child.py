"""t-SNE and UMAP layouts in a separate process, so nothing they do holds the GUI process's GIL.

umap-learn's numba code (compiling, or running an epoch) and pynndescent hold the GIL for tens of
milliseconds to seconds at a time, and openTSNE's Python callbacks take it every few iterations;
run in a worker thread they freeze the GUI thread (measured: 2.5-4.4 s for UMAP of 10,000 points).
Here the fit runs in ``python -m explorer.jobs._layout_child`` and this process only reads its
messages: the partial layouts stream back as they form, a closed job is cancelled in the child
within a second (else the child is killed), and the seed goes with the request, so the layout is
the one the same call gives in-process.

:func:`child_layout_job` is a progress generator like ``explorer.projection.project_job`` (run it
in a worker); it returns ``(layout (N, 2) float32, faithfulness mean, per point (N,) float32)``.
Idle children are kept (at most ``MAX_IDLE``) so the next layout starts without a new interpreter;
:func:`warm_up` starts one that compiles UMAP's code at once.

  EXPLORER_LAYOUT_CHILD=0   run layouts in this process (tests do; see tests/conftest.py)
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import subprocess
import threading

import numpy as np

from explorer.core.child import read_message, write_message
from explorer.core.errors import ExplorerError
from explorer.core.progress import Progress

CHILD_METHODS = ("tsne", "umap")  # PCA is one numpy SVD: it stays in the caller's thread
MAX_IDLE = 2
# codes bigger than this stay in the caller's process: a copy through a pipe and a second one in
# the child would cost more memory than the stalls (landmark layouts of millions of wide codes)
CHILD_MAX_BYTES = 1 << 30
CANCEL_WAIT_S = 1.0  # a cancelled child that has not stopped by then is killed
_TICK_S = 0.1  # the job yields at least this often, so its runner can cancel it
_ids = itertools.count(1)
_idle: list[LayoutChild] = []
_all: set = set()
_pool_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("EXPLORER_LAYOUT_CHILD", "1").strip().lower() not in ("0", "false", "no", "off")


def runs_in_child(method: str, codes: np.ndarray | None = None) -> bool:
    """Whether :func:`explorer.jobs.layouts.layout_job` sends ``method`` (of ``codes``) to a layout
    process: t-SNE and UMAP, unless turned off or the codes exceed CHILD_MAX_BYTES as float32."""
    if method not in CHILD_METHODS or not enabled():
        return False
    return codes is None or int(np.prod(np.shape(codes))) * 4 <= CHILD_MAX_BYTES


class LayoutChild:
    """One layout process and the thread that reads its answers."""

    def __init__(self) -> None:
        from explorer.core.child import start_child

        try:
            self.proc = start_child("explorer.jobs._layout_child")
        except OSError as err:
            raise ExplorerError(
                f"Could not start a process for the layout ({err.strerror or err})."
            ) from None
        self.messages: queue.Queue = queue.Queue()
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read, name="layout-child-reader", daemon=True).start()
        _all.add(self)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send(self, head: dict, *arrays: np.ndarray) -> None:
        data = b"".join(np.ascontiguousarray(a, dtype=np.float32).tobytes() for a in arrays)
        with self._write_lock:
            try:
                write_message(self.proc.stdin, head, data)
            except (BrokenPipeError, OSError, ValueError, AttributeError):
                raise ExplorerError("The layout process stopped unexpectedly; try again.") from None

    def _read(self) -> None:
        stream = self.proc.stdout
        try:
            while (msg := read_message(stream)) is not None:
                self.messages.put(msg)
        except (OSError, ValueError):
            pass
        self.messages.put(None)  # the child ended

    def cancel(self, job_id: int) -> bool:
        """Ask the child to stop ``job_id``; True once it has said so within CANCEL_WAIT_S."""
        import time

        try:
            self.send({"op": "cancel", "id": job_id})
        except ExplorerError:
            return False
        deadline = time.monotonic() + CANCEL_WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if msg is None:
                return False
            head = msg[0]
            if head.get("id") == job_id and head.get("kind") in ("cancelled", "done", "error"):
                return True
        return False

    def close(self) -> None:
        proc, self.proc = self.proc, None
        _all.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def acquire() -> LayoutChild:
    """An idle layout process, or a new one."""
    with _pool_lock:
        while _idle:
            child = _idle.pop()
            if child.alive():
                return child
            child.close()
    return LayoutChild()


def release(child: LayoutChild) -> None:
    """Keep ``child`` for the next layout (or stop it when enough are idle or it died)."""
    with _pool_lock:
        if child.alive() and len(_idle) < MAX_IDLE:
            _idle.append(child)
            return
    child.close()


def warm_up() -> None:
    """Start an idle layout process that imports the engines and compiles UMAP's numba code (from
    numba's disk cache after the first time), so the first layout starts at once."""
    child = LayoutChild()
    child.send({"op": "warm", "id": next(_ids)})
    release(child)


def child_layout_job(
    codes: np.ndarray,
    method: str,
    seed: int = 0,
    params: dict | None = None,
    previous: np.ndarray | None = None,
    live: bool = False,
    faith: bool = True,
):
    """(N, D) codes -> yields Progress (payload: (N, 2) float32 partial layouts from the child),
    returns (layout (N, 2) float32, faithfulness mean, per-point (N,) float32; NaN without ``faith``).

    ``method``, ``seed``, ``params`` as for ``project_job``; with ``live``, ``live_frame_job``
    continuing ``previous`` (N, 2). Params must be JSON (numbers, strings, lists). Closing the job
    cancels it in the child."""
    x = np.ascontiguousarray(codes, dtype=np.float32)
    if x.ndim != 2:
        raise ExplorerError(f"Codes must be a 2-D array (items x dimensions); got shape {x.shape}.")
    prev = None
    if previous is not None and np.shape(previous) == (len(x), 2):
        prev = np.ascontiguousarray(previous, dtype=np.float32)
    job_id = next(_ids)
    head = {
        "op": "layout",
        "id": job_id,
        "method": method,
        "seed": int(seed),
        "params": dict(params or {}),
        "live": bool(live),
        "shape": list(x.shape),
        "previous": prev is not None,
        "faith": bool(faith),
    }
    child = acquire()
    finished = False  # the child answered this job to its end: it can be kept
    step, total, message = 0, 0, f"{method}: starting"
    try:
        child.send(head, *([x] if prev is None else [x, prev]))
        while True:
            try:
                msg = child.messages.get(timeout=_TICK_S)
            except queue.Empty:
                yield Progress(step=step, total=total, message=message)  # a point to cancel at
                continue
            if msg is None:
                raise ExplorerError(
                    f"The layout process stopped while computing {method} (out of memory, or it "
                    "crashed); try again, or with fewer points."
                )
            got, data = msg
            if got.get("id") != job_id:
                continue  # a late message of an earlier job of this child
            kind = got.get("kind")
            if kind == "progress":
                step, total, message = int(got["step"]), int(got["total"]), str(got["message"])
                n = int(got.get("n", 0))
                payload = np.frombuffer(data, np.float32).reshape(n, 2).copy() if n else None
                yield Progress(step=step, total=total, message=message, payload=payload)
            elif kind == "done":
                finished = True
                n = int(got["n"])
                values = np.frombuffer(data, np.float32)
                layout = values[: 2 * n].reshape(n, 2).copy()
                per_point = values[2 * n : 3 * n].copy()
                return layout, float(got["mean"]), per_point
            elif kind == "error":
                finished = True
                if got.get("user"):
                    raise ExplorerError(str(got.get("message")))
                raise RuntimeError(f"in the layout process: {got.get('message')}")
            elif kind == "cancelled":
                finished = True
                raise ExplorerError(f"The {method} layout was cancelled.")
    finally:
        if not finished and child.alive() and not child.cancel(job_id):
            child.close()  # it did not stop in time: a new process costs less than waiting
        release(child)


@atexit.register
def _close_all() -> None:
    with _pool_lock:
        _idle.clear()
    for child in list(_all):
        child.close()
