"""Encoder towers shared by the metric models: a small conv net or an MLP, image -> code."""

from __future__ import annotations

import numpy as np
from torch import nn


def _pooled(size: int) -> int:
    return -(-size // 2)


def make_tower(
    kind: str,
    input_shape: tuple[int, int, int],
    code_dim: int,
    channels: tuple[int, ...] = (32, 64),
    hidden: int = 128,
) -> nn.Sequential:
    """``kind`` "conv": [conv3x3 + ReLU + max-pool] per channel count, average-pooled to at most
    4x4, then dense hidden + ReLU + dense code. "mlp": flatten, dense 256 + 128 + code."""
    c, h, w = input_shape
    if kind == "mlp":
        d = int(np.prod(input_shape))
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(d, 256),
            nn.ReLU(),
            nn.Linear(256, hidden),
            nn.ReLU(),
            nn.Linear(hidden, code_dim),
        )
    if kind != "conv":
        raise ValueError(f"tower must be 'conv' or 'mlp', not {kind!r}")
    layers: list[nn.Module] = []
    for out in channels:
        layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]
        c, h, w = out, _pooled(h), _pooled(w)
    side = (min(4, h), min(4, w))
    layers += [
        nn.AdaptiveAvgPool2d(side),
        nn.Flatten(),  # (B, c * 4 * 4)
        nn.Linear(c * side[0] * side[1], hidden),
        nn.ReLU(),
        nn.Linear(hidden, code_dim),
    ]
    return nn.Sequential(*layers)
