"""`ae`: a deep dense autoencoder (D-512-128-code and its mirror), trained with MSE.

With ``linear=True`` it is one linear map down and one up, no non-linearities: its MSE optimum spans
the same subspace as the first ``code_dim`` principal components, so it behaves like PCA.

:class:`ReconstructionModel` holds what every autoencoder here shares (batches, MSE validation,
inputs-over-reconstructions panel); ``dae`` and ``cae`` build on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.imageset import ImageSet
from explorer.models.base import TrainableModel, batched_images, register, shuffled_batches


class ReconstructionModel(TrainableModel):
    """An autoencoder: ``encode`` (B, C, H, W) -> (B, code_dim), ``decode`` back to images."""

    augment_keys = ("x",)
    defaults = {"epochs": 20, "batch_size": 64, "lr": 2e-3}

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def batches(self, data: ImageSet, batch_size: int, rng: np.random.Generator) -> Iterator[dict]:
        for idx in shuffled_batches(data.count, batch_size, rng):
            yield {"x": data.float_images(np.sort(idx))}

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["x"]
        return F.mse_loss(self.reconstruct(x), x), {}

    @torch.no_grad()
    def validate(self, data: ImageSet) -> dict[str, float]:
        total, n = 0.0, 0
        for images in batched_images(data):
            x = torch.from_numpy(images).to(self.device)
            total += float(F.mse_loss(self.reconstruct(x), x, reduction="sum"))
            n += x.numel()
        mse = total / max(n, 1)
        return {"val_loss": mse, "mse": mse}

    @torch.no_grad()
    def sample_panel(self, images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(images, dtype=np.float32)).to(self.device)
        recon = self.reconstruct(x).clamp(0, 1)
        return np.stack([images, recon.cpu().numpy()]).astype(np.float32)  # (2, n, C, H, W)


@dataclass
class AEConfig:
    code_dim: int = 32
    hidden: tuple[int, ...] = (512, 128)
    linear: bool = False  # one linear layer each way, no activations: behaves like PCA
    tied: bool = False  # decoder uses the encoder's weights transposed (halves the file)


class DenseAutoencoder(ReconstructionModel):
    """Flatten, dense layers with ReLU down to the code, the mirror image up, sigmoid out."""

    def __init__(self, config, input_shape) -> None:
        super().__init__(config, input_shape)
        d = int(np.prod(self.input_shape))
        sizes = [d, config.code_dim] if config.linear else [d, *config.hidden, config.code_dim]
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        back = sizes[::-1]
        if config.tied:  # only the biases are new; weights are the encoder's, transposed
            self.decoder_bias = nn.ParameterList(nn.Parameter(torch.zeros(b)) for b in back[1:])
        else:
            self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(back[:-1], back[1:]))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)  # (B, D)
        for i, layer in enumerate(self.encoder):
            h = layer(h)
            if not self.config.linear and i < len(self.encoder) - 1:
                h = F.relu(h)
        return h  # (B, code_dim)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        h = code
        n = len(self.encoder)
        for i in range(n):
            if self.config.tied:
                h = F.linear(h, self.encoder[n - 1 - i].weight.t(), self.decoder_bias[i])
            else:
                h = self.decoder[i](h)
            if not self.config.linear and i < n - 1:
                h = F.relu(h)
        if not self.config.linear:
            h = torch.sigmoid(h)
        return h.view(-1, *self.input_shape)  # (B, C, H, W)


@register
class AE(DenseAutoencoder):
    key = "ae"
    description = "Deep dense autoencoder (D-512-128-code and mirror), MSE; 'linear' behaves like PCA."
    Config = AEConfig
