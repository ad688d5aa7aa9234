"""Shared hypothesis settings and result checks for the fuzz suites."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings

from explorer.core.errors import ExplorerError


def mutate(data: bytes, how: str, at: int, byte: int) -> bytes:
    """``data`` truncated at, flipped at, or with 7 bytes inserted at ``at`` ("none": as is)."""
    if not data:
        return data
    at %= len(data)
    if how == "truncate":
        return data[:at]
    if how == "flip":
        return data[:at] + bytes([data[at] ^ (byte or 1)]) + data[at + 1 :]
    if how == "insert":
        return data[:at] + bytes([byte]) * 7 + data[at:]
    return data


# at least 200 generated cases per reader, repeatable (derandomize), no per-example deadline
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def assert_sentence(err: ExplorerError) -> None:
    """A message a user can act on: one non-empty line, no traceback, no repr of an exception."""
    text = str(err)
    assert text and "\n" not in text.strip() and "Traceback" not in text, text
    assert len(text) < 600, text


def assert_sound_imageset(ds) -> None:
    """What every successful load must give: uint8 (N, C, H, W) with C in {1, 3}, or finite codes."""
    if ds.images is not None:
        im = ds.images
        assert im.dtype == np.uint8 and im.ndim == 4 and im.shape[1] in (1, 3), (im.dtype, im.shape)
        assert min(im.shape) >= 1
    else:
        assert ds.codes is not None and np.isfinite(ds.codes).all()
    n = ds.count
    if ds.labels is not None:
        assert ds.labels.shape == (n,) and ds.labels.dtype == np.int64
        assert ds.labels.max(initial=-1) < max(len(ds.class_names), 1) or not ds.class_names
    assert len(ds.paths) == n


# ---- outcome counts for the report (RELIABILITY_STATS=1 prints them at exit) --------------------
import atexit  # noqa: E402
import collections  # noqa: E402
import os  # noqa: E402

OUTCOMES: collections.Counter = collections.Counter()


def record(reader: str, outcome: str) -> None:
    OUTCOMES[(reader, outcome)] += 1


if os.environ.get("RELIABILITY_STATS"):
    atexit.register(lambda: print("\n".join(f"{r}\t{o}\t{n}" for (r, o), n in sorted(OUTCOMES.items()))))
