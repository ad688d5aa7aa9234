"""Atomic file writes: write a temp file beside the target, fsync, then rename over it.

A crash or kill in the middle of a save leaves the previous file intact.
"""

from __future__ import annotations

import os
import tempfile
from typing import Callable

from explorer.core.errors import ExplorerError


def _read_umask() -> int:
    mask = os.umask(0o022)  # read once, at import (os.umask can only be read by setting it)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()  # what open() would give a new file (mkstemp gives 0600)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` to produce the file, then move it over ``path`` in one step."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    root, ext = os.path.splitext(base)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{root}.", suffix=f".tmp{ext}", dir=folder)
    except OSError as err:  # no such folder, read-only, permission denied: a sentence, not a traceback
        raise ExplorerError(
            f"Cannot write {path}: {err.strerror or err}; choose a folder that exists and is writable."
        ) from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
        _remove_stale_temps(folder, root, ext)
    except OSError as err:  # disk full, quota, a target we may not replace, ...
        raise ExplorerError(f"Cannot write {path}: {err.strerror or err}; the previous file is unchanged.") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


STALE_SECONDS = 600  # temp files this old are leftovers of a killed save, not a save in progress


def _remove_stale_temps(folder: str, root: str, ext: str) -> None:
    """Delete temp files that earlier saves of the same target left when they were killed."""
    import time

    prefix, suffix = f".{root}.", f".tmp{ext}"
    cutoff = time.time() - STALE_SECONDS
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(suffix) and len(name) == len(prefix) + 8 + len(suffix):
            full = os.path.join(folder, name)
            try:
                if os.path.getmtime(full) < cutoff:
                    os.remove(full)
            except OSError:
                pass


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    atomic_write(path, write)
