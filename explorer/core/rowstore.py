"""Arrays that grow with the data, on disk: one ``.npy`` file of N fixed-size rows, filled row by
row (in any order, from many threads), resumable, and trusted only when it matches what made it.

Layout in a cache folder, for a store called ``NAME``:
- ``NAME.partial.npy`` while rows are missing (made with ``np.lib.format.open_memmap``), with
  ``NAME.done.npy`` (bool per row) saying which rows are written; renamed to ``NAME.npy`` when whole;
- ``NAME.keys.npy``: uint64 per row, a hash of what the row was made from (e.g. path, size, mtime);
- ``NAME.json``: version, count, row shape, dtype and the caller's settings.

Rows are read and written with ``os.pread``/``os.pwrite`` at the header offset, not through a
memory map: pages written for a 100,000-item folder then sit in the OS page cache, not in this
process's resident memory, so memory stays bounded by what is read. Any file that is missing,
unreadable, of the wrong shape or made by other settings is deleted and rebuilt, never trusted.
On reopening with new keys, rows whose key is unchanged are kept and the others redone.
"""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np

from explorer.core.atomic import atomic_write

VERSION = 1


class RowStore:
    """N rows of ``row_shape`` ``dtype`` in ``folder``/``name``*; see the module doc.

    keys:     (N,) uint64, what each row is made from; rows whose key changed are redone.
    settings: JSON-able dict that must match for the file to be reused (e.g. the rendition size).
    """

    def __init__(
        self,
        folder: str,
        name: str,
        keys: np.ndarray,
        row_shape: tuple[int, ...],
        dtype="uint8",
        settings: dict | None = None,
    ) -> None:
        self.folder, self.name = folder, name
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        self.count = len(self.keys)
        self.row_shape = tuple(int(s) for s in row_shape)
        self.dtype = np.dtype(dtype)
        self.settings = dict(settings or {})
        self.row_bytes = int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize
        self._lock = threading.Lock()
        self._last_save = 0.0
        self.rebuilt_reason = ""  # why an old file was not used ("" when it was, or there was none)
        self.done = np.zeros(self.count, dtype=bool)
        self._fd = -1
        self._open()

    # ---- paths ----------------------------------------------------------------------------------
    def _path(self, suffix: str) -> str:
        return os.path.join(self.folder, self.name + suffix)

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    @property
    def path(self) -> str:
        """The .npy file (final name when whole, the partial one while building)."""
        return self._path(".npy") if os.path.exists(self._path(".npy")) else self._path(".partial.npy")

    def _meta(self) -> dict:
        return {
            "version": VERSION,
            "count": self.count,
            "row_shape": list(self.row_shape),
            "dtype": self.dtype.str,
            "settings": self.settings,
        }

    # ---- opening --------------------------------------------------------------------------------
    def _open(self) -> None:
        os.makedirs(self.folder, exist_ok=True)
        try:
            if self._reuse():
                return
        except (OSError, ValueError, KeyError, TypeError, EOFError) as err:
            self.rebuilt_reason = f"cache file unreadable ({type(err).__name__}: {str(err)[:80]})"
        self._remove_all()
        self._create()

    def _reuse(self) -> bool:
        """Open an existing file if it is what these settings make; False if there is none/unfit."""
        final, partial = self._path(".npy"), self._path(".partial.npy")
        if not os.path.exists(self._path(".json")) or not (os.path.exists(final) or os.path.exists(partial)):
            return False
        with open(self._path(".json"), encoding="utf-8") as f:
            meta = json.load(f)
        mine = self._meta()
        old_count = int(meta.get("count", -1))
        if any(meta.get(k) != mine[k] for k in ("version", "row_shape", "dtype", "settings")):
            self.rebuilt_reason = "made with other settings"
            return False
        old_keys = np.load(self._path(".keys.npy"), allow_pickle=False)
        if old_keys.dtype != np.uint64 or old_keys.shape != (old_count,):
            raise ValueError("keys do not match the count")
        is_final = os.path.exists(final)
        path = final if is_final else partial
        offset = _check_npy(path, (old_count, *self.row_shape), self.dtype)
        if is_final:
            old_done = np.ones(old_count, dtype=bool)
        else:
            old_done = np.load(self._path(".done.npy"), allow_pickle=False)
            if old_done.dtype != bool or old_done.shape != (old_count,):
                raise ValueError("done mask does not match the count")
        if old_count == self.count:  # same rows: keep the unchanged ones in place
            if is_final:
                os.replace(final, partial)
            self._fd, self._offset = os.open(partial, os.O_RDWR), offset
            self.done = old_done & (old_keys == self.keys)
            if not self.done.all():
                self._write_index()
            self._maybe_finish()
            return True
        # other rows (files added or removed): copy the rows whose key survives into a new file
        old_fd = os.open(path, os.O_RDONLY)
        try:
            self._remove_all(keep=path)
            tmp_name = path + ".old"
            os.replace(path, tmp_name)
            self._create()
            where = {int(k): i for i, k in enumerate(old_keys) if old_done[i]}
            pairs = [(i, where[int(k)]) for i, k in enumerate(self.keys) if int(k) in where]
            for i, j in pairs:
                self._pwrite_row(i, os.pread(old_fd, self.row_bytes, offset + j * self.row_bytes))
                self.done[i] = True
        finally:
            os.close(old_fd)
            if os.path.exists(path + ".old"):
                os.remove(path + ".old")
        self._write_index()
        self._maybe_finish()
        return True

    def _create(self) -> None:
        partial = self._path(".partial.npy")
        mm = np.lib.format.open_memmap(
            partial, mode="w+", dtype=self.dtype, shape=(self.count, *self.row_shape)
        )
        del mm
        self._offset = _check_npy(partial, (self.count, *self.row_shape), self.dtype)
        self._fd = os.open(partial, os.O_RDWR)
        self.done[:] = False
        self._write_index()

    def _write_index(self) -> None:
        atomic_write(self._path(".keys.npy"), lambda tmp: np.save(tmp, self.keys))
        atomic_write(self._path(".json"), lambda tmp: _write_json(tmp, self._meta()))
        self.save_done(force=True)

    def _remove_all(self, keep: str = "") -> None:
        for suffix in (".npy", ".partial.npy", ".done.npy", ".keys.npy", ".json"):
            p = self._path(suffix)
            if p != keep and os.path.exists(p):
                os.remove(p)

    # ---- rows -----------------------------------------------------------------------------------
    def _pwrite_row(self, i: int, data: bytes) -> None:
        os.pwrite(self._fd, data, self._offset + int(i) * self.row_bytes)

    def write(self, rows, values: np.ndarray) -> None:
        """Write ``values`` (n, *row_shape) at ``rows`` and mark them done."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        values = np.ascontiguousarray(values, dtype=self.dtype).reshape(len(rows), -1)
        for i, r in enumerate(rows):
            self._pwrite_row(int(r), values[i].tobytes())
        with self._lock:
            self.done[rows] = True

    def read(self, rows) -> np.ndarray:
        """(n, *row_shape) copies of the rows (zeros where not written yet)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        flat = out.reshape(len(rows), -1).view(np.uint8).reshape(len(rows), self.row_bytes)
        k = 0
        while k < len(rows):  # runs of consecutive rows: one read each
            j = k + 1
            while j < len(rows) and rows[j] == rows[j - 1] + 1:
                j += 1
            data = os.pread(self._fd, (j - k) * self.row_bytes, self._offset + int(rows[k]) * self.row_bytes)
            flat[k:j] = np.frombuffer(data, np.uint8).reshape(j - k, self.row_bytes)
            k = j
        return out

    def read_all(self) -> np.ndarray:
        return self.read(np.arange(self.count))

    # ---- persistence ----------------------------------------------------------------------------
    def save_done(self, force: bool = False, every: float = 2.0) -> None:
        """Persist the done mask (after the rows it covers are on disk); at most every ``every`` s."""
        now = time.monotonic()
        if not force and now - self._last_save < every:
            return
        self._last_save = now
        if self._fd >= 0:
            os.fsync(self._fd)
        with self._lock:
            done = self.done.copy()
        atomic_write(self._path(".done.npy"), lambda tmp: np.save(tmp, done))

    def _maybe_finish(self) -> None:
        if self.complete and os.path.exists(self._path(".partial.npy")):
            os.fsync(self._fd)
            os.replace(self._path(".partial.npy"), self._path(".npy"))
            if os.path.exists(self._path(".done.npy")):
                os.remove(self._path(".done.npy"))

    def finish(self) -> None:
        """Flush; rename to the final name when every row is written (else keep the partial file)."""
        if self.complete:
            self._maybe_finish()
        else:
            self.save_done(force=True)

    def close(self) -> None:
        if self._fd >= 0:
            try:
                self.finish()
            except OSError:
                pass
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:  # the fd, at least
        try:
            if self._fd >= 0:
                os.close(self._fd)
        except (OSError, AttributeError):
            pass


def _write_json(path: str, obj: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f)


def _check_npy(path: str, shape: tuple[int, ...], dtype: np.dtype) -> int:
    """The data offset of a .npy file of exactly ``shape``/``dtype``; ValueError otherwise."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            fshape, fortran, fdtype = np.lib.format.read_array_header_1_0(f)
        else:
            fshape, fortran, fdtype = np.lib.format.read_array_header_2_0(f)
        offset = f.tell()
    if tuple(fshape) != tuple(shape) or np.dtype(fdtype) != np.dtype(dtype) or fortran:
        raise ValueError(f"{os.path.basename(path)} holds {fshape} {fdtype}, not {shape} {np.dtype(dtype)}")
    need = offset + int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if os.path.getsize(path) != need:
        raise ValueError(f"{os.path.basename(path)} is {os.path.getsize(path)} bytes, not {need}")
    return offset
