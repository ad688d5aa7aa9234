"""Whitening of features, fitted on training images and kept with the model (its buffers go into
the checkpoint).

A metric learnt on few classes squeezes the directions those classes do not need; images of new
classes differ along exactly those. Features of an earlier layer keep them, but their raw
cosine is dominated by a few large directions shared by every image. Whitening (PCA, each
component divided by the square root of its variance, shrunk towards the mean variance so the
smallest do not blow up noise) weighs every direction alike, the way a linear probe would; on
unseen digits it raises the AUC of the pooled conv features well above the final code's
(README, unseen classes).

With class labels the whitening can be *within-class* (``fit(features, labels)``): the features
are whitened by the pooled covariance of items around their own class's mean (shrunk the same
way), so the directions along which images of one training class vary (slant, stroke width, size)
count less than those along which classes differ, and the leading principal directions of all
features in that space are kept (linear discriminant analysis with every direction kept, not
only the classes' few). Such variation is much the same for classes never seen: on unseen digits
it verifies better than the plain whitening (docs/performance.md, metric learning).
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
    def fit(self, features: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        """Estimate the mean and the whitening projection from features (N, D) of training
        images (float64 eigendecompositions of D x D covariances). With ``labels`` (N,) of at
        least two classes of two or more items (negative labels: unlabelled, left out of the
        class statistics) the whitening is within-class (see the module's docstring)."""
        f = F.normalize(features.double(), dim=1)
        mean = f.mean(0)
        centred = f - mean
        k = self.out_dim
        within = _within_class_covariance(f, labels) if labels is not None else None
        if within is None:
            # eigh sorts ascending: the last k are the leading directions, largest first
            projection = (_shrunk_inverse_root(_covariance(centred), self.shrink, basis=True))[:, -k:].flip(1)
        else:
            root = _shrunk_inverse_root(within, self.shrink)  # (D, D), symmetric
            _, eigvec = torch.linalg.eigh(_covariance(centred @ root))
            projection = (root @ eigvec)[:, -k:].flip(1)
        self.mean.copy_(mean.to(self.mean.dtype))
        self.projection.copy_(projection.to(self.projection.dtype))

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) features -> (B, K) whitened (unit covariance on the training features at shrink 0)."""
        return (F.normalize(x, dim=1) - self.mean) @ self.projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # on the sphere: the cosine of whitened features is what carries over (0.90 AUC on unseen
        # digits against 0.83 for their Euclidean distance), and every code is of length 1
        return F.normalize(self.transform(x), dim=1)


def _covariance(centred: torch.Tensor) -> torch.Tensor:
    return centred.T @ centred / max(1, len(centred) - 1)


def _shrunk_inverse_root(cov: torch.Tensor, shrink: float, basis: bool = False) -> torch.Tensor:
    """(cov + shrink * mean eigenvalue)^(-1/2); ``basis``: its eigenvectors scaled, V diag(s)
    (columns in ascending order of eigenvalue), instead of V diag(s) V^T."""
    eigval, eigvec = torch.linalg.eigh(cov)
    eigval = eigval.clamp_min(0)
    scaled = eigvec * (eigval + shrink * eigval.mean()).clamp_min(1e-12).rsqrt()
    return scaled if basis else scaled @ eigvec.T


def _within_class_covariance(f: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | None:
    """The pooled covariance of features (N, D) around their class means, or None when fewer than
    two classes have two or more items."""
    labels = torch.as_tensor(labels, device=f.device)
    classes, counts = torch.unique(labels[labels >= 0], return_counts=True)
    classes = classes[counts >= 2]
    if len(classes) < 2:
        return None
    cov = torch.zeros(f.shape[1], f.shape[1], dtype=f.dtype, device=f.device)
    n = 0
    for c in classes:
        g = f[labels == c]
        g = g - g.mean(0)
        cov += g.T @ g
        n += len(g) - 1
    return cov / n
