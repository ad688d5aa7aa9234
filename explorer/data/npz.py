""".npz archives: ``images`` plus optional ``labels``, ``class_names``, ``partners``, ``transform_*``.

Image layouts: (N, H, W), (N, H, W, C) or (N, C, H, W) with C in {1, 3, 4}; (N, D) with D a square
number is read as (N, 1, sqrt D, sqrt D). Keras-style archives (``x_train``/``y_train``) are read too.
Arrays are never unpickled (``allow_pickle=False``) and every member's header is checked against
its stored size before numpy allocates it.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib

import numpy as np

from explorer.core.errors import DataError
from explorer.core.imageset import ImageSet
from explorer.data.conform import finite_stats, to_uint8, working_bytes

MAX_DEFLATE_RATIO = 1100
CHANNELS = (1, 3, 4)


IMAGE_KEYS = ("images", "x_train", "partners")  # members converted to uint8 images on load


def _check_members(path: str) -> list[str]:
    """The keys of the archive's arrays, after refusing members whose npy header claims more data
    than the archive can hold, and archives that would not fit in the free memory.

    Every member is checked by its content, whatever its name (np.load reads a member called
    ``images`` as an array just like ``images.npy``); members that are not npy arrays are left out.
    Memory is counted as reading really takes it: every array as stored, plus for the image arrays
    the uint8 result and the (chunked) float64 working copies of the conversion."""
    from explorer.data.folder import _decode_budget

    budget = _decode_budget()
    need, keys = 0, []
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if info.file_size > info.compress_size * MAX_DEFLATE_RATIO + 4096:
                    raise DataError(f"{path} is corrupt: member {info.filename} claims an impossible size.")
                with zf.open(info) as f:
                    if f.read(6) != np.lib.format.MAGIC_PREFIX:
                        continue  # not an array: np.load would give bytes; never loaded
                    f.seek(0)
                    try:
                        version = np.lib.format.read_magic(f)
                        if version == (1, 0):
                            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                        else:
                            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                    except ValueError as err:
                        raise DataError(f"{path} is corrupt: member {info.filename} ({err}).") from None
                if dtype.hasobject:
                    raise DataError(
                        f"{path} stores {info.filename} as Python objects, which explorer never "
                        "unpickles; save it as a plain numeric or string array."
                    )
                nbytes = math.prod(shape) * dtype.itemsize
                if nbytes > info.file_size:
                    raise DataError(
                        f"{path} is truncated or corrupt: {info.filename} claims shape {shape} "
                        f"but holds only {info.file_size} bytes."
                    )
                key = info.filename.removesuffix(".npy")
                keys.append(key)
                need += working_bytes(shape, dtype) if key in IMAGE_KEYS else nbytes
                if need > budget:
                    raise DataError(
                        f"{path} needs more than the free memory can take ({need / 1e6:,.0f} MB to read it "
                        f"and convert the images, {info.filename} alone holds {nbytes / 1e6:,.0f} MB); "
                        "use a smaller subset of it."
                    )
    except (zipfile.BadZipFile, EOFError):
        raise DataError(f"{path} is not a valid .npz file (not a zip archive, or truncated).") from None
    except (zlib.error, NotImplementedError, RuntimeError, OSError) as err:
        raise DataError(f"{path} is a damaged .npz file ({err}).") from None
    return keys


def _load_arrays(path: str) -> dict[str, np.ndarray]:
    keys = _check_members(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in keys if k in z.files}
    except (
        ValueError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        KeyError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as err:
        raise DataError(f"{path} could not be read as .npz ({err}).") from None


def to_nchw(a: np.ndarray, path: str, what: str = "images") -> tuple[np.ndarray, list[str]]:
    """An image array in any supported layout to (N, C, H, W) with C in {1, 3}; notes on changes."""
    notes: list[str] = []
    if a.dtype.kind not in "biuf":
        raise DataError(f"{path}: '{what}' must be numeric, not {a.dtype}.")
    if a.ndim == 2:
        side = math.isqrt(a.shape[1])
        if side * side != a.shape[1] or side == 0:
            raise DataError(
                f"{path}: '{what}' has shape {a.shape}; expected (N, H, W), (N, H, W, C) or (N, C, H, W)."
            )
        a = a.reshape(len(a), 1, side, side)
        notes.append(f"flat {what} vectors of length {side * side} read as {side}x{side} images.")
    elif a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4:
        first, last = a.shape[1] in CHANNELS, a.shape[3] in CHANNELS
        if last and not (first and a.shape[1] < a.shape[3]):
            a = np.moveaxis(a, 3, 1)
        elif not first:
            raise DataError(
                f"{path}: cannot tell the channel axis of '{what}' with shape {a.shape}; "
                "use (N, H, W, C) or (N, C, H, W) with C = 1, 3 or 4."
            )
    else:
        raise DataError(
            f"{path}: '{what}' has shape {a.shape}; expected (N, H, W), (N, H, W, C) or (N, C, H, W)."
        )
    if a.shape[1] == 4:
        a = a[:, :3]
        notes.append(f"alpha channel of the {what} dropped.")
    if min(a.shape) == 0:
        raise DataError(f"{path}: '{what}' is empty (shape {a.shape}).")
    if a.dtype.kind == "f":
        bad, lo, hi = finite_stats(a)  # chunked: no full-size mask or float copy
        if bad:
            notes.append(f"{bad} NaN or infinite pixel values in the {what} set to 0.")
        if lo is not None and (lo < 0 or hi > 1):
            notes.append(f"float {what} outside [0, 1] mapped to 0..255.")
    elif a.dtype.kind in "iu" and a.dtype != np.uint8:
        if a.min() >= 0 and a.max() <= 255:
            a = a.astype(np.uint8)
        else:
            notes.append(f"{a.dtype} {what} outside 0..255 scaled to 0..255.")
    a = to_uint8(a)
    return np.ascontiguousarray(a), notes


def labels_and_names(raw: np.ndarray, names: list[str] | None, n: int, where: str):
    """Labels array (ints or strings) to int64 class indices (-1 unknown) and class names."""
    from explorer.data.folder import natural_key

    raw = np.asarray(raw)
    if raw.ndim == 2 and raw.shape[1] == 1:  # (N, 1) column of labels
        raw = raw[:, 0]
    if raw.ndim != 1 or len(raw) != n:
        raise DataError(f"{where}: {raw.shape} labels for {n} images; expected one label per image.")
    if raw.dtype.kind in "US":
        text = raw.astype(str)
        uniq = sorted({t for t in text if t != ""}, key=natural_key)
        index = {t: i for i, t in enumerate(uniq)}
        return np.array([index.get(t, -1) for t in text], dtype=np.int64), uniq
    if raw.dtype.kind == "f":
        if not np.isfinite(raw).all() or not np.all(raw == np.round(raw)):
            raise DataError(f"{where}: labels must be whole numbers or strings.")
    elif raw.dtype.kind not in "biu":
        raise DataError(f"{where}: labels must be whole numbers or strings, not {raw.dtype}.")
    values = raw.astype(np.int64)
    if names:
        if values.max(initial=-1) >= len(names):
            raise DataError(
                f"{where}: a label is {int(values.max())} but there are only {len(names)} class names."
            )
        return np.where(values < 0, -1, values), list(names)
    known = values[values >= 0]
    uniq = np.unique(known)
    if len(uniq) and uniq[0] == 0 and uniq[-1] == len(uniq) - 1:  # already 0..K-1
        return np.where(values < 0, -1, values), [str(v) for v in uniq]
    lookup = {int(v): i for i, v in enumerate(uniq)}
    return np.array([lookup.get(int(v), -1) for v in values], dtype=np.int64), [str(v) for v in uniq]


def load_npz(path: str, name: str | None = None, fmt: str = "npz") -> ImageSet:
    arrays = _load_arrays(path)
    notes: list[str] = []
    key_images, key_labels = "images", "labels"
    if "images" not in arrays:
        if "x_train" in arrays:
            key_images, key_labels = "x_train", "y_train"
            notes.append("read x_train / y_train (this archive has no 'images').")
        else:
            keys = ", ".join(sorted(arrays)) or "none"
            raise DataError(f"{path} has no 'images' array (it holds: {keys}).")
    images, more = to_nchw(arrays[key_images], path, "images")
    notes += more
    n = len(images)
    names = None
    if "class_names" in arrays:
        cn = arrays["class_names"]
        if cn.ndim != 1:
            raise DataError(f"{path}: 'class_names' must be a 1-D array of names.")
        names = [str(s) for s in cn.tolist()]
    labels, class_names = None, []
    if key_labels in arrays:
        labels, class_names = labels_and_names(arrays[key_labels], names, n, path)
    partners = None
    if "partners" in arrays:
        partners, more = to_nchw(arrays["partners"], path, "partners")
        if partners.shape != images.shape:
            raise DataError(f"{path}: 'partners' has shape {partners.shape}, images {images.shape}.")
    transforms = {}
    for k, v in arrays.items():
        if k.startswith("transform_"):
            if v.shape[:1] != (n,):
                raise DataError(f"{path}: '{k}' needs one value per image.")
            transforms[k[len("transform_") :]] = v
    paths = [f"{path}#{i}" for i in range(n)]
    return ImageSet(
        images,
        labels,
        class_names,
        paths,
        name or os.path.splitext(os.path.basename(path))[0],
        fmt,
        partners=partners,
        transforms=transforms,
        notes=notes,
    )
