"""Transformation inference and analogy with a gated autoencoder, numpy in and numpy out.

    z  = infer_mappings(model, x, y)        # (N, H): what takes x to y
    y2 = apply_mappings(model, z, x2)       # (N, C, H, W): the same transformation applied to x2
    y2 = analogy(model, x, y, x2)           # both at once; one pair may serve many x2

``model`` is a gated autoencoder (``explorer.models.gae.GatedAutoencoder``, or anything with the
same ``mappings`` / ``apply`` / ``U`` / ``V`` / ``input_shape``). Images are float32 (N, C, H, W)
in [0, 1] of the model's input shape; results are not clipped (clip for display only).
"""

from __future__ import annotations

import numpy as np
import torch

from explorer.core.errors import ExplorerError


def _check(model, images: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(images, dtype=np.float32)
    if a.ndim == 3:
        a = a[None]
    if tuple(a.shape[1:]) != tuple(model.input_shape):
        raise ExplorerError(
            f"The {what} images are {list(a.shape[1:])} but the model takes {list(model.input_shape)} "
            "(C, H, W); resize them first."
        )
    return a


def _device(model) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def infer_mappings(model, x: np.ndarray, y: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Mapping units of each pair: x, y (N, C, H, W) -> float32 (N, H) in (0, 1)."""
    x, y = _check(model, x, "x"), _check(model, y, "y")
    if len(x) != len(y):
        raise ExplorerError(f"{len(x)} x images but {len(y)} y images: give one y per x.")
    out = _batched(model.mappings, model, x, y, batch_size)
    return out if out is not None else np.zeros((0, 0), np.float32)


@torch.no_grad()
def apply_mappings(model, z: np.ndarray, x2: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """Apply mapping units z ((N, H), or (1, H) / (H,) for all) to x2 (N, C, H, W) -> ŷ2 (N, C, H, W)."""
    x2 = _check(model, x2, "x'")
    z = np.asarray(z, dtype=np.float32)
    if z.ndim == 1:
        z = z[None]
    if len(z) == 1 and len(x2) > 1:
        z = np.repeat(z, len(x2), axis=0)
    if len(z) != len(x2):
        raise ExplorerError(f"{len(z)} mappings for {len(x2)} x' images.")
    out = _batched(model.apply, model, z, x2, batch_size)
    return out if out is not None else np.zeros_like(x2)


def _batched(fn, model, a: np.ndarray, b: np.ndarray, batch_size: int) -> np.ndarray | None:
    """fn(a, b) over matching batches on the model's device, as one float32 array (None if empty)."""
    dev = _device(model)
    out = [
        fn(torch.from_numpy(a[s : s + batch_size]).to(dev), torch.from_numpy(b[s : s + batch_size]).to(dev))
        .cpu()
        .numpy()
        for s in range(0, len(a), batch_size)
    ]
    return np.concatenate(out).astype(np.float32) if out else None


def analogy(model, x: np.ndarray, y: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """x : y :: x2 : ŷ2. One pair (x, y) applies to every x2; N pairs apply one to one."""
    return apply_mappings(model, infer_mappings(model, x, y), x2)


def nmse(pred: np.ndarray, target: np.ndarray) -> float:
    """MSE(pred, target) / Var(target) over all pixels: 1.0 is predicting the mean."""
    target = np.asarray(target, dtype=np.float64)
    var = float(target.var())
    return float(((np.asarray(pred, dtype=np.float64) - target) ** 2).mean()) / max(var, 1e-12)


def filter_grid(u: np.ndarray, v: np.ndarray, count: int = 64, columns: int = 8, pad: int = 1) -> np.ndarray:
    """The first ``count`` filter pairs tiled as one image (C, H', W'): each cell shows U beside V."""
    count = min(count, len(u))
    c, h, w = u.shape[1:]
    rows = -(-count // columns)
    cell_w = 2 * w + pad
    out = np.full((c, rows * (h + pad) + pad, columns * (cell_w + 2 * pad) + pad), 1.0, np.float32)
    for k in range(count):
        r, q = divmod(k, columns)
        top = pad + r * (h + pad)
        left = pad + q * (cell_w + 2 * pad)
        out[:, top : top + h, left : left + w] = u[k]
        out[:, top : top + h, left + w + pad : left + 2 * w + pad] = v[k]
    return out


def load_relational_model(path: str):
    """The gated autoencoder saved in ``path`` (a .safetensors checkpoint), in eval mode on CPU."""
    from explorer.core.errors import ModelFileError
    from explorer.models.checkpoint import load

    ckpt = load(path)
    if not (hasattr(ckpt.model, "mappings") and hasattr(ckpt.model, "apply")):
        raise ModelFileError(
            f"{path} holds a '{ckpt.architecture}' model; analogies need a gated autoencoder "
            "(train one with: explorer train --model gae --data sample:shifts)."
        )
    ckpt.model.trained_on = str(ckpt.summary.get("data", ""))  # which pairs the view generates
    return ckpt.model
