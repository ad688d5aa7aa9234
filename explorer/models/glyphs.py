"""Random pen-stroke glyphs: an endless supply of made-up classes for metric learning on strokes.

A metric trained on five digit classes learns what tells those five apart. Each glyph class is a
few random strokes (quadratic Bezier curves of one pen width); its items are the same strokes with
their control points moved a little, as one hand writes one character many times. Mixed into the
training batches as classes of their own (``glyph_classes`` of the triplet model), they teach the
encoder to tell stroke shapes apart in general, not only the training digits.

Everything is numpy, seeded by the run's generator.
"""

from __future__ import annotations

import numpy as np

STROKE_POINTS = 64  # points along each stroke (under half a pixel apart at 28x28)


def glyph_images(
    classes: int,
    per_class: int,
    shape: tuple[int, int, int],
    rng: np.random.Generator,
    strokes: tuple[int, int] = (2, 4),
    jitter: float = 0.04,
) -> np.ndarray:
    """(classes * per_class, C, H, W) float32 images in [0, 1], ``per_class`` consecutive items
    per class: white strokes on black, between ``strokes`` [lo, hi) strokes per class, each item's
    control points moved by N(0, ``jitter``) (fractions of the side) from its class's."""
    c, h, w = shape
    n = classes * per_class
    s_max = strokes[1] - 1
    # class strokes: (classes, s_max, 3 control points, 2) in [0.15, 0.85]; strokes past a class's
    # count are masked off; a stroke starts where the last one ended half of the time (joined pen)
    ctrl = rng.uniform(0.15, 0.85, (classes, s_max, 3, 2))
    joined = rng.random((classes, s_max)) < 0.5
    for k in range(1, s_max):
        ctrl[joined[:, k], k, 0] = ctrl[joined[:, k], k - 1, 2]
    count = rng.integers(strokes[0], strokes[1], classes)
    width = rng.uniform(0.025, 0.045, classes) * min(h, w)  # pen radius in pixels (0.7-1.3 px at 28)
    ctrl = np.repeat(ctrl, per_class, 0) + rng.normal(0, jitter, (n, s_max, 3, 2))
    used = np.repeat(np.arange(s_max)[None, :] < count[:, None], per_class, 0)  # (n, s_max)
    sigma = np.repeat(width, per_class) * rng.uniform(0.85, 1.15, n)
    t = np.linspace(0, 1, STROKE_POINTS)[:, None]  # (T, 1)
    b0, b1, b2 = (1 - t) ** 2, 2 * t * (1 - t), t**2
    pts = (
        b0[None, None] * ctrl[:, :, None, 0]
        + b1[None, None] * ctrl[:, :, None, 1]
        + b2[None, None] * ctrl[:, :, None, 2]
    )  # (n, s_max, T, 2) as (x, y) fractions of the side
    # each item fills a box of about 0.7 of the side, centred (as MNIST centres its digits)
    flat = pts.reshape(n, -1, 2)
    weight = np.repeat(used, STROKE_POINTS, 1)  # (n, P)
    lo = np.where(weight[..., None], flat, np.inf).min(1)
    hi = np.where(weight[..., None], flat, -np.inf).max(1)
    size = np.maximum((hi - lo).max(1), 1e-3)[:, None, None]
    flat = (flat - (lo + hi)[:, None] / 2) * (0.7 / size) * rng.uniform(0.85, 1.0, (n, 1, 1)) + 0.5
    return _render(flat, weight, sigma, shape)


def _render(points: np.ndarray, weight: np.ndarray, sigma: np.ndarray, shape) -> np.ndarray:
    """Points (n, P, 2) as (x, y) fractions, ``weight`` (n, P) bool, pen radii ``sigma`` (n,) in
    pixels -> (n, C, H, W) images: the points splatted bilinearly (the largest weight per pixel, so
    the ink does not pile up where points crowd), blurred by a Gaussian of the item's radius,
    scaled so strokes saturate."""
    import torch
    import torch.nn.functional as F

    c, h, w = shape
    n = len(points)
    x = np.clip(points[..., 0] * (w - 1), 0, w - 1.001)
    y = np.clip(points[..., 1] * (h - 1), 0, h - 1.001)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - x0, y - y0
    item = np.broadcast_to(np.arange(n)[:, None], x.shape)
    wt = weight.astype(np.float32)
    idx, val = [], []
    for dy, dx, f in (
        (0, 0, (1 - fy) * (1 - fx)),
        (0, 1, (1 - fy) * fx),
        (1, 0, fy * (1 - fx)),
        (1, 1, fy * fx),
    ):
        idx.append(((item * h + y0 + dy) * w + x0 + dx).ravel())
        val.append((f * wt).ravel())
    canvas = torch.zeros(n * h * w)
    canvas.scatter_reduce_(
        0,
        torch.from_numpy(np.concatenate(idx)),
        torch.from_numpy(np.concatenate(val).astype(np.float32)),
        "amax",
    )
    img = canvas.view(n, 1, h, w)
    r = 4
    taps = torch.arange(-r, r + 1, dtype=torch.float32)
    kern = torch.exp(-(taps[None] ** 2) / (2 * torch.from_numpy(sigma.astype(np.float32))[:, None] ** 2))
    kern = kern / kern.sum(1, keepdim=True)  # (n, 2r+1): one kernel per item, as grouped convs
    img = img.permute(1, 0, 2, 3)  # (1, n, H, W)
    img = F.conv2d(img, kern[:, None, None, :], padding=(0, r), groups=n)
    img = F.conv2d(img, kern[:, None, :, None], padding=(r, 0), groups=n)
    img = img.permute(1, 0, 2, 3)[:, 0].numpy()  # (n, H, W)
    peak = np.maximum(np.quantile(img.reshape(n, -1), 0.97, axis=1), 1e-6)[:, None, None]
    out = np.clip(1.3 * img / peak, 0, 1).astype(np.float32)
    return np.repeat(out[:, None], c, 1)
