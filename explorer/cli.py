"""`explorer` command line: the GUI by default, and one subcommand per job (see DESIGN.md).

Each subcommand lives in its own module under ``explorer/commands`` with two functions:
``add_arguments(parser)`` and ``run(args) -> int``. This file only wires them up and turns an
:class:`~explorer.core.errors.ExplorerError` into one readable line on standard error.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module under explorer.commands, one-line help)
COMMANDS = {
    "gui": ("gui", "open the app (the default)"),
    "info": ("info", "print facts about a data set as JSON"),
    "train": ("train", "train a model and save a .safetensors checkpoint"),
    "encode": ("encode", "encode a data set to a .npy array of codes"),
    "project": ("project", "lay codes out in 2-D with PCA, t-SNE or UMAP"),
    "evaluate": (None, "measure a model: retrieval, verification or analogy"),
    "inspect": ("inspect", "find likely label mistakes, near-duplicates, outliers and clusters (JSON)"),
    "analogy": ("analogy", "apply the transformation x -> y to a third image"),
    "snapshot": ("snapshot", "render every main view on the sample data to PNG files"),
    "bench": ("bench", "print the performance table"),
}
EVALUATE = {
    "retrieval": ("evaluate_retrieval", "leave-one-out retrieval metrics (JSON)"),
    "verification": ("evaluate_verification", "pair verification metrics (JSON)"),
    "analogy": ("evaluate_analogy", "analogy error of a gated autoencoder (JSON)"),
}


class _UsageError(Exception):
    """A command line argparse refuses (unknown option, a number out of range, ...)."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (``explorer: argument --code-dim: ...``), exit 2,
    like every other user mistake; ``--help`` shows the usage."""

    def error(self, message: str):
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _load(module: str):
    return importlib.import_module(f"explorer.commands.{module}")


def _add(sub, name: str, module: str, help_text: str) -> None:
    mod = _load(module)
    parser = sub.add_parser(name, help=help_text, description=help_text)
    mod.add_arguments(parser)
    parser.set_defaults(_run=mod.run)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (``only``: a subcommand name) one that imports just that command's
    module, so `explorer` opens the GUI without importing torch for the other commands."""
    from explorer import __version__

    parser = _Parser(prog="explorer", description="Relate Explorer: see what image encoders learn.")
    parser.add_argument("--version", action="version", version=f"explorer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if module is not None and (only is None or only == name):
            _add(sub, name, module, help_text)
    if only is not None and only != "evaluate":
        return parser
    evaluate = sub.add_parser("evaluate", help=COMMANDS["evaluate"][1])
    ev_sub = evaluate.add_subparsers(dest="what", metavar="WHAT", required=True)
    for name, (module, help_text) in EVALUATE.items():
        _add(ev_sub, name, module, help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    from explorer.core.errors import ExplorerError

    argv = sys.argv[1:] if argv is None else argv
    argv = argv or ["gui"]
    parser = build_parser(only=argv[0] if argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        print(f"explorer: {err}", file=sys.stderr)
        return 2
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except ExplorerError as err:
        print(f"explorer: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("explorer: interrupted", file=sys.stderr)
        return 130
