"""TorchEncoder: any torch module (a trained TrainableModel, a TorchScript or torch.export
program) as an :class:`explorer.core.encoder.Encoder`: float32 (N, C, H, W) in [0, 1] -> float32
(N, D), and the shape checks every encoder applies to its input. Torch is imported on first encode.
"""

from __future__ import annotations

import copy
import threading

import numpy as np

from explorer.core.errors import ExplorerError, ModelFileError


class TorchEncoder:
    """A torch module used as an encoder: no_grad, eval mode, in batches, CPU numpy out.

    module:        has ``encode(x)`` (our TrainableModels) or is called as ``module(x)``; its output
                   (or the first of a tuple) is flattened to (B, D).
    input_shape:   (C, H, W) it expects, or None when unknown (then any shape is passed through).
    normalisation: None (images in [0, 1] go in as they are) or {"mean": [...], "std": [...]} per
                   channel, applied before the module.
    fixed_batch:   the batch size the module was exported with, if it only takes that one.
    preprocess:    an InputSpec that brings images of any size to ``input_shape`` (a model trained
                   at a training size remembers it), or None.
    """

    def __init__(
        self,
        module,
        name: str,
        input_shape: tuple[int, int, int] | None = None,
        normalisation: dict | None = None,
        batch_size: int = 256,
        device: str = "cpu",
        class_names: list[str] | None = None,
        summary: dict | None = None,
        source: str = "",
        fixed_batch: int | None = None,
        preprocess=None,
    ) -> None:
        self.module = module
        self.name = name
        self.input_shape = None if input_shape is None else tuple(int(s) for s in input_shape)
        self.normalisation = normalisation
        self.batch_size = int(fixed_batch or batch_size)
        self.fixed_batch = fixed_batch
        self.device = device
        self.class_names = list(class_names or [])
        self.summary = dict(summary or {})
        self.source = source
        self.preprocess = preprocess
        self._lock = threading.Lock()  # encode() is called from worker threads

    @property
    def code_dim(self) -> int | None:
        return getattr(self.module, "code_dim", None)

    def gallery(self) -> TorchEncoder:
        """The encoder of the gallery side of a pair: f_B of a model with untied towers (a
        pseudo-siamese, ``encode_gallery``), else this encoder itself."""
        if getattr(self.module, "tower_b", None) is None or not hasattr(self.module, "encode_gallery"):
            return self
        other = copy.copy(self)
        other.module = _GallerySide(self.module)
        other.name = f"{self.name} (gallery tower)"
        return other

    def encode(self, images: np.ndarray) -> np.ndarray:
        import torch

        images = match_channels(self.input_shape, np.asarray(images, dtype=np.float32))
        check_shape(self.name, self.input_shape, images)
        n = len(images)
        parts = []
        with self._lock, torch.no_grad():
            if hasattr(self.module, "eval"):
                self.module.eval()
            for start in range(0, n, self.batch_size):
                chunk = images[start : start + self.batch_size]
                real = len(chunk)
                if self.fixed_batch and real < self.fixed_batch:  # pad to the exported batch size
                    pad = np.zeros((self.fixed_batch - real, *chunk.shape[1:]), np.float32)
                    chunk = np.concatenate([chunk, pad])
                x = torch.from_numpy(np.ascontiguousarray(chunk)).to(self.device)
                if self.normalisation:
                    mean = torch.tensor(self.normalisation["mean"], dtype=x.dtype, device=x.device)
                    std = torch.tensor(self.normalisation["std"], dtype=x.dtype, device=x.device)
                    x = (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)
                try:
                    out = self.module.encode(x) if hasattr(self.module, "encode") else self.module(x)
                except (RuntimeError, ValueError, TypeError, AssertionError) as err:
                    raise ModelFileError(
                        f"{self.name} could not encode images of shape {list(images.shape[1:])} "
                        f"(C, H, W): {str(err).strip().splitlines()[0][:200]}"
                    ) from None
                if isinstance(out, (tuple, list)):
                    out = out[0]
                elif isinstance(out, dict):
                    out = next(iter(out.values()))
                parts.append(out.detach().float().reshape(len(chunk), -1)[:real].cpu().numpy())
        if not parts:
            return np.zeros((0, self.code_dim or 0), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)


class _GallerySide:
    """A model seen through its gallery tower: ``encode`` is its ``encode_gallery``."""

    def __init__(self, module) -> None:
        self.module = module
        self.code_dim = getattr(module, "code_dim", None)

    def eval(self):
        self.module.eval()
        return self

    def encode(self, x):
        return self.module.encode_gallery(x)


# ---- shape checks ----------------------------------------------------------------------------
def check_shape(name: str, expected, images: np.ndarray) -> None:
    if images.ndim != 4:
        raise ExplorerError(f"{name} encodes images of shape (N, C, H, W), got {images.shape}.")
    if expected is not None and tuple(images.shape[1:]) != tuple(expected):
        c, h, w = expected
        ic, ih, iw = images.shape[1:]
        raise ModelFileError(
            f"{name} was made for {c}-channel {h}x{w} images, but these are {ic}-channel "
            f"{ih}x{iw}; open a data set of that shape or train a model on this one."
        )


def prepare_images(name: str, expected, normalisation: dict | None, images) -> np.ndarray:
    """What every file-backed encoder does before running: float32 (N, C, H, W) in the model's shape
    (grey repeated for a 3-channel model), then the file's ``{"mean": [...], "std": [...]}`` per
    channel if it has one. Returns a contiguous float32 array; wrong shapes raise one sentence."""
    images = match_channels(expected, np.asarray(images, dtype=np.float32))
    check_shape(name, expected, images)
    if normalisation:
        mean = np.asarray(normalisation["mean"], np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(normalisation["std"], np.float32).reshape(1, -1, 1, 1)
        images = (images - mean) / std
    return np.ascontiguousarray(images, dtype=np.float32)


def match_channels(expected, images: np.ndarray) -> np.ndarray:
    """Grey images for a 3-channel model: repeat the channel (the only silent conversion)."""
    if expected is not None and images.ndim == 4 and images.shape[1] == 1 and expected[0] == 3:
        if tuple(images.shape[2:]) == tuple(expected[1:]):
            return np.repeat(images, 3, axis=1)
    return images
