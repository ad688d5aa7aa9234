"""Helpers shared by the subcommands: JSON output, atomic saves, and the text progress driver
(``drive``, from :mod:`explorer.core.progress`)."""

from __future__ import annotations

import json
import sys

import numpy as np

from explorer.commands._args import add_trust_argument
from explorer.core.atomic import atomic_save_npy as _atomic_save_npy
from explorer.core.progress import drive

__all__ = ["add_trust_argument", "atomic_save_npy", "drive", "print_json"]


def require_trust(spec: str, trust: bool) -> None:
    """Before any data is read: refuse (UntrustedModelError) a program-format model file the user
    has not trusted, or remember it with ``--trust-model``; other specs pass."""
    import os

    from explorer.models import trust as gate

    if gate.is_program(spec) and os.path.isfile(spec):
        gate.check(spec, trust=trust)


def trust_given_models(specs: list[str] | None, trust: bool) -> None:
    """With ``--trust-model``: remember the program-format files among ``specs`` as trusted, so the
    GUI opens them without asking (files that do not exist are left to the loader to report)."""
    if not trust:
        return
    import os

    from explorer.models import trust as gate

    for spec in specs or []:
        if gate.is_program(spec) and os.path.isfile(spec):
            gate.check(spec, trust=True)


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
    """np.save to exactly ``path`` through a temp file and a rename (see core.atomic.atomic_save_npy)."""
    _atomic_save_npy(path, array)
