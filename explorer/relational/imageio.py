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


FIT_ITEMS = 4000  # items of a data set brought to a model's shape for the relational view


def fit_dataset_job(
    data, shape: tuple[int, int, int], max_items: int = FIT_ITEMS, chunk: int = 256, seed: int = 0
):
    """``data`` (an ImageSet with images) as an in-memory ImageSet of float32 images of ``shape``
    (C, H, W), a chunk of ``chunk`` images a step: the shorter side scaled to the model's and
    centre-cropped, channels matched (grey by ITU-R 601 luma), as encoders get other data. Partners
    are brought the same way; labels, paths and transforms are kept. Of a larger set ``max_items`` items
    are taken, a seeded sample spread evenly over its classes or sequences
    (:func:`explorer.data.pairs.spread_sample`; a folder of sequences gives runs of consecutive
    frames, the pairs its model learns from): its first 4,000 items had been a folder's first
    classes only. Yields Progress; returns (ImageSet, a sentence saying what was done), the data
    itself and "" when it already fits."""
    from dataclasses import replace

    from explorer.core.preprocess import InputSpec, resize_array
    from explorer.core.progress import Progress

    shape = tuple(int(s) for s in shape)
    if data.shape == shape:
        return data, ""
    n = min(int(max_items), data.count)
    part, groups = data, 0
    if n < data.count:
        from explorer.data.pairs import looks_like_sequences, spread_sample

        runs = data.partners is None and looks_like_sequences(data)
        part = data.subset(spread_sample(data, n, seed=seed, runs=runs))
        n = part.count
        groups = len(np.unique(part.labels)) if part.labels is not None else 0
        kinds = "sequences" if runs else "classes"
    spec = InputSpec(*shape, resize="shorter")
    sources = [part.images] + ([] if part.partners is None else [part.partners])
    total = len(sources) * ((n + chunk - 1) // chunk)
    fitted = []
    for source in sources:
        out = np.empty((n, *shape), np.float32)
        for start in range(0, n, chunk):
            yield Progress(
                step=len(fitted) * total // len(sources) + start // chunk,
                total=total,
                message="bringing the images to the model's size",
            )
            stop = min(n, start + chunk)
            out[start:stop] = resize_array(np.asarray(source[start:stop]), spec)
        fitted.append(out)
    c, h, w = shape
    old_c, old_h, old_w = data.shape
    sentence = f"{old_w}x{old_h} brought to the model's {w}x{h}"
    if old_c != c:
        sentence += " grey" if c == 1 else " colour"
    if n < data.count:
        sentence += f", {n:,} of its {data.count:,} items"
        if groups > 1:
            sentence += f" from {groups:,} {kinds}"
    result = replace(
        part,
        images=fitted[0],
        partners=fitted[1] if len(fitted) > 1 else None,
        codes=None,
        notes=list(part.notes) + [sentence],
    )
    return result, sentence
