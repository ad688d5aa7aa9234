"""`cae`: a convolutional autoencoder. Two conv + max-pool stages down to a dense code; the decoder
goes back up either by transposed convolution or by max-unpooling with the encoder's pooling
switches (Zeiler's deconvnet). Pooling rounds up, so odd sizes (13x13) work as well as 8x8 and 28x28.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from explorer.models.ae import ReconstructionModel
from explorer.models.base import register


@dataclass
class CAEConfig:
    code_dim: int = 32
    channels: tuple[int, int] = (16, 32)
    decoder: str = "transpose"  # "transpose" (transposed convolution) | "unpool" (max-unpooling)


def _pooled(size: int) -> int:
    return -(-size // 2)  # ceil_mode pooling


@register
class CAE(ReconstructionModel):
    key = "cae"
    description = "Convolutional autoencoder: conv + pooling down; transposed convolution or unpooling up."
    Config = CAEConfig

    def __init__(self, config, input_shape) -> None:
        super().__init__(config, input_shape)
        if config.decoder not in ("transpose", "unpool"):
            raise ValueError(f"decoder must be 'transpose' or 'unpool', not {config.decoder!r}")
        c, h, w = self.input_shape
        c1, c2 = config.channels
        self.sizes = [(h, w), (_pooled(h), _pooled(w)), (_pooled(_pooled(h)), _pooled(_pooled(w)))]
        h2, w2 = self.sizes[2]
        self.conv1 = nn.Conv2d(c, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.pool = nn.MaxPool2d(2, ceil_mode=True, return_indices=True)
        self.to_code = nn.Linear(c2 * h2 * w2, config.code_dim)
        self.from_code = nn.Linear(config.code_dim, c2 * h2 * w2)
        if config.decoder == "transpose":
            self.up2 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
            self.up1 = nn.ConvTranspose2d(c1, c1, 2, stride=2)
        else:
            self.unpool = nn.MaxUnpool2d(2)
            self.deconv2 = nn.Conv2d(c2, c1, 3, padding=1)
            self.deconv1b = nn.Conv2d(c1, c1, 3, padding=1)
        self.out = nn.Conv2d(c1, c, 3, padding=1)

    def _encode(self, x: torch.Tensor):
        h, i1 = self.pool(F.relu(self.conv1(x)))  # (B, c1, H/2, W/2)
        h, i2 = self.pool(F.relu(self.conv2(h)))  # (B, c2, H/4, W/4)
        return self.to_code(h.flatten(1)), (i1, i2)  # (B, code_dim)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._encode(x)[0]

    def decode(self, code: torch.Tensor, switches=None) -> torch.Tensor:
        (h0, w0), (h1, w1), (h2, w2) = self.sizes
        h = F.relu(self.from_code(code)).view(-1, self.config.channels[1], h2, w2)
        if self.config.decoder == "transpose":
            h = F.relu(self.up2(h)[:, :, :h1, :w1])  # (B, c1, H/2, W/2)
            h = F.relu(self.up1(h)[:, :, :h0, :w0])  # (B, c1, H, W)
        else:  # unpool with the encoder's switches; nearest upsampling when decoding a bare code
            h = self._up(h, None if switches is None else switches[1], (h1, w1))
            h = F.relu(self.deconv2(h))
            h = self._up(h, None if switches is None else switches[0], (h0, w0))
            h = F.relu(self.deconv1b(h))
        return torch.sigmoid(self.out(h))  # (B, C, H, W)

    def _up(self, h, indices, size):
        if indices is None:
            return F.interpolate(h, size=size, mode="nearest")
        return self.unpool(h, indices, output_size=size)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        code, switches = self._encode(x)
        return self.decode(code, switches)
