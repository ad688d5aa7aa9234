"""`explorer bench`: the performance table, each row measured beside its reference.

    explorer bench [--quick] [--json | --markdown] [--only scatter,tsne,...]

Prints the table (or, with --json, one JSON object as the last line of standard output) with, per
row: measure, ours, reference, ratio (ours / reference), target, met, unit, note. Progress goes to
standard error. Without a display the Qt rows draw offscreen.
"""

from __future__ import annotations

import argparse
import os

from explorer.core.errors import ExplorerError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and fewer repeats (a few minutes on 2 cores)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object with every row as the last line"
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown (as in the README)"
    )
    parser.add_argument(
        "--only",
        metavar="KEYS",
        default=None,
        help="comma-separated sections: scatter, tsne, umap, knn, training, stall, app-stall, encode, ...",
    )
    parser.add_argument(
        "--gpu-check",
        action="store_true",
        help="train every model kind on CUDA (float32 and mixed precision) and on the "
        "CPU, compare losses and codes in one table (under 5 minutes)",
    )
    parser.add_argument(
        "--plan", choices=("full", "quick", "tiny"), default=None, help=argparse.SUPPRESS
    )  # tiny: the test's sizes


def run(args: argparse.Namespace) -> int:
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.gpu_check:
        from explorer.bench.gpu_check import run_gpu_check

        run_gpu_check()
        return 0
    from explorer.bench.plan import PLANS
    from explorer.bench.runner import SECTIONS, run_bench
    from explorer.bench.table import format_markdown, format_report
    from explorer.commands._common import print_json

    keys = [k for k, *_ in SECTIONS]
    only = [k.strip() for k in args.only.split(",") if k.strip()] if args.only else None
    unknown = sorted(set(only or []) - set(keys))
    if unknown:
        raise ExplorerError(f"--only {','.join(unknown)}: choose from {', '.join(keys)}.")
    plan = PLANS[args.plan or ("quick" if args.quick else "full")]
    report = run_bench(plan, only=only)
    if args.json:
        print_json(report)
    elif args.markdown:
        print(format_markdown(report))
    else:
        print(format_report(report))
    return 0
