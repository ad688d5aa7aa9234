"""The encoder protocol every view and metric relies on, and batched encoding as a job."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Iterator, Protocol, runtime_checkable

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.core.preprocess import InputSpec
from explorer.core.progress import Progress


@runtime_checkable
class Encoder(Protocol):
    """Anything that maps images to codes.

    name:        what the user sees ("pixels", "dae (mnist)", "resnet.onnx").
    input_shape: the (C, H, W) it expects, or None if it takes any shape.
    encode:      float32 (N, C, H, W) in [0, 1] -> float32 (N, D). Called from worker threads.
    preprocess:  optional InputSpec: how to bring any image to input_shape (see input_spec_for).
    """

    name: str
    input_shape: tuple[int, int, int] | None

    def encode(self, images: np.ndarray) -> np.ndarray: ...


def input_spec_for(encoder: Encoder, data: ImageSet) -> InputSpec | None:
    """How ``data`` must be prepared for ``encoder``: None to pass ``float_images`` as they are,
    else the InputSpec the data layer applies (from the original files for file-backed sets).

    - an encoder that takes any shape (pixels) gets the working resolution;
    - an encoder with a ``preprocess`` spec gets exactly that, unless the images already fit;
    - a file-backed set meets any other fixed input shape by 'resize the shorter side, centre crop';
    - an in-memory set of another shape goes as it is (the encoder says what it was made for)."""
    shape = getattr(encoder, "input_shape", None)
    if shape is None or data.shape is None:
        return None
    shape = tuple(int(s) for s in shape)
    spec = getattr(encoder, "preprocess", None)
    if spec is None:
        if not data.file_backed:
            return None
        spec = InputSpec(*shape)
    if tuple(spec.shape) != shape:
        spec = replace(spec, channels=shape[0], height=shape[1], width=shape[2])
    if not data.file_backed and tuple(data.shape) == shape:
        return None
    if data.file_backed and tuple(data.shape) == shape and spec.preset == "":
        return None  # the working rendition is already that shape (a model trained on it)
    return spec


def _runs(rows: np.ndarray, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) ranges covering ``rows`` (sorted), none longer than batch_size."""
    out = []
    rows = np.asarray(rows, dtype=np.int64)
    k = 0
    while k < len(rows):
        j = k + 1
        while j < len(rows) and rows[j] == rows[j - 1] + 1 and j - k < batch_size:
            j += 1
        out.append((int(rows[k]), int(rows[j - 1]) + 1))
        k = j
    return out


def encode_batches(
    encoder: Encoder, data: ImageSet, batch_size: int = 256, rows: np.ndarray | None = None
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(start, stop, float32 codes) per batch over ``rows`` (default all), in order.

    The next batch is read (decoded, resized) in a background thread while the model encodes the
    current one, so decoding hides behind compute when the pool keeps up."""
    spec = input_spec_for(encoder, data)
    runs = _runs(np.arange(data.count) if rows is None else np.sort(rows), max(1, int(batch_size)))

    def fetch(start: int, stop: int) -> np.ndarray:
        if spec is None:
            return data.float_images(slice(start, stop))
        return data.encoder_input(slice(start, stop), spec)

    if not runs:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="explorer-prefetch") as ahead:
        pending = _submit(ahead, fetch, *runs[0])
        for k, (start, stop) in enumerate(runs):
            images = pending.result()
            if k + 1 < len(runs):
                pending = _submit(ahead, fetch, *runs[k + 1])
            yield start, stop, np.asarray(encoder.encode(images), dtype=np.float32)


def _submit(pool: ThreadPoolExecutor, fn, *args) -> Future:
    """``pool.submit``, or the call made here when no thread may start any more (the interpreter is
    exiting while a worker still encodes: concurrent.futures refuses new work then)."""
    try:
        return pool.submit(fn, *args)
    except RuntimeError:
        done: Future = Future()
        done.set_result(fn(*args))
        return done


def encode_dataset(encoder: Encoder, data: ImageSet, batch_size: int = 512) -> Iterator[Progress]:
    """Encode every image of ``data`` in batches; yields Progress, returns (N, D) float32 codes.

    Codes are kept in memory; :func:`explorer.core.codes_store.encode_job` is the same with an
    on-disk, resumable cache."""
    if not data.has_images:
        raise ValueError("this data set holds codes, not images")
    n = data.count
    parts = []
    for _, stop, codes in encode_batches(encoder, data, batch_size):
        parts.append(codes)
        yield Progress(step=stop, total=n, message=f"encoding with {encoder.name}")
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(parts)
