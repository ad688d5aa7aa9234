"""Convolutional gated autoencoder: Memisevic's factored gating with convolutional factors, a map
of where each factor acts, and the change predicted instead of the frame.

Images x, y (B, C, H, W) are standardised per image; F factor filters U, V (k x k) are convolved
with them; their products, weighted by a learned map of positions Gin (F, H, W) and averaged over
the image, give the mapping units

    z  = sigmoid(W_in ᵀ mean_hw(Gin ⊙ (U ⋆ x) ⊙ (V ⋆ y)) + b)                  (B, M)
    ŷ  = x + Vᵀ ⋆ (Gout ⊙ (U ⋆ x) ⊙ (W_out z))                                 (B, C, H, W)
    x̂  = y + Uᵀ ⋆ (Gout ⊙ (V ⋆ y) ⊙ (W_out z))

(⋆ convolution, Vᵀ ⋆ its transpose). Convolutional factors learn a local change (a few pixels'
motion of texture and shading) once for every place, so they carry over to objects and textures
never seen; the position maps let the change depend on where it is (a turning object moves most
at its middle, not at all at the background); and z, a few units for the whole image, says how
much and which way (the speed of the turn). With ``analogy`` (the default) z is inferred from one
pair and scored on another pair of the same change, so it cannot carry content.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as tf

from explorer.models.base import TrainableModel, register
from explorer.models.gae import GaeConfig, GatedAutoencoder, ImageSpaceModel


@dataclass
class ConvGaeConfig(GaeConfig):
    factors: int = 24  # F: convolutional factor filter pairs
    mapping: int = 8  # M: mapping units (the code of a change)
    kernel: int = 7  # k: factor filters are k x k
    # learned maps of where each factor acts (Gin, Gout), positional x positional, upsampled to the
    # image (a coarse map generalises better than one value per pixel); 0 = the same everywhere
    positional: int = 8
    # each pair also mirrored left-right (a turn the other way): off, since measured it made the
    # model worse on turning objects (nmse ratio to copying 0.89 against 0.61 after 200 steps)
    flips: bool = False
    residual: bool = True  # predict the change (the only form this model has)
    analogy: bool = True
    symmetries: bool = False  # a turn about the vertical axis turned by 90 degrees is another motion
    warmup_units: int = 0
    whiten: float = 0.0  # the filters see standardised pixels
    init_scale: float = 0.1


@register
class ConvGatedAutoencoder(ImageSpaceModel, GatedAutoencoder):
    key = "cgae"
    description = "convolutional gated autoencoder predicting the change: analogies on real sequences"
    Config = ConvGaeConfig
    defaults = {"epochs": 20, "batch_size": 50, "lr": 3e-3}  # about 400 steps on sample:turntable

    def __init__(self, config: ConvGaeConfig, input_shape: tuple[int, int, int]) -> None:
        TrainableModel.__init__(self, config, input_shape)  # no dense factors: not the parent's
        c, h, w = self.input_shape
        f, m, k = int(config.factors), config.hidden, int(config.kernel) | 1  # odd kernels
        self.work_shape = (c, h, w)
        g = torch.Generator().manual_seed(0)
        s = float(config.init_scale)
        self.U = nn.Parameter(torch.randn(f, c, k, k, generator=g) * s / k)  # (F, C, k, k)
        self.V = nn.Parameter(
            self.U.detach().clone() if config.same_init else torch.randn(f, c, k, k) * s / k
        )
        self.W_in = nn.Parameter((torch.rand(f, m, generator=g) * 2 - 1) * 0.1)  # (F, M)
        self.W_out = nn.Parameter(torch.rand(f, m, generator=g) * 0.02)  # (F, M), small: starts as copying
        self.b = nn.Parameter(torch.zeros(m))
        p = int(config.positional)
        shape = (f, min(p, h), min(p, w)) if p > 0 else (f, 1, 1)
        self.G_in = nn.Parameter(torch.ones(shape))  # where each factor is listened to
        self.G_out = nn.Parameter(torch.ones(shape))  # where each factor acts
        self.register_buffer("fitted", torch.ones((), dtype=torch.bool))  # no whitening to fit
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self._warmup = 0

    @property
    def code_dim(self) -> int:
        return int(self.U.shape[0])

    def _conv(self, x: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
        return tf.conv2d(x, filters, padding=filters.shape[-1] // 2)  # (B, F, H, W)

    def _deconv(self, h: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
        return tf.conv_transpose2d(h, filters, padding=filters.shape[-1] // 2)  # (B, C, H, W)

    def _map(self, g: torch.Tensor) -> torch.Tensor:
        """A position map (F, p, p) at the image's size (1, F, H, W)."""
        if g.shape[-1] == 1:
            return g[None]
        return tf.interpolate(g[None], size=self.input_shape[1:], mode="bilinear", align_corners=False)

    def _z(self, sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
        energy = (self._map(self.G_in) * self._conv(sx, self.U) * self._conv(sy, self.V)).mean(
            (2, 3)
        )  # (B, F)
        return torch.sigmoid(energy @ self.W_in + self.b)  # (B, M)

    def _change(
        self, s: torch.Tensor, z: torch.Tensor, into: torch.Tensor, out: torch.Tensor
    ) -> torch.Tensor:
        gain = (z @ self.W_out.T)[:, :, None, None]  # (B, F, 1, 1)
        return self._deconv(self._map(self.G_out) * self._conv(s, into) * gain, out)

    # ---- what the relational engine calls -------------------------------------------------
    def mappings(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [0, 1] -> (B, M) mapping units."""
        return self._z(self._std(x)[0], self._std(y)[0])

    def apply(self, z: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Mappings z (B, M) applied to x2 (B, C, H, W) in [0, 1]: ŷ2 in pixel units."""
        s, mean, std = self._std(x2)
        out = s + self._change(s, z, self.U, self.V)
        return (out.reshape(len(s), -1) * std + mean).reshape(x2.shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """One image's code: its mean factor responses (B, F) (a pair's code is :meth:`mappings`)."""
        return self._conv(self._std(x)[0], self.U).mean((2, 3))

    # ---- what the engine calls ------------------------------------------------------------
    def batches(self, data, batch_size: int, rng: np.random.Generator):
        """The gated autoencoder's batches (pairs, and their analogy partners), each item mirrored
        left-right at random with ``flips`` (all its images alike)."""
        for batch in super().batches(data, batch_size, rng):
            if self.config.flips:
                flip = rng.random(len(batch["x"])) < 0.5
                batch = {k: np.where(flip[:, None, None, None], v[..., ::-1], v) for k, v in batch.items()}
            yield batch

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        sx, sy = self._std(batch["x"])[0], self._std(batch["y"])[0]
        z = self._z(self._corrupt(sx), self._corrupt(sy))
        if "x2" in batch:  # an analogy: z of (x, y) predicts another pair of the same change
            sx, sy = self._std(batch["x2"])[0], self._std(batch["y2"])[0]
        err_y = ((sy - sx - self._change(sx, z, self.U, self.V)) ** 2).mean((1, 2, 3))
        err_x = ((sx - sy - self._change(sy, z, self.V, self.U)) ** 2).mean((1, 2, 3))
        loss = (err_y + err_x).mean()
        return loss, {"recon_y": float(err_y.detach().mean()), "recon_x": float(err_x.detach().mean())}

    @torch.no_grad()
    def after_step(self) -> None:
        self.steps += 1
        if self.config.normalize_filters:  # each factor filter to the filters' average norm
            for p in (self.U, self.V):
                norms = p.flatten(1).norm(dim=1).clamp_min(1e-8)[:, None, None, None]  # (F, 1, 1, 1)
                p.mul_(norms.mean() / norms)
