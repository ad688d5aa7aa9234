"""`explorer encode`: encode every image of a data set to float32 (N, D) codes.

    explorer encode --model dae.safetensors --data sample:mnist --out codes.npy
    explorer encode --model resnet.onnx --data ~/photos --out codes.parquet --preprocess imagenet

MODEL is pixels, pca (pca:N) or a model file (.safetensors, TorchScript .pt, .pt2, .onnx).
Codes also go to the cache (keyed by data, model file and settings): the GUI shows them at once,
and an interrupted encode started again resumes where it stopped. ``.parquet`` output has one row
per item with image_path (relative to the output), label and embedding.
"""

from __future__ import annotations

import argparse

import numpy as np

from explorer.commands._args import add_engine_arguments, add_model_and_data, whole
from explorer.commands._common import atomic_save_npy, drive, print_json, require_trust


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_and_data(
        parser, "FILE|pixels|pca", "pixels, pca, pca:N, or a .safetensors / .pt / .pt2 / .onnx file"
    )
    parser.add_argument(
        "--out", required=True, metavar="CODES.npy|CODES.parquet", help="where to write the codes"
    )
    parser.add_argument(
        "--batch-size", type=whole(1, 1_000_000, "a batch size"), default=256, help="images per batch"
    )
    parser.add_argument(
        "--preprocess",
        choices=["imagenet", "clip", "plain"],
        default=None,
        help="how an external model's input is made (default: what its sidecar or file says, "
        "else what was chosen for it before, else plain: resize, centre crop, 0..1)",
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the codes cache")
    add_engine_arguments(
        parser,
        "Ray Data workers, --out is then a folder of Parquet shards (needs the cluster extra)",
        "auto, ray://host:10001, host:6379",
    )
    parser.add_argument(
        "--workers",
        type=whole(1, 4096, "a number of actors"),
        default=None,
        help="with --engine ray: how many model actors",
    )
    parser.add_argument(
        "--shard-rows",
        type=whole(1, 100_000_000, "a number of rows"),
        default=4096,
        help="with --engine ray: rows per Parquet shard",
    )


def run(args: argparse.Namespace) -> int:
    from explorer.core.codes_store import encode_job
    from explorer.core.errors import ExplorerError
    from explorer.data import load_data_job
    from explorer.models import load_encoder

    out = str(args.out)
    if args.engine == "ray":
        _check_ray_arguments(args)
    elif args.address or args.workers:
        raise ExplorerError("--address and --workers go with --engine ray.")
    elif not out.lower().endswith((".npy", ".parquet")):
        raise ExplorerError("--out must end in .npy or .parquet.")
    require_trust(args.model, args.trust_model)  # nothing is read before the model may open
    data = drive(load_data_job(args.data), label="loading")
    if not data.has_images:
        raise ExplorerError(f"{args.data} holds precomputed codes, not images; there is nothing to encode.")
    encoder = load_encoder(args.model, data, trust=args.trust_model)
    if args.preprocess:
        if getattr(encoder, "input_shape", None) is None:
            raise ExplorerError(
                f"--preprocess: {encoder.name} takes images of any size; there is nothing to set."
            )
        from explorer.core.preprocess import preset
        from explorer.models.preprocessing import set_spec

        set_spec(encoder, preset(args.preprocess, encoder.input_shape), "command line")
    if args.engine == "ray":
        return _run_on_ray(args, data, encoder)
    job = encode_job(encoder, data, batch_size=max(1, args.batch_size), key=None if args.no_cache else "auto")
    codes = np.ascontiguousarray(drive(job, label="encoding"), dtype=np.float32)
    if out.lower().endswith(".parquet"):
        from explorer.data.parquet import write_table

        write_table(out, data, codes, model=encoder.name)
    else:
        atomic_save_npy(out, codes)
    print_json(
        {
            "out": out,
            "model": encoder.name,
            "count": int(codes.shape[0]),
            "code_dim": int(codes.shape[1]) if codes.ndim == 2 else 0,
            "preprocess": getattr(getattr(encoder, "preprocess", None), "preset", None) or None,
            "skipped": len(data.skipped),
        }
    )
    return 0


def _check_ray_arguments(args: argparse.Namespace) -> None:
    from explorer.cluster import require_ray
    from explorer.core.errors import ExplorerError

    if str(args.out).lower().endswith((".npy", ".parquet")):
        raise ExplorerError(
            "With --engine ray, --out is a folder (it gets one Parquet shard per "
            f"{args.shard_rows} items); give a folder name without .npy/.parquet."
        )
    if args.batch_size < 1 or args.shard_rows < 1 or (args.workers is not None and args.workers < 1):
        raise ExplorerError("--batch-size, --shard-rows and --workers must be whole numbers of at least 1.")
    require_ray()  # one sentence saying what to install, before any work


def _run_on_ray(args: argparse.Namespace, data, encoder) -> int:
    from explorer.cluster.encode import encode_on_ray_job

    job = encode_on_ray_job(
        args.model,
        args.data,
        args.out,
        address=args.address,
        trust=args.trust_model,
        batch_size=args.batch_size,
        shard_rows=args.shard_rows,
        workers=args.workers,
        data=data,
        encoder=encoder,
    )
    report = drive(job, label="encoding")
    print_json({"engine": "ray", **report})
    return 0
