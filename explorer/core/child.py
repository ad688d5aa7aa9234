"""Start a Python child process of this package (``python -m explorer.<module>``) with pipes for
its protocol: used by the isolated model runner and the layout process."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def start_child(module: str, env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m module`` with stdin/stdout pipes (stderr discarded), this checkout first on
    PYTHONPATH, fewer malloc arenas; ``env_extra`` added to the environment. Raises OSError."""
    import explorer

    root = os.path.dirname(os.path.dirname(os.path.abspath(explorer.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("MALLOC_ARENA_MAX", "2")  # fewer 64 MB arenas reserved per thread
    env.update(env_extra or {})
    return subprocess.Popen(
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        close_fds=True,
    )


# ---- the wire format of both children: a JSON header line with "nbytes", then that many raw bytes
MAX_HEADER = 1 << 20  # bytes of one header line


def write_message(stream, head: dict, data: bytes = b"") -> None:
    """One message: ``head`` as a JSON line (with ``nbytes``) and ``data`` after it, flushed."""
    stream.write(json.dumps({**head, "nbytes": len(data)}).encode() + b"\n" + data)
    stream.flush()


def read_message(stream, max_bytes: int | None = None) -> tuple[dict, bytes] | None:
    """The next message of ``stream`` as (header, raw bytes), or None when the pipe has ended or
    lies (no whole header line, a header that is not an object, a size that is not a whole number
    from 0 to ``max_bytes``, fewer bytes than it said). Malformed JSON raises ValueError."""
    line = stream.readline(MAX_HEADER)
    if not line.endswith(b"\n"):
        return None
    head = json.loads(line)
    n = head.get("nbytes", 0) if isinstance(head, dict) else -1
    if not isinstance(n, int) or n < 0 or (max_bytes is not None and n > max_bytes):
        return None
    data = stream.read(n) if n else b""
    return (head, data) if len(data) == n else None
