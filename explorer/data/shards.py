"""Codes written as a folder of Parquet shards (by ``explorer encode --engine ray``), read as one table.

A shard folder holds ``_explorer_shards.json`` (what made it: the data set's fingerprint, the
model's identity, the input spec, the row count and rows per shard) and ``part-00000.parquet``,
``part-00001.parquet``, ...: shard k holds rows ``[k * shard_rows, (k + 1) * shard_rows)`` of the
data set, in order, with the columns of :func:`explorer.data.parquet.write_table` (``image_path``
relative to the folder, ``label``, ``label_name``, ``embedding``) plus ``row``. Each shard is
written to a temp name and renamed when whole, so a folder never holds half a shard: a stopped job
resumes by skipping the shards that are there.

Opened as DATA (``explorer gui --data DIR``, ``explorer project --codes DIR``) the folder is one
table: the shards are joined (image paths made absolute) into one Parquet file in the cache, keyed
by the shards' names, sizes and times, and opened like any table.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from explorer.core.atomic import atomic_write, atomic_write_bytes
from explorer.core.errors import DataError
from explorer.core.paths import cache_dir

MANIFEST = "_explorer_shards.json"
FORMAT = "explorer-codes-shards"


def is_shard_folder(path: str) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, MANIFEST))


def shard_name(k: int) -> str:
    return f"part-{k:05d}.parquet"


def shard_ranges(n: int, shard_rows: int) -> list[tuple[int, int]]:
    """(start, stop) of every shard of ``n`` rows."""
    return [(s, min(n, s + shard_rows)) for s in range(0, n, max(1, shard_rows))]


def read_manifest(folder: str) -> dict | None:
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and info.get("format") == FORMAT else None


def write_manifest(folder: str, info: dict) -> None:
    info = {"format": FORMAT, "version": 1, **info}
    atomic_write_bytes(os.path.join(folder, MANIFEST), json.dumps(info, indent=1, sort_keys=True).encode())


def _pyarrow():
    from explorer.data.parquet import _pyarrow as pyarrow

    return pyarrow()


def finished_shards(folder: str, info: dict) -> set[int]:
    """Shards of ``folder`` that are whole: the right number of rows, starting at the right row."""
    _, pq = _pyarrow()
    done = set()
    for k, (start, stop) in enumerate(shard_ranges(int(info["count"]), int(info["shard_rows"]))):
        path = os.path.join(folder, shard_name(k))
        if not os.path.isfile(path):
            continue
        try:
            meta = pq.ParquetFile(path).metadata
            rows = pq.read_table(path, columns=["row"]).column("row").to_numpy()
        except Exception:  # a damaged shard is redone, not trusted
            continue
        if meta.num_rows == stop - start and len(rows) and rows[0] == start and rows[-1] == stop - 1:
            done.add(k)
    return done


def write_shard(
    folder: str,
    k: int,
    rows: np.ndarray,
    codes: np.ndarray,
    paths: list[str] | None,
    labels: np.ndarray | None,
    label_names: list[str] | None,
) -> str:
    """Write shard ``k`` (rows in order, codes float32 (n, D)) atomically; return its path."""
    pa, pq = _pyarrow()
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    cols = {"row": pa.array(np.asarray(rows, np.int64))}
    if paths is not None:
        cols["image_path"] = pa.array([_relative(p, folder) for p in paths], pa.string())
    if labels is not None:
        cols["label"] = pa.array(np.asarray(labels, np.int64))
        if label_names is not None:
            cols["label_name"] = pa.array(label_names, pa.string())
    cols["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(codes.reshape(-1)), codes.shape[1])
    table = pa.table(cols)
    path = os.path.join(folder, shard_name(k))
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    return path


def _relative(p: str, folder: str) -> str:
    p = str(p)
    if "#" in p and not os.path.exists(p):  # "file.npz#12": an item of an array file, not a path
        return p
    try:
        return os.path.relpath(os.path.abspath(p), os.path.abspath(folder))
    except ValueError:  # another drive (Windows)
        return p


def _shard_files(folder: str, info: dict) -> list[str]:
    ranges = shard_ranges(int(info["count"]), int(info["shard_rows"]))
    files = [os.path.join(folder, shard_name(k)) for k in range(len(ranges))]
    missing = [os.path.basename(f) for f in files if not os.path.isfile(f)]
    if missing:
        raise DataError(
            f"{os.path.basename(folder)} is an unfinished encode ({len(missing)} of {len(files)} shards "
            f"missing, e.g. {missing[0]}); run the same `explorer encode` again to finish it."
        )
    return files


def read_shard_codes(folder: str) -> np.ndarray:
    """All codes of a shard folder, float32 (N, D), in row order."""
    _, pq = _pyarrow()
    info = read_manifest(folder)
    if info is None:
        raise DataError(f"{folder} is not a folder of explorer code shards (no {MANIFEST}).")
    parts = []
    for path in _shard_files(folder, info):
        col = pq.read_table(path, columns=["embedding"]).column("embedding").combine_chunks()
        dim = col.type.list_size
        parts.append(col.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim))
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def joined_table(folder: str) -> str:
    """One Parquet file (in the cache) holding every shard of ``folder``, image paths absolute."""
    pa, pq = _pyarrow()
    info = read_manifest(folder)
    if info is None:
        raise DataError(f"{folder} is not a folder of explorer code shards (no {MANIFEST}).")
    files = _shard_files(folder, info)
    h = hashlib.blake2b(digest_size=16)
    for f in files:
        st = os.stat(f)
        h.update(f"{os.path.abspath(f)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    out = os.path.join(cache_dir("shards", h.hexdigest()), "table.parquet")
    if os.path.isfile(out):
        return out
    base = os.path.abspath(folder)
    tables = []
    for f in files:
        t = pq.read_table(f)
        if "image_path" in t.column_names:
            absolute = [
                p
                if os.path.isabs(p) or "#" in p and not os.path.exists(os.path.join(base, p))
                else os.path.normpath(os.path.join(base, p))
                for p in t.column("image_path").to_pylist()
            ]
            t = t.set_column(
                t.column_names.index("image_path"), "image_path", pa.array(absolute, pa.string())
            )
        tables.append(t)
    table = pa.concat_tables(tables)
    if "image_path" in table.column_names and not all(
        os.path.isfile(p) for p in table.column("image_path").to_pylist()[:50]
    ):
        table = table.drop(["image_path"])  # items of array files (sample:*): codes and labels only
    table = table.replace_schema_metadata(
        {"explorer.model": str(info.get("model", "")), "explorer.data": str(info.get("data", ""))}
    )
    atomic_write(out, lambda tmp: pq.write_table(table, tmp))
    return out
