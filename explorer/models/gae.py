"""Factored gated autoencoder (Memisevic, "Learning to Relate Images", TPAMI 2013).

Two images x, y (D pixels each, standardised per image) are projected on factor filters U, V
(D x F); the products of the factor responses gate the mapping units

    z  = sigmoid(W_in ((Uᵀx) ⊙ (Vᵀy)) + b)                     (B, H)
    ŷ  = V ((Uᵀx) ⊙ (W_outᵀ z)) + b_y                           (B, D)
    x̂  = U ((Vᵀy) ⊙ (W_outᵀ z)) + b_x                           (B, D)

and the model is trained on the symmetric objective Σ(y − ŷ)² + Σ(x − x̂)², optionally denoising
(inputs corrupted by zero-masking, targets clean). z encodes the transformation that takes x to y,
not the content: inferred from one pair and applied to another image x', it gives an analogy ŷ'.
Details that matter in practice: inputs standardised per image and ZCA-whitened (fitted on the
first epoch, saved with the weights); the factor filters renormalised to their average norm after
each step; and a mapping layer that starts narrow (16 units for the first 3000 steps, then all H)
because a wide one first learns to pass the content of y through z instead of the transformation.
Training pairs also appear mirrored, turned and swapped, the same change applied to both images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from explorer.core.imageset import ImageSet
from explorer.models.base import TrainableModel, register
from explorer.data.pairs import as_pair_set, image_pairs, quadruple_images


@dataclass
class GaeConfig:
    factors: int = 256  # F: number of factor filter pairs
    mapping: int = 64  # H: mapping units (the code), well below F
    code_dim: int = 0  # alias the CLI's --code-dim sets; > 0 overrides ``mapping``
    tied: bool = False  # W_in = W_out
    corruption: float = 0.0  # denoising: fraction of input pixels set to zero (targets clean)
    normalize_filters: bool = True  # after each step: columns of U, V to their average norm
    init_scale: float = 0.01  # std of the initial factor filters
    same_init: bool = True  # V starts as a copy of U
    # start narrow: only the first ``warmup_units`` mapping units are used for ``warmup_steps``
    # optimiser steps (0 = all from the start). A wide mapping layer first learns to pass the
    # content of y through (a conditional autoencoder); a narrow one has to code the transformation,
    # and once it does, the rest of the units join in and refine it.
    warmup_units: int = 16
    warmup_steps: int = 3000  # at most this many steps, and
    warmup_fraction: float = 0.3  # at most this share of the planned run (0 = warmup_steps alone)
    # each training pair also appears mirrored, turned by 90 degrees steps and with x and y
    # swapped (the same change to both images keeps them related): 16 x the pairs, less overfitting
    symmetries: bool = True
    whiten: float = 0.99  # ZCA-whiten inputs keeping this share of the variance (0 = off)
    weight_decay: float = 0.0
    # predict the change, y = x + delta(x, z), in standardised pixels (a zero change is copying x):
    # on real sequences a frame is mostly its predecessor, and a model of the whole frame lost to
    # copying (nmse 0.10 against 0.06 on turning objects)
    residual: bool = False
    # the mapping works on images pooled to this size (H = W = work_size; 0 = the input's), its
    # prediction upsampled (bilinear) to the input's size: fewer pixels, fewer filters to learn
    work_size: int = 0
    # train on analogies: z inferred from one pair predicts another pair of the same change (another
    # step of the same sequence; another pair of equal true transform), so z cannot carry the
    # content of y, only how it moved (what an analogy on new images needs)
    analogy: bool = False

    @property
    def hidden(self) -> int:
        return int(self.code_dim) if self.code_dim and self.code_dim > 0 else int(self.mapping)

    @property
    def code_size(self) -> int:
        """What ``code_dim`` (a GUI's "code size", the CLI's --code-dim) sets: the mapping units."""
        return self.hidden


def standardize(x: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, D) -> per-image zero mean, unit std; also the (B, 1) means and stds to undo it."""
    mean = x.mean(dim=1, keepdim=True)
    std = x.std(dim=1, keepdim=True, unbiased=False).clamp_min(eps)
    return (x - mean) / std, mean, std


