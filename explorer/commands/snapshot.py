"""`explorer snapshot OUTDIR`: PNG pictures of the main window and every view on the sample data."""

from __future__ import annotations

import os
import sys

from explorer.commands._args import add_optional_model_and_data, real, whole
from explorer.commands._common import trust_given_models


def add_arguments(parser) -> None:
    parser.add_argument("outdir", metavar="OUTDIR", help="folder to write the PNG files into")
    add_optional_model_and_data(parser)
    parser.add_argument(
        "--width", type=whole(200, 16_384, "a width in pixels"), default=1400, help="window width in pixels"
    )
    parser.add_argument(
        "--height", type=whole(200, 16_384, "a height in pixels"), default=880, help="window height in pixels"
    )
    parser.add_argument(
        "--training-epochs",
        type=whole(0, 10_000, "a number of epochs"),
        default=8,
        help="epochs to train in the training dialog's picture (0: no picture)",
    )
    parser.add_argument(
        "--timeout",
        type=real(0, 86_400, lo_open=True, what="a time in seconds"),
        default=180.0,
        help="seconds to wait for background work before taking the pictures",
    )


def run(args) -> int:
    trust_given_models(args.model, args.trust_model)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # no display needed
    from explorer.ui.snapshot import render_snapshots

    paths = render_snapshots(
        args.outdir,
        args.data,
        args.model,
        (args.width, args.height),
        args.timeout,
        log=lambda m: print(m, file=sys.stderr),
        training_epochs=args.training_epochs,
    )
    for p in paths:
        print(p)
    return 0
