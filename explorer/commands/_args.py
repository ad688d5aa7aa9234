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


# ---- arguments several subcommands share ------------------------------------------------------
MODEL_SPEC_HELP = "pixels, pca, or a .safetensors / .pt / .pt2 / .onnx file"


def add_model_and_data(
    parser: argparse.ArgumentParser, metavar: str = "FILE|pixels", model_help: str = MODEL_SPEC_HELP
) -> None:
    """``--model`` (pixels, pca or a model file) and ``--data``, both required, and
    ``--trust-model`` (see :func:`add_trust_argument`)."""
    parser.add_argument("--model", required=True, metavar=metavar, help=model_help)
    parser.add_argument("--data", required=True, metavar="DATA", help="a data set, e.g. sample:mnist")
    add_trust_argument(parser)


def add_optional_model_and_data(parser: argparse.ArgumentParser) -> None:
    """``--data`` (one, default the bundled sample), ``--model`` (repeatable, default the bundled
    models and pixels) and ``--trust-model``: the app's choice of what to open (``gui``, ``snapshot``)."""
    parser.add_argument(
        "--data", metavar="DATA", default=None, help="data set to open (default: the bundled sample:mnist)"
    )
    parser.add_argument(
        "--model",
        metavar="FILE",
        action="append",
        default=None,
        help="model file to load (repeatable; default: the bundled models and pixels)",
    )
    add_trust_argument(parser)


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    """``--trust-model``: open program-format model files (TorchScript, .pt2, pickled torch files)
    given on this command line; see explorer.models.trust. Every subcommand with --model has it."""
    parser.add_argument(
        "--trust-model",
        action="store_true",
        help="open TorchScript / .pt2 / pickled torch model files given here, which can run code "
        "(the file's hash is remembered; EXPLORER_TRUST_MODELS=1 does the same for scripts)",
    )


def add_engine_arguments(parser: argparse.ArgumentParser, ray_help: str, address_help: str) -> None:
    """``--engine local|ray`` (``ray_help`` says what ray does here) and ``--address`` (a running
    cluster; ``address_help`` completes 'with --engine ray: a running cluster (...)')."""
    parser.add_argument(
        "--engine", choices=["local", "ray"], default="local", help=f"local: this process; ray: {ray_help}"
    )
    parser.add_argument(
        "--address",
        default=None,
        metavar="ADDRESS",
        help=f"with --engine ray: a running cluster ({address_help}); default: Ray in this process",
    )


def check_engine(args: argparse.Namespace) -> None:
    """``--address`` only with ``--engine ray`` (ExplorerError otherwise)."""
    from explorer.core.errors import ExplorerError

    if getattr(args, "address", None) and getattr(args, "engine", "local") != "ray":
        raise ExplorerError("--address goes with --engine ray.")
