"""The encoder protocol every view and metric relies on, and batched encoding as a job."""

from __future__ import annotations

from typing import Iterator, Protocol, runtime_checkable

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress


@runtime_checkable
class Encoder(Protocol):
    """Anything that maps images to codes.

    name:        what the user sees ("pixels", "dae (mnist)", "resnet.onnx").
    input_shape: the (C, H, W) it expects, or None if it takes any shape.
    encode:      float32 (N, C, H, W) in [0, 1] -> float32 (N, D). Called from worker threads.
    """

    name: str
    input_shape: tuple[int, int, int] | None

    def encode(self, images: np.ndarray) -> np.ndarray: ...


def encode_dataset(
    encoder: Encoder, data: ImageSet, batch_size: int = 512
) -> Iterator[Progress]:
    """Encode every image of ``data`` in batches; yields Progress, returns (N, D) float32 codes."""
    if not data.has_images:
        raise ValueError("this data set holds codes, not images")
    n = data.count
    parts = []
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        parts.append(np.asarray(encoder.encode(data.float_images(slice(start, stop))), dtype=np.float32))
        yield Progress(step=stop, total=n, message=f"encoding with {encoder.name}")
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(parts)
