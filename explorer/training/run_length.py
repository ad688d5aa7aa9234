"""How many epochs the training dialog offers on a data set: a model's default epochs, or more on
a small data set so the run takes at least MIN_STEPS optimiser steps.

The defaults were chosen on data sets of thousands of items; on 354 photos (318 to train, batches
of 64) dae's 20 epochs are 100 steps. Measured there (`explorer train --model dae`, seed 0, load
1.2-1.6): 100 steps, validation loss 0.0370, the codes' effective rank 2.56, 8.4 s; 300 steps
(60 epochs) 0.0230, 3.78, 25.8 s; 600 steps 0.0214, 4.51, 51.6 s (training loss 0.012: past
here it learns the training photos). Every model kind gets the same: its steps an epoch are
counted as the engine plans them (:func:`epoch_steps`: pairs of frames, two pairs an item, ...),
so siamese, triplet and the gated autoencoders on small data get their 300 steps too (bgae on a
folder of 24 turning objects of 10 frames had 4 steps an epoch, 32 steps in all). No Qt."""

from __future__ import annotations

import math

from explorer.training.code_check import SHORT_RUN_STEPS

MIN_STEPS = SHORT_RUN_STEPS  # a run shorter than this is the first suspect of a collapse
MAX_SCALE = 10  # at most this many times the model's default epochs


def steps_per_epoch(items: int, batch_size: int, val_fraction: float) -> int:
    """Optimiser steps in one epoch over ``items`` less the validation share (at least 1)."""
    train = max(1, items - math.ceil(items * val_fraction))
    return max(1, math.ceil(train / max(1, batch_size)))


def scaled_epochs(default: int, per_epoch: int) -> int:
    """``default`` epochs, or enough for MIN_STEPS steps at ``per_epoch`` steps an epoch (at most
    MAX_SCALE times ``default``): dae's 20 on 10,000 digits, 60 on 354 photos, 200 on 6 pictures."""
    return int(min(max(default, math.ceil(MIN_STEPS / max(1, per_epoch))), MAX_SCALE * default))


def epoch_steps(
    key: str, data, batch_size: int, val_fraction: float, options: dict | None = None, seed: int = 0
) -> int | None:
    """Optimiser steps in one epoch of a ``key`` model on ``data`` (an ImageSet) as the training
    engine plans them: the data the model trains on (``prepare_data``: a folder of sequences gives
    its pairs of consecutive frames), the model's own split (metric models hold out classes) and
    its own ``num_batches`` (siamese: two pairs an item; triplet: labelled items), worked out on
    a pixel-free stand-in of ``data`` without building the model. Bad ``options`` count as none;
    None when the engine would refuse the kind on ``data`` (no labels, no pairs)."""
    import numpy as np

    from explorer.core.errors import ExplorerError
    from explorer.core.imageset import ImageSet
    from explorer.models.base import make_config, model_class
    from explorer.training.engine import model_split

    cls = model_class(key)
    options = dict(options or {})
    try:
        config = make_config(key, None, options)
    except (ExplorerError, TypeError, ValueError):
        config, options = make_config(key), {}
    n = data.count
    blank = np.zeros((n, 1, 1, 1), np.uint8)  # one byte an item: counts, labels and order only
    standin = ImageSet(
        images=blank,
        labels=data.labels,
        class_names=list(data.class_names),
        paths=None,  # (the order of frames changes no count; sorting 20,000 names took 150 ms)
        name=data.name,
        format=data.format,
        partners=None if data.partners is None else blank,
        transforms=dict(data.transforms),
    )
    if cls.needs_labels and not data.has_labels:
        return None  # the engine refuses it (the dialog says why)
    try:
        prepared = cls.prepare_data(standin)
    except ExplorerError:
        return None
    if cls.needs_pairs and prepared.partners is None:
        return None
    train_idx, _, _ = model_split(cls, prepared, val_fraction, seed, options)
    return max(1, int(cls.num_batches(_Planned(cls, config), prepared.subset(train_idx), int(batch_size))))


class _Planned:
    """A model of ``cls`` with ``config`` as far as its ``num_batches`` needs one: the config, and
    the class's methods bound to this object (no weights built)."""

    def __init__(self, cls, config) -> None:
        self._cls, self.config = cls, config

    def __getattr__(self, name: str):
        attr = getattr(self._cls, name)
        return attr.__get__(self) if callable(attr) and hasattr(attr, "__get__") else attr
