"""`explorer evaluate retrieval`: leave-one-out retrieval metrics of a model's codes, as JSON.

Prints {"precision_at_1", "r_precision", "map_at_r", "map", "knn_accuracy", ...} as the last
line of standard output (definitions in explorer.retrieval.metrics).
"""

from __future__ import annotations

import argparse

import numpy as np

from explorer.commands._args import seed, whole
from explorer.commands._common import (
    add_trust_argument,
    drive,
    print_json,
    require_trust,
)
from explorer.core.encoder import encode_dataset
from explorer.core.errors import DataError, ExplorerError
from explorer.core.imageset import ImageSet
from explorer.retrieval import RETRIEVAL_METRICS, is_binary, leave_one_out

SUBSETS = ("all", "even", "odd", "first-half", "second-half")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint FILE, or 'pixels' / 'pca'")
    parser.add_argument("--data", required=True, help="data set (folder, IDX, .npz, TSV, sample:NAME)")
    parser.add_argument(
        "--metric",
        choices=RETRIEVAL_METRICS,
        default=None,
        help="distance between codes (default: hamming for binary codes such as binae's, else l2)",
    )
    parser.add_argument(
        "--k",
        type=whole(1, 100_000, "a number of neighbours"),
        default=5,
        help="neighbours in the k-NN vote (5)",
    )
    parser.add_argument(
        "--subset",
        choices=SUBSETS,
        default="all",
        help="evaluate on part of the data only, e.g. the half a model was not trained on",
    )
    parser.add_argument("--indices", metavar="FILE.npy", help="evaluate on these item indices only")
    parser.add_argument("--per-class", action="store_true", help="add per-class figures to the JSON")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="rank only the first R places (skips the full-ranking mAP; for big sets)",
    )
    parser.add_argument(
        "--queries",
        type=whole(1, 1_000_000_000, "a number of queries"),
        default=None,
        help="score a seeded random sample of this many queries (default: all up to "
        "20,000 items, 10,000 sampled above that; the JSON says so)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of the query sample (0)")
    add_trust_argument(parser)


def subset_indices(count: int, subset: str = "all", indices_file: str | None = None) -> np.ndarray:
    """Item indices for --subset / --indices (both may be given: their intersection)."""
    idx = np.arange(count)
    if subset == "even":
        idx = idx[0::2]
    elif subset == "odd":
        idx = idx[1::2]
    elif subset == "first-half":
        idx = idx[: count // 2]
    elif subset == "second-half":
        idx = idx[count // 2 :]
    if indices_file:
        try:
            chosen = np.load(indices_file, allow_pickle=False)
        except (OSError, ValueError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            raise DataError(f"Could not read indices from {indices_file} ({reason}).") from None
        chosen = np.asarray(chosen).ravel()
        if chosen.dtype == bool:
            chosen = np.nonzero(chosen)[0]
        if not np.issubdtype(chosen.dtype, np.integer) or (
            chosen.size and (chosen.min() < 0 or chosen.max() >= count)
        ):
            raise DataError(f"{indices_file} must hold item indices between 0 and {count - 1}.")
        idx = np.intersect1d(idx, chosen)
    return idx


SAMPLE_ABOVE = 20_000
SAMPLE_QUERIES = 10_000


def sample_queries(count: int, queries: int | None = None, seed: int = 0) -> np.ndarray | None:
    """Sorted seeded query indices when a sample is asked for (or the set is over SAMPLE_ABOVE
    items), None for every item."""
    if queries is None:
        queries = SAMPLE_QUERIES if count > SAMPLE_ABOVE else None
    if queries is None or queries >= count:
        return None
    if queries < 1:
        raise ExplorerError("--queries must be at least 1.")
    return np.sort(np.random.default_rng(seed).choice(count, queries, replace=False))


def codes_of(model: str, data: ImageSet, trust: bool = False) -> np.ndarray:
    """Encode ``data`` with the encoder named by ``model`` (codes of a code-only set as they are)."""
    if not data.has_images:
        return np.asarray(data.codes, dtype=np.float32)
    from explorer.models import load_encoder

    encoder = load_encoder(model, data=data, trust=trust)
    return drive(encode_dataset(encoder, data), label="encode")


def run(args: argparse.Namespace) -> int:
    from explorer.data import load_data

    require_trust(args.model, args.trust_model)
    data = load_data(args.data)
    if not data.has_labels:
        raise DataError(f"{args.data} has no class labels, so retrieval cannot be scored.")
    idx = subset_indices(data.count, args.subset, args.indices)
    if len(idx) < data.count:
        data = data.subset(idx)
    codes = codes_of(args.model, data, trust=args.trust_model)
    queries = sample_queries(data.count, args.queries, args.seed)
    metric = args.metric or ("hamming" if is_binary(codes) else "l2")
    try:
        result = drive(
            leave_one_out(
                codes, data.labels, metric=metric, k=args.k, full_map=not args.fast, queries=queries
            ),
            label="retrieval",
        )
    except ValueError as err:
        raise ExplorerError(f"Cannot score retrieval on this data: {err}.") from None
    out = {"model": args.model, "data": args.data, "subset": args.subset, "count": data.count}
    out.update(result.as_dict(per_class=args.per_class))
    if metric == "hamming":
        out["bits"] = int(codes.shape[1])
    if queries is not None:
        out["query_sample"] = {
            "queries": len(queries),
            "of": data.count,
            "seed": args.seed,
            "note": "metrics are means over a seeded random sample of queries; the gallery is every item",
        }
    print_json(out)
    return 0
