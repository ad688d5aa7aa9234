"""TensorBoard-projector TSV: ``vectors.tsv`` (one code per row) and optional ``metadata.tsv``.

``metadata.tsv`` lies beside the vectors (``vectors.tsv`` -> ``metadata.tsv``, ``foo_vectors.tsv`` ->
``foo_metadata.tsv``). With one column it has no header and each row is the item's class; with
more columns the first row is a header and the class is the ``label`` column (any case), else the
first column. The result has codes and no images.
"""

from __future__ import annotations

import os

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.data.npz import labels_and_names

MAX_BYTES = 2_000_000_000


def metadata_path_for(vectors_path: str) -> str | None:
    folder, name = os.path.split(vectors_path)
    candidates = []
    if "vectors" in name:
        candidates.append(name.replace("vectors", "metadata"))
    candidates.append("metadata.tsv")
    for c in candidates:
        p = os.path.join(folder, c)
        if c != name and os.path.isfile(p):
            return p
    return None


def _read_text(path: str) -> str:
    try:
        if os.path.getsize(path) > MAX_BYTES:
            raise DataError(f"{path} is too large to read as a projector TSV file.")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err.strerror or err}.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a text file (expected tab-separated numbers).") from None


def read_vectors(path: str) -> np.ndarray:
    lines = [ln for ln in _read_text(path).splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{path} is empty: expected one tab-separated vector per line.")
    width = len(lines[0].split("\t"))
    try:
        codes = np.array([[float(v) for v in ln.split("\t")] for ln in lines], dtype=np.float32)
    except ValueError:
        for i, ln in enumerate(lines, 1):
            parts = ln.split("\t")
            if len(parts) != width:
                raise DataError(f"{path} line {i} has {len(parts)} values, line 1 has {width}.") from None
            try:
                [float(v) for v in parts]
            except ValueError:
                raise DataError(f"{path} line {i} holds something that is not a number.") from None
        raise
    if not np.isfinite(codes).all():
        row = int(np.nonzero(~np.isfinite(codes).all(1))[0][0]) + 1
        raise DataError(f"{path} line {row} holds NaN or infinite values.")
    return codes


def read_metadata(path: str, n: int) -> tuple[np.ndarray, list[str], list[str]]:
    """Labels and class names from a metadata file with ``n`` items; notes when it does not fit."""
    # the projector's format: lines and tabs, no quoting
    lines = _read_text(path).split("\n")
    while lines and not lines[-1].strip():  # trailing blank lines are not items
        lines.pop()
    rows = [[c.strip() for c in ln.split("\t")] for ln in lines]
    if not rows:
        return None, [], [f"{os.path.basename(path)} is empty; items are unlabelled."]
    if max(len(r) for r in rows) > 1:
        header, rows = [h.strip().lower() for h in rows[0]], rows[1:]
        col = header.index("label") if "label" in header else 0
    else:
        col = 0
    values = np.array([r[col].strip() if col < len(r) else "" for r in rows], dtype=str)
    if len(values) != n:
        return None, [], [f"{os.path.basename(path)} has {len(values)} rows for {n} vectors; labels ignored."]
    labels, names = labels_and_names(values, None, n, path)
    return labels, names, []


def load_tsv(path: str) -> ImageSet:
    name = os.path.basename(path)
    if name.startswith("metadata") or "_metadata" in name:  # the user picked the metadata file
        vec = os.path.join(os.path.dirname(path), name.replace("metadata", "vectors"))
        if os.path.isfile(vec):
            path = vec
    codes = read_vectors(path)
    labels, names, notes = None, [], []
    meta = metadata_path_for(path)
    if meta:
        labels, names, notes = read_metadata(meta, len(codes))
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    return ImageSet(
        None,
        labels,
        names,
        [f"{path}#{i}" for i in range(len(codes))],
        folder or name,
        "tsv",
        codes=codes,
        notes=notes,
    )
