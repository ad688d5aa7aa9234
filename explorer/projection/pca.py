"""PCA layouts (instant) and Procrustes alignment of one layout onto another."""

from __future__ import annotations

import numpy as np


def pca_layout(codes: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) codes -> (N, 2) float32: the first two principal components (scikit-learn's PCA).

    Degenerate inputs still give an (N, 2) layout: one item sits at the origin, one code
    dimension gives a line on the x axis.
    """
    from sklearn.decomposition import PCA

    x = np.asarray(codes, dtype=np.float32)
    n = len(x)
    out = np.zeros((n, 2), dtype=np.float32)
    if n < 2 or x.ndim != 2 or x.shape[1] == 0:
        return out
    k = min(2, x.shape[1], n)
    out[:, :k] = PCA(n_components=k, random_state=seed).fit_transform(x)
    return out


def align_to(layout: np.ndarray, reference: np.ndarray, scale: bool = True) -> np.ndarray:
    """Rotate/reflect (and scale, and shift) ``layout`` (N, 2) to best match ``reference`` (N, 2).

    Orthogonal Procrustes: the rotation R minimising ||(A - a) R s + b - B||, so a new frame of
    a live PCA keeps the orientation of the previous one and points glide instead of flipping.
    """
    from scipy.linalg import orthogonal_procrustes

    a = np.asarray(layout, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape or len(a) < 2:
        return np.asarray(layout, dtype=np.float32)
    a_mean, b_mean = a.mean(0), b.mean(0)
    ac, bc = a - a_mean, b - b_mean
    norm = float((ac**2).sum())
    if norm == 0.0 or not np.isfinite(norm):
        return np.asarray(layout, dtype=np.float32)
    rotation, singular_sum = orthogonal_procrustes(ac, bc)
    s = singular_sum / norm if scale else 1.0
    return (ac @ rotation * s + b_mean).astype(np.float32)
