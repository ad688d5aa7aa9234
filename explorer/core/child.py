"""Start a Python child process of this package (``python -m explorer.<module>``) with pipes for
its protocol: used by the isolated model runner and the layout process."""

from __future__ import annotations

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
