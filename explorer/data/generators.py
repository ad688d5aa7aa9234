"""Random-dot images and their shifted / rotated partners: the classic gated-autoencoder data.

A random-dot image is a sum of small Gaussian blobs (sigma ``blob`` pixels) at random positions,
clipped to [0, 1]. Pairs are made so the content that moves *into* view is fresh random dots, never
an empty border: shifts crop two windows from one larger canvas; rotations render the same point
set twice, once rotated, over a disc that covers every corner of the image at any angle. A model
trained on them learns the classic Fourier-like (shift) or circular-harmonic (rotation) filter pairs
(Memisevic & Hinton 2010, Memisevic 2013).

Conventions (also used by :func:`apply_shift` / :func:`apply_rotation`):
- shift ``(dx, dy)``: content moves ``dx`` pixels right and ``dy`` pixels down,
  ``y[r, c] = x[r - dy, c - dx]``.
- rotation ``angle`` (degrees): content turns counter-clockwise *as displayed* (row 0 at the top)
  about the image centre.

All functions return float32 images in [0, 1] of shape (n, size, size) and are deterministic
given the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import numpy as np

DENSITY = 0.1  # expected dots per pixel
BLOB = 0.6  # blob sigma in pixels: small enough to look like dots, smooth enough to rotate well


def _render(points: np.ndarray, counts: np.ndarray, height: int, width: int, blob: float) -> np.ndarray:
    """Render point sets as Gaussian blobs.

    points: (n, k, 2) float (row, col) positions, rows past ``counts[i]`` ignored.
    Returns float32 (n, height, width) in [0, 1].
    """
    n, k, _ = points.shape
    rows = np.arange(height, dtype=np.float64)
    cols = np.arange(width, dtype=np.float64)
    valid = np.arange(k)[None, :] < counts[:, None]  # (n, k)
    out = np.empty((n, height, width), dtype=np.float32)
    inv = -1.0 / (2.0 * blob * blob)
    for start in range(0, n, 512):
        p = points[start : start + 512]
        v = valid[start : start + 512]
        gr = np.exp(inv * (rows[None, None, :] - p[:, :, 0:1]) ** 2) * v[:, :, None]  # (b, k, H)
        gc = np.exp(inv * (cols[None, None, :] - p[:, :, 1:2]) ** 2)  # (b, k, W)
        # a batched matrix product (BLAS) of (b, H, k) @ (b, k, W): 2-3x faster than the einsum
        out[start : start + 512] = np.matmul(gr.transpose(0, 2, 1), gc)
    np.clip(out, 0.0, 1.0, out=out)
    return out


def _random_points(n: int, extent: float, rng: np.random.Generator, density: float):
    """Uniform points in [0, extent)^2 with a Poisson count of mean density * extent^2 each."""
    counts = rng.poisson(density * extent * extent, size=n)
    k = max(1, int(counts.max(initial=1)))
    points = rng.uniform(0.0, extent, size=(n, k, 2))
    return points, counts


def random_dots(
    n: int, size: int, rng: np.random.Generator, density: float = DENSITY, blob: float = BLOB
) -> np.ndarray:
    """``n`` random-dot images, float32 (n, size, size) in [0, 1]."""
    pad = 3.0 * blob  # dots just outside the border still show their tails
    points, counts = _random_points(n, size + 2 * pad, rng, density)
    return _render(points - pad, counts, size, size, blob)


def shift_pairs(
    n: int,
    rng: np.random.Generator,
    size: int = 13,
    max_shift: int = 3,
    dx: np.ndarray | None = None,
    dy: np.ndarray | None = None,
    density: float = DENSITY,
    blob: float = BLOB,
):
    """Random-dot images ``x`` and partners ``y`` shifted by integer ``(dx, dy)``.

    Shifts are uniform in {-max_shift..max_shift}^2 unless given (then arrays of length n, e.g. to
    make fresh pairs x', y' under the same shifts as an earlier batch).
    Returns ``x, y`` float32 (n, size, size) and ``dx, dy`` int64 (n,).
    """
    if dx is None:
        dx = rng.integers(-max_shift, max_shift + 1, size=n)
    if dy is None:
        dy = rng.integers(-max_shift, max_shift + 1, size=n)
    dx = np.broadcast_to(np.asarray(dx, dtype=np.int64), (n,)).copy()
    dy = np.broadcast_to(np.asarray(dy, dtype=np.int64), (n,)).copy()
    m = int(max(max_shift, np.abs(dx).max(initial=0), np.abs(dy).max(initial=0)))
    canvas = random_dots(n, size + 2 * m, rng, density, blob)
    x = canvas[:, m : m + size, m : m + size].copy()
    y = np.empty_like(x)
    for i in range(n):
        r0, c0 = m - dy[i], m - dx[i]
        y[i] = canvas[i, r0 : r0 + size, c0 : c0 + size]
    return x, y, dx, dy


def rotation_pairs(
    n: int,
    rng: np.random.Generator,
    size: int = 13,
    max_angle: float = 180.0,
    angles: np.ndarray | None = None,
    density: float = DENSITY,
    blob: float = BLOB,
):
    """Random-dot images ``x`` and partners ``y`` rotated by ``angle`` degrees about the centre.

    Angles are uniform in [-max_angle, max_angle) unless given (array of length n).
    Returns ``x, y`` float32 (n, size, size) and ``angle`` float32 (n,) in degrees.
    """
    if angles is None:
        angles = rng.uniform(-max_angle, max_angle, size=n)
    angles = np.broadcast_to(np.asarray(angles, dtype=np.float64), (n,)).copy()
    centre = (size - 1) / 2.0
    radius = size / np.sqrt(2.0) + 3.0 * blob + 1.0  # covers every corner at every angle
    extent = 2.0 * radius
    points, counts = _random_points(n, extent, rng, density)
    rel = points - radius  # (n, k, 2) as (row, col) relative to the centre
    inside = (rel**2).sum(-1) <= radius * radius
    # keep only points inside the disc, packed to the front so counts stay meaningful
    order = np.argsort(~inside, axis=1, kind="stable")
    rel = np.take_along_axis(rel, order[:, :, None], axis=1)
    counts = np.minimum(counts, inside.sum(1))
    x = _render(rel + centre, counts, size, size, blob)
    t = np.deg2rad(angles)[:, None]
    r, c = rel[:, :, 0], rel[:, :, 1]
    # counter-clockwise on screen (rows grow downwards): col' = c cos + r sin, row' = r cos - c sin
    rot = np.stack([r * np.cos(t) - c * np.sin(t), c * np.cos(t) + r * np.sin(t)], axis=-1)
    y = _render(rot + centre, counts, size, size, blob)
    return x, y, angles.astype(np.float32)


def _as_stack(images: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """View any (..., H, W) array as (n, H, W); return it and the original shape."""
    a = np.asarray(images)
    return a.reshape((-1,) + a.shape[-2:]), a.shape


def _per_item(value, n_items: int, lead: tuple[int, ...]) -> np.ndarray:
    """Broadcast a scalar or per-item (N,) parameter to every (H, W) plane of a (N, ..., H, W) stack."""
    v = np.asarray(value)
    if v.ndim == 0:
        return np.full(n_items, v)
    per_plane = int(np.prod(lead[1:], dtype=np.int64)) if len(lead) > 1 else 1
    return np.repeat(v.reshape(-1), per_plane)


def apply_shift(images: np.ndarray, dx, dy, fill: float = 0.0) -> np.ndarray:
    """Shift images (..., H, W) by integer ``(dx, dy)``: ``out[r, c] = img[r - dy, c - dx]``.

    dx, dy: scalars or one value per item of the leading axis. Uncovered pixels get ``fill``.
    """
    stack, shape = _as_stack(images)
    n, h, w = stack.shape
    dxs = _per_item(dx, n, shape[:-2]).astype(np.int64)
    dys = _per_item(dy, n, shape[:-2]).astype(np.int64)
    out = np.full_like(stack, fill)
    for sx, sy in set(zip(dxs.tolist(), dys.tolist())):
        idx = np.nonzero((dxs == sx) & (dys == sy))[0]
        if abs(sx) >= w or abs(sy) >= h:
            continue
        out[idx, max(sy, 0) : h + min(sy, 0), max(sx, 0) : w + min(sx, 0)] = stack[
            idx, max(-sy, 0) : h + min(-sy, 0), max(-sx, 0) : w + min(-sx, 0)
        ]
    return out.reshape(shape)


def apply_rotation(images: np.ndarray, angle, fill: float = 0.0, order: int = 1) -> np.ndarray:
    """Rotate images (..., H, W) by ``angle`` degrees counter-clockwise on screen about the centre.

    angle: scalar or one value per item of the leading axis. Pixels from outside get ``fill``;
    ``order`` is the spline order (1 = bilinear).
    """
    from scipy import ndimage

    stack, shape = _as_stack(images)
    n, h, w = stack.shape
    angles = _per_item(angle, n, shape[:-2]).astype(np.float64)
    out = np.empty(stack.shape, dtype=np.float32)
    src = stack.astype(np.float32, copy=False)
    for i in range(n):
        # ndimage.rotate turns counter-clockwise as displayed for axes=(1, 0) with rows downwards
        out[i] = ndimage.rotate(
            src[i], angles[i], axes=(1, 0), reshape=False, order=order, mode="constant", cval=fill
        )
    return out.reshape(shape)


def shift_class_names(max_shift: int = 3) -> list[str]:
    """Names of the (2m+1)^2 shift classes, indexed by :func:`shift_labels`."""
    r = range(-max_shift, max_shift + 1)
    return [f"dx={x},dy={y}" for y in r for x in r]


def shift_labels(dx: np.ndarray, dy: np.ndarray, max_shift: int = 3) -> np.ndarray:
    k = 2 * max_shift + 1
    return ((np.asarray(dy) + max_shift) * k + (np.asarray(dx) + max_shift)).astype(np.int64)


def angle_class_names(bins: int = 12) -> list[str]:
    """Names of ``bins`` equal angle bins over [-180, 180), e.g. '-180..-150'."""
    step = 360 // bins
    return [f"{a}..{a + step}" for a in range(-180, 180, step)]


def angle_labels(angles: np.ndarray, bins: int = 12) -> np.ndarray:
    wrapped = (np.asarray(angles, dtype=np.float64) + 180.0) % 360.0
    return np.minimum((wrapped / (360.0 / bins)).astype(np.int64), bins - 1)
