"""Change-basis relational model: the change of an image as a few learned basis images of it, their
weights (the mapping units z) fitted on a pair by least squares.

Images (B, C, H, W) are standardised per image (s = (x - mean) / std). A small convolutional net
with position channels maps an image to K basis images of change, B(s) (B, K, C, H, W); a pair
(x, y) is coded by the weights that best explain its change,

    z  = argmin_z |s_y - s_x - Σ_k z_k B_k(s_x)|² + λ|z|²                        (B, K)
    ŷ' = x' + std' · Σ_k z_k B_k(s_x')                                            (B, C, H, W)

(closed form: a K x K solve). A turn is then a speed (z) times how this image moves at unit speed
(B), which the net reads from the image itself (shading and outline say where the surface is near
or far, hence how fast it moves), so the model carries over to shapes and textures it never saw.
Trained on analogies: z fitted on one pair of a sequence predicts another pair of the same
sequence. Pairs also appear time-reversed (x and y swapped, both pairs alike: a turn the other
way). ``mappings`` / ``apply`` are what the relational engine and view call, like the other
gated autoencoders.

Options: ``refine`` adds a small net that corrects ŷ' from (s_x', the fitted change, z) (a change
not linear in the speed); ``nets`` > 1 makes an ensemble of basis nets initialised apart, each
fitted and trained on its own, ŷ' their average (z: K weights per net); ``work_size`` runs the
basis net on images pooled to that size and upsamples its basis (bilinear) to the input's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as tf

from explorer.models.base import TrainableModel, register
from explorer.models.gae import GaeConfig, GatedAutoencoder, ImageSpaceModel


@dataclass
class BasisGaeConfig(GaeConfig):
    # the gated autoencoder's factor-filter fields: this model has a basis net, no factors, so
    # the training dialog does not offer them (they stay fields, so saved configs still load)
    unused: ClassVar[tuple[str, ...]] = (
        "factors",
        "tied",
        "corruption",
        "normalize_filters",
        "init_scale",
        "same_init",
    )
    mapping: int = 2  # K: basis images of change (the code of a change: speed, and its square)
    width: int = 24  # channels of the basis net
    depth: int = 4  # 3x3 layers, dilated 1, 2, 4, 8, ... (receptive field about 2^depth pixels)
    ridge: float = 1e-3  # λ of the fit, per pixel
    # each basis image is also a motion: a flow field (2 channels) from the net times the image's
    # gradient (a moving texture changes by -flow · ∇x), plus the net's own residual image; off:
    # measured worse on turning objects (0.58 of copying against 0.54 after 200 steps, 48 objects)
    flow: bool = False
    # with flow: the prediction warps x' by the fitted flow Σ z_k F_k (bilinear resampling, exact
    # for moves of a pixel or more, where the gradient's first-order term is not) plus Σ z_k R_k;
    # z is still fitted on the first-order basis (a K x K solve)
    warp: bool = False
    reverse: bool = True  # training pairs also time-reversed
    # channels of a refinement net (0: none) that corrects the first-order prediction from the
    # image, the fitted change and z: a change that is not linear in the speed (an edge moving by
    # more than a pixel); its last layer starts at zero (the plain model)
    refine: int = 0
    # an ensemble in one model: this many basis nets (and refinement nets), each initialised
    # differently, trained on its own loss, their predictions averaged (z: K weights per net)
    nets: int = 1
    lr_schedule: str = "cosine"  # "constant" | "cosine" (the engine lowers the rate to 0 over the run)
    analogy: bool = True
    symmetries: bool = False
    warmup_units: int = 0
    whiten: float = 0.0
    residual: bool = True


def warp(s: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Images s (B, C, H, W) resampled at p + flow(p): flow (B, 2, H, W) in pixels, (x right, y
    down); bilinear, the border pixels repeated outside. To first order s + flow · ∇s."""
    b, _, h, w = s.shape
    gy, gx = torch.meshgrid(
        torch.linspace(-1, 1, h, device=s.device), torch.linspace(-1, 1, w, device=s.device), indexing="ij"
    )
    grid = torch.stack([gx + flow[:, 0] * (2 / (w - 1)), gy + flow[:, 1] * (2 / (h - 1))], -1)
    return tf.grid_sample(s, grid, mode="bilinear", padding_mode="border", align_corners=True)


