"""External models (ONNX, TorchScript, .pt2) run in a child process with a time and a memory limit.

An ONNX graph that loops for ever, a program that allocates gigabytes or crashes, ends with one
sentence (:class:`ModelFileError`) and the app keeps running. The child is ``python -m
explorer.models._model_child``; it loads the model with the usual loaders (after the trust gate and
the archive scan have passed in the parent) and answers requests over its stdin/stdout pipes.

Nothing the child sends is unpickled: each message is a JSON header line plus raw float32 bytes,
checked against the header before use. Limits (shown in every message that hits them):

  EXPLORER_MODEL_TIMEOUT_S    seconds for loading, and for each batch (default 120)
  EXPLORER_MODEL_MEMORY_MB    address space the model may add to the child (default 4096;
                              enforced with RLIMIT_AS where the system has it: Linux)
  EXPLORER_ISOLATE_MODELS=0   run external models in this process instead (no limits)

The proxy (:class:`IsolatedEncoder`) has the attributes the rest of the app reads (name,
input_shape, fixed_batch, normalisation, preprocess, source); normalisation and the shape checks
are applied here, so the GUI's preprocessing choices take effect without telling the child.
"""

from __future__ import annotations

import atexit
import os
import queue
import subprocess
import threading
import weakref

import numpy as np

from explorer.core.child import read_message, write_message
from explorer.core.errors import ModelFileError

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MEMORY_MB = 4096
MAX_REPLY_BYTES = 4 << 30
_LIVE: weakref.WeakSet = weakref.WeakSet()


def enabled() -> bool:
    return os.environ.get("EXPLORER_ISOLATE_MODELS", "1").strip().lower() not in ("0", "false", "no", "off")


def limits() -> tuple[float, int]:
    """(seconds per load or batch, megabytes of memory) from the environment, or the defaults."""

    def number(name, default, cast):
        try:
            value = cast(os.environ.get(name, default))
        except ValueError:
            return default
        return value if value > 0 else default

    return number("EXPLORER_MODEL_TIMEOUT_S", DEFAULT_TIMEOUT_S, float), number(
        "EXPLORER_MODEL_MEMORY_MB", DEFAULT_MEMORY_MB, int
    )


def describe_limits() -> str:
    seconds, mb = limits()
    return f"{seconds:g} s per batch and {mb} MB of memory"


