"""`explorer analogy`: x : y :: x' : ŷ'. Infer the transformation taking x to y and apply it to x'.

Images are read with Pillow, turned grey or RGB to match the model, and resized to its input size
(a note on standard error says so); ŷ' is written as a PNG (or any format Pillow knows by the
extension), atomically, at the model's input size unless ``--size`` asks for the size of x'.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from explorer.core.atomic import atomic_write
from explorer.core.errors import DataError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="gated autoencoder checkpoint (.safetensors)")
    parser.add_argument("--x", required=True, metavar="A.png", help="the first image of the example pair")
    parser.add_argument("--y", required=True, metavar="B.png", help="the second image of the example pair")
    parser.add_argument("--apply", required=True, metavar="C.png", help="the image to transform the same way")
    parser.add_argument("--out", required=True, metavar="D.png", help="where to write the result")
    parser.add_argument("--size", choices=("model", "input"), default="model",
                        help="write the result at the model's input size (default) or at the size of C.png")


def read_image(path: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Image file -> float32 (C, H, W) in [0, 1] of ``shape``; also its original (W, H) if resized."""
    from PIL import Image, UnidentifiedImageError

    c, h, w = shape
    try:
        with Image.open(path) as im:
            im.load()
            im = im.convert("L" if c == 1 else "RGB")
    except FileNotFoundError:
        raise DataError(f"There is no image file at {path}.") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataError(f"{path} could not be read as an image ({err}).") from None
    original = None
    if im.size != (w, h):
        original = im.size
        im = im.resize((w, h), Image.Resampling.BILINEAR)
    a = np.asarray(im, dtype=np.float32) / 255.0
    a = a[None] if c == 1 else np.transpose(a, (2, 0, 1))
    return a, original


def write_image(path: str, image: np.ndarray, size: tuple[int, int] | None = None) -> None:
    """Float (C, H, W) image -> file at ``path`` (clipped to [0, 1]), atomically."""
    from PIL import Image

    a = (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    im = Image.fromarray(a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0)))
    if size is not None and im.size != tuple(size):
        im = im.resize(tuple(size), Image.Resampling.BILINEAR)
    fmt = Image.registered_extensions().get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise DataError(f"Cannot tell an image format from the name {path}; use .png.")
    atomic_write(path, lambda tmp: im.save(tmp, format=fmt))


def run(args: argparse.Namespace) -> int:
    from explorer.relational.engine import analogy, load_relational_model

    model = load_relational_model(args.model)
    shape = tuple(model.input_shape)
    images, sizes = {}, {}
    for name, path in (("x", args.x), ("y", args.y), ("apply", args.apply)):
        images[name], sizes[name] = read_image(path, shape)
        if sizes[name] is not None:
            print(f"note: {path} is {sizes[name][0]}x{sizes[name][1]}; resized to the model's "
                  f"{shape[2]}x{shape[1]}", file=sys.stderr)
    out = analogy(model, images["x"][None], images["y"][None], images["apply"][None])[0]
    write_image(args.out, out, sizes["apply"] if args.size == "input" else None)
    print(args.out)
    return 0
