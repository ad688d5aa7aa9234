"""`explorer project --codes CODES.npy --method pca|tsne|umap --out XY.npy [--seed S]`"""

from __future__ import annotations

import os

import numpy as np

from explorer.commands._args import add_engine_arguments, check_engine, real, seed, whole
from explorer.commands._common import atomic_save_npy, drive, print_json
from explorer.core.errors import DataError, ExplorerError


def add_arguments(parser) -> None:
    parser.add_argument("--codes", required=True, help="(N, D) codes as a .npy file (from `explorer encode`)")
    parser.add_argument("--method", required=True, choices=["pca", "tsne", "umap"])
    parser.add_argument("--out", required=True, help="where to write the (N, 2) float32 layout (.npy)")
    parser.add_argument("--seed", type=seed, default=0)
    parser.add_argument(
        "--perplexity",
        type=real(0, 10_000, lo_open=True, what="a perplexity"),
        default=None,
        help="t-SNE perplexity (default 30)",
    )
    parser.add_argument(
        "--neighbors",
        type=whole(2, 100_000, "a number of neighbours"),
        default=None,
        help="UMAP n_neighbors (default 15)",
    )
    parser.add_argument(
        "--labels",
        default=None,
        help="optional (N,) int labels .npy: also report 10-NN label accuracy "
        "(and, for big sets, spread the landmarks over the classes)",
    )
    parser.add_argument(
        "--landmarks",
        type=whole(2, 100_000_000, "a number of landmarks"),
        default=None,
        help="t-SNE/UMAP of big sets: how many landmarks to fit (default 10%% of the codes, 5,000-10,000; "
        "UMAP: two levels, 10%% up to 100,000 laid out from a tenth of those)",
    )
    parser.add_argument(
        "--refine",
        choices=["graph", "transform", "none"],
        default=None,
        help="t-SNE/UMAP of big sets: how the placed points are refined (default graph)",
    )
    parser.add_argument(
        "--faithfulness", action="store_true", help="also report the 10-NN neighbourhood preservation"
    )
    add_engine_arguments(
        parser,
        "fit the landmarks here, place the other points in Ray tasks (needs the cluster extra)",
        "auto, ray://host:10001",
    )


def _load_npy(path: str, what: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise DataError(f"No such file: {path}; give the {what} as a .npy file.")
    try:
        with open(path, "rb") as f:  # check the header against the file before numpy allocates
            version = np.lib.format.read_magic(f)
            fmt = np.lib.format
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read_header(f)
        if dtype.kind not in "biuf":
            raise DataError(f"{path} holds {dtype} values; the {what} must be numbers.")
        if int(np.prod(shape, dtype=object)) * dtype.itemsize > os.path.getsize(path):
            raise DataError(f"{path} is truncated or corrupt: its header claims shape {shape}.")
        return np.load(path, allow_pickle=False)
    except DataError:
        raise
    except Exception as err:  # ValueError, EOFError, tokenize errors in a damaged header, ...
        raise DataError(f"{path} is not a readable .npy array ({type(err).__name__}: {err}).") from None


def run(args) -> int:
    from explorer.data.shards import is_shard_folder, read_shard_codes
    from explorer.projection import faithfulness, knn_label_accuracy, project_job

    if is_shard_folder(args.codes):  # the Parquet shards of `explorer encode --engine ray`
        codes = read_shard_codes(args.codes)
    elif args.codes.lower().endswith((".parquet", ".pq")):
        from explorer.data.parquet import read_codes

        codes = read_codes(args.codes)
    else:
        codes = _load_npy(args.codes, "codes")
    if not args.out.lower().endswith(".npy"):
        raise ExplorerError("--out must end in .npy.")
    labels = None
    if args.labels:
        labels = _load_npy(args.labels, "labels").astype(np.int64)
        if len(labels) != len(codes):
            raise DataError(f"{args.labels} has {len(labels)} labels for {len(codes)} codes.")
    seen: dict = {}
    params = dict(
        perplexity=args.perplexity,
        n_neighbors=args.neighbors,
        labels=labels,
        landmarks=args.landmarks,
        refine=args.refine,
    )
    check_engine(args)
    if args.engine == "ray":
        from explorer.cluster.place import project_on_ray_job

        job = project_on_ray_job(codes, args.method, address=args.address, seed=args.seed, **params)
    else:
        job = project_job(codes, args.method, seed=args.seed, **params)
    job = _watched(job, seen)
    layout = drive(job, label=args.method)
    atomic_save_npy(args.out, np.asarray(layout, dtype=np.float32))
    report = {"out": args.out, "method": args.method, "count": len(layout)}
    report.update(
        {k: (int(v) if k == "landmarks" else round(float(v), 2)) for k, v in seen.get("metrics", {}).items()}
    )
    if labels is not None:
        report["knn_accuracy"] = knn_label_accuracy(layout, labels, sample=KNN_SAMPLE)
        if len(layout) > KNN_SAMPLE:
            report["knn_accuracy_sample"] = KNN_SAMPLE
    if args.faithfulness:
        report["faithfulness"] = faithfulness(codes, layout)[0]
        if "landmarks" in seen:
            chosen = seen["landmarks"]
            report["landmark_faithfulness"] = faithfulness(codes[chosen], layout[chosen])[0]
    print_json(report)
    return 0


KNN_SAMPLE = 20_000


def _watched(job, seen: dict):
    """``job`` passed through, noting its last metrics and which rows the landmark frame placed."""
    while True:
        try:
            rec = next(job)
        except StopIteration as stop:
            return stop.value
        if rec.metrics:
            seen["metrics"] = rec.metrics
        if rec.payload is not None and "landmark layout" in rec.message:
            seen["landmarks"] = np.flatnonzero(np.isfinite(rec.payload[:, 0]))
        yield rec
