"""Encoder towers shared by the metric models: a small conv net (plain, or with batch norm and
global pooling) or an MLP, image -> code."""

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
    4x4, then dense hidden + ReLU + dense code. "bn": [conv3x3 + batch norm + ReLU + max-pool] per
    channel count, global average pooling, then dense hidden + batch norm + ReLU + dense code
    (``hidden`` 0: the pooled features straight to the code). "mlp": flatten, dense 256 + 128 + code."""
    c, h, w = input_shape
    if kind == "bn":
        return _bn_tower(c, code_dim, channels, hidden)
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
        raise ValueError(f"tower must be 'conv', 'bn' or 'mlp', not {kind!r}")
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


def _bn_tower(c: int, code_dim: int, channels: tuple[int, ...], hidden: int) -> nn.Sequential:
    # batch norm makes the deeper tower train at a high learning rate; global pooling keeps the
    # code's size independent of the image's and the features independent of where a stroke is
    layers: list[nn.Module] = []
    for out in channels:
        layers += [
            nn.Conv2d(c, out, 3, padding=1, bias=False),
            nn.BatchNorm2d(out),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
        ]
        c = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]  # (B, c)
    if hidden > 0:
        layers += [nn.Linear(c, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()]
        c = hidden
    layers.append(nn.Linear(c, code_dim))
    return nn.Sequential(*layers)
