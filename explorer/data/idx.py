"""MNIST-style IDX files (plain or gzipped), read defensively.

Header: two zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
dimension. The size the header claims is checked against the file before anything is allocated
(for gzip, against the most deflate can expand the file, and the data are then read in chunks, so
a lying header costs at most what the file really holds).
"""

from __future__ import annotations

import gzip
import os
import re
import zlib

import numpy as np

from explorer.core.errors import DataError

DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_DEFLATE_RATIO = 1100  # deflate cannot expand more than ~1032:1
READ_CHUNK = 1 << 22


def _open(path: str):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    return (gzip.open(path, "rb") if gz else open(path, "rb")), gz


def is_idx(path: str) -> bool:
    """True if the file (or its gzip content) starts like an IDX file."""
    try:
        f, _ = _open(path)
        with f:
            head = f.read(4)
    except (OSError, EOFError, zlib.error):
        return False
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in DTYPES and 1 <= head[3] <= 4


def read_idx(path: str) -> np.ndarray:
    """The array stored in an IDX file; DataError with a reason if it is not a sound one."""
    try:
        size = os.path.getsize(path)
        f, gz = _open(path)
        with f:
            head = f.read(4)
            if len(head) < 4:
                raise DataError(f"{path} is not an MNIST IDX file (it is empty or too short).")
            if head[:2] != b"\0\0" or head[2] not in DTYPES or not 1 <= head[3] <= 4:
                raise DataError(f"{path} is not an MNIST IDX file (bad magic number).")
            dtype, ndim = DTYPES[head[2]], head[3]
            raw = f.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise DataError(f"{path} is truncated: its IDX header is incomplete.")
            shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4"))
            count = int(np.prod(shape, dtype=object))
            nbytes = count * dtype.itemsize
            header = 4 + 4 * ndim
            limit = (size * MAX_DEFLATE_RATIO + 4096) if gz else (size - header)
            if nbytes > limit:
                raise DataError(
                    f"{path} is truncated or corrupt: its header claims {_shape_text(shape)} values "
                    f"({_bytes_text(nbytes)}) but the file holds {_bytes_text(size)}."
                )
            from explorer.data.conform import working_bytes
            from explorer.data.folder import _decode_budget

            # what reading really takes: the array, and (images) the uint8 copy and conversion chunks
            need = working_bytes(shape, dtype) if ndim >= 2 else nbytes
            if need > _decode_budget():  # a gzip of zeros can honestly hold ~1000x its size
                raise DataError(
                    f"{path} holds {_bytes_text(nbytes)} of data ({_bytes_text(need)} to read and convert), "
                    "more than the free memory can take; use a smaller subset of it."
                )
            out = np.empty(count, dtype=dtype)  # read straight into the array: no second copy
            view = memoryview(out.view(np.uint8).reshape(-1))
            got = 0
            while got < nbytes:
                n = f.readinto(view[got : min(nbytes, got + READ_CHUNK)])
                if not n:
                    break
                got += n
    except FileNotFoundError:
        raise DataError(f"{path} does not exist.") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path} is a damaged or truncated gzip file ({err}).") from None
    except OSError as err:
        raise DataError(f"Cannot read {path}: {err.strerror or err}.") from None
    if got < nbytes:
        raise DataError(
            f"{path} is truncated: its header claims {_shape_text(shape)} values but the data stop "
            f"after {got // dtype.itemsize}."
        )
    return out.reshape(shape)


def _shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


def _bytes_text(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def labels_path_for(images_path: str) -> str | None:
    """The labels file beside an images file: train-images-idx3-ubyte.gz -> train-labels-idx1-ubyte[.gz]."""
    folder, name = os.path.split(images_path)
    base = name.removesuffix(".gz")
    guess = re.sub("images", "labels", base, flags=re.IGNORECASE)
    guess = re.sub("idx3", "idx1", guess, flags=re.IGNORECASE)
    if guess == base:
        return None
    for candidate in (guess, guess + ".gz"):
        p = os.path.join(folder, candidate)
        if os.path.isfile(p):
            return p
    return None
