"""Known transformations to make y from x (and the true y' from x'): shift, rotation, scale.

numpy in, numpy out: images (N, C, H, W) float32 in [0, 1]. Pixels that come from outside the
image are filled with each image's mean (the best guess without more content), so an exact
transform still has an error on the unseen border, as the oracle of the analogy test does.
"""

from __future__ import annotations

import numpy as np

KINDS = {
    "shift": ("dx", "dy"),  # pixels right, down
    "rotation": ("angle",),  # degrees counter-clockwise on screen
    "scale": ("factor",),  # > 1 enlarges about the centre
}
DEFAULTS = {"dx": 1.0, "dy": 0.0, "angle": 30.0, "factor": 1.2}


def transform_images(images: np.ndarray, kind: str, params: dict[str, float]) -> np.ndarray:
    """Apply one transformation with parameters ``params`` to every image."""
    from explorer.data.generators import apply_rotation, apply_shift

    a = np.asarray(images, dtype=np.float32)
    if kind not in KINDS:
        raise ValueError(f"unknown transformation {kind!r}; choose one of {', '.join(KINDS)}")
    out = np.empty_like(a)
    for i, img in enumerate(a):
        fill = float(img.mean())
        if kind == "shift":
            out[i] = apply_shift(
                img, int(round(params.get("dx", 0))), int(round(params.get("dy", 0))), fill=fill
            )
        elif kind == "rotation":
            out[i] = apply_rotation(img, float(params.get("angle", 0.0)), fill=fill)
        else:
            out[i] = _scale(img, float(params.get("factor", 1.0)), fill)
    return out


def _scale(img: np.ndarray, factor: float, fill: float) -> np.ndarray:
    """(C, H, W) zoomed by ``factor`` about the centre (bilinear), same size."""
    from scipy import ndimage

    c, h, w = img.shape
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    matrix = np.eye(2) / max(factor, 1e-3)
    offset = centre - matrix @ centre
    return np.stack(
        [
            ndimage.affine_transform(ch, matrix, offset=offset, order=1, mode="constant", cval=fill)
            for ch in img
        ]
    ).astype(np.float32)


def item_transform(transforms: dict[str, np.ndarray], index: int) -> tuple[str, dict[str, float]] | None:
    """The known transformation of item ``index`` of a pair set, as (kind, params), or None."""
    if "dx" in transforms and "dy" in transforms:
        return "shift", {"dx": float(transforms["dx"][index]), "dy": float(transforms["dy"][index])}
    if "angle" in transforms:
        return "rotation", {"angle": float(transforms["angle"][index])}
    return None


def transform_colour_values(transforms: dict[str, np.ndarray]) -> tuple[np.ndarray, str] | None:
    """One number per item to colour a layout by (shift direction in degrees, or the angle)."""
    if "dx" in transforms and "dy" in transforms:
        dx = np.asarray(transforms["dx"], np.float64)
        dy = np.asarray(transforms["dy"], np.float64)
        return np.degrees(np.arctan2(-dy, dx)).astype(np.float32), "shift direction (degrees)"
    if "angle" in transforms:
        return np.asarray(transforms["angle"], np.float32), "rotation angle (degrees)"
    for key in ("disparity", "omega"):
        if key in transforms:
            return np.asarray(transforms[key], np.float32), key
    return None
