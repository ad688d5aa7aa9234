"""The child process of explorer.models.isolated: loads one external model and encodes batches.

Protocol (both ways): one JSON header line with "nbytes", then that many raw bytes.
  parent -> child: {"op": "load", "path", "kind": "onnx"|"torch"|"export", "device"}
                   {"op": "encode", "shape": [N, C, H, W]} + float32 bytes
  child -> parent: {"ok": true, ...} (+ float32 codes for encode, "shape": [N, D])
                   {"ok": false, "error": sentence, "memory": bool}
The protocol runs on a copy of the original stdout; the model's own prints go to stderr.
The memory limit (EXPLORER_CHILD_MEMORY_MB) is added to the address space in use once the
libraries are imported, with RLIMIT_AS where the platform has it.
"""

from __future__ import annotations

import dataclasses
import os
import sys

from explorer.core.child import read_message, write_message


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # Windows: no rlimits (the time limit still holds)
        return
    mb = int(os.environ.get("EXPLORER_CHILD_MEMORY_MB", "0") or 0)
    if mb <= 0 or not hasattr(resource, "RLIMIT_AS"):
        return
    try:
        with open("/proc/self/statm") as f:
            in_use = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        in_use = 2 << 30
    cap = in_use + mb * (1 << 20)
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        pass


def _send(out, head: dict, data: bytes = b"") -> None:
    write_message(out, head, data)


def _load(req: dict):
    from explorer.models import external

    path, kind, device = str(req["path"]), req.get("kind"), str(req.get("device", "cpu"))
    if kind == "onnx":
        return external.load_onnx(path)
    if kind == "export":
        return external.load_exported(path, device)
    return external.load_torch_file(path, device)


def _describe(enc) -> dict:
    spec = getattr(enc, "preprocess", None)
    info = {
        "ok": True,
        "name": str(getattr(enc, "name", "")),
        "input_shape": list(enc.input_shape) if getattr(enc, "input_shape", None) is not None else None,
        "fixed_batch": getattr(enc, "fixed_batch", None),
        "normalisation": getattr(enc, "normalisation", None),
        "file_normalisation": getattr(enc, "file_normalisation", getattr(enc, "normalisation", None)),
        "preprocess": dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else None,
        "preprocess_source": str(getattr(enc, "preprocess_source", "")),
    }
    enc.normalisation = None  # the parent normalises (its preprocessing choices may change)
    if hasattr(enc, "file_normalisation"):
        enc.file_normalisation = None
    return info


def main() -> int:
    import numpy as np

    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the model's prints must not reach the protocol
    sys.stdout = sys.stderr
    proto_in = sys.stdin.buffer
    import warnings

    warnings.simplefilter("ignore")
    import explorer.models.external  # noqa: F401
    from explorer.core.errors import ExplorerError

    enc = None
    limited = False
    while True:
        msg = read_message(proto_in)
        if msg is None:  # the parent closed the pipe (or it ended mid-message)
            return 0
        req, data = msg
        if not limited:  # the libraries this model needs in, then the limit on top of them
            try:
                if req.get("kind") == "onnx":
                    import onnxruntime  # noqa: F401
                else:
                    import torch  # noqa: F401
            except ImportError:
                pass
            _limit_memory()
            limited = True
        try:
            if req.get("op") == "load":
                enc = _load(req)
                _send(proto_out, _describe(enc))
            elif req.get("op") == "encode" and enc is not None:
                images = np.frombuffer(data, np.float32).reshape(req["shape"])
                codes = np.ascontiguousarray(enc.encode(images), dtype=np.float32)
                codes = codes.reshape(len(images), -1)
                _send(proto_out, {"ok": True, "shape": list(codes.shape)}, codes.tobytes())
            else:
                _send(proto_out, {"ok": False, "error": "The model process got a request it does not know."})
        except MemoryError:
            _send(proto_out, {"ok": False, "memory": True})
        except ExplorerError as err:
            _send(
                proto_out,
                {
                    "ok": False,
                    "error": str(err),
                    "memory": "bad_alloc" in str(err)
                    or "Failed to allocate" in str(err)
                    or "allocate memory" in str(err),
                },
            )
        except Exception as err:  # one sentence to the parent, never a traceback
            text = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
            memory = any(
                k in text for k in ("bad_alloc", "Failed to allocate", "allocate memory", "out of memory")
            )
            _send(proto_out, {"ok": False, "memory": memory, "error": f"The model could not run ({text})."})


if __name__ == "__main__":
    sys.exit(main())
