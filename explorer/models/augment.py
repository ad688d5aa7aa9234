"""Image augmentation for the metric models: small shifts, rotations, scalings, shears, stroke
thickness and brightness.

Faces and digits keep their identity under a small rigid change of pose and a change of light, so
a metric that should carry over to new identities is trained on such changes: the same image moved
a little must stay close to itself. Everything runs on the batch's device as one affine resampling
(``grid_sample``), seeded by torch's global generator (the training engine seeds it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augment:
    """How far each random change goes (0 switches it off).

    shift:      largest move in x and y as a fraction of the image side (0.1 = 2.8 px at 28 px).
    rotate:     largest turn in degrees, either way.
    scale:      largest zoom in or out, as a fraction (0.1 = 0.9x .. 1.1x).
    brightness: largest added offset, in [0, 1] pixel units.
    contrast:   largest relative change of contrast about the image mean.
    elastic:    largest elastic displacement in pixels (a smooth random field from a 4x4 grid of
                moves, as in Simard et al. 2003: strokes bend the way handwriting varies).
    shear:      largest horizontal shear, as x += shear * y (0.3: a slant of about 17 degrees).
    thickness:  largest change of stroke width: an image is blended towards its 3x3 grey dilation
                (thicker strokes) or erosion (thinner) by up to this fraction (1 = all the way).
    """

    shift: float = 0.1
    rotate: float = 12.0
    scale: float = 0.1
    brightness: float = 0.1
    contrast: float = 0.2
    elastic: float = 0.0
    shear: float = 0.0
    thickness: float = 0.0

    @property
    def off(self) -> bool:
        return not any(
            (
                self.shift,
                self.rotate,
                self.scale,
                self.brightness,
                self.contrast,
                self.elastic,
                self.shear,
                self.thickness,
            )
        )


def change_thickness(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) images, ``amount`` (B,) in [-1, 1] -> strokes thickened (> 0: blended towards
    the 3x3 grey dilation by that fraction) or thinned (< 0: towards the erosion)."""
    dilated = F.max_pool2d(x, 3, stride=1, padding=1)
    eroded = -F.max_pool2d(-x, 3, stride=1, padding=1)
    a = amount.view(-1, 1, 1, 1)
    return x + a.clamp_min(0) * (dilated - x) + (-a).clamp_min(0) * (eroded - x)


def augment_images(x: torch.Tensor, how: Augment) -> torch.Tensor:
    """(B, C, H, W) float images in [0, 1] -> the same shape, each changed at random within ``how``.

    Pixels that come in from outside the image are 0 (the background of digits and face crops).
    """
    if how.off or x.shape[0] == 0:
        return x
    b = x.shape[0]
    dev, dt = x.device, x.dtype

    def u() -> torch.Tensor:  # (B,) uniform in [-1, 1)
        return torch.rand(b, device=dev, dtype=dt) * 2 - 1

    angle = u() * math.radians(how.rotate)
    zoom = 1 + u() * how.scale
    tx, ty = u() * how.shift * 2, u() * how.shift * 2  # affine_grid spans [-1, 1]: side = 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    k = (
        u() * how.shear if how.shear else torch.zeros_like(angle)
    )  # output (x, y) samples input (x + k y, y) before the turn: a slant
    theta = torch.stack(
        [torch.stack([cos, k * cos - sin, tx], 1), torch.stack([sin, k * sin + cos, ty], 1)], 1
    )  # (B, 2, 3)
    out = x
    if how.thickness:
        out = change_thickness(out, u() * how.thickness)
    if how.shift or how.rotate or how.scale or how.elastic or how.shear:
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
        if how.elastic:
            h, w = x.shape[-2:]
            field = torch.rand(b, 2, 4, 4, device=dev, dtype=dt) * 2 - 1
            field = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False)
            side = torch.tensor([2.0 / w, 2.0 / h], device=dev, dtype=dt)  # pixels -> grid units
            grid = grid + field.permute(0, 2, 3, 1) * how.elastic * side
        out = F.grid_sample(out, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if how.contrast:
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = (out - mean) * (1 + u() * how.contrast).view(b, 1, 1, 1) + mean
    if how.brightness:
        out = out + (u() * how.brightness).view(b, 1, 1, 1)
    return out.clamp(0, 1)
