"""The data the bench rows run on: the bundled MNIST sample as PCA-50 codes, and random codes.

``mnist_codes(n)`` takes the 5,000 images of ``sample:mnist``, adds copies shifted by one pixel
(right, then down, then left, ...) until there are ``n`` distinct images, and projects the pixels
onto their first 50 principal components (numpy SVD): realistic, labelled codes for t-SNE and
UMAP that every run of the bench rebuilds identically.
"""

from __future__ import annotations

import numpy as np

SHIFTS = ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1))
DESCRIPTION = "PCA-50 of sample:mnist pixels (5,000 images plus copies shifted by one pixel)"


def mnist_images(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` float32 (n, 1, 28, 28) images in [0, 1] and their int64 labels (see module doc)."""
    from explorer.data import load_data

    data = load_data("sample:mnist")
    base = data.images
    labels = np.asarray(data.labels if data.labels is not None else np.zeros(data.count), np.int64)
    parts, label_parts, have = [base], [labels], len(base)
    for dy, dx in SHIFTS:
        if have >= n:
            break
        parts.append(np.roll(base, (dy, dx), axis=(2, 3)))
        label_parts.append(labels)
        have += len(base)
    if have < n:
        raise ValueError(f"mnist_images: at most {have} images, asked for {n}")
    images = np.concatenate(parts)[:n].astype(np.float32) / 255.0
    return images, np.concatenate(label_parts)[:n]


def mnist_codes(n: int, dim: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 PCA codes of :func:`mnist_images` and their labels."""
    images, labels = mnist_images(n)
    x = images.reshape(n, -1).astype(np.float64)
    x -= x.mean(axis=0)
    # the eigenvectors of the small (784, 784) covariance are cheaper than an SVD of (n, 784)
    evals, evecs = np.linalg.eigh(x.T @ x)
    top = evecs[:, np.argsort(evals)[::-1][:dim]]
    top *= np.sign(top[np.abs(top).argmax(axis=0), range(dim)])  # fixed signs: runs repeat
    return np.ascontiguousarray(x @ top, dtype=np.float32), labels


def mixture_codes(n: int, dim: int = 50, classes: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, dim) float32 codes of a seeded labelled mixture, and their (n,) int64 labels.

    Class sizes fall off like 1/rank (the largest about 100x the smallest, so a million codes
    hold classes of a few hundred); each class is a curved 4-D sheet (a random linear map of a
    4-D Gaussian plus a bend) around its own centre, with isotropic noise, and 0.1% of each class
    are far outliers (noise x6). Neighbouring classes overlap, so the codes' own 10-NN label
    accuracy is below 1 (about 0.9) and a layout can be judged against it.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, classes + 1)
    sizes = np.floor(weights / weights.sum() * n).astype(np.int64)
    sizes[: n - sizes.sum()] += 1
    centres = rng.normal(scale=0.3, size=(classes, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    labels = np.repeat(np.arange(classes, dtype=np.int64), sizes)
    start = 0
    for c, size in enumerate(sizes):
        z = rng.normal(size=(size, 4)).astype(np.float32)  # (size, 4) latent sheet
        basis = rng.normal(scale=0.9, size=(4, dim)).astype(np.float32)
        bend = rng.normal(scale=0.25, size=(1, dim)).astype(np.float32)
        pts = centres[c] + z @ basis + (z[:, :1] ** 2) * bend
        noise = rng.normal(scale=1.4, size=(size, dim)).astype(np.float32)
        far = rng.random(size) < 0.001
        noise[far] *= 6.0
        out[start : start + size] = pts + noise
        start += size
    order = rng.permutation(n)  # rows in no particular order, as real codes are
    return out[order], labels[order]
