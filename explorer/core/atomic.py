"""Atomic file writes: write a temp file beside the target, fsync, then rename over it.

A crash or kill in the middle of a save leaves the previous file intact, and so does a failed
write (disk full, quota, I/O error): the temp file is removed and the error is one sentence.

What happens to what is already at the target path:

- a regular file is replaced; the new file keeps its permission bits, and its owner and group
  where this process may set them (root, or a group the user is in);
- a symbolic link is written *through*: the file it points to is replaced (beside it, so the rename
  stays on one file system) and the link itself is kept. Replacing the link by a regular file would
  silently cut the user's link; refusing would make a linked output unusable;
- anything else (a device node, a FIFO, a socket, a folder) is never replaced: ExplorerError,
  "... is a character device, not a regular file; explorer replaces only regular files ...".

Writers that take a *name* and may change it (``np.save`` appends ``.npy`` to a name that does not
end in lower-case ``.npy``) must be given a file object instead: use :func:`atomic_save_npy`.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Callable

from explorer.core.errors import ExplorerError


def _read_umask() -> int:
    mask = os.umask(0o022)  # read once, at import (os.umask can only be read by setting it)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()  # what open() would give a new file (mkstemp gives 0600)

_KIND = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def resolve_target(path: str | os.PathLike) -> tuple[str, os.stat_result | None]:
    """(the path to replace, its stat or None when nothing is there yet), following symbolic links.

    ExplorerError when something that is not a regular file is there (device, FIFO, socket, folder)."""
    path = os.fspath(path)
    real = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real, None
    except OSError as err:
        raise ExplorerError(f"Cannot write {path}: {err.strerror or err}.") from None
    if not stat.S_ISREG(st.st_mode):
        kind = _KIND.get(stat.S_IFMT(st.st_mode), "not a regular file")
        via = f" (the link {path} points to {real})" if real != path else ""
        raise ExplorerError(
            f"Cannot write {path}: it is {kind}{via}, not a regular file; explorer replaces only "
            "regular files, so choose a file name."
        )
    return real, st


def _io_failure(err: BaseException) -> str | None:
    """The reason text when ``err`` is a failed write (OSError, or a library's wrapped I/O error)."""
    if isinstance(err, OSError):
        return err.strerror or str(err) or type(err).__name__
    text = str(err)
    # safetensors (Rust) reports I/O as 'IoError(Os { code: 28, kind: StorageFull, ... })'
    m = re.search(r"Os \{ code: (\d+)", text) or re.search(r"os error (\d+)", text)
    if m:
        return os.strerror(int(m.group(1)))
    return None


def _keep_owner_and_mode(tmp: str, old: os.stat_result | None) -> None:
    if old is None:
        os.chmod(tmp, _FILE_MODE)
        return
    if hasattr(os, "chown"):
        try:
            if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
                os.chown(tmp, old.st_uid, old.st_gid)
        except OSError:  # not ours to give away: keep at least the group if we may
            try:
                os.chown(tmp, -1, old.st_gid)
            except OSError:
                pass
    os.chmod(tmp, stat.S_IMODE(old.st_mode))  # after chown, which can clear set-id bits


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` to produce the file, then move it over ``path`` in one step.

    ``write`` must write exactly ``tmp_path``. Raises ExplorerError (one sentence) when the target
    cannot be replaced or the write fails for a reason of the disk (full, quota, read-only, I/O);
    the previous file is then unchanged and no temp file is left. Other exceptions of ``write``
    (bugs) propagate unchanged, also without a temp file left."""
    shown = os.fspath(path)
    target, old = resolve_target(shown)
    folder = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    root, ext = os.path.splitext(base)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{root}.", suffix=f".tmp{ext}", dir=folder)
    except OSError as err:  # no such folder, read-only, permission denied: a sentence, not a traceback
        raise ExplorerError(
            f"Cannot write {shown}: {err.strerror or err}; choose a folder that exists and is writable."
        ) from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        _keep_owner_and_mode(tmp, old)
        resolve_target(shown)  # still a regular file (or nothing) just before the rename
        os.replace(tmp, target)
        _remove_stale_temps(folder, root, ext)
    except ExplorerError:
        raise
    except Exception as err:  # disk full, quota, a target we may not replace, ...
        reason = _io_failure(err)
        if reason is None:
            raise
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            reason += " (free some space or choose another disk)"
        raise ExplorerError(f"Cannot write {shown}: {reason}; the previous file is unchanged.") from None
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


def atomic_save_npy(path: str | os.PathLike, array) -> None:
    """``np.save`` to exactly ``path`` (whatever its suffix: "codes", "codes.NPY"), atomically.

    np.save given a *name* appends ".npy" when the name does not end in it, which would leave the
    rename moving an empty temp file over the target; a file object is written as it is."""
    import numpy as np

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)

    atomic_write(path, write)
