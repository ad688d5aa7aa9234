"""`explorer info DATA`: load a data set and print its facts as one JSON line."""

from __future__ import annotations

import argparse

from explorer.commands._common import drive, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data",
        metavar="DATA",
        help="a folder of images, an MNIST IDX file, a .npz, a projector vectors.tsv or sample:NAME "
        "(digits, mnist, shifts, rotations, stereo)",
    )


def run(args: argparse.Namespace) -> int:
    from explorer.data import load_data_job

    data = drive(load_data_job(args.data), label="loading")
    print_json(data.facts())
    return 0
