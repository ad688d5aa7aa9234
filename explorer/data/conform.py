"""Bring images of mixed size, channels and pixel type to one uint8 (N, C, H, W) array.

Rules (the user is told what happened through ``ImageSet.notes``):
- channels: the majority wins (greyscale vs colour; ties go to colour). Greyscale images are
  repeated to RGB, or colour images converted to luma (ITU-R 601, as Pillow's ``convert("L")``).
  An RGB image whose three channels are equal counts as greyscale. Alpha is dropped.
- size: the most common (H, W) wins (ties: the first seen). Other images are scaled to *cover*
  the target and centre-cropped, so the aspect ratio is kept and nothing is padded.
- pixel type: uint8 as is; 16-bit divided by 257; other integer and float data scaled to 0..255.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


CONVERT_ELEMS = (
    1 << 22
)  # values per conversion chunk: float64 temporaries stay ~32 MB each, whatever the array


def _row_chunks(a: np.ndarray):
    """Slices along axis 0 of about CONVERT_ELEMS values each (the whole array when 0-d)."""
    if a.ndim == 0 or len(a) == 0:
        yield slice(None)
        return
    per_row = max(1, a.size // len(a))
    step = max(1, CONVERT_ELEMS // per_row)
    for start in range(0, len(a), step):
        yield slice(start, start + step)


def finite_stats(a: np.ndarray) -> tuple[int, float | None, float | None]:
    """(count of NaN/inf values, min and max of the finite ones or None), in bounded chunks."""
    bad, lo, hi = 0, None, None
    for s in _row_chunks(a):
        c = a[s]
        fin = np.isfinite(c)
        n = int(fin.sum())
        bad += c.size - n
        if n:
            v = c[fin] if n < c.size else c
            clo, chi = float(v.min()), float(v.max())
            lo = clo if lo is None else min(lo, clo)
            hi = chi if hi is None else max(hi, chi)
    return bad, lo, hi


def working_bytes(shape, dtype) -> int:
    """Peak bytes of reading an image array of ``shape``/``dtype`` and bringing it to uint8 here:
    the stored array, the uint8 result, and the chunked float64 temporaries of the conversion."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=object)) if len(shape) else 1
    temps = 0 if dtype == np.uint8 else min(count, CONVERT_ELEMS) * 8 * 3
    return count * dtype.itemsize + count + temps


def _float_chunk(c: np.ndarray) -> np.ndarray:
    """A float64 copy of ``c`` (never a view of it) with NaN/inf set to 0, changed in place."""
    f = np.array(c, dtype=np.float64, copy=True)
    if not np.isfinite(f).all():
        np.nan_to_num(f, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return f


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Any numeric image array to uint8 in 0..255 (see module rules); NaN/Inf become 0.

    Converted in chunks along the first axis, so the float64 working copies stay bounded
    (CONVERT_ELEMS values) whatever the size of ``a``: memory is ``a`` plus the uint8 result."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * np.uint8(255)
    out = np.empty(a.shape, dtype=np.uint8)
    if a.dtype == np.uint16:
        for s in _row_chunks(a):
            out[s] = (a[s].astype(np.uint32) + 128) // 257
        return out
    lo = hi = None
    for s in _row_chunks(a):  # pass 1: the range, with NaN/inf counted as 0 (as the mapping makes them)
        f = _float_chunk(a[s])
        if f.size:
            clo, chi = float(f.min()), float(f.max())
            lo = clo if lo is None else min(lo, clo)
            hi = chi if hi is None else max(hi, chi)
        del f  # before the next chunk's copy: one chunk alive at a time
    lo, hi = (lo, hi) if lo is not None else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0 and a.dtype.kind == "f":
        scale, offset = 255.0, 0.0
    elif lo >= 0.0 and hi <= 255.0:
        scale, offset = 1.0, 0.0
    elif hi > lo:
        scale, offset = 255.0 / (hi - lo), lo
    else:
        out[...] = 0
        return out
    for s in _row_chunks(a):  # pass 2: map each chunk into the result
        f = _float_chunk(a[s])
        if offset:
            f -= offset
        if scale != 1.0:
            f *= scale
        np.rint(f, out=f)
        np.clip(f, 0, 255, out=f)
        out[s] = f
        del f
    return out


def _channels(img: np.ndarray) -> int:
    return 1 if img.ndim == 2 else img.shape[2]


def _is_grey_rgb(img: np.ndarray) -> bool:
    return img.ndim == 3 and bool((img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all())


def normalise_channels(img: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) uint8 -> (H, W) greyscale or (H, W, 3) RGB, alpha dropped."""
    if img.ndim == 2:
        return img
    c = img.shape[2]
    if c == 1:
        return img[..., 0]
    if c == 2:  # grey + alpha
        return img[..., 0]
    img = img[..., :3]
    return img[..., 0] if _is_grey_rgb(img) else img


def _resize_cover(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """Scale to cover (h, w) and centre-crop, keeping the aspect ratio (Pillow, bilinear)."""
    from PIL import Image

    sh, sw = img.shape[:2]
    target = w / h
    if sw / sh > target:  # too wide: crop columns
        cw = sh * target
        box = ((sw - cw) / 2, 0.0, (sw + cw) / 2, float(sh))
    else:
        ch = sw / target
        box = (0.0, (sh - ch) / 2, float(sw), (sh + ch) / 2)
    pil = Image.fromarray(img)
    return np.asarray(pil.resize((w, h), Image.Resampling.BILINEAR, box=box))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def conform(images: list[np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Stack decoded images ((H, W) or (H, W, C) uint8) into uint8 (N, C, H, W); return notes."""
    notes: list[str] = []
    images = [normalise_channels(to_uint8(im)) for im in images]
    n_colour = sum(_channels(im) == 3 for im in images)
    n_grey = len(images) - n_colour
    colour = n_colour >= n_grey and n_colour > 0
    if colour and n_grey:
        notes.append(f"{_plural(n_grey, 'greyscale image')} repeated to RGB to match the majority.")
    elif not colour and n_colour:
        notes.append(f"{_plural(n_colour, 'colour image')} converted to greyscale to match the majority.")
    sizes = Counter(im.shape[:2] for im in images)
    (h, w), _ = sizes.most_common(1)[0]
    n_resized = len(images) - sizes[(h, w)]
    if n_resized:
        notes.append(f"{_plural(n_resized, 'image')} resized to {h}x{w} (scaled to cover, centre-cropped).")
    c = 3 if colour else 1
    out = np.empty((len(images), c, h, w), dtype=np.uint8)
    for i, im in enumerate(images):
        if im.shape[:2] != (h, w):
            im = _resize_cover(im, h, w)
        if colour:
            out[i] = np.moveaxis(im, -1, 0) if im.ndim == 3 else im[None]
        else:
            if im.ndim == 3:
                im = np.rint(im.astype(np.float32) @ LUMA).clip(0, 255).astype(np.uint8)
            out[i, 0] = im
    return out, notes