class ImageSpaceModel:
    """Mixin of the convolutional relational models (cgae, bgae): they work on the images as they
    are, each standardised to zero mean and unit variance, so there is no whitening to fit."""

    @property
    def dim(self) -> int:
        return int(np.prod(self.input_shape))

    def fit_whitening(self, x: np.ndarray, y: np.ndarray) -> None:
        self.fitted.fill_(True)

    def _std(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, C, H, W) in [0, 1] -> standardised (B, C, H, W), (B, 1) means and stds."""
        flat, mean, std = standardize(images.reshape(images.shape[0], -1).float())
        return flat.reshape(images.shape), mean, std


def pair_symmetries(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, *more: np.ndarray) -> tuple:
    """Each pair (x, y) of a batch (B, C, H, W) under one random symmetry of the square applied to
    both images (a flip, a turn by 90 degrees steps; only flips and 180 degrees for non-square
    images), and with x and y swapped half the time: still a pair related by a transformation.
    ``more`` pairs (x2, y2, ...) get the same symmetry and swap as (x, y), item by item."""
    arrays = [a.copy() for a in (x, y, *more)]
    square = x.shape[-1] == x.shape[-2]
    for i, (flip, turns, swap) in enumerate(
        zip(rng.integers(0, 2, len(x)), rng.integers(0, 4, len(x)), rng.integers(0, 2, len(x)))
    ):
        items = [a[i] for a in arrays]
        if flip:
            items = [v[..., ::-1] for v in items]
        k = int(turns) if square else 2 * (int(turns) % 2)
        if k:
            items = [np.rot90(v, k, axes=(-2, -1)) for v in items]
        if swap:  # each pair reversed
            items = [items[j + 1 - 2 * (j % 2)] for j in range(len(items))]
        items = [v.copy() for v in items]  # all copied first: each may be a view of another's row
        for a, v in zip(arrays, items):
            a[i] = v
    return tuple(arrays)


def same_change_partners(data: ImageSet, rng: np.random.Generator) -> np.ndarray:
    """For each pair of ``data`` another pair of the same change (the same sequence: its label;
    or an equal true transform), at random; a pair alone in its group gets itself."""
    from explorer.data.pairs import transform_keys

    keys = transform_keys(data.transforms) if data.transforms else None
    if keys is None:
        keys = data.labels if data.labels is not None else np.zeros(data.count, np.int64)
    out = np.arange(data.count)
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        if len(idx) > 1:  # a random rotation of the group: never the pair itself
            out[idx] = np.roll(rng.permutation(idx), int(rng.integers(1, len(idx))))
    return out


@register
class GatedAutoencoder(TrainableModel):
    key = "gae"
    description = "factored gated (relational) autoencoder: learns the transformation between image pairs"
    sample_caption = "top: the strongest factor filters U, bottom: their partners V; grey = 0"
    Config = GaeConfig
    needs_pairs = True
    defaults = {"epochs": 60, "batch_size": 100, "lr": 3e-3}

    @classmethod
    def prepare_data(cls, data: ImageSet) -> ImageSet:
        """A folder of sequences trains on consecutive frames (natural order within each sub-folder)."""
        if data.partners is None and data.format.startswith("folder"):
            return as_pair_set(data)
        return data

    @classmethod
    def pair_problem(cls, data: ImageSet) -> str | None:
        if data.partners is None and data.format.startswith("folder"):
            from explorer.core.errors import DataError
            from explorer.data.pairs import sequence_pairs

            try:
                sequence_pairs(data)  # indices only
            except DataError as err:
                return str(err)
            return None
        return super().pair_problem(data)

    def __init__(self, config: GaeConfig, input_shape: tuple[int, int, int]) -> None:
        super().__init__(config, input_shape)
        c, h, w = self.input_shape
        k = int(config.work_size)
        self.work_shape = (c, k, k) if 0 < k and (k, k) != (h, w) else (c, h, w)  # where U, V act
        d, f, m = int(np.prod(self.work_shape)), int(config.factors), config.hidden
        g = torch.Generator().manual_seed(0)  # the engine seeds globally; this keeps init fixed too
        s = float(config.init_scale)
        # as in Memisevic's reference code: small factor filters and W_in, positive W_out, so
        # every mapping unit starts by letting its factors through and the output starts near 0
        self.U = nn.Parameter(torch.randn(d, f, generator=g) * s)  # (D, F)
        # V starts equal to U: each factor pair then responds to how y moved against x from the
        # first step on (for y = x the product is an energy), which lets training find the
        # transformation filters instead of settling on coding content
        self.V = nn.Parameter(
            self.U.detach().clone() if config.same_init else torch.randn(d, f, generator=g) * s
        )
        w_out = torch.exp(torch.rand(f, m, generator=g) - 3.0)  # (F, H) in [e^-3, e^-2]
        self.W_in = nn.Parameter(
            w_out.clone() if config.tied else (torch.rand(f, m, generator=g) * 2 - 1) * 0.01
        )
        self.W_out = None if config.tied else nn.Parameter(w_out)
        self.b = nn.Parameter(torch.zeros(m))
        self.b_x = nn.Parameter(torch.zeros(d))
        self.b_y = nn.Parameter(torch.zeros(d))
        # ZCA whitening fitted on the first training batches (saved with the weights)
        self.register_buffer("pixel_mean", torch.zeros(d))
        self.register_buffer("whitening", torch.eye(d))  # (D, D)
        self.register_buffer("dewhitening", torch.eye(d))  # (D, D)
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))  # optimiser steps taken
        self._warmup = int(config.warmup_steps)

    def plan(self, total_steps: int) -> None:
        """The warm-up is ``warmup_fraction`` of the run, capped at ``warmup_steps``: a default run of
        540 steps no longer ends inside a 3000-step warm-up with 16 of 64 mapping units used."""
        f = float(self.config.warmup_fraction)
        self._warmup = int(self.config.warmup_steps)
        if f > 0:
            self._warmup = min(self._warmup, int(round(f * int(total_steps))))

    # ---- the model ------------------------------------------------------------------------
    @property
    def code_dim(self) -> int:
        """Size of :meth:`encode`'s code (the factor responses); the mapping code has ``config.hidden``."""
        return int(self.U.shape[1])

    @property
    def dim(self) -> int:
        """Pixels the factor filters see (the working resolution's)."""
        return int(np.prod(self.work_shape))

    @property
    def _plain(self) -> bool:
        """Memisevic's model as it was: the frame predicted in whitened units at the input's size."""
        return (
            not self.config.residual
            and not self.config.analogy
            and tuple(self.work_shape) == tuple(self.input_shape)
        )

    def _pool(self, std_images: torch.Tensor) -> torch.Tensor:
        """Standardised (B, C, H, W) -> (B, D) at the working resolution (area average)."""
        if tuple(self.work_shape) != tuple(self.input_shape):
            std_images = torch.nn.functional.adaptive_avg_pool2d(std_images, self.work_shape[1:])
        return std_images.reshape(std_images.shape[0], -1)

    def _up(self, work_flat: torch.Tensor) -> torch.Tensor:
        """(B, D) at the working resolution -> (B, C*H*W) at the input's (bilinear)."""
        if tuple(self.work_shape) == tuple(self.input_shape):
            return work_flat
        c, h, w = self.input_shape
        img = work_flat.reshape(work_flat.shape[0], *self.work_shape)
        up = torch.nn.functional.interpolate(img, size=(h, w), mode="bilinear", align_corners=False)
        return up.reshape(work_flat.shape[0], -1)

    def prepare(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, C, H, W) in [0, 1] -> (standardised (B, C*H*W), whitened working (B, D), means, stds)."""
        flat, mean, std = standardize(images.reshape(images.shape[0], -1).float())
        work = self._pool(flat.reshape(images.shape))
        return flat, self.whiten(work), mean, std

    def predict_pixels(self, flat: torch.Tensor, white: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The prediction in standardised pixels (B, C*H*W) from an image (its standardised pixels
        and whitened working vector) and mappings z: the change added to it (``residual``), or the
        predicted frame itself, brought back from whitened working units."""
        out = self.predict_y_flat(white, z)
        if self.config.residual:  # a change: linear, so dewhitened without the mean
            return flat + self._up((out - self.b_y) @ self.dewhitening + self.b_y)
        return self._up(self.dewhiten(out))

    def predict_back(self, flat: torch.Tensor, white: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x from y (the symmetric half), like :meth:`predict_pixels`."""
        out = self.predict_x_flat(white, z)
        if self.config.residual:
            return flat + self._up((out - self.b_x) @ self.dewhitening + self.b_x)
        return self._up(self.dewhiten(out))

    def _wout(self) -> torch.Tensor:
        return self.W_in if self.W_out is None else self.W_out

    def flat(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float in [0, 1] -> (B, D) standardised per image, pooled to the working
        resolution, then whitened."""
        return self.prepare(images)[1]

    def whiten(self, flat: torch.Tensor) -> torch.Tensor:
        return (flat - self.pixel_mean) @ self.whitening

    def dewhiten(self, white: torch.Tensor) -> torch.Tensor:
        return white @ self.dewhitening + self.pixel_mean

    @torch.no_grad()
    def fit_whitening(self, x: np.ndarray, y: np.ndarray) -> None:
        """ZCA whitening of the standardised images x, y (N, C, H, W) restricted to the leading
        principal components that hold ``config.whiten`` of the variance."""
        keep = float(self.config.whiten)
        if keep <= 0:
            self.fitted.fill_(True)
            return
        sample = torch.from_numpy(np.concatenate([x[:5000], y[:5000]])).double()
        flat = standardize(sample.reshape(len(sample), -1))[0]
        flat = self._pool(flat.reshape(sample.shape))
        mean = flat.mean(0)
        cov = torch.cov((flat - mean).T)
        lam, vec = torch.linalg.eigh(cov)  # ascending
        lam, vec = lam.flip(0).clamp_min(0), vec.flip(1)
        k = int(np.searchsorted(np.cumsum(lam.numpy()) / max(float(lam.sum()), 1e-12), keep) + 1)
        k = max(1, min(k, self.dim))
        p, kept = vec[:, :k], lam[:k] + 1e-2 * float(lam.mean())
        self.pixel_mean.copy_(mean.float())
        self.whitening.copy_((p @ torch.diag(kept.rsqrt()) @ p.T).float())
        self.dewhitening.copy_((p @ torch.diag(kept.sqrt()) @ p.T).float())
        self.fitted.fill_(True)

    def mappings_flat(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Standardised (B, D) x, y -> (B, H) mapping units z."""
        fx, fy = x @ self.U, y @ self.V  # (B, F)
        z = torch.sigmoid((fx * fy) @ self.W_in + self.b)  # (B, H)
        k = int(self.config.warmup_units)
        if 0 < k < z.shape[1] and int(self.steps) < self._warmup:
            z = torch.cat([z[:, :k], torch.zeros_like(z[:, k:])], dim=1)
        return z

    def predict_y_flat(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Standardised x (B, D) and mappings z (B, H) -> ŷ (B, D), standardised units."""
        return ((x @ self.U) * (z @ self._wout().T)) @ self.V.T + self.b_y

    def predict_x_flat(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return ((y @ self.V) * (z @ self._wout().T)) @ self.U.T + self.b_x

    def mappings(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images x, y in [0, 1] -> (B, H) mapping units."""
        return self.mappings_flat(self.flat(x), self.flat(y))

    def apply(self, z: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Apply mappings z (B, H) to images x2 (B, C, H, W) in [0, 1]: ŷ2 in pixel units, the
        standardisation of x2 undone (a transformation keeps an image's mean and contrast)."""
        flat, white, mean, std = self.prepare(x2)
        return (self.predict_pixels(flat, white, z) * std + mean).reshape(x2.shape)

    # ---- what the engine calls ------------------------------------------------------------
    def batches(
        self, data: ImageSet, batch_size: int, rng: np.random.Generator
    ) -> Iterator[dict[str, np.ndarray]]:
        x, y = image_pairs(data)
        if not bool(self.fitted):
            self.fit_whitening(x, y)
        other = same_change_partners(data, rng) if self.config.analogy else None
        order = rng.permutation(len(x))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            arrays = [x[idx], y[idx]] + ([x[other[idx]], y[other[idx]]] if other is not None else [])
            if self.config.symmetries:
                arrays = pair_symmetries(*arrays[:2], rng, *arrays[2:])
            yield dict(zip(("x", "y", "x2", "y2"), arrays))

    def _corrupt(self, v: torch.Tensor) -> torch.Tensor:
        p = float(self.config.corruption)
        if p <= 0 or not self.training:
            return v
        return v * (torch.rand_like(v) >= p).to(v.dtype)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        if not self._plain:
            return self._pixel_loss(batch)
        x, y = self.flat(batch["x"]), self.flat(batch["y"])  # (B, D) clean targets
        xc, yc = self._corrupt(x), self._corrupt(y)
        z = self.mappings_flat(xc, yc)
        err_y = ((y - self.predict_y_flat(xc, z)) ** 2).sum(1)
        err_x = ((x - self.predict_x_flat(yc, z)) ** 2).sum(1)
        loss = (err_y + err_x).mean() / self.dim  # per pixel, so the number reads the same at any size
        if self.config.weight_decay > 0:
            loss = loss + self.config.weight_decay * (self.W_in**2).sum()
        return loss, {
            "recon_y": float(err_y.detach().mean()) / self.dim,
            "recon_x": float(err_x.detach().mean()) / self.dim,
        }

    def _pixel_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """The symmetric objective in standardised pixels at the input's size (residual or
        working-resolution models): what the analogy error measures."""
        fx, wx, _, _ = self.prepare(batch["x"])  # (B, P) pixels, (B, D) whitened working
        fy, wy, _, _ = self.prepare(batch["y"])
        wxc, wyc = self._corrupt(wx), self._corrupt(wy)
        z = self.mappings_flat(wxc, wyc)
        if "x2" in batch:  # an analogy: z of (x, y) predicts the other pair of the same change
            fx, wx, _, _ = self.prepare(batch["x2"])
            fy, wy, _, _ = self.prepare(batch["y2"])
            wxc, wyc = self._corrupt(wx), self._corrupt(wy)
        err_y = ((fy - self.predict_pixels(fx, wxc, z)) ** 2).mean(1)
        err_x = ((fx - self.predict_back(fy, wyc, z)) ** 2).mean(1)
        loss = (err_y + err_x).mean()
        if self.config.weight_decay > 0:
            loss = loss + self.config.weight_decay * (self.W_in**2).sum()
        return loss, {"recon_y": float(err_y.detach().mean()), "recon_x": float(err_x.detach().mean())}

    @torch.no_grad()
    def after_step(self) -> None:
        self.steps += 1
        k = int(self.config.warmup_units)
        if 0 < k < self.W_in.shape[1] and int(self.steps) < self._warmup:
            self._wout()[:, k:] = 0.0  # the waiting units join without disturbing the others
        if not self.config.normalize_filters:
            return
        for p in (self.U, self.V):
            norms = p.norm(dim=0, keepdim=True).clamp_min(1e-8)  # (1, F)
            p.mul_(norms.mean() / norms)

    @torch.no_grad()
    def validate(self, data: ImageSet) -> dict[str, float]:
        was = self.training
        self.eval()
        try:
            dev = next(self.parameters()).device
            x, y = image_pairs(data)
            x, y = x[:2000], y[:2000]
            loss, _ = self.loss({"x": torch.from_numpy(x).to(dev), "y": torch.from_numpy(y).to(dev)})
            out = {"val_loss": float(loss)}
            quads = quadruple_images(data, 1000, np.random.default_rng(0))
            if quads is not None and len(quads[0]):
                qx, qy, qx2, qy2 = (torch.from_numpy(a).to(dev) for a in quads)
                pred = self.apply(self.mappings(qx, qy), qx2)
                var = float(qy2.var())
                out["nmse"] = float(((pred - qy2) ** 2).mean()) / max(var, 1e-12)
            return out
        finally:
            self.train(was)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images alone carry no transformation: the code of one image is its factor responses
        Uᵀx (B, F). Use :meth:`mappings` for the code of a pair."""
        return self.flat(x) @ self.U

    @torch.no_grad()
    def sample_panel(self, images: np.ndarray) -> np.ndarray | None:
        """The 16 strongest filter pairs as they act on pixels: U-filters (row 0) over their
        V-filters (row 1), float32 (2, 16, C, H, W), each pair scaled together to [0, 1]."""
        u, v = filter_pairs(self)
        k = min(16, len(u))
        return np.stack([u[:k], v[:k]]).astype(np.float32)


@torch.no_grad()
def filter_pairs(model, order: str = "norm") -> tuple[np.ndarray, np.ndarray]:
    """The factor filter pairs as images: (U, V), each float32 (F, C, H, W) in [0, 1] (convolutional
    factors: (F, C, k, k)).

    Each pair shares one scale (so the two filters can be compared), zero at mid-grey. ``order``
    "norm" puts the pairs with the strongest mapping weights first; "index" keeps the model's order.
    """
    c, h, w = getattr(model, "work_shape", model.input_shape)
    u, v = model.U.detach().cpu().numpy(), model.V.detach().cpu().numpy()  # (D, F), or (F, C, k, k)
    if u.ndim == 2:  # dense factors: images of the input's (working) size
        white = getattr(model, "whitening", None)
        if white is not None:  # what the filters do to pixels: the whitening folded in
            white = white.detach().cpu().numpy()
            u, v = white @ u, white @ v
        u = u.T.reshape(-1, c, h, w)  # (F, C, H, W)
        v = v.T.reshape(-1, c, h, w)
    scale = np.maximum(np.abs(u).reshape(len(u), -1).max(1), np.abs(v).reshape(len(v), -1).max(1))
    scale = np.maximum(scale, 1e-8)[:, None, None, None]
    u_img = (0.5 + 0.5 * u / scale).astype(np.float32)
    v_img = (0.5 + 0.5 * v / scale).astype(np.float32)
    if order == "norm":
        strength = np.abs(model.W_in.detach().cpu().numpy()).sum(1)  # (F,)
        idx = np.argsort(-strength, kind="stable")
        u_img, v_img = u_img[idx], v_img[idx]
    return u_img, v_img
