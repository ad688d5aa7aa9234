"""Decoding one image file (or bytes) into what the app needs, fast: Pillow with JPEG draft mode.

Every function takes ``src`` (a path, or bytes of an encoded image) and ``channels`` (1 grey, 3
RGB) and raises ValueError with a short reason for anything that is not a readable image. They are
thread-safe and release the GIL inside Pillow (decode and resize), so a thread pool runs them in
parallel (see explorer.data.files).

- :func:`renditions`: the square thumbnail and the working-resolution image, from ONE decode at
  the smallest JPEG draft scale that still covers the thumbnail;
- :func:`encoder_array`: exactly an encoder's input (InputSpec), from the original file;
- :func:`full_array`: the file at its own size.
"""

from __future__ import annotations

import warnings

import numpy as np

from explorer.core.preprocess import InputSpec
from explorer.data.pillow_safe import ImageFileError, open_image

MAX_PIXELS = 64_000_000  # per image; larger files are refused (decompression bombs)
GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def _open(src):
    """Open an image for reading, as a context manager: the one place files reach Pillow, through
    :func:`explorer.data.pillow_safe.open_image` (regular files only, allowed formats only)."""
    return open_image(src, max_pixels=MAX_PIXELS)


def probe(src) -> tuple[int, int, bool]:
    """(width, height, is_colour) from the file's header only (no pixels decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with _open(src) as im:
                return int(im.width), int(im.height), im.mode not in GREY_MODES
    except Exception as err:  # Pillow's plugins raise many types on damaged files
        raise ValueError(_reason(err)) from None


def load(src, channels: int, cover: tuple[int, int] | None = None):
    """A loaded Pillow image in mode "L" or "RGB"; with ``cover`` (w, h), JPEGs decode at the
    smallest draft scale whose size still covers it (1/2, 1/4 or 1/8: several times faster)."""
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open(src) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ValueError(f"too large ({im.width}x{im.height} pixels)")
                if im.width == 0 or im.height == 0:
                    raise ValueError("empty image")
                if cover is not None and im.format == "JPEG":
                    # draft keeps both sides >= the request: ask for the cover's shorter side squared
                    side = max(1, min(cover))
                    scale = min(im.width, im.height) / side
                    im.draft(mode, (max(1, int(im.width / scale)), max(1, int(im.height / scale))))
                im.load()
                if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # wide grey: scale to 8 bits
                    wide = np.asarray(im, dtype=np.float64)
                    top = wide.max() if wide.size and wide.max() > 0 else 1.0
                    out = Image.fromarray((np.clip(wide / top, 0, 1) * 255 + 0.5).astype(np.uint8), "L")
                elif im.mode == "P" and "transparency" in im.info:
                    out = im.convert("RGBA")
                else:
                    out = im.copy() if im.mode == mode else im.convert(mode)
            if out.mode != mode:
                out = out.convert(mode)
            return out
    except ValueError:
        raise
    except Exception as err:
        raise ValueError(_reason(err)) from None


def _reason(err: Exception) -> str:
    from PIL import Image, UnidentifiedImageError

    if isinstance(err, ImageFileError):
        return err.reason
    if isinstance(err, UnidentifiedImageError):
        return "not an image Pillow can read"
    if isinstance(err, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return "too large (decompression bomb check)"
    if isinstance(err, FileNotFoundError):
        return "file not found"
    if isinstance(err, PermissionError):
        return "permission denied"
    text = str(err) or type(err).__name__
    return "truncated image file" if "truncated" in text else text[:200]


def _cover_box(
    w: int, h: int, tw: int, th: int, shorter: int | None = None
) -> tuple[float, float, float, float]:
    """The source box that, scaled to (tw, th), is a centre crop after scaling to cover.

    ``shorter``: scale the shorter side to this first (>= the crop), as in 'resize 256, crop 224'."""
    if shorter:
        scale = shorter / min(w, h)
        bw, bh = min(w, tw / scale), min(h, th / scale)
    elif w / h > tw / th:
        bh, bw = float(h), h * tw / th
    else:
        bw, bh = float(w), w * th / tw
    left, top = (w - bw) / 2, (h - bh) / 2
    return (left, top, left + bw, top + bh)


def _to_chw(im) -> np.ndarray:
    a = np.asarray(im)
    return a[None] if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))


def renditions(src, channels: int, thumb: int, work: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(thumbnail uint8 (C, thumb, thumb), working uint8 (C, h, w)), both scaled to cover and
    centre-cropped, from one decode."""
    from PIL import Image

    h, w = work
    im = load(src, channels, cover=(max(thumb, w), max(thumb, h)))
    t = im.resize(
        (thumb, thumb),
        Image.Resampling.BILINEAR,
        box=_cover_box(im.width, im.height, thumb, thumb),
        reducing_gap=3.0,
    )
    small = im.resize(
        (w, h), Image.Resampling.BILINEAR, box=_cover_box(im.width, im.height, w, h), reducing_gap=3.0
    )
    return _to_chw(t), _to_chw(small)


def encoder_array(src, spec: InputSpec) -> np.ndarray:
    """float32 (C, H, W) in [0, 1]: the file resized as ``spec`` says (no mean/std)."""
    from PIL import Image

    c, h, w = spec.shape
    resample = Image.Resampling.BICUBIC if spec.interpolation == "bicubic" else Image.Resampling.BILINEAR
    if spec.resize == "stretch":
        im = load(src, c, cover=(w, h))
        box = (0.0, 0.0, float(im.width), float(im.height))
    else:
        side = spec.shorter_side
        im = load(src, c, cover=(side, side))
        box = _cover_box(im.width, im.height, w, h, shorter=side)
    out = im.resize((w, h), resample, box=box, reducing_gap=3.0)
    return _to_chw(out).astype(np.float32) * np.float32(1 / 255)


def full_array(src, channels: int) -> np.ndarray:
    """float32 (C, H, W) in [0, 1] at the file's own size."""
    return _to_chw(load(src, channels)).astype(np.float32) * np.float32(1 / 255)
