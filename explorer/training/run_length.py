"""How many epochs the training dialog offers on a data set: a model's default epochs, or more on
a small data set so the run takes at least MIN_STEPS optimiser steps.

The defaults were chosen on data sets of thousands of items; on 354 photos (318 to train, batches
of 64) dae's 20 epochs are 100 steps. Measured there (`explorer train --model dae`, seed 0, load
1.2-1.6): 100 steps, validation loss 0.0370, the codes' effective rank 2.56, 8.4 s; 300 steps
(60 epochs) 0.0230, 3.78, 25.8 s; 600 steps 0.0214, 4.51, 51.6 s (training loss 0.012: past
here it learns the training photos). Plain numpy-free arithmetic, no Qt."""

from __future__ import annotations

import math

from explorer.training.code_check import SHORT_RUN_STEPS

MIN_STEPS = SHORT_RUN_STEPS  # a run shorter than this is the first suspect of a collapse
MAX_SCALE = 10  # at most this many times the model's default epochs


def steps_per_epoch(items: int, batch_size: int, val_fraction: float) -> int:
    """Optimiser steps in one epoch over ``items`` less the validation share (at least 1)."""
    train = max(1, items - math.ceil(items * val_fraction))
    return max(1, math.ceil(train / max(1, batch_size)))


def scaled_epochs(default: int, items: int, batch_size: int, val_fraction: float) -> int:
    """``default`` epochs, or enough for MIN_STEPS steps on ``items`` (at most MAX_SCALE times
    ``default``): 20 on 10,000 digits, 60 on 354 photos, 200 on 6 pictures."""
    per_epoch = steps_per_epoch(items, batch_size, val_fraction)
    return int(min(max(default, math.ceil(MIN_STEPS / per_epoch)), MAX_SCALE * default))
