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

