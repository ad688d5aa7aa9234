"""The size a model trains at, and the data brought to it.

A folder of photos opens at its own size (3x267x397, say); a dense autoencoder on 318,000 inputs
learns little but the mean colour and takes minutes an epoch on a CPU. So a run trains at a
*training size*: the images' shorter side scaled to ``image_size`` pixels, the aspect ratio kept
(3x64x95 for those photos). The trained model remembers it as its ``preprocess`` InputSpec (saved in
the checkpoint), so it encodes any data set, of any size, by the same resize, as an external model
with its own preprocessing does (see explorer.core.encoder.input_spec_for).

``image_size``: None = automatic (the data's own size when it has at most AUTO_MAX_PIXELS pixels a
channel, else a shorter side of AUTO_SIDE); 0 = the data's own size; N = a shorter side of N pixels.

In-memory sets are resized once, in chunks, to uint8 (the result is no bigger than what is already in
memory when shrinking; growing past MAX_BYTES is refused). File-backed sets are read at that size from
the original files as the batches ask (nothing more is kept in memory).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from explorer.core.errors import TrainingError
from explorer.core.imageset import ImageSet
from explorer.core.preprocess import InputSpec, resize_array

AUTO_MAX_PIXELS = 64 * 64  # the rule file-backed folders use for their working resolution
AUTO_SIDE = 64
MAX_SIDE = 512
MAX_BYTES = 2 << 30  # of resized uint8 pixels made in memory
CHUNK = 256


def training_spec(shape: tuple[int, int, int], image_size: int | None) -> InputSpec | None:
    """The InputSpec to train at for images of ``shape`` (C, H, W), or None to train as they are."""
    c, h, w = (int(s) for s in shape)
    if image_size is None:
        if h * w <= AUTO_MAX_PIXELS:
            return None
        image_size = AUTO_SIDE
    side = int(image_size)
    if side == 0 or side == min(h, w):
        return None
    if not 4 <= side <= MAX_SIDE:
        raise TrainingError(f"The training image size must be from 4 to {MAX_SIDE} pixels (or 0: as is).")
    scale = side / min(h, w)
    th, tw = (side, max(side, round(w * scale))) if h <= w else (max(side, round(h * scale)), side)
    return InputSpec(c, th, tw, "shorter", 0, "bilinear", None, None, "plain")


def at_training_size(data: ImageSet, spec: InputSpec | None) -> ImageSet:
    """``data`` with its images (and pair partners) at ``spec``'s size; ``data`` itself if None."""
    if spec is None:
        return data
    note = (
        f"trained at {spec.height}x{spec.width} (shorter side scaled from the images' "
        f"{data.shape[1]}x{data.shape[2]}, aspect ratio kept)"
    )
    if data.file_backed:
        images = ResizedSource(data, spec)
    else:
        images = _resized(data.images, spec, data.name)
    partners = None if data.partners is None else _resized(data.partners, spec, data.name)
    return replace(data, images=images, partners=partners, notes=[*data.notes, note])


def _resized(images: np.ndarray, spec: InputSpec, name: str) -> np.ndarray:
    n = len(images)
    need = n * spec.channels * spec.height * spec.width
    if need > MAX_BYTES:
        raise TrainingError(
            f"{name or 'The data set'} at {spec.height}x{spec.width} would take {need / 2**30:.1f} GB; "
            "choose a smaller training image size."
        )
    out = np.empty((n, *spec.shape), np.uint8)
    for start in range(0, n, CHUNK):
        part = resize_array(images[start : start + CHUNK], spec)
        out[start : start + CHUNK] = np.clip(np.rint(part * 255), 0, 255).astype(np.uint8)
    return out


class ResizedSource:
    """An ImageSource over a file-backed set at a training size: rows read from the original files
    (the set's own encoder_input) as they are asked for, as uint8 (n, C, H, W)."""

    def __init__(self, data: ImageSet, spec: InputSpec) -> None:
        self.base, self.spec = data.source, spec
        self.shape = (len(self.base), *spec.shape)
        self.ndim, self.dtype = 4, np.dtype(np.uint8)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        single = isinstance(index, (int, np.integer))
        rows = np.arange(len(self))[np.array([index]) if single else index]
        x = self.base.encoder_input(rows, self.spec)
        x = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
        return x[0] if single else x

    def thumbnails(self, index) -> np.ndarray:
        return self.base.thumbnails(index)

    def encoder_input(self, index, spec) -> np.ndarray:
        return self.base.encoder_input(index, spec)

    def original(self, index: int) -> np.ndarray:
        return self.base.original(index)

    def subset(self, index) -> ResizedSource:
        other = object.__new__(ResizedSource)
        other.base, other.spec = self.base.subset(index), self.spec
        other.shape = (len(other.base), *self.spec.shape)
        other.ndim, other.dtype = 4, self.dtype
        return other

    def fingerprint(self) -> str:
        return f"{self.base.fingerprint()}|{self.spec.height}x{self.spec.width}"
