"""`explorer train`: train a model on a data set and save it as one .safetensors checkpoint.

    explorer train --model dae --data sample:mnist --epochs 5 --out dae.safetensors
    explorer train --model triplet --data sample:mnist --classes 0-4 --out t.safetensors

``--classes`` keeps only some classes (train on digits 0-4, then verify on the unseen 5-9 with
``explorer evaluate verification --classes 5-9``).

Prints a text progress bar on standard error and the training summary as one JSON line on
standard output. Fine-tune an existing encoder with ``--model finetune --backbone FILE``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from explorer.commands._args import real, seed, whole
from explorer.commands._common import drive, print_json
from explorer.core.errors import ExplorerError

DEVICES = ("auto", "cpu", "cuda", "mps")  # explorer.training.devices.DEVICE_CHOICES, without torch
# explorer.models.base.model_keys(), without importing torch for --help (a test keeps them equal)
MODEL_KEYS = ("ae", "dae", "cae", "siamese", "triplet", "pairnet", "gae", "textae", "finetune")
MODEL_KEYS += ("binae",)  # binary codes for Hamming search
MODEL_KEYS += ("cgae", "bgae")  # convolutional gated autoencoder, change-basis model (real sequences)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, metavar="KEY", help=f"one of: {', '.join(MODEL_KEYS)}")
    parser.add_argument("--data", required=True, metavar="DATA", help="a data set, e.g. sample:mnist")
    parser.add_argument("--out", required=True, metavar="FILE.safetensors", help="checkpoint to write")
    parser.add_argument(
        "--epochs",
        type=whole(1, 1_000_000, "a number of epochs"),
        default=None,
        help="passes over the data (model default)",
    )
    parser.add_argument(
        "--code-dim",
        type=whole(1, 65_536, "a code size"),
        default=None,
        help="size of the code (model default)",
    )
    parser.add_argument(
        "--batch-size",
        type=whole(1, 1_000_000, "a batch size"),
        default=None,
        help="items per step (model default)",
    )
    parser.add_argument(
        "--lr",
        type=real(0, 100, lo_open=True, what="a learning rate"),
        default=None,
        help="learning rate (model default)",
    )
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="auto picks CUDA, then MPS, then the CPU"
    )
    parser.add_argument(
        "--weight-decay",
        type=real(0, 1, what="a weight decay"),
        default=0.0,
        help="Adam weight decay (default 0)",
    )
    parser.add_argument("--seed", type=seed, default=0, help="random seed (runs repeat exactly)")
    parser.add_argument(
        "--val-fraction",
        type=real(0, 0.9, what="a fraction"),
        default=0.1,
        help="share held out for validation",
    )
    parser.add_argument(
        "--classes",
        default=None,
        metavar="SPEC",
        help="train on these classes only: names, indices or ranges, e.g. 0-4 (verify on the others)",
    )
    parser.add_argument("--augment", action="store_true", help="shift training images by a pixel or two")
    parser.add_argument(
        "--image-size",
        type=whole(0, 512, "a size in pixels"),
        default=None,
        metavar="PIXELS",
        help="train at this shorter side, aspect ratio kept (0: as the images are; default: as they "
        "are up to 64x64, else 64); the model encodes any image by the same resize",
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a model option, e.g. linear=true, distance=cosine, hidden=[256,64]",
    )
    parser.add_argument(
        "--backbone",
        metavar="FILE",
        help="with --model finetune: the encoder to fine-tune (.safetensors, .pt, .pt2)",
    )
    parser.add_argument(
        "--freeze",
        action="store_true",
        help="with --backbone: train only the new head, keep the backbone fixed",
    )


def parse_options(pairs: list[str]) -> dict:
    """['linear=true', 'hidden=[256,64]', 'distance=cosine'] -> {'linear': True, ...}."""
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise ExplorerError(f"--option {pair}: write NAME=VALUE, e.g. --option margin=0.5.")
        name, text = pair.split("=", 1)
        low = text.strip().lower()
        if low in ("true", "false"):
            value = low == "true"
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        out[name.strip().replace("-", "_")] = value
    return out


MAX_SIZE = 1_000_000  # largest whole-number option (layer widths, counts)


def _describe_default(default) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return f"a whole number from 0 to {MAX_SIZE:,}"
    if isinstance(default, float):
        return "a finite number of 0 or more"
    if isinstance(default, tuple):
        example = json.dumps(list(default), separators=(",", ":"))
        return f"a list of whole numbers from 1 to {MAX_SIZE:,}, such as {example}"
    return "a word"


def _fits(value, default) -> bool:
    """Whether an --option value has the kind (and a sane range) of the field's default."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SIZE
    if isinstance(default, float):
        return (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0 <= value <= 1e9
        )
    if isinstance(default, tuple):
        return (
            isinstance(value, (list, tuple))
            and len(value) <= 64
            and all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SIZE for v in value)
        )
    if isinstance(default, str):
        return isinstance(value, str) and value.isprintable() and len(value) <= 100
    return True


def check_options(key: str, options: dict) -> None:
    """ExplorerError naming the first --option whose value does not fit the model's option
    (``hidden=abc``, ``margin=nan``, ``linear=3``); unknown names are left to make_config."""
    import dataclasses

    from explorer.models.base import model_class

    fields = {f.name: f for f in dataclasses.fields(model_class(key).Config)}
    for name, value in options.items():
        field = fields.get(name)
        if field is None:
            continue
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            continue
        if not _fits(value, default):
            shown = json.dumps(value) if not isinstance(value, str) else value
            raise ExplorerError(
                f"--option {name}={shown[:60]}: model '{key}' takes {_describe_default(default)} "
                f"for {name} (default {json.dumps(default)})."
            )


def run(args: argparse.Namespace) -> int:
    from explorer.data import load_data_job
    from explorer.training.engine import TrainConfig, train

    if not args.out.lower().endswith(".safetensors"):
        raise ExplorerError(
            f"--out {args.out}: checkpoints are .safetensors files; name it FILE.safetensors."
        )
    options = parse_options(args.option)
    if args.model != "finetune" and not args.backbone:
        check_options(args.model, options)
    data = drive(load_data_job(args.data), label="loading")
    if args.classes:
        from explorer.commands._classes import select_classes

        data = select_classes(data, args.classes)
    model = None
    if args.backbone or args.model == "finetune":
        from explorer.training.finetune import finetune_model

        if not args.backbone:
            raise ExplorerError("--model finetune needs --backbone FILE, the encoder to fine-tune.")
        model = finetune_model(
            args.backbone, data, code_dim=args.code_dim, freeze=args.freeze, options=options
        )
    config = TrainConfig(
        model=args.model if model is None else model.key,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        code_dim=args.code_dim,
        device=args.device,
        seed=args.seed,
        weight_decay=args.weight_decay,
        val_fraction=args.val_fraction,
        augment=args.augment,
        image_size=args.image_size,
        options=options if model is None else {},
        checkpoint=args.out,
    )
    if (
        model is None and data.has_images
    ):  # an option the model refuses when built (distance=foo): a sentence, before training
        from explorer.models.base import build_model

        from explorer.training.image_size import training_spec

        spec = training_spec(data.shape, config.image_size)
        try:
            build_model(
                config.model, data.shape if spec is None else spec.shape, config.code_dim, dict(options)
            )
        except ValueError as err:
            raise ExplorerError(f"--option: {err}.") from None
    result = drive(train(config, data, model=model), label="training")
    if result.summary.get("warning"):  # e.g. many images got the same code (a short run)
        print(result.summary["warning"], file=sys.stderr)
    print_json({"out": args.out, **result.summary})
    return 0
