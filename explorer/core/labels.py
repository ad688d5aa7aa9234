"""Edited labels, kept beside the data and never written into it.

A user who fixes a label (accepts a suggestion, types another class, or marks a label correct)
changes the workspace's labels at once; the edits are also saved in a small JSON file so they
survive closing and reopening the data set:

- beside the data when its folder is writable: ``<file>.labels.json`` for a file (npz, IDX,
  Parquet, TSV) and ``<folder>.labels.json`` next to a folder of images (inside it, the file
  would be read as part of the data);
- else (bundled ``sample:*`` sets, read-only folders) in ``config_dir("labels")``, named after the
  data spec and a hash of it.

Items are keyed by their path when the data set has one path per file, else by their index.
Labels are stored by class *name*, so a class the user typed that the data did not have is kept.

File format (JSON): {"version": 1, "data": spec, "count": N, "labels": {key: class name},
"correct": [key, ...], "classes": [names added by the user]}.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

from explorer.core.atomic import atomic_write_bytes
from explorer.core.paths import config_dir

VERSION = 1


def labels_path(spec: str) -> str:
    """Where the edited labels of the data set opened from ``spec`` are kept (see module doc)."""
    if not spec.startswith("sample:"):
        path = os.path.abspath(os.path.expanduser(spec)).rstrip(os.sep)
        folder = os.path.dirname(path)
        if os.path.exists(path) and os.path.isdir(folder) and os.access(folder, os.W_OK):
            return path + ".labels.json"
    digest = hashlib.blake2b(spec.encode("utf-8"), digest_size=6).hexdigest()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(spec.rstrip("/\\")) or spec)[-60:]
    return os.path.join(config_dir("labels"), f"{stem}-{digest}.labels.json")


def item_keys(paths: list[str] | None, count: int) -> list[str]:
    """One key per item: its path when every item has its own file, else its index."""
    if paths and len(paths) == count and not any("#" in p for p in paths[:1]) and len(set(paths)) == count:
        return list(paths)
    return [str(i) for i in range(count)]


@dataclass
class LabelEdits:
    """The edits of one data set: ``labels`` key -> class name, ``correct`` keys the user checked."""

    spec: str
    path: str
    keys: list[str]
    labels: dict[str, str] = field(default_factory=dict)
    correct: set[str] = field(default_factory=set)
    classes: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, spec: str, paths: list[str] | None, count: int) -> LabelEdits:
        """The saved edits of ``spec`` (none yet if there is no file, or it cannot be read)."""
        edits = cls(spec, labels_path(spec), item_keys(paths, count))
        try:
            with open(edits.path, encoding="utf-8") as f:
                saved = json.load(f)
        except (OSError, ValueError):
            return edits
        if not isinstance(saved, dict) or saved.get("version") != VERSION:
            return edits
        known = set(edits.keys)
        labels = saved.get("labels") or {}
        edits.labels = {str(k): str(v) for k, v in labels.items() if str(k) in known}
        edits.correct = {str(k) for k in saved.get("correct") or [] if str(k) in known}
        edits.classes = [str(c) for c in saved.get("classes") or []]
        return edits

    def apply(self, labels: np.ndarray | None, class_names: list[str]) -> tuple[np.ndarray, list[str]]:
        """(labels (N,) int64 with the edits applied, class names with the user's new classes)."""
        names = list(class_names)
        for c in self.classes:
            if c not in names:
                names.append(c)
        out = (
            np.full(len(self.keys), -1, np.int64)
            if labels is None
            else np.array(labels, dtype=np.int64, copy=True)
        )
        if self.labels:
            pos = {k: i for i, k in enumerate(self.keys)}
            index = {n: i for i, n in enumerate(names)}
            for key, name in self.labels.items():
                if name not in index:
                    index[name] = len(names)
                    names.append(name)
                out[pos[key]] = index[name]
        return out, names

    def set(self, indices, names: list[str], class_names: list[str]) -> None:
        """Record that items ``indices`` now have the classes ``names``."""
        for i, name in zip(np.asarray(indices).ravel(), names):
            key = self.keys[int(i)]
            self.labels[key] = name
            self.correct.discard(key)
            if name not in class_names and name not in self.classes:
                self.classes.append(name)

    def mark_correct(self, indices) -> None:
        self.correct.update(self.keys[int(i)] for i in np.asarray(indices).ravel())

    def is_correct(self, index: int) -> bool:
        return self.keys[int(index)] in self.correct

    def reviewed(self) -> np.ndarray:
        """(M,) indices the user relabelled or marked correct."""
        keys = set(self.labels) | self.correct
        return np.array([i for i, k in enumerate(self.keys) if k in keys], dtype=np.int64)

    def save(self) -> None:
        data = {
            "version": VERSION,
            "data": self.spec,
            "count": len(self.keys),
            "labels": self.labels,
            "correct": sorted(self.correct),
            "classes": self.classes,
        }
        atomic_write_bytes(self.path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
