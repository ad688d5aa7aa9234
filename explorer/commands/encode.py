"""`explorer encode`: encode every image of a data set to a float32 (N, D) .npy array.

    explorer encode --model dae.safetensors --data sample:mnist --out codes.npy

MODEL is pixels, pca (pca:N) or a model file (.safetensors, TorchScript .pt, .pt2, .onnx).
"""

from __future__ import annotations

import argparse

import numpy as np

from explorer.commands._common import atomic_save_npy, drive, print_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="FILE|pixels|pca",
                        help="pixels, pca, pca:N, or a .safetensors / .pt / .pt2 / .onnx file")
    parser.add_argument("--data", required=True, metavar="DATA", help="a data set, e.g. sample:mnist")
    parser.add_argument("--out", required=True, metavar="CODES.npy", help="where to write the codes")
    parser.add_argument("--batch-size", type=int, default=256, help="images per batch")


def run(args: argparse.Namespace) -> int:
    from explorer.core.encoder import encode_dataset
    from explorer.core.errors import ExplorerError
    from explorer.data import load_data_job
    from explorer.models import load_encoder

    data = drive(load_data_job(args.data), label="loading")
    if not data.has_images:
        raise ExplorerError(f"{args.data} holds precomputed codes, not images; there is nothing to encode.")
    encoder = load_encoder(args.model, data)
    codes = drive(encode_dataset(encoder, data, batch_size=max(1, args.batch_size)), label="encoding")
    codes = np.ascontiguousarray(codes, dtype=np.float32)
    atomic_save_npy(args.out, codes)
    print_json({"out": args.out, "model": encoder.name, "count": int(codes.shape[0]),
                "code_dim": int(codes.shape[1]) if codes.ndim == 2 else 0})
    return 0
