"""`explorer evaluate analogy`: analogy error of a gated autoencoder, as JSON.

Prints {"nmse", "nmse_copy", "nmse_mean", "nmse_oracle" (generated sets), "knn5_mappings",
"knn5_pixels" (generated sets), "count", ...} as the last line of standard output.
``--data sample:shifts`` / ``sample:rotations`` draw FRESH test quadruples from the generators
(never the bundled training pairs); any other DATA gives its quadruples from its own pairs.
"""

from __future__ import annotations

import argparse

from explorer.commands._args import seed, whole
from explorer.commands._common import add_trust_argument, drive, print_json
from explorer.relational.evaluate import GENERATED, TEST_SEED, evaluate_analogy_job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="gated autoencoder checkpoint (.safetensors)")
    add_trust_argument(parser)  # accepted everywhere --model is; checkpoints never need it
    parser.add_argument(
        "--data",
        required=True,
        help="sample:shifts | sample:rotations (fresh quadruples) | any DATA with pairs or sequences",
    )
    parser.add_argument(
        "--count",
        type=whole(1, 10_000_000, "a number of quadruples"),
        default=2000,
        help="test quadruples (2000)",
    )
    parser.add_argument("--seed", type=seed, default=TEST_SEED, help="seed of the test quadruples")


def run(args: argparse.Namespace) -> int:
    from explorer.core.errors import DataError
    from explorer.relational.engine import load_relational_model

    if args.count < 2:
        raise DataError("--count must be at least 2.")
    model = load_relational_model(args.model)
    spec = args.data.strip()
    kind = spec.split(":", 1)[1].lower() if spec.lower().startswith("sample:") else None
    data = None
    if kind not in GENERATED:
        from explorer.data import load_data

        kind = None
        data = load_data(spec)
    result = drive(
        evaluate_analogy_job(model, data=data, kind=kind, count=args.count, seed=args.seed), label="analogy"
    )
    print_json({"model": args.model, "data_spec": spec, **result})
    return 0
