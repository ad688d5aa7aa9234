"""One image file (dropped on a view, or given on the command line) as a float array of a given shape.

The views' drop slots (retrieval query, verification pair, relational x/y) all read files through
:func:`read_image_file`, so every one of them refuses decompression bombs, converts modes and
resizes the same way and says how. Opening goes through :mod:`explorer.data.pillow_safe` (regular
files only, allowed formats only); its ImageFileError is a DataError with one sentence.
"""

from __future__ import annotations

import os

import numpy as np

from explorer.core.errors import DataError
from explorer.data.pillow_safe import open_image

MAX_PIXELS = 64_000_000  # a dropped file above this is refused, not decoded (decompression bombs)


def read_image_file(path: str, shape: tuple[int, int, int] | None = None) -> tuple[np.ndarray, str]:
    """Read an image file as float32 (C, H, W) in [0, 1], brought to ``shape`` when given.

    Returns the image and a note on how it was converted ("" when it fit as it was).
    DataError with a readable sentence for anything that is not an image.
    """
    from PIL import Image

    name = os.path.basename(path)
    if os.path.isdir(path):
        raise DataError(f"{name} is a folder; drop an image file (PNG, JPEG, ...).")
    with open_image(path, max_pixels=MAX_PIXELS) as im:
        if shape:
            im.draft("L" if shape[0] == 1 else "RGB", (shape[2], shape[1]))  # JPEG: reduced-scale decode
        im.load()
        notes = []
        c = shape[0] if shape else (1 if im.mode in ("1", "L", "I", "I;16", "F") else 3)
        if c not in (1, 3):
            raise DataError(
                f"Cannot bring an image file to {c} channels; only grey or RGB data sets take dropped images."
            )
        mode = "L" if c == 1 else "RGB"
        if im.mode in ("I", "I;16", "I;16B", "F"):  # 16-bit / float grey: scale, don't clip, to 8 bits
            wide = np.asarray(im, dtype=np.float64)
            top = wide.max() if wide.max() > 0 else 1.0
            notes.append(f"{im.mode} scaled to 8 bits")
            im = Image.fromarray((np.clip(wide / top, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
        if im.mode != mode:
            notes.append(f"{im.mode} → {'grey' if c == 1 else 'RGB'}")
            im = im.convert(mode)
        if shape and im.size != (shape[2], shape[1]):
            notes.append(f"{im.width}×{im.height} → {shape[2]}×{shape[1]}")
            im = im.resize((shape[2], shape[1]), Image.Resampling.BILINEAR)
        arr = np.asarray(im, dtype=np.float32) / np.float32(255)
    arr = arr[None] if arr.ndim == 2 else np.transpose(arr, (2, 0, 1))
    return np.ascontiguousarray(arr, dtype=np.float32), ", ".join(notes)
