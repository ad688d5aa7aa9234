"""Small files for the data tests: image trees, IDX files, npz archives."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from PIL import Image


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    codes = {
        np.dtype("u1"): 0x08,
        np.dtype("i1"): 0x09,
        np.dtype(">i2"): 0x0B,
        np.dtype(">i4"): 0x0C,
        np.dtype(">f4"): 0x0D,
        np.dtype(">f8"): 0x0E,
    }
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    body = struct.pack(">BBBB", 0, 0, codes[dtype], array.ndim)
    body += struct.pack(f">{array.ndim}I", *array.shape) + array.astype(dtype).tobytes()
    path.write_bytes(gzip.compress(body, mtime=0) if gz else body)
    return path


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def truncated_png(path: Path, rng: np.random.Generator) -> Path:
    """A PNG whose header is fine but whose data stop half-way."""
    write_png(path, rng.integers(0, 255, (32, 32), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def class_tree(root: Path, classes: int, per_class: int, size=(12, 10), ext=".pgm", seed=0) -> Path:
    rng = np.random.default_rng(seed)
    h, w = size
    for c in range(classes):
        d = root / f"class{c}"
        d.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(d / f"img{i}{ext}")
    return root
