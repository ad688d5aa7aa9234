"""`explorer analogy`: x : y :: x' : ŷ'. Infer the transformation taking x to y and apply it to x'.

Images are read with Pillow, turned grey or RGB to match the model, and resized to its input size
(a note on standard error says so); ŷ' is written as a PNG (or any format Pillow knows by the
extension), atomically, at the model's input size unless ``--size`` asks for the size of x'.
"""

from __future__ import annotations

import argparse
import sys

from explorer.commands._common import add_trust_argument
from explorer.relational.imageio import read_image, write_image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="gated autoencoder checkpoint (.safetensors)")
    add_trust_argument(parser)  # accepted everywhere --model is; checkpoints never need it
    parser.add_argument("--x", required=True, metavar="A.png", help="the first image of the example pair")
    parser.add_argument("--y", required=True, metavar="B.png", help="the second image of the example pair")
    parser.add_argument("--apply", required=True, metavar="C.png", help="the image to transform the same way")
    parser.add_argument("--out", required=True, metavar="D.png", help="where to write the result")
    parser.add_argument(
        "--size",
        choices=("model", "input"),
        default="model",
        help="write the result at the model's input size (default) or at the size of C.png",
    )


def run(args: argparse.Namespace) -> int:
    from explorer.relational.engine import analogy, load_relational_model

    model = load_relational_model(args.model)
    shape = tuple(model.input_shape)
    images, sizes = {}, {}
    for name, path in (("x", args.x), ("y", args.y), ("apply", args.apply)):
        images[name], sizes[name] = read_image(path, shape)
        if sizes[name] is not None:
            print(
                f"note: {path} is {sizes[name][0]}x{sizes[name][1]}; resized to the model's "
                f"{shape[2]}x{shape[1]}",
                file=sys.stderr,
            )
    out = analogy(model, images["x"][None], images["y"][None], images["apply"][None])[0]
    write_image(args.out, out, sizes["apply"] if args.size == "input" else None)
    print(args.out)
    return 0
