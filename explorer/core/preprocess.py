"""What an encoder takes as input, as data: size, channels and how the image is brought to it.

An :class:`InputSpec` is made by the model layer (from a checkpoint, a sidecar JSON, a model file's
metadata or a preset the user picked) and honoured by the data layer, which produces exactly that
from the original files (file-backed sets) or from the in-memory array. Mean/std normalisation is
carried here so it can be remembered with the rest, but it is applied by the encoder itself
(encoders take float32 in [0, 1]); the data layer only does geometry and channels.

Presets (what libraries ship their weights with):
- ``imagenet``: resize the shorter side to 256/224 of the crop, centre crop, ImageNet mean/std;
- ``clip``: resize the shorter side to the crop size (bicubic), centre crop, CLIP mean/std;
- ``plain``: resize the shorter side to the crop size, centre crop, values 0..1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
PRESETS = ("imagenet", "clip", "plain")
RESIZES = ("shorter", "stretch")


@dataclass(frozen=True)
class InputSpec:
    """channels, height, width: the (C, H, W) the model takes.

    resize:          "shorter" (scale the shorter side to ``resize_to``, then centre-crop H x W) or
                     "stretch" (scale to H x W ignoring the aspect ratio).
    resize_to:       the shorter side before the crop (e.g. 256 for a 224 crop); 0 means min(H, W).
    interpolation:   "bilinear" or "bicubic".
    mean, std:       per-channel normalisation the encoder applies after; None for plain 0..1.
    preset:          the preset this came from ("imagenet", "clip", "plain") or "" for a custom one.
    """

    channels: int
    height: int
    width: int
    resize: str = "shorter"
    resize_to: int = 0
    interpolation: str = "bilinear"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    preset: str = ""

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    @property
    def shorter_side(self) -> int:
        return int(self.resize_to) if self.resize_to else min(self.height, self.width)

    @property
    def normalisation(self) -> dict | None:
        if self.mean is None or self.std is None:
            return None
        return {"mean": list(self.mean), "std": list(self.std)}

    def to_json(self) -> dict:
        out = asdict(self)
        out["mean"] = None if self.mean is None else list(self.mean)
        out["std"] = None if self.std is None else list(self.std)
        return out

    @classmethod
    def from_json(cls, obj: dict) -> InputSpec:
        """Build from :meth:`to_json` output; ValueError naming the first bad field."""
        if not isinstance(obj, dict):
            raise ValueError("preprocessing must be a JSON object")  # callers catch ValueError
        try:
            c, h, w = (int(obj[k]) for k in ("channels", "height", "width"))
        except (KeyError, TypeError, ValueError):
            raise ValueError("preprocessing needs whole numbers channels, height and width") from None
        if c not in (1, 3) or not (0 < h <= 4096 and 0 < w <= 4096):
            raise ValueError("preprocessing: channels must be 1 or 3 and height/width 1..4096")
        resize = str(obj.get("resize", "shorter"))
        if resize not in RESIZES:
            raise ValueError(f"preprocessing: resize must be one of {', '.join(RESIZES)}")
        interp = str(obj.get("interpolation", "bilinear"))
        if interp not in ("bilinear", "bicubic"):
            raise ValueError("preprocessing: interpolation must be bilinear or bicubic")
        mean, std = obj.get("mean"), obj.get("std")
        if (mean is None) != (std is None):
            raise ValueError("preprocessing: give both mean and std, or neither")
        if mean is not None:
            mean, std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
            if len(mean) != c or len(std) != c or any(s == 0 or not np.isfinite(s) for s in std):
                raise ValueError(f"preprocessing: mean and std need {c} finite values, no zero std")
        return cls(
            c, h, w, resize, int(obj.get("resize_to", 0) or 0), interp, mean, std, str(obj.get("preset", ""))
        )


def preset(name: str, shape: tuple[int, int, int]) -> InputSpec:
    """The named preset (see module doc) for a model taking ``shape`` (C, H, W)."""
    c, h, w = (int(s) for s in shape)
    if name == "imagenet":
        mean, std = (IMAGENET_MEAN, IMAGENET_STD) if c == 3 else ((0.449,), (0.226,))
        return InputSpec(c, h, w, "shorter", round(min(h, w) * 256 / 224), "bilinear", mean, std, "imagenet")
    if name == "clip":
        mean, std = (CLIP_MEAN, CLIP_STD) if c == 3 else ((0.4578,), (0.2613,))
        return InputSpec(c, h, w, "shorter", 0, "bicubic", mean, std, "clip")
    if name == "plain":
        return InputSpec(c, h, w, "shorter", 0, "bilinear", None, None, "plain")
    raise ValueError(f"unknown preprocessing preset '{name}'; use one of {', '.join(PRESETS)}")


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] or float [0, 1] images to float32 in [0, 1]."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) * np.float32(1 / 255)
    return np.asarray(images, dtype=np.float32)


def resize_array(images: np.ndarray, spec: InputSpec) -> np.ndarray:
    """In-memory images (n, C, H, W) uint8 or float [0, 1] -> float32 (n, spec.C, spec.H, spec.W).

    The same geometry the file pipeline applies, done on the array (channels repeated or averaged
    with ITU-R 601 luma weights). Pure numpy: bilinear sampling at pixel centres after the crop."""
    x = to_float(np.asarray(images))
    _, c, h, w = x.shape
    if c != spec.channels:
        if spec.channels == 3 and c == 1:
            x = np.repeat(x, 3, axis=1)
        elif spec.channels == 1 and c >= 3:
            x = np.tensordot(x[:, :3], np.array([0.299, 0.587, 0.114], np.float32), axes=([1], [0]))[:, None]
        else:
            raise ValueError(f"cannot bring {c}-channel images to {spec.channels} channels")
    if (h, w) == (spec.height, spec.width):
        return np.ascontiguousarray(x, dtype=np.float32)
    # shrinking by 2x or more: average k x k blocks first, so the bilinear step below samples an
    # image already near the output's size (without it, 4x down keeps one pixel in 16: aliasing)
    shrink = (spec.height / h) if spec.resize == "stretch" else spec.shorter_side / min(h, w)
    k = int(1 / shrink) if shrink > 0 else 1
    if spec.resize == "stretch":
        k = min(k, int(w / spec.width))
    if k >= 2:
        x, h, w = _box_reduce(x, k)
    # source box (in source pixels) that maps onto the output, then bilinear sampling
    if spec.resize == "stretch":
        top, left, bh, bw = 0.0, 0.0, float(h), float(w)
    else:
        scale = spec.shorter_side / min(h, w)
        bh, bw = min(h, spec.height / scale), min(w, spec.width / scale)
        top, left = (h - bh) / 2, (w - bw) / 2
    ys = top + (np.arange(spec.height) + 0.5) * bh / spec.height - 0.5
    xs = left + (np.arange(spec.width) + 0.5) * bw / spec.width - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    fy = np.clip(ys - y0, 0, 1).astype(np.float32)[:, None]
    fx = np.clip(xs - x0, 0, 1).astype(np.float32)[None, :]
    a, b = x[:, :, y0][:, :, :, x0], x[:, :, y0][:, :, :, x1]
    cc, d = x[:, :, y1][:, :, :, x0], x[:, :, y1][:, :, :, x1]
    top_row = a * (1 - fx) + b * fx
    bottom = cc * (1 - fx) + d * fx
    return np.ascontiguousarray(top_row * (1 - fy) + bottom * fy, dtype=np.float32)


def _box_reduce(x: np.ndarray, k: int) -> tuple[np.ndarray, int, int]:
    """(n, C, H, W) -> the means of its k x k blocks (rows and columns past a whole block dropped
    evenly at both ends), with the new H and W."""
    _, _, h, w = x.shape
    hh, ww = h // k, w // k
    top, left = (h - hh * k) // 2, (w - ww * k) // 2
    block = x[:, :, top : top + hh * k, left : left + ww * k]
    out = block.reshape(x.shape[0], x.shape[1], hh, k, ww, k).mean(axis=(3, 5), dtype=np.float32)
    return out, hh, ww
