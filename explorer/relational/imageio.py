"""Image files in and out for analogies (Pillow): read, convert and resize to a model's input."""

from __future__ import annotations

import os

import numpy as np

from explorer.core.atomic import atomic_write
from explorer.core.errors import DataError
from explorer.data.pillow_safe import open_image

MAX_PIXELS = 64_000_000  # larger files are refused, not decoded (decompression bombs)


def read_image(path: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Image file -> float32 (C, H, W) in [0, 1] of ``shape``; also its original (W, H) if resized."""
    from PIL import Image

    c, h, w = shape
    with open_image(path, max_pixels=MAX_PIXELS) as im:
        im.draft("L" if c == 1 else "RGB", (w, h))  # JPEG: decode at a reduced scale
        im.load()
        im = im.convert("L" if c == 1 else "RGB")
    original = None
    if im.size != (w, h):
        original = im.size
        im = im.resize((w, h), Image.Resampling.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 255.0
    a = a[None] if c == 1 else np.transpose(a, (2, 0, 1))
    return a, original


def write_image(path: str, image: np.ndarray, size: tuple[int, int] | None = None) -> None:
    """Float (C, H, W) image -> file at ``path`` (clipped to [0, 1]), atomically."""
    from PIL import Image

    a = (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    im = Image.fromarray(a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0)))
    if size is not None and im.size != tuple(size):
        im = im.resize(tuple(size), Image.Resampling.BILINEAR)
    fmt = Image.registered_extensions().get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise DataError(f"Cannot tell an image format from the name {path}; use .png.")
    atomic_write(path, lambda tmp: im.save(tmp, format=fmt))