class _BasisNet(nn.Module):
    """(B, C, H, W) standardised image -> (B, K, C, H, W) basis images of change."""

    def __init__(self, channels: int, k: int, width: int, depth: int, flow: bool = False) -> None:
        super().__init__()
        layers, cin = [], channels + 2  # the image and two position channels
        for i in range(depth):
            d = 2**i
            layers += [nn.Conv2d(cin, width, 3, padding=d, dilation=d), nn.ReLU()]
            cin = width
        self.body = nn.Sequential(*layers)
        self.flow = bool(flow)
        self.head = nn.Conv2d(width + channels + 2, k * (channels + 2 * self.flow), 3, padding=1)
        self.k, self.c = k, channels

    def parts(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, C, H, W) -> first-order basis (B, K, C, H, W), flow (B, K, 2, H, W) in pixels and
        residual (B, K, C, H, W) (flow models only)."""
        b, c, h, w = s.shape
        inp = self._inputs(s)
        out = self.head(torch.cat([self.body(inp), inp], 1))
        res, fx, fy = out.split([self.k * c, self.k, self.k], 1)
        pad = tf.pad(s, (1, 1, 1, 1), mode="replicate")
        dx = 0.5 * (pad[:, :, 1:-1, 2:] - pad[:, :, 1:-1, :-2])  # (B, C, H, W)
        dy = 0.5 * (pad[:, :, 2:, 1:-1] - pad[:, :, :-2, 1:-1])
        motion = fx[:, :, None] * dx[:, None] + fy[:, :, None] * dy[:, None]  # (B, K, C, H, W)
        res = res.reshape(b, self.k, c, h, w)
        return res + motion, torch.stack([fx, fy], 2), res

    def _inputs(self, s: torch.Tensor) -> torch.Tensor:
        b, c, h, w = s.shape
        gy, gx = torch.meshgrid(
            torch.linspace(-1, 1, h, device=s.device),
            torch.linspace(-1, 1, w, device=s.device),
            indexing="ij",
        )
        return torch.cat([s, gx.expand(b, 1, h, w), gy.expand(b, 1, h, w)], 1)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        if self.flow:
            return self.parts(s)[0]
        inp = self._inputs(s)
        return self.head(torch.cat([self.body(inp), inp], 1)).reshape(len(s), self.k, self.c, *s.shape[2:])


class _Refine(nn.Module):
    """(B, C, H, W) image, (B, C, H, W) first-order change and (B, K) weights -> (B, C, H, W)
    correction: 3x3 layers dilated 1, 2, 4, the last one zero at the start."""

    def __init__(self, channels: int, k: int, width: int, depth: int = 3) -> None:
        super().__init__()
        layers, cin = [], 2 * channels + k
        for i in range(depth):
            layers += [nn.Conv2d(cin, width, 3, padding=2**i, dilation=2**i), nn.ReLU()]
            cin = width
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(width, channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, s: torch.Tensor, change: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        zz = z[:, :, None, None].expand(-1, -1, *s.shape[2:])
        return self.out(self.body(torch.cat([s, change, zz], 1)))


@register
class BasisGatedAutoencoder(ImageSpaceModel, GatedAutoencoder):
    key = "bgae"
    description = "change-basis relational model: a learned change of the image times a fitted speed"
    sample_caption = "top: images, bottom: their first basis image of change; grey = 0"
    Config = BasisGaeConfig
    # 8 epochs: about 2,700 steps on sample:turntable-wide (384 objects; the shipped model trains 3), 170
    # on sample:turntable (24)
    defaults = {"epochs": 8, "batch_size": 50, "lr": 2e-3}

    def __init__(self, config: BasisGaeConfig, input_shape: tuple[int, int, int]) -> None:
        TrainableModel.__init__(self, config, input_shape)  # no dense factors: not the parent's
        c, h, w = self.input_shape
        k = int(config.work_size)
        # the basis net works on images pooled to work_size; its basis is upsampled (bilinear)
        self.work_shape = (c, k, k) if 0 < k and (k, k) != (h, w) else (c, h, w)
        flow, k = bool(config.flow or config.warp), int(config.hidden)
        nets, refines = [], []
        for i in range(max(1, int(config.nets))):
            with torch.random.fork_rng(devices=[]):  # fixed initial nets, the global stream untouched
                torch.manual_seed(i)
                nets.append(_BasisNet(c, k, int(config.width), int(config.depth), flow))
                refines.append(_Refine(c, k, int(config.refine)) if config.refine else None)
        self.net, self.refiner = nets[0], refines[0]  # member 0 (the names a single model saves)
        self.more_nets = nn.ModuleList(nets[1:])
        self.more_refiners = nn.ModuleList([r for r in refines[1:] if r is not None])
        self.register_buffer("fitted", torch.ones((), dtype=torch.bool))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self._warmup = 0

    @property
    def code_dim(self) -> int:
        return int(self.config.hidden) * (1 + len(self.more_nets))

    def _members(self) -> list[tuple[nn.Module, nn.Module | None]]:
        """(basis net, refinement net or None) of each member of the ensemble."""
        refiners = [self.refiner, *self.more_refiners] if self.refiner is not None else [None] * 99
        return list(zip([self.net, *self.more_nets], refiners))

    def _fit(self, basis: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        """Least-squares weights z (B, K) of basis (B, K, C, H, W) for the change delta (B, C, H, W)."""
        a = basis.flatten(2)  # (B, K, P)
        gram = a @ a.transpose(1, 2)  # (B, K, K)
        rhs = (a @ delta.flatten(1)[:, :, None])[..., 0]  # (B, K)
        eye = torch.eye(a.shape[1], device=a.device, dtype=a.dtype)
        lam = float(self.config.ridge) * a.shape[2]
        return torch.linalg.solve(gram + lam * eye, rhs)

    def _basis(self, s: torch.Tensor, net: nn.Module | None = None) -> torch.Tensor:
        """Basis images (B, K, C, H, W) of standardised images s (B, C, H, W), at the input's size."""
        return self._parts(s, net)[0]

    def _parts(
        self, s: torch.Tensor, net: nn.Module | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(basis, flow in input pixels, residual) of s by ``net`` (member 0's by default): the
        net's parts at the working size upsampled to the input's (flow, residual None without flow)."""
        net = self.net if net is None else net
        size = s.shape[2:]
        low = s if self.work_shape[1:] == tuple(size) else tf.adaptive_avg_pool2d(s, self.work_shape[1:])
        parts = list(net.parts(low)) if net.flow else [net(low), None, None]
        if low is s:
            return parts[0], parts[1], parts[2]
        gain = size[1] / low.shape[3]  # a flow of one working pixel is this many input pixels

        def up(t, scale=1.0):
            if t is None:
                return None
            b, k, c = t.shape[:3]
            t = tf.interpolate(
                t.reshape(b, k * c, *t.shape[3:]), size=size, mode="bilinear", align_corners=False
            )
            return t.reshape(b, k, c, *size) * scale

        return up(parts[0]), up(parts[1], gain), up(parts[2])

    def _change(self, basis: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return (basis * z[:, :, None, None, None]).sum(1)  # (B, C, H, W)

    def _predict(self, s: torch.Tensor, z: torch.Tensor, net=None, refiner=None) -> torch.Tensor:
        """Standardised image s (B, C, H, W) and one member's weights z (B, K) -> its standardised
        successor by that member (``net``, ``refiner``; member 0 by default)."""
        if net is None:
            net, refiner = self.net, self.refiner
        if not self.config.warp:
            change = self._change(self._basis(s, net), z)
            out = s + change
        else:
            _, flow, res = self._parts(s, net)
            change = self._change(res, z)
            out = warp(s, self._change(flow, z)) + change
        return out if refiner is None else out + refiner(s, change, z)

    def _member_fits(self, sx: torch.Tensor, sy: torch.Tensor) -> list[torch.Tensor]:
        return [self._fit(self._basis(sx, net), sy - sx) for net, _ in self._members()]

    # ---- what the relational engine calls -------------------------------------------------
    def mappings(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [0, 1] -> (B, K x nets) weights of the change."""
        sx, sy = self._std(x)[0], self._std(y)[0]
        return torch.cat(self._member_fits(sx, sy), 1)

    def apply(self, z: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Weights z (B, K x nets) applied to x2 (B, C, H, W) in [0, 1]: ŷ2 in pixel units (the
        members' predictions averaged)."""
        s, mean, std = self._std(x2)
        zs = z.split(int(self.config.hidden), 1)
        out = torch.stack([self._predict(s, zk, *m) for zk, m in zip(zs, self._members())]).mean(0)
        return (out.reshape(len(s), -1) * std + mean).reshape(x2.shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """One image's code: its mean basis responses (B, K) (a pair's code is :meth:`mappings`)."""
        return self._basis(self._std(x)[0]).flatten(2).abs().mean(2)

    # ---- what the engine calls ------------------------------------------------------------
    def batches(self, data, batch_size: int, rng: np.random.Generator):
        """The gated autoencoder's batches (pairs and their analogy partners), each item reversed
        in time at random with ``reverse`` (x and y swapped in both pairs)."""
        for batch in super().batches(data, batch_size, rng):
            if self.config.reverse:
                swap = (rng.random(len(batch["x"])) < 0.5)[:, None, None, None]
                batch = dict(batch)
                for a, b in (("x", "y"), ("x2", "y2")):
                    if a in batch:
                        batch[a], batch[b] = (
                            np.where(swap, batch[b], batch[a]),
                            np.where(swap, batch[a], batch[b]),
                        )
            yield batch

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        sx, sy = self._std(batch["x"])[0], self._std(batch["y"])[0]
        zs = self._member_fits(sx, sy)
        if "x2" in batch:  # an analogy: z of (x, y) predicts another pair of the same change
            sx, sy = self._std(batch["x2"])[0], self._std(batch["y2"])[0]
        # each member on its own loss (an ensemble, not one wider model); recon_y: the average's
        preds = [self._predict(sx, z, *m) for z, m in zip(zs, self._members())]
        loss = torch.stack([((sy - p) ** 2).mean() for p in preds]).mean()
        err = ((sy - torch.stack(preds).mean(0)) ** 2).mean((1, 2, 3))
        return loss, {"recon_y": float(err.detach().mean())}

    @torch.no_grad()
    def after_step(self) -> None:
        self.steps += 1

    @torch.no_grad()
    def basis_pairs(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the model has in place of factor filters: images (N, C, H, W) in [0, 1] and the
        first basis image of each (how it changes per unit of z_1), both float32 (N, C, H, W) in
        [0, 1], the change at mid-grey = 0, each scaled by its own largest value."""
        x = torch.from_numpy(np.asarray(images, np.float32)).to(next(self.parameters()).device)
        b = self._basis(self._std(x)[0])[:, 0].cpu().numpy()  # (N, C, H, W)
        scale = np.maximum(np.abs(b).reshape(len(b), -1).max(1), 1e-8)[:, None, None, None]
        return np.asarray(images, np.float32), (0.5 + 0.5 * b / scale).astype(np.float32)

    @torch.no_grad()
    def sample_panel(self, images: np.ndarray) -> np.ndarray | None:
        """Up to 16 images (row 0) over their first basis image (row 1): (2, n, C, H, W)."""
        if images is None or len(images) == 0:
            return None
        u, v = self.basis_pairs(np.asarray(images[:16], np.float32))
        return np.stack([u, v]).astype(np.float32)