class IsolatedEncoder:
    """An external model in its own process: float32 (N, C, H, W) -> float32 (N, D)."""

    def __init__(self, path: str, kind: str, device: str = "cpu") -> None:
        from explorer.models.trust import printable

        self.source = path
        self.kind = kind
        self.device = device
        self.name = printable(os.path.basename(path), 200)
        self.timeout_s, self.memory_mb = limits()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self._start()
        info = self._request({"op": "load", "path": path, "kind": kind, "device": device}, b"", "load")[0]
        self.name = printable(info.get("name") or self.name, 200)
        shape = info.get("input_shape")
        self.input_shape = (
            tuple(int(s) for s in shape) if isinstance(shape, list) and len(shape) == 3 else None
        )
        batch = info.get("fixed_batch")
        self.fixed_batch = int(batch) if isinstance(batch, int) and batch > 0 else None
        self.batch_size = self.fixed_batch or 256
        self.class_names: list[str] = []
        self.summary: dict = {}
        self.file_normalisation = _norm(info.get("file_normalisation"))
        self.normalisation = _norm(info.get("normalisation"))
        self.preprocess, self.preprocess_source = None, ""
        spec = info.get("preprocess")
        if isinstance(spec, dict) and self.input_shape is not None:
            from explorer.core.preprocess import InputSpec

            try:
                self.preprocess = InputSpec(
                    **{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
                )
                self.preprocess_source = str(info.get("preprocess_source", ""))
            except TypeError:
                self.preprocess = None
        _LIVE.add(self)

    @property
    def code_dim(self) -> int | None:
        return None

    # ---- encoding -------------------------------------------------------------------------
    def encode(self, images: np.ndarray) -> np.ndarray:
        from explorer.models.torch_encoder import prepare_images

        images = prepare_images(self.name, self.input_shape, self.normalisation, images)
        parts = []
        for start in range(0, len(images), self.batch_size):
            chunk = images[start : start + self.batch_size]
            head, data = self._request(
                {"op": "encode", "shape": list(chunk.shape)}, chunk.tobytes(), "encode"
            )
            shape = head.get("shape")
            if not (
                isinstance(shape, list)
                and len(shape) == 2
                and all(isinstance(s, int) and s >= 0 for s in shape)
                and shape[0] == len(chunk)
                and shape[0] * shape[1] * 4 == len(data)
            ):
                self.close()
                raise ModelFileError(f"{self.name} answered with codes of the wrong size; it was stopped.")
            parts.append(np.frombuffer(data, np.float32).reshape(shape).copy())
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    # ---- the child ------------------------------------------------------------------------
    def _start(self) -> None:
        from explorer.core.child import start_child

        threads = str(max(1, min(4, os.cpu_count() or 1)))
        try:
            self._proc = start_child(
                "explorer.models._model_child",
                {
                    "EXPLORER_CHILD_MEMORY_MB": str(self.memory_mb),
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", threads),
                },
            )
        except OSError as err:
            raise ModelFileError(
                f"Could not start a process to run {self.name} in ({err.strerror or err})."
            ) from None
        threading.Thread(
            target=_read_replies,
            args=(self._proc.stdout, self._replies),
            name="model-child-reader",
            daemon=True,
        ).start()

    def _request(self, head: dict, data: bytes, what: str) -> tuple[dict, bytes]:
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                raise ModelFileError(f"{self.name} was stopped earlier; load it again to use it.")
            try:
                write_message(proc.stdin, head, data)
            except (BrokenPipeError, OSError, ValueError):
                reply = None
            else:
                try:
                    reply = self._replies.get(timeout=self.timeout_s)
                except queue.Empty:
                    self.close()
                    raise ModelFileError(
                        f"{self.name} took longer than {self.timeout_s:g} s to {what} and was stopped "
                        f"(limit: EXPLORER_MODEL_TIMEOUT_S={self.timeout_s:g}); the app keeps running."
                    ) from None
            if reply is None:  # the child died: killed by the memory limit, crashed, or exited
                self.close()
                raise ModelFileError(
                    f"{self.name} stopped while trying to {what} (it may have needed more than "
                    f"{self.memory_mb} MB, the limit EXPLORER_MODEL_MEMORY_MB, or crashed); "
                    "the app keeps running."
                )
            head, payload = reply
            if not head.get("ok"):
                from explorer.models.trust import printable

                if head.get("memory"):
                    self.close()
                    raise ModelFileError(
                        f"{self.name} needed more than {self.memory_mb} MB to {what} and was stopped "
                        f"(limit: EXPLORER_MODEL_MEMORY_MB={self.memory_mb}); the app keeps running."
                    )
                raise ModelFileError(printable(head.get("error") or f"{self.name} could not {what}.", 600))
            return head, payload

    def close(self) -> None:
        """Stop the child (at once: it runs nothing we need to wait for)."""
        proc, self._proc = getattr(self, "_proc", None), None
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


def _read_replies(stream, out: queue.Queue) -> None:
    """Messages from the child: (header dict, raw bytes); None when the pipe ends or lies."""
    try:
        while (msg := read_message(stream, MAX_REPLY_BYTES)) is not None:
            out.put(msg)
    except (OSError, ValueError, RecursionError):
        pass
    out.put(None)


def _norm(value):
    if isinstance(value, dict) and isinstance(value.get("mean"), list) and isinstance(value.get("std"), list):
        return {"mean": [float(v) for v in value["mean"]], "std": [float(v) for v in value["std"]]}
    return None


@atexit.register
def _close_all() -> None:
    for enc in list(_LIVE):
        enc.close()
