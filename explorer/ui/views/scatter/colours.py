"""Point colours of the scatter: a palette index per point, by class or by faithfulness, with the
points outside the emphasis (selection, searched classes) washed out. Numpy in, numpy out."""

from __future__ import annotations

import numpy as np

from explorer.ui.scatter_plot import class_palette, ramp_palette

GREY = (150, 150, 150, 255)  # unlabelled points, and points whose faithfulness is unknown
DIM_ALPHA = 70


def point_colours(
    labels: np.ndarray, n_classes: int, faith_per_point: np.ndarray | None, emphasis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(palette index per point (N,) int64, palette (P, 4) uint8).

    labels: (N,) int, -1 for none; faith_per_point: (N,) in [0, 1] (NaN unknown) to colour by
    faithfulness, or None to colour by class; emphasis: (N,) bool, the points drawn in full colour
    while any is set (the others take the dimmed half of the palette)."""
    if faith_per_point is not None:
        base = ramp_palette(11)
        per = faith_per_point
        cidx = np.where(np.isfinite(per), np.round(np.nan_to_num(per) * 10), 11).astype(np.int64)
    else:
        k = max(1, n_classes)
        base = class_palette(k)
        cidx = np.where(labels >= 0, labels, k).astype(np.int64)
    base = np.vstack([base, GREY])
    dim = base.copy()
    dim[:, :3] = (dim[:, :3].astype(np.int32) + 2 * 235) // 3  # washed out towards white
    dim[:, 3] = DIM_ALPHA
    if emphasis.any():
        cidx = np.where(emphasis, cidx, cidx + len(base))
    return cidx, np.vstack([base, dim])
