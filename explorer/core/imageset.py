"""ImageSet: the one form of every data set the app opens, in memory or backed by files.

``ImageSet.images`` is either a dense (N, C, H, W) array (npz, IDX, generated, sample:*, small
folders) or an :class:`ImageSource`: an array-like over files (big folders, Parquet tables) that
keeps only paths in memory and reads pixels at the *working resolution* from an on-disk cache,
decoding on demand. Both answer ``len``, ``shape``, ``ndim``, ``dtype`` and ``[index]``, so code
that reads ``data.images[idx]`` / ``data.float_images(idx)`` works on either; grids read
``data.thumbnails(idx)`` and encoders ``data.encoder_input(idx, spec)``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

# to_float is used here and imported from here by many modules; it lives with the other array conversions
from explorer.core.preprocess import resize_array, to_float


@runtime_checkable
class ImageSource(Protocol):
    """Pixels of a file-backed data set, read on demand (implemented in explorer.data.files).

    shape:        (N, C, H, W) at the working resolution; dtype uint8; ndim 4.
    [index]:      int / slice / int array / bool mask -> uint8 (n, C, H, W) (or (C, H, W) for an int).
    thumbnails:   index -> uint8 (n, C, T, T), the grid rendition.
    encoder_input: (index, InputSpec) -> float32 (n, C, H, W) in [0, 1], made from the original files.
    original:     int -> float32 (C, H, W) in [0, 1] at the file's own size (channels as the set).
    subset:       index -> an ImageSource over those rows (same cache).
    fingerprint:  a hex string that changes when any file changes (path, size, mtime).
    """

    shape: tuple[int, int, int, int]
    ndim: int
    dtype: np.dtype

    def __len__(self) -> int: ...
    def __getitem__(self, index) -> np.ndarray: ...
    def thumbnails(self, index) -> np.ndarray: ...
    def encoder_input(self, index, spec) -> np.ndarray: ...
    def original(self, index: int) -> np.ndarray: ...
    def subset(self, index) -> ImageSource: ...
    def fingerprint(self) -> str: ...


@dataclass
class ImageSet:
    """Images with optional labels, paths, precomputed codes and paired partner images.

    images:      (N, C, H, W) uint8 in [0, 255] or float32 in [0, 1]; or an ImageSource (file-backed,
                 uint8 at the working resolution); None for code-only sets (TSV).
    labels:      (N,) int64 class index, -1 where unknown; None for unlabelled sets.
    class_names: names of the classes, indexed by label.
    paths:       source path (or "file#index") of each item, for the user to find it again.
    codes:       (N, D) float32 precomputed codes (projector TSV), else None.
    partners:    (N, C, H, W) the partner y of each x for relational sets (shifts, rotations, stereo).
    transforms:  per-item true transform parameters of the partner, e.g. {"dx": (N,), "dy": (N,)}.
    skipped:     "path: reason" for every file that could not be read.
    notes:       sentences saying how the data was brought to one shape.
    xy:          (N, 2) float32 layout the data came with (a table's x/y columns), else None.
    """

    images: np.ndarray | ImageSource | None
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
    xy: np.ndarray | None = None

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
    def file_backed(self) -> bool:
        """True when pixels live in files (read on demand), not in one array."""
        return self.images is not None and not isinstance(self.images, np.ndarray)

    @property
    def source(self) -> ImageSource | None:
        return self.images if self.file_backed else None

    def thumbnails(self, index) -> np.ndarray:
        """Grid pictures of the items at ``index``: uint8 or float (n, C, h, w).

        File-backed sets: the cached thumbnail rendition (square, e.g. 96 px). In-memory sets: the
        images themselves (callers scale them to the tile)."""
        if self.images is None:
            raise ValueError(f"{self.name or 'this data set'} holds codes, not images")
        if self.file_backed:
            return self.images.thumbnails(index)
        return self.images[index]

    def encoder_input(self, index, spec) -> np.ndarray:
        """float32 (n, C, H, W) in [0, 1] exactly as ``spec`` (an InputSpec) asks: from the original
        files for file-backed sets, from the array (resized, cropped, channels matched) otherwise."""
        if self.file_backed:
            return self.images.encoder_input(index, spec)
        return resize_array(self.images[index], spec)

    def original(self, index: int) -> np.ndarray:
        """One item at full size, float32 (C, H, W) in [0, 1] (the working image for in-memory sets)."""
        if self.file_backed:
            return self.images.original(int(index))
        return to_float(self.images[int(index)])

    def fingerprint(self) -> str:
        """A hex digest that changes when the data changes (file stats, or array bytes)."""
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{self.format}|{self.count}|".encode())
        if self.file_backed:
            h.update(self.images.fingerprint().encode())
        elif self.images is not None:
            h.update(str(self.images.shape).encode() + str(self.images.dtype).encode())
            h.update(np.ascontiguousarray(self.images).data)
        if self.codes is not None:
            h.update(np.ascontiguousarray(self.codes).data)
        if self.labels is not None:
            h.update(np.ascontiguousarray(self.labels).data)
        return h.hexdigest()

    @property
    def has_labels(self) -> bool:
        return self.labels is not None and bool((self.labels >= 0).any())

    def float_images(self, index=None) -> np.ndarray:
        """Images (all, or ``index``: slice / int array) as float32 (n, C, H, W) in [0, 1]
        (file-backed sets: at the working resolution)."""
        if index is None:
            index = slice(None)
        return to_float(self.images[index])

    def float_partners(self, index=None) -> np.ndarray:
        if self.partners is None:
            raise ValueError(f"{self.name or 'this data set'} has no image pairs")
        return to_float(self.partners if index is None else self.partners[index])

    def label_name(self, i: int) -> str:
        if self.labels is None or self.labels[i] < 0:
            return ""
        k = int(self.labels[i])
        return self.class_names[k] if k < len(self.class_names) else str(k)

    def subset(self, index) -> ImageSet:
        """A new ImageSet with the items at ``index`` (int array, bool mask or slice)."""
        idx = np.arange(self.count)[index]
        pick = lambda a: None if a is None else a[idx]  # noqa: E731
        return replace(
            self,
            images=self.images.subset(idx) if self.file_backed else pick(self.images),
            labels=pick(self.labels),
            paths=None if self.paths is None else [self.paths[i] for i in idx],
            codes=pick(self.codes),
            partners=pick(self.partners),
            xy=pick(self.xy),
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
            "file_backed": self.file_backed,
        }
