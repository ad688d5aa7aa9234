"""Argument types for the subcommands: numbers checked when the command line is read.

Each factory returns an ``argparse`` ``type=`` callable. A value out of range (negative sizes,
NaN, inf, a fraction above 1, a seed numpy cannot take, sizes no machine has) is refused by
argparse with one sentence (``explorer: argument --code-dim: ...``, exit 2) before any data or
model is opened, instead of a traceback from deep inside training or a layout.
"""

from __future__ import annotations

import argparse
import math

MAX_SEED = 2**32 - 1  # numpy's and torch's seeds


def whole(lo: int = 1, hi: int | None = None, what: str = "a whole number"):
    """An int in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < lo or (hi is not None and value > hi):
            span = f"from {lo:,} to {hi:,}" if hi is not None else f"{lo:,} or more"
            raise argparse.ArgumentTypeError(f"{value:,} is out of range; give {what} {span}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


def real(
    lo: float,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    what: str = "a number",
):
    """A finite float in [lo, hi] (open at an end when asked; no upper bound when hi is None);
    NaN and inf refused."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number; give {what}")
        below = value <= lo if lo_open else value < lo
        above = hi is not None and (value >= hi if hi_open else value > hi)
        if below or above:
            span = f"{'above' if lo_open else 'from'} {lo:g}"
            if hi is not None:
                span += f" {'and below' if hi_open else 'to'} {hi:g}"
            raise argparse.ArgumentTypeError(f"{value:g} is out of range; give {what} {span}")
        return value

    parse.__name__ = "number"
    return parse


seed = whole(0, MAX_SEED, "a seed")
