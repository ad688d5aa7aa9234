"""Proxy losses of the metric models: one learnt unit vector (proxy) per training class, codes
pulled to their class's proxy and pushed from the others by a softmax over cosine similarities.

* ``normsoftmax`` (Zhai & Wu 2019, "Classification is a strong baseline for deep metric learning"):
  cross-entropy of cos(code, proxy) / T, T learnt (from ``temperature``) when ``learn_temperature``.
* ``arcface`` (Deng et al. 2019): the same with an additive angular margin m on the true class,
  cos(theta + m), so a class must be ``margin`` radians nearer its proxy than any other.
* ``proxyanchor`` (Kim et al. 2020): for each proxy of a class in the batch, a soft-plus over its
  positives of exp(-alpha (cos - delta)) and over its negatives of exp(alpha (cos + delta)).

Codes (B, D) come in on the unit sphere; labels (B,) are class indices below the proxy count.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PROXY_LOSSES = ("normsoftmax", "arcface", "proxyanchor")


class Proxies(nn.Module):
    """``classes`` x ``dim`` proxies and a log inverse temperature (learnt when ``learn``)."""

    def __init__(self, classes: int, dim: int, temperature: float, learn: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max(1, classes), dim) / math.sqrt(dim))
        scale = torch.tensor(math.log(1.0 / max(temperature, 1e-3)))
        self.log_scale = nn.Parameter(scale, requires_grad=learn)

    def cosines(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, D) unit codes -> (B, classes) cosine similarities to the proxies."""
        return codes @ F.normalize(self.weight, dim=1).T

    def scale(self) -> torch.Tensor:
        return self.log_scale.clamp(0.0, math.log(100.0)).exp()  # 1/T in [1, 100]


def proxy_loss(
    kind: str, proxies: Proxies, codes: torch.Tensor, labels: torch.Tensor, margin: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """The ``kind`` loss of unit codes (B, D) with labels (B,); (loss, {"scale": 1/T})."""
    cos = proxies.cosines(codes)  # (B, C)
    if len(labels) and int(labels.max()) >= cos.shape[1]:
        raise ValueError(f"label {int(labels.max())} has no proxy ({cos.shape[1]} classes were planned)")
    s = proxies.scale()
    if kind == "proxyanchor":
        loss = proxy_anchor_loss(cos, labels, alpha=32.0, delta=0.1)
    else:
        if kind == "arcface" and margin > 0:
            target = cos.gather(1, labels[:, None]).clamp(-1 + 1e-6, 1 - 1e-6)  # (B, 1)
            moved = torch.cos(torch.acos(target) + margin)
            cos = cos.scatter(1, labels[:, None], moved)
        loss = F.cross_entropy(s * cos, labels)
    return loss, {"scale": float(s.detach())}


def proxy_anchor_loss(cos: torch.Tensor, labels: torch.Tensor, alpha: float, delta: float) -> torch.Tensor:
    """Proxy-anchor loss of cosines (B, C) with labels (B,) (Kim et al. 2020, eq. 4)."""
    pos = F.one_hot(labels, cos.shape[1]).bool()  # (B, C)
    with_pos = pos.any(0)  # proxies with a positive in the batch
    # a large finite "nothing" (not -inf, whose logsumexp has a NaN gradient on empty columns)
    none = torch.full_like(cos, -1e4)
    pos_term = torch.where(pos, -alpha * (cos - delta), none)
    neg_term = torch.where(~pos, alpha * (cos + delta), none)
    p = F.softplus(torch.logsumexp(pos_term, 0))[with_pos].sum() / with_pos.sum().clamp_min(1)
    n = F.softplus(torch.logsumexp(neg_term, 0)).sum() / cos.shape[1]
    return p + n
