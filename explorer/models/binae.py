"""`binae`: a deep autoencoder with binary codes for Hamming search (Krizhevsky & Hinton 2011,
"Using very deep autoencoders for content-based image retrieval"; the seed's binary-code slide).

Dense ReLU layers (``hidden``) take the flattened image (B, C*H*W) to a sigmoid code layer of
``code_dim`` units (256 bits by default); the mirror image decodes it back to sigmoid pixels,
trained with MSE. Two ways push the code units towards 0 or 1 (``binarise``):

- ``"noise"`` (Krizhevsky & Hinton, semantic hashing): Gaussian noise is added to the code
  logits before the sigmoid, its std growing from 0 to ``noise`` over the first ``ramp`` share
  of the run. Only a unit far from its threshold carries information through the noise, so the
  encoder learns to saturate its codes.
- ``"straight"`` (straight-through): the forward pass uses the thresholded code, the backward
  pass the sigmoid's gradient, with the noise of the first mode to keep units from sitting at 0.5.

``encode`` returns the thresholded codes (B, code_dim) as float32 0.0 / 1.0; pack them with
:func:`explorer.retrieval.hamming.pack_bits` ((B, code_dim / 8) uint8) and search them with
:class:`explorer.retrieval.hamming.HammingIndex`. Validation reconstructs through the
thresholded codes, so ``val_loss`` measures what the binary codes keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.imageset import ImageSet
from explorer.models.ae import ReconstructionModel
from explorer.models.base import batched_images, register

BINARISE = ("noise", "straight")


@dataclass
class BinaryAEConfig:
    code_dim: int = 256  # bits
    hidden: tuple[int, ...] = (512, 256)
    binarise: str = "noise"  # "noise" (noise before the sigmoid) or "straight" (straight-through)
    noise: float = 4.0  # largest std of the noise added to the code logits
    ramp: float = 0.5  # share of the run over which the noise grows from 0 to ``noise``


@register
class BinaryAE(ReconstructionModel):
    key = "binae"
    description = (
        "Deep autoencoder with binary codes (256 bits, noise before the code sigmoid), searched by "
        "Hamming distance."
    )
    Config = BinaryAEConfig
    defaults = {"epochs": 30, "batch_size": 64, "lr": 1e-3}

    def __init__(self, config: BinaryAEConfig, input_shape: tuple[int, int, int]) -> None:
        super().__init__(config, input_shape)
        if config.binarise not in BINARISE:
            raise ValueError(f"binarise must be one of {BINARISE}, got {config.binarise!r}")
        d = int(np.prod(self.input_shape))
        sizes = [d, *config.hidden]
        self.encoder = nn.Sequential(
            *[m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
        )
        self.to_code = nn.Linear(sizes[-1], config.code_dim)
        back = [config.code_dim, *sizes[::-1]]
        layers: list[nn.Module] = []
        for a, b in zip(back[:-1], back[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.decoder = nn.Sequential(*layers[:-1])  # the last ReLU gives way to the sigmoid below
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.ramp_steps = 2000  # until plan() says how long the run is

    def plan(self, total_steps: int) -> None:
        self.ramp_steps = max(1, round(self.config.ramp * total_steps))

    def code_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_code(self.encoder(x.flatten(1)))  # (B, code_dim), before the sigmoid

    def noise_std(self) -> float:
        return self.config.noise * min(1.0, float(self.steps) / self.ramp_steps)

    def soft_code(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, code_dim) training codes: noisy sigmoid (straight-through: 0/1
        forward, the sigmoid's gradient backward)."""
        logits = self.code_logits(x)
        if self.training:
            logits = logits + torch.randn_like(logits) * self.noise_std()
        p = torch.sigmoid(logits)
        if self.config.binarise == "straight" and self.training:
            p = p + ((p > 0.5).to(p.dtype) - p).detach()
        return p

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float images in [0, 1] -> (B, code_dim) codes of exactly 0.0 or 1.0."""
        return (self.code_logits(x) > 0).to(x.dtype)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(code)).view(-1, *self.input_shape)  # (B, C, H, W)

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["x"]
        code = self.soft_code(x)
        loss = F.mse_loss(self.decode(code), x)
        with torch.no_grad():
            binary = float(((code < 0.1) | (code > 0.9)).float().mean())
        return loss, {"noise": self.noise_std(), "binary_share": binary}

    def after_step(self) -> None:
        self.steps += 1

    @torch.no_grad()
    def validate(self, data: ImageSet) -> dict[str, float]:
        total, n, saturated, bits = 0.0, 0, 0.0, 0
        for images in batched_images(data):
            x = torch.from_numpy(images).to(self.device)
            total += float(F.mse_loss(self.decode(self.encode(x)), x, reduction="sum"))
            n += x.numel()
            p = torch.sigmoid(self.code_logits(x))
            saturated += float(((p < 0.1) | (p > 0.9)).float().sum())
            bits += p.numel()
        mse = total / max(n, 1)
        # val_loss: reconstruction through the thresholded codes, what Hamming search works with
        return {"val_loss": mse, "mse": mse, "binary_share": saturated / max(bits, 1)}
