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


def to_uint8(a: np.ndarray) -> np.ndarray:
    """Any numeric image array to uint8 in 0..255 (see module rules); NaN/Inf become 0."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * np.uint8(255)
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    f = np.asarray(a, dtype=np.float64)
    if not np.isfinite(f).all():
        f = np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0)
    lo, hi = (float(f.min()), float(f.max())) if f.size else (0.0, 0.0)
    if lo >= 0.0 and hi <= 1.0 and a.dtype.kind == "f":
        f = f * 255.0
    elif lo >= 0.0 and hi <= 255.0:
        pass
    elif hi > lo:
        f = (f - lo) * (255.0 / (hi - lo))
    else:
        f = np.zeros_like(f)
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


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
        notes.append(
            f"{_plural(n_resized, 'image')} resized to {h}x{w} (scaled to cover, centre-cropped)."
        )
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
