"""Encoders: the pseudo-encoders ``pixels`` and ``pca``, and :class:`TorchEncoder`, which wraps any
torch module (a trained TrainableModel, a TorchScript or torch.export program) as an
:class:`explorer.core.encoder.Encoder`: float32 (N, C, H, W) in [0, 1] -> float32 (N, D).

:func:`load_encoder` turns what the user typed (``pixels``, ``pca``, ``pca:16`` or a file path)
into one of these.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from explorer.core.errors import ExplorerError, ModelFileError
from explorer.core.imageset import ImageSet

CHECKPOINT_EXTS = (".safetensors",)
TORCH_EXTS = (".pt", ".pth", ".ts", ".jit", ".ckpt", ".bin")
EXPORT_EXTS = (".pt2",)
ONNX_EXTS = (".onnx",)


class PixelEncoder:
    """Raw pixels: each image flattened to C*H*W values (the baseline every view compares with)."""

    name = "pixels"
    input_shape = None

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        return images.reshape(len(images), -1)


class PCAEncoder:
    """Principal components of the pixels, fitted on the data it is given (sklearn PCA)."""

    def __init__(self, data: ImageSet, n_components: int = 32, seed: int = 0) -> None:
        from sklearn.decomposition import PCA

        if data is None or not data.has_images:
            raise ExplorerError("The 'pca' encoder is fitted on a data set of images; open one first.")
        x = data.float_images().reshape(data.count, -1)
        n = max(1, min(int(n_components), x.shape[0], x.shape[1]))
        self.pca = PCA(n_components=n, random_state=seed).fit(x)
        self.name = "pca" if n == 32 else f"pca:{n}"
        self.input_shape = data.shape
        self.code_dim = n

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, dtype=np.float32)
        _check_shape(self.name, self.input_shape, images)
        return self.pca.transform(images.reshape(len(images), -1)).astype(np.float32)


class TorchEncoder:
    """A torch module used as an encoder: no_grad, eval mode, in batches, CPU numpy out.

    module:        has ``encode(x)`` (our TrainableModels) or is called as ``module(x)``; its output
                   (or the first of a tuple) is flattened to (B, D).
    input_shape:   (C, H, W) it expects, or None when unknown (then any shape is passed through).
    normalisation: None (images in [0, 1] go in as they are) or {"mean": [...], "std": [...]} per
                   channel, applied before the module.
    fixed_batch:   the batch size the module was exported with, if it only takes that one.
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
        self._lock = threading.Lock()  # encode() is called from worker threads

    @property
    def code_dim(self) -> int | None:
        return getattr(self.module, "code_dim", None)

    def encode(self, images: np.ndarray) -> np.ndarray:
        import torch

        images = _match_channels(self.input_shape, np.asarray(images, dtype=np.float32))
        _check_shape(self.name, self.input_shape, images)
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


def load_encoder(spec: str, data: ImageSet | None = None, device: str = "cpu"):
    """An Encoder from what the user typed.

    spec: ``pixels``; ``pca`` or ``pca:N`` (fitted on ``data``); or a file:
          ``.safetensors`` (our checkpoints), ``.pt``/``.pth``/``.ts`` (TorchScript, or a
          weights-only torch.save of one of our checkpoints), ``.pt2`` (torch.export), ``.onnx``.
    A file that is missing, damaged, not what it claims, or would need unpickling of Python
    objects raises ModelFileError with a sentence saying why.
    """
    spec = os.fspath(spec).strip()
    low = spec.lower()
    if low == "pixels":
        return PixelEncoder()
    if low == "pca" or low.startswith("pca:"):
        n = 32
        if ":" in low:
            try:
                n = int(low.split(":", 1)[1])
            except ValueError:
                raise ExplorerError(f"'{spec}': write pca:N with a whole number N, e.g. pca:16.") from None
        return PCAEncoder(data, n)
    if not os.path.exists(spec):
        raise ModelFileError(
            f"There is no model file at {spec}; give pixels, pca, or a .safetensors, .pt, .pt2 or "
            ".onnx file."
        )
    if os.path.isdir(spec):
        raise ModelFileError(f"{spec} is a folder; give a model file (.safetensors, .pt, .pt2, .onnx).")
    ext = os.path.splitext(low)[1]
    if ext in CHECKPOINT_EXTS:
        return checkpoint_encoder(spec, device)
    from explorer.models import external

    if ext in TORCH_EXTS:
        return external.load_torch_file(spec, device)
    if ext in EXPORT_EXTS:
        return external.load_exported(spec, device)
    if ext in ONNX_EXTS:
        return external.load_onnx(spec)
    raise ModelFileError(
        f"{os.path.basename(spec)}: unknown model format '{ext}'; use .safetensors, .pt/.pth "
        "(TorchScript), .pt2 (torch.export) or .onnx."
    )


def checkpoint_encoder(path: str, device: str = "cpu") -> TorchEncoder:
    """A TorchEncoder for one of our .safetensors checkpoints."""
    from explorer.models.checkpoint import load

    ck = load(path, device=device)
    return TorchEncoder(
        ck.model,
        name=ck.name,
        input_shape=ck.input_shape,
        normalisation=None,  # our models normalise inside encode() if they need to
        device=device,
        class_names=ck.class_names,
        summary=ck.summary,
        source=path,
    )


def model_encoder(model, name: str | None = None, class_names=None, summary=None) -> TorchEncoder:
    """A TorchEncoder for a TrainableModel in memory (e.g. TrainResult.model), moved to the CPU."""
    model = model.cpu().eval()
    return TorchEncoder(
        model,
        name=name or model.key,
        input_shape=model.input_shape,
        class_names=class_names,
        summary=summary,
    )


# ---- shape checks ----------------------------------------------------------------------------
def _check_shape(name: str, expected, images: np.ndarray) -> None:
    if images.ndim != 4:
        raise ExplorerError(f"{name} encodes images of shape (N, C, H, W), got {images.shape}.")
    if expected is not None and tuple(images.shape[1:]) != tuple(expected):
        c, h, w = expected
        ic, ih, iw = images.shape[1:]
        raise ModelFileError(
            f"{name} was made for {c}-channel {h}x{w} images, but these are {ic}-channel "
            f"{ih}x{iw}; open a data set of that shape or train a model on this one."
        )


def _match_channels(expected, images: np.ndarray) -> np.ndarray:
    """Grey images for a 3-channel model: repeat the channel (the only silent conversion)."""
    if expected is not None and images.ndim == 4 and images.shape[1] == 1 and expected[0] == 3:
        if tuple(images.shape[2:]) == tuple(expected[1:]):
            return np.repeat(images, 3, axis=1)
    return images
