"""`explorer evaluate verification --model FILE|pixels --data DATA`: pair verification metrics.

Prints one JSON object (last line of standard output): auc, eer, tar_at_far_1e_2,
tar_at_far_1e_3, accuracy (10-fold, LFW protocol, balanced), threshold (at the EER), and the
pair counts and protocol. On a pair set (``sample:stereo``) each image is matched against its own
partner and 50 others' (``--pairs partners``), the partners encoded by an untied model's gallery
tower. Encoders are scored by the negative distance between codes; a pair
classifier (``pairnet``) scores each pair itself.

``--norm as-norm`` normalises each code score against a cohort (verification/norm.py):
``--cohort train`` the model's training images (``--cohort-classes``, of ``--cohort-data``,
default ``--data``: non-transductive), ``--cohort gallery`` the evaluated items themselves
(transductive). The JSON's ``score`` says which normalisation produced the figures.
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
    parser.add_argument(
        "--norm",
        choices=("none", "as-norm"),
        default="none",
        help="score normalisation: as-norm judges each side's score against its top-k scores to a cohort",
    )
    parser.add_argument(
        "--cohort",
        choices=("train", "gallery"),
        default=None,
        help="as-norm's cohort: train (images the model was trained on: --cohort-classes of "
        "--cohort-data) or gallery (the evaluated items themselves: transductive)",
    )
    parser.add_argument("--cohort-data", default=None, help="the cohort's data set (default: --data)")
    parser.add_argument(
        "--cohort-classes", default=None, help="the cohort's classes, e.g. 0-4 (the training classes)"
    )
    parser.add_argument(
        "--top-k",
        type=whole(2, 1_000_000, "a cohort size"),
        default=100,
        help="as-norm's top-k cohort scores",
    )
    add_trust_argument(parser)


def cohort_codes(model, args, data):
    """The codes of ``--cohort train``'s images, or None for ``--cohort gallery``."""
    from explorer.core.encoder import encode_dataset
    from explorer.data import load_data

    if args.cohort == "gallery":
        return None
    if args.cohort_data is None and args.cohort_classes is None:
        raise DataError(
            "--cohort train needs the training images: --cohort-classes (e.g. 0-4) and/or --cohort-data."
        )
    cohort = load_data(args.cohort_data or args.data)
    if args.cohort_classes:
        cohort = select_classes(cohort, args.cohort_classes)
    if not cohort.has_images:
        return cohort.codes
    return drive(encode_dataset(model, cohort), "encoding the cohort")


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
    if args.norm != "none" and args.cohort is None:
        raise DataError("--norm as-norm needs --cohort train (training images) or gallery (transductive).")
    try:
        if args.norm != "none" and (
            is_pair_scorer(model)
            or args.pairs == "partners"
            or (args.pairs == "auto" and data.partners is not None)
        ):
            raise DataError(
                "--norm as-norm applies to codes of a labelled set, not to pair classifiers or partners."
            )
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
            cohort = cohort_codes(model, args, data) if args.norm != "none" else None
            norm = {"norm": args.norm, "cohort": cohort, "top_k": args.top_k}
            result = drive(
                evaluate_codes(
                    codes, data.labels, args.metric, seed=args.seed, max_pairs=args.max_pairs, **norm
                ),
                "verification",
            )
    except ValueError as err:  # too few classes / pairs: say so in one line
        raise DataError(f"Cannot measure verification on {args.data}: {err}.") from None
    out = result.summary()
    out["model"] = getattr(model, "name", args.model)
    out["data"] = data.name or args.data
    print_json(out)
    return 0
