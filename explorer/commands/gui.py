"""`explorer gui`: open the app (the default command)."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("--data", metavar="DATA", default=None,
                        help="data set to open (default: the bundled sample:mnist)")
    parser.add_argument("--model", metavar="FILE", action="append", default=None,
                        help="model file to load (repeatable; default: the bundled models and pixels)")


def run(args) -> int:
    from explorer.ui.app import run_gui

    return run_gui(data=args.data, models=args.model)
