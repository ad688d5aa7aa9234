"""ImageSet: the one in-memory form of every data set the app opens."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class ImageSet:
    """Images with optional labels, paths, precomputed codes and paired partner images.

    images:      (N, C, H, W) uint8 in [0, 255] or float32 in [0, 1]; None for code-only sets (TSV).
    labels:      (N,) int64 class index, -1 where unknown; None for unlabelled sets.
    class_names: names of the classes, indexed by label.
    paths:       source path (or "file#index") of each item, for the user to find it again.
    codes:       (N, D) float32 precomputed codes (projector TSV), else None.
    partners:    (N, C, H, W) the partner y of each x for relational sets (shifts, rotations, stereo).
    transforms:  per-item true transform parameters of the partner, e.g. {"dx": (N,), "dy": (N,)}.
    skipped:     "path: reason" for every file that could not be read.
    notes:       sentences saying how the data was brought to one shape.
    """

    images: np.ndarray | None
    labels: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    paths: list[str] | None = None
    name: str = ""
    format: str = ""
    codes: np.ndarray | None = None
    partners: np.ndarray | None = None
    transforms: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.images is None and self.codes is None:
            raise ValueError("an ImageSet needs images or codes")
        if self.images is not None and self.images.ndim != 4:
            raise ValueError(f"images must be (N, C, H, W), got shape {self.images.shape}")
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=np.int64)
            if len(self.labels) != self.count:
                raise ValueError(f"{len(self.labels)} labels for {self.count} items")

    @property
    def count(self) -> int:
        return len(self.images) if self.images is not None else len(self.codes)

    def __len__(self) -> int:
        return self.count

    @property
    def shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) of one image, or None for a code-only set."""
        return None if self.images is None else tuple(int(s) for s in self.images.shape[1:])

    @property
    def has_images(self) -> bool:
        return self.images is not None

    @property
    def has_labels(self) -> bool:
        return self.labels is not None and bool((self.labels >= 0).any())

    def float_images(self, index=None) -> np.ndarray:
        """Images (all, or ``index``: slice / int array) as float32 (n, C, H, W) in [0, 1]."""
        return to_float(self.images if index is None else self.images[index])

    def float_partners(self, index=None) -> np.ndarray:
        if self.partners is None:
            raise ValueError(f"{self.name or 'this data set'} has no image pairs")
        return to_float(self.partners if index is None else self.partners[index])

    def label_name(self, i: int) -> str:
        if self.labels is None or self.labels[i] < 0:
            return ""
        k = int(self.labels[i])
        return self.class_names[k] if k < len(self.class_names) else str(k)

    def subset(self, index) -> "ImageSet":
        """A new ImageSet with the items at ``index`` (int array, bool mask or slice)."""
        idx = np.arange(self.count)[index]
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return replace(
            self,
            images=pick(self.images),
            labels=pick(self.labels),
            paths=None if self.paths is None else [self.paths[i] for i in idx],
            codes=pick(self.codes),
            partners=pick(self.partners),
            transforms={k: v[idx] for k, v in self.transforms.items()},
        )

    def facts(self) -> dict:
        """The JSON-able facts `explorer info` prints."""
        return {
            "count": self.count,
            "shape": list(self.shape) if self.shape else None,
            "classes": len(self.class_names) if self.labels is not None else 0,
            "class_names": list(self.class_names),
            "format": self.format,
            "skipped": len(self.skipped),
            "skipped_files": list(self.skipped[:20]),
            "code_dim": None if self.codes is None else int(self.codes.shape[1]),
            "pairs": self.partners is not None,
            "notes": list(self.notes),
        }


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] or float [0, 1] images to float32 in [0, 1]."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) * np.float32(1 / 255)
    return np.asarray(images, dtype=np.float32)
