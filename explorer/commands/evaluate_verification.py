"""`explorer evaluate verification --model FILE|pixels --data DATA`: pair verification metrics.

Prints one JSON object (last line of standard output): auc, eer, tar_at_far_1e_2,
tar_at_far_1e_3, accuracy (10-fold, LFW protocol, balanced), threshold (at the EER), and the
pair counts and protocol. On a pair set (``sample:stereo``) each image is matched against its own
partner and 50 others' (``--pairs partners``), the partners encoded by an untied model's gallery
tower. Encoders are scored by the negative distance between codes; a pair
classifier (``pairnet``) scores each pair itself.
"""

from __future__ import annotations

import os

from explorer.commands._args import seed, whole
from explorer.commands._classes import select_classes
from explorer.commands._common import (
    add_trust_argument,
    drive,
    print_json,
    require_trust,
)
from explorer.core.errors import DataError


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="a model file, or 'pixels' / 'pca'")
    parser.add_argument("--data", required=True, help="a labelled data set (folder, IDX, .npz, sample:NAME)")
    parser.add_argument("--metric", choices=("l2", "cosine"), default="l2", help="distance between codes")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the pair sample and the folds")
    parser.add_argument(
        "--max-pairs",
        type=whole(2, 1_000_000_000, "a number of pairs"),
        default=None,
        help="measure on a balanced sample of at most this many pairs (default: all pairs up to "
        "3,000 items, else 200,000 sampled; pair classifiers at most 200,000)",
    )
    parser.add_argument(
        "--classes",
        default=None,
        help="only these classes: names, indices or ranges, e.g. 5-9 (identities unseen in training)",
    )
    parser.add_argument(
        "--pairs",
        choices=("auto", "labels", "partners"),
        default="auto",
        help="labels: pairs of items by class; partners (a pair set such as sample:stereo): each "
        "image against its own partner and 50 others' (auto: partners when the data has them)",
    )
    add_trust_argument(parser)


def load_scorer_or_encoder(spec: str, data, trust: bool = False):
    """A pair scorer (pairnet file) or an Encoder (anything load_encoder takes)."""
    if os.path.isfile(spec) and spec.endswith(".safetensors"):
        from explorer.models.pairnet import load_pair_scorer

        scorer = load_pair_scorer(spec)
        if scorer is not None:
            return scorer
    from explorer.models import load_encoder

    return load_encoder(spec, data, trust=trust)


def cross_domain(model, data, args):
    """Verification of each image against partners (its own: genuine; others': impostors), the
    images encoded by the model's query tower and the partners by its gallery tower."""
    import dataclasses

    from explorer.core.encoder import encode_dataset
    from explorer.verification.cross import evaluate_cross_codes

    if data.partners is None:
        raise DataError(
            f"{args.data} has no image pairs; --pairs partners needs a pair set such as sample:stereo."
        )
    gallery = model.gallery() if hasattr(model, "gallery") else model
    query_codes = yield from encode_dataset(model, data)
    partners = dataclasses.replace(data, images=data.partners, partners=None)
    gallery_codes = yield from encode_dataset(gallery, partners)
    return (yield from evaluate_cross_codes(query_codes, gallery_codes, args.metric, seed=args.seed))


def run(args) -> int:
    from explorer.core.encoder import encode_dataset
    from explorer.data import load_data
    from explorer.verification import evaluate_codes, evaluate_scorer, is_pair_scorer

    require_trust(args.model, args.trust_model)
    data = load_data(args.data)
    if not data.has_labels:
        raise DataError(f"{args.data} has no class labels; verification needs labelled items.")
    if args.classes:
        data = select_classes(data, args.classes)
    model = load_scorer_or_encoder(args.model, data, trust=args.trust_model)
    try:
        if is_pair_scorer(model):
            if not data.has_images:
                raise DataError(f"{args.data} holds codes, not images; a pair classifier needs images.")
            if model.input_shape is not None and tuple(model.input_shape) != data.shape:
                raise DataError(
                    f"{args.model} takes images of shape {list(model.input_shape)}, but {args.data} "
                    f"has {list(data.shape)}."
                )
            kwargs = {} if args.max_pairs is None else {"max_pairs": args.max_pairs}
            result = drive(evaluate_scorer(model, data, seed=args.seed, **kwargs), "verification")
        elif args.pairs == "partners" or (args.pairs == "auto" and data.partners is not None):
            result = drive(cross_domain(model, data, args), "verification")
        else:
            codes = data.codes if not data.has_images else drive(encode_dataset(model, data), "encoding")
            result = drive(
                evaluate_codes(codes, data.labels, args.metric, seed=args.seed, max_pairs=args.max_pairs),
                "verification",
            )
    except ValueError as err:  # too few classes / pairs: say so in one line
        raise DataError(f"Cannot measure verification on {args.data}: {err}.") from None
    out = result.summary()
    out["model"] = getattr(model, "name", args.model)
    out["data"] = data.name or args.data
    print_json(out)
    return 0
