"""Helpers shared by the subcommands: JSON output, atomic saves, and the text progress driver
(``drive``, from :mod:`explorer.core.progress`)."""

from __future__ import annotations

import json
import sys

import numpy as np

from explorer.core.atomic import atomic_write
from explorer.core.progress import drive

__all__ = ["atomic_save_npy", "drive", "print_json"]


def print_json(obj) -> None:
    """Print one JSON object as the last line of standard output (numpy scalars allowed)."""

    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"cannot write {type(o).__name__} as JSON")

    sys.stdout.write(json.dumps(obj, default=default) + "\n")
    sys.stdout.flush()


def atomic_save_npy(path: str, array: np.ndarray) -> None:
    """np.save through a temp file and a rename, so a crash never leaves half a file."""
    atomic_write(path, lambda tmp: np.save(tmp, array))
