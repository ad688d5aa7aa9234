"""Codes and layouts on disk: encoding streams into a resumable memory-mapped file, keyed by what
made it, so reopening a data set with a model it has seen shows its codes at once.

- :func:`codes_key` (data fingerprint, model identity, settings) -> hex key, or None when the
  model has no stable identity (a model trained in this session and not saved);
- :func:`encode_job`: a Progress generator returning (N, D) float32 codes; with a key it writes
  ``cache_dir("codes", key)/codes.npy`` row block by row block (a cancelled encode resumes where it
  stopped) and returns the file memory-mapped read-only;
- :func:`cached_codes`, :func:`load_layout`, :func:`save_layout`: finished results by key.

Arrays use :class:`explorer.core.rowstore.RowStore` (temp name until whole, a JSON saying what
made it, rebuilt when it does not match).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator

import numpy as np

from explorer.core.atomic import atomic_write
from explorer.core.encoder import Encoder, encode_batches, input_spec_for
from explorer.core.imageset import ImageSet
from explorer.core.paths import cache_dir
from explorer.core.progress import Progress
from explorer.core.rowstore import RowStore

_HASHES: dict[tuple, str] = {}
_HASH_LOCK = threading.Lock()


def file_hash(path: str) -> str:
    """sha256 of a file's bytes (remembered per path, size and mtime for this process)."""
    st = os.stat(path)
    memo = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if memo in _HASHES:
            return _HASHES[memo]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    with _HASH_LOCK:
        _HASHES[memo] = h.hexdigest()
    return _HASHES[memo]


def model_identity(encoder: Encoder) -> str | None:
    """What names the model's codes: its file's hash, or its kind for pixels/PCA; None when unknown."""
    source = getattr(encoder, "source", "") or ""
    if source and os.path.isfile(source):
        return "file:" + file_hash(source)
    name = getattr(encoder, "name", "")
    if type(encoder).__name__ == "PCAEncoder":
        return f"pca:{getattr(encoder, 'code_dim', '')}"
    return None if name != "pixels" else "pixels"


def codes_key(data: ImageSet, encoder: Encoder, settings: dict | None = None) -> str | None:
    """The cache key of ``encoder``'s codes for ``data``, or None when they cannot be cached."""
    ident = model_identity(encoder)
    if ident is None or ident == "pixels":  # pixels are the working rendition itself: nothing to keep
        return None
    spec = input_spec_for(encoder, data)
    text = json.dumps(
        {
            "data": data.fingerprint(),
            "model": ident,
            "shape": list(data.shape or []),
            "input": None if spec is None else spec.to_json(),
            "normalisation": getattr(encoder, "normalisation", None),
            "settings": settings or {},
        },
        sort_keys=True,
    )
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _folder(key: str) -> str:
    return cache_dir("codes", key)


def cached_codes(key: str | None) -> np.ndarray | None:
    """Finished codes for ``key`` (read-only memory map), or None."""
    if not key:
        return None
    folder = cache_dir("codes", key, create=False)
    path = os.path.join(folder, "codes.npy")
    if not (os.path.exists(path) and os.path.exists(os.path.join(folder, "codes.json"))):
        return None
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return arr if arr.ndim == 2 and arr.dtype == np.float32 else None


def _open_store(key: str, n: int, dim: int) -> RowStore:
    return RowStore(_folder(key), "codes", np.arange(n, dtype=np.uint64), (dim,), "float32", {"key": key})


def _resumable_dim(key: str) -> int | None:
    """The code size of a half-written codes file for ``key``, if there is one."""
    try:
        with open(os.path.join(_folder(key), "codes.json"), encoding="utf-8") as f:
            shape = json.load(f).get("row_shape")
        return int(shape[0]) if shape and len(shape) == 1 else None
    except (OSError, ValueError, TypeError, IndexError):
        return None


