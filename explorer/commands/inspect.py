"""`explorer inspect`: what the codes say about a data set, as one JSON object.

    explorer inspect --model siamese.safetensors --data sample:mnist [--out REPORT.json]

Prints {"label_issues": [{index, label, suggested, score, confident}, ...] ranked,
"duplicates": {"threshold", "groups": [{indices, pairs, distances}]}, "outliers": [{index, score}],
"clusters": {count, sizes, purity, noise, clusters: [...]}, "nn_histogram", "notes"} as the last
line of standard output (definitions in explorer.inspection). Past --max-queries items the
quadratic parts run on a seeded sample of them, and "notes" says so.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from explorer.commands._args import add_model_and_data, real, seed, whole
from explorer.commands._common import drive, print_json, require_trust


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from explorer.inspection.neighbours import MAX_QUERIES

    add_model_and_data(parser)
    parser.add_argument(
        "--out",
        metavar="REPORT.json",
        help="write the report here and print only its summary (counts and the path)",
    )
    parser.add_argument("--metric", choices=("l2", "cosine"), default="l2", help="distance between codes")
    parser.add_argument(
        "--k",
        type=whole(1, 100_000, "a number of neighbours"),
        default=10,
        help="neighbours in the k-NN vote (10)",
    )
    parser.add_argument(
        "--threshold",
        type=real(0, 1e9, lo_open=True, what="a distance"),
        default=None,
        help="near-duplicate distance (default: a tenth of the median nearest-neighbour distance)",
    )
    parser.add_argument(
        "--duplicates-in",
        choices=("codes", "pixels"),
        default="codes",
        help="look for near-duplicates in the model's codes or in the pixels (a metric "
        "model maps a copy and a same-class item alike)",
    )
    parser.add_argument(
        "--cluster",
        choices=("hdbscan", "kmeans", "none"),
        default="hdbscan",
        help="how to cluster the codes (hdbscan; kmeans is faster)",
    )
    parser.add_argument(
        "--outliers",
        type=whole(0, 100_000_000, "a number of outliers"),
        default=50,
        help="how many outliers to list (50)",
    )
    parser.add_argument(
        "--max-issues",
        type=whole(0, 100_000_000, "a number of issues"),
        default=1000,
        help="label issues listed at most (1000)",
    )
    parser.add_argument(
        "--max-queries",
        type=whole(1, 1_000_000_000, "a number of items"),
        default=MAX_QUERIES,
        help=f"items searched at most; a seeded sample past this ({MAX_QUERIES:,})",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of folds, samples and clusters")


def _check(args: argparse.Namespace) -> None:
    from explorer.core.errors import ExplorerError

    if args.k < 1:
        raise ExplorerError("--k must be at least 1.")
    if args.threshold is not None and not (np.isfinite(args.threshold) and args.threshold >= 0):
        raise ExplorerError("--threshold must be a distance of 0 or more.")
    if args.outliers < 0 or args.max_issues < 0:
        raise ExplorerError("--outliers and --max-issues must be 0 or more.")
    if args.max_queries < 2:
        raise ExplorerError("--max-queries must be at least 2.")
    if args.out:  # before the work, not after it
        import os

        folder = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise ExplorerError(f"Cannot write {args.out}: choose a folder that exists and is writable.")


def run(args: argparse.Namespace) -> int:
    from explorer.commands.evaluate_retrieval import codes_of
    from explorer.core.atomic import atomic_write_bytes
    from explorer.core.errors import ExplorerError
    from explorer.data import load_data_job
    from explorer.inspection.report import inspect_job

    _check(args)
    require_trust(args.model, args.trust_model)  # before any data is read
    data = drive(load_data_job(args.data), label="loading")
    if data.count < 2:
        raise ExplorerError(f"{args.data} has {data.count} item(s); inspection needs at least two.")
    codes = codes_of(args.model, data, trust=args.trust_model)
    labels = data.labels if data.has_labels else None
    dup_codes = None
    if args.duplicates_in == "pixels" and args.model != "pixels":
        if not data.has_images:
            raise ExplorerError(f"{args.data} holds codes, not images: there are no pixels to compare.")
        dup_codes = codes_of("pixels", data)
    try:
        report = drive(
            inspect_job(
                codes,
                labels,
                cluster_method="hdbscan" if args.cluster == "none" else args.cluster,
                clusters=args.cluster != "none",
                metric=args.metric,
                k=args.k,
                threshold=args.threshold,
                outliers=args.outliers,
                max_queries=args.max_queries,
                seed=args.seed,
                duplicate_codes=dup_codes,
            ),
            label="inspect",
        )
    except ValueError as err:
        raise ExplorerError(f"Cannot inspect this data: {err}.") from None
    out = {"model": args.model, "data": args.data}
    out.update(report.as_dict(max_issues=args.max_issues, class_names=data.class_names or None))
    if args.out:
        atomic_write_bytes(args.out, (json.dumps(out) + "\n").encode("utf-8"))
        print_json(summary(out, args.out))
    else:
        print_json(out)
    return 0


def summary(report: dict, path: str) -> dict:
    """The counts of a report written to ``path``: what to print when the whole report went to a file
    (a report of a large set runs to megabytes of JSON, too much for a terminal)."""
    clusters = report.get("clusters")
    return {
        "model": report["model"],
        "data": report["data"],
        "out": os.path.abspath(path),
        "count": report["count"],
        "searched": report["searched"],
        "label_issues": len(report["label_issues"]),
        "duplicate_groups": len(report["duplicates"]["groups"]),
        "outliers": len(report["outliers"]),
        "clusters": None if clusters is None else clusters.get("count"),
        "notes": report["notes"],
    }
