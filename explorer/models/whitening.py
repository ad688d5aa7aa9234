"""Whitening of features, fitted on training images and kept with the model (its buffers go into
the checkpoint).

A metric learnt on few classes squeezes the directions those classes do not need; images of new
classes differ along exactly those. Features of an earlier layer keep them, but their raw
cosine is dominated by a few large directions shared by every image. Whitening (PCA, each
component divided by the square root of its variance, shrunk towards the mean variance so the
smallest do not blow up noise) weighs every direction alike, the way a linear probe would; on
unseen digits it raises the AUC of the pooled conv features well above the final code's
(README, unseen classes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Whitening(nn.Module):
    """Unit-normalise, centre on the training mean, whiten and unit-normalise again:
    (B, D) -> (B, K) codes on the unit sphere (``transform`` is the same without the last step),
    K = ``components`` (the leading principal directions; 0 or None: all D).

    ``shrink`` adds shrink * (mean eigenvalue) to every eigenvalue before dividing by its square
    root (0: full whitening; large: close to centring alone). Until :meth:`fit` is called the
    transform keeps the first K coordinates after normalisation.
    """

    def __init__(self, dim: int, shrink: float = 3.0, components: int | None = None) -> None:
        super().__init__()
        self.shrink = float(shrink)
        k = dim if not components else min(int(components), dim)
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("projection", torch.eye(dim)[:, :k].contiguous())

    @property
    def out_dim(self) -> int:
        return int(self.projection.shape[1])

    @torch.no_grad()
    def fit(self, features: torch.Tensor) -> None:
        """Estimate the mean and the whitening projection from features (N, D) of training
        images (float64 eigendecomposition of the D x D covariance)."""
        f = F.normalize(features.double(), dim=1)
        mean = f.mean(0)
        centred = f - mean
        cov = centred.T @ centred / max(1, len(f) - 1)
        eigval, eigvec = torch.linalg.eigh(cov)
        eigval = eigval.clamp_min(0)
        scale = (eigval + self.shrink * eigval.mean()).clamp_min(1e-12).rsqrt()
        k = self.out_dim  # eigh sorts ascending: the last k are the leading directions, largest first
        projection = (eigvec * scale)[:, -k:].flip(1)
        self.mean.copy_(mean.to(self.mean.dtype))
        self.projection.copy_(projection.to(self.projection.dtype))

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) features -> (B, K) whitened (unit covariance on the training features at shrink 0)."""
        return (F.normalize(x, dim=1) - self.mean) @ self.projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # on the sphere: the cosine of whitened features is what carries over (0.90 AUC on unseen
        # digits against 0.83 for their Euclidean distance), and every code is of length 1
        return F.normalize(self.transform(x), dim=1)