def encode_job(
    encoder: Encoder,
    data: ImageSet,
    batch_size: int = 256,
    key: str | None = "auto",
) -> Iterator[Progress]:
    """Encode ``data`` batch by batch (decoding overlapped with the model); return (N, D) float32.

    key: "auto" (:func:`codes_key`), None (keep in memory only) or an explicit key. With a key the
    codes stream into a cached file and a second call resumes or returns it at once."""
    if not data.has_images:
        raise ValueError("this data set holds codes, not images")
    if key == "auto":
        key = codes_key(data, encoder)
    n = data.count
    done = cached_codes(key)
    if done is not None and len(done) == n:
        yield Progress(n, n, f"codes of {encoder.name} from the cache")
        return done
    if key is None:
        parts = []
        for _, stop, codes in encode_batches(encoder, data, batch_size):
            parts.append(codes)
            yield Progress(stop, n, f"encoding with {encoder.name}")
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    store = None
    dim = _resumable_dim(key)
    if dim:
        store = _open_store(key, n, dim)
    try:
        todo = np.arange(n) if store is None else np.flatnonzero(~store.done)
        first = int(todo[0]) if len(todo) else n
        already = n - len(todo)
        if already:
            yield Progress(already, n, f"resuming {encoder.name} at item {first:,}")
        for start, stop, codes in encode_batches(encoder, data, batch_size, rows=todo):
            if store is None:
                store = _open_store(key, n, codes.shape[1])
            store.write(np.arange(start, stop), codes)
            store.save_done()
            yield Progress(int(store.done.sum()), n, f"encoding with {encoder.name}")
    finally:
        if store is not None:
            store.close()
    if store is None:  # zero items
        return np.zeros((0, 0), np.float32)
    return cached_codes(key)


# ---- layouts --------------------------------------------------------------------------------
def layout_key(codes: str, method: str, params: dict | None = None) -> str:
    text = json.dumps({"codes": codes, "method": method, "params": params or {}}, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def save_layout(
    key: str, layout: np.ndarray, about: dict | None = None, per_point: np.ndarray | None = None
) -> str:
    """Keep a finished (N, 2) layout under ``key`` (layout_key), with optional per-point values
    (N,) such as faithfulness; returns the file written. The JSON goes last: it marks it whole."""
    folder = cache_dir("layouts")
    path = os.path.join(folder, f"{key}.npy")
    layout = np.ascontiguousarray(layout, dtype=np.float32)
    atomic_write(path, lambda tmp: np.save(tmp, layout))
    if per_point is not None:
        values = np.ascontiguousarray(per_point, dtype=np.float32)
        atomic_write(os.path.join(folder, f"{key}.points.npy"), lambda tmp: np.save(tmp, values))
    meta = {"shape": list(layout.shape), "per_point": per_point is not None, **(about or {})}
    atomic_write(os.path.join(folder, f"{key}.json"), lambda tmp: _write_text(tmp, json.dumps(meta)))
    return path


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def load_layout(key: str, n: int | None = None) -> np.ndarray | None:
    """A cached (N, 2) float32 layout, or None (missing, damaged or of another length)."""
    found = load_layout_full(key, n)
    return None if found is None else found[0]


def load_layout_full(key: str, n: int | None = None):
    """(layout (N, 2), about dict, per-point (N,) or None) from the cache, or None."""
    folder = cache_dir("layouts", create=False)
    path = os.path.join(folder, f"{key}.npy")
    try:
        with open(os.path.join(folder, f"{key}.json"), encoding="utf-8") as f:
            about = json.load(f)
        arr = np.load(path, allow_pickle=False)
        points = None
        if about.get("per_point"):
            points = np.load(os.path.join(folder, f"{key}.points.npy"), allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 2 or (n is not None and len(arr) != n) or not np.isfinite(arr).all():
        return None
    if points is not None and points.shape != (len(arr),):
        return None
    return arr.astype(np.float32, copy=False), about, points


def array_digest(a: np.ndarray) -> str:
    """A hex digest of an array's shape, dtype and bytes (codes -> the key of their layouts)."""
    h = hashlib.blake2b(digest_size=16)
    a = np.ascontiguousarray(a)
    h.update(f"{a.shape}|{a.dtype.str}|".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()
