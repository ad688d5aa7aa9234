"""`dae`: a denoising autoencoder. The input is corrupted (a share of pixels masked to zero, or
Gaussian noise added) and the network reconstructs the CLEAN image, so its code has to capture
what the digits have in common rather than every pixel (Vincent et al., 2008).

The network is the dense autoencoder of ``ae.py``; by default with tied weights (the decoder uses
the encoder's weights transposed), as in the original paper, which also halves the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from explorer.models.ae import AEConfig, DenseAutoencoder
from explorer.models.base import batched_images, register


@dataclass
class DAEConfig(AEConfig):
    hidden: tuple[int, ...] = (256, 128)
    tied: bool = True
    corruption: str = "mask"  # "mask": zero a share `noise` of the pixels; "gaussian": add N(0, noise²)
    noise: float = 0.3


@register
class DAE(DenseAutoencoder):
    key = "dae"
    description = "Denoising autoencoder: corrupt the input (masking or Gaussian), reconstruct the clean one."
    Config = DAEConfig

    def __init__(self, config, input_shape) -> None:
        if config.corruption not in ("mask", "gaussian"):
            raise ValueError(f"corruption must be 'mask' or 'gaussian', not {config.corruption!r}")
        super().__init__(config, input_shape)

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, C, H, W) -> the same images masked or with noise added (clamped to [0, 1])."""
        noise = torch.rand if self.config.corruption == "mask" else torch.randn
        r = noise(x.shape, generator=generator, device="cpu").to(x.device, x.dtype)
        if self.config.corruption == "mask":
            return x * (r >= self.config.noise)
        return (x + self.config.noise * r).clamp(0, 1)

    def loss(self, batch):
        x = batch["x"]
        return F.mse_loss(self.reconstruct(self.corrupt(x)), x), {}

    @torch.no_grad()
    def validate(self, data):
        out = super().validate(data)  # mse: clean in, clean out
        g = torch.Generator().manual_seed(0)  # the same corruption every epoch: comparable numbers
        total, n = 0.0, 0
        for images in batched_images(data):
            x = torch.from_numpy(images).to(self.device)
            total += float(F.mse_loss(self.reconstruct(self.corrupt(x, g)), x, reduction="sum"))
            n += x.numel()
        out["val_loss"] = out["denoise_mse"] = total / max(n, 1)
        return out

    @torch.no_grad()
    def sample_panel(self, images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(images, dtype=np.float32)).to(self.device)
        noisy = self.corrupt(x, torch.Generator().manual_seed(0))
        recon = self.reconstruct(noisy).clamp(0, 1)
        return np.stack([images, noisy.cpu().numpy(), recon.cpu().numpy()]).astype(np.float32)
