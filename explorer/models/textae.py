"""`textae`: a deep autoencoder on bag-of-words documents (Hinton & Salakhutdinov 2006, the
seed's text-retrieval slide), with binary codes for semantic hashing as an option.

Input: word counts (B, 1, 1, V) from :mod:`explorer.data.documents`, as float images (counts /
255, what ``ImageSet.float_images`` gives for their uint8 storage). The encoder sees
log(1 + tf) (B, V), goes through dense ReLU layers (``hidden``) to a sigmoid code layer (B, D);
the decoder mirrors it to V logits, trained as a multinomial over the document's words (softmax
cross-entropy against its word distribution), so long and short documents count alike.

``binary=True`` makes the codes binary (semantic hashing; Krizhevsky & Hinton's image search uses
the same trick): Gaussian noise of growing strength (up to ``noise``) is added before the code
sigmoid during training, which only a code sitting near 0 or 1 survives; ``encode`` then returns
the codes thresholded at 0.5 (0.0 / 1.0), searched by Hamming distance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explorer.core.imageset import ImageSet
from explorer.models.base import (
    TrainableModel,
    batched_images,
    register,
    shuffled_batches,
)


@dataclass
class TextAEConfig:
    code_dim: int = 32
    hidden: tuple[int, ...] = (256, 128)
    binary: bool = False  # noisy sigmoid code layer, thresholded codes (semantic hashing)
    noise: float = 4.0  # largest std of the noise before the code sigmoid (binary codes)
    noise_steps: int = 2000  # steps over which the noise grows from 0 to ``noise``
    dropout: float = 0.2  # on the input words (a denoising autoencoder on text)


@register
class TextAE(TrainableModel):
    key = "textae"
    description = (
        "Autoencoder on bag-of-words documents: log(1+tf) in, sigmoid code; binary codes as an option."
    )
    Config = TextAEConfig
    defaults = {"epochs": 60, "batch_size": 64, "lr": 1e-3}

    def __init__(self, config: TextAEConfig, input_shape: tuple[int, int, int]) -> None:
        super().__init__(config, input_shape)
        v = int(np.prod(self.input_shape))
        sizes = [v, *config.hidden]
        self.encoder = nn.Sequential(
            *[m for a, b in zip(sizes[:-1], sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())]
        )
        self.to_code = nn.Linear(sizes[-1], config.code_dim)
        back = [config.code_dim, *sizes[::-1][:-1]]
        layers: list[nn.Module] = []
        for a, b in zip(back[:-1], back[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.decoder = nn.Sequential(*layers, nn.Linear(back[-1], v))  # V logits
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log1p(x.flatten(1).clamp_min(0) * 255)  # (B, V) log(1 + tf)

    def code_logits(self, x: torch.Tensor) -> torch.Tensor:
        h = self._inputs(x)
        if self.training and self.config.dropout > 0:
            h = F.dropout(h, self.config.dropout)
        return self.to_code(self.encoder(h))  # (B, D) before the sigmoid

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 1, V) word counts -> (B, D) codes in (0, 1) (binary: exactly 0.0 or 1.0)."""
        was = self.training
        self.eval()
        try:
            p = torch.sigmoid(self.code_logits(x))
        finally:
            self.train(was)
        return (p > 0.5).float() if self.config.binary else p

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        x = batch["x"].flatten(1)  # counts / 255: the distribution below does not mind the scale
        logits = self.code_logits(batch["x"])
        extra = {}
        if self.config.binary and self.training:
            ramp = min(1.0, float(self.steps) / max(1, self.config.noise_steps))
            logits = logits + torch.randn_like(logits) * self.config.noise * ramp
            extra["noise"] = self.config.noise * ramp
        code = torch.sigmoid(logits)
        out = self.decoder(code)  # (B, V)
        target = x / x.sum(1, keepdim=True).clamp_min(1)  # word distribution of each document
        loss = -(target * F.log_softmax(out, dim=1)).sum(1).mean()
        with torch.no_grad():
            extra["binary_share"] = float(((code < 0.1) | (code > 0.9)).float().mean())
        return loss, extra

    def after_step(self) -> None:
        self.steps += 1

    def batches(self, data: ImageSet, batch_size: int, rng: np.random.Generator) -> Iterator[dict]:
        for idx in shuffled_batches(data.count, batch_size, rng):
            yield {"x": data.float_images(np.sort(idx))}

    @torch.no_grad()
    def validate(self, data: ImageSet) -> dict[str, float]:
        total, n = 0.0, 0
        for images in batched_images(data):
            x = torch.from_numpy(images).to(self.device)
            loss, _ = self.loss({"x": x})
            total += float(loss) * len(x)
            n += len(x)
        return {"val_loss": total / max(n, 1)}
