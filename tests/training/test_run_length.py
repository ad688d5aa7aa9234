"""How many epochs the dialog offers (training/run_length): every model kind's steps an epoch as
the engine plans them, so each gets MIN_STEPS on small data (polish27: siamese, triplet and the
gated autoencoders had no scaling; bgae on 24 turning objects of 10 frames trained 32 steps)."""

import numpy as np
import pytest

from explorer.core.errors import ExplorerError
from explorer.models.base import model_class, model_keys
from explorer.training.engine import TrainConfig, train
from explorer.training.run_length import MAX_SCALE, MIN_STEPS, epoch_steps, scaled_epochs


def test_small_data_gets_enough_epochs_for_the_minimum_steps_and_no_more_than_the_cap():
    assert MIN_STEPS == 300
    assert scaled_epochs(20, 5) == 60  # 354 photos, 5 steps an epoch: 100 steps -> 300
    assert scaled_epochs(20, 26) == 20  # 520 steps already
    assert scaled_epochs(20, 1) == MAX_SCALE * 20 == 200  # 1 step an epoch: capped


@pytest.fixture(scope="module")
def turning(tmp_path_factory):
    """A folder of 6 turning objects of 10 frames, 12x12: 54 pairs of consecutive frames."""
    from explorer.data import load_data
    from explorer.data.sequences import render_sequences, write_sequence_folder

    folder = tmp_path_factory.mktemp("turning")
    seqs, _ = render_sequences(6, np.random.default_rng(0), 10, 12, motion="turn")
    write_sequence_folder(str(folder), seqs, prefix="obj")
    return load_data(str(folder))


@pytest.fixture(scope="module")
def digits():
    from explorer.data import load_data

    data = load_data("sample:digits")
    return data.subset(np.arange(0, data.count, 6))  # 300 labelled 8x8 digits


def _planned(key, data, batch_size, options=None):
    """The steps an epoch the engine plans for a ``key`` run on ``data`` (its first record's
    total at one epoch), or None when the engine refuses the kind on this data."""
    config = TrainConfig(model=key, epochs=1, batch_size=batch_size, val_fraction=0.1, options=options or {})
    gen = train(config, data)
    try:
        return next(gen).total
    except ExplorerError:
        return None
    finally:
        gen.close()


@pytest.mark.parametrize("key", model_keys())
def test_every_kinds_steps_an_epoch_are_what_the_engine_plans(key, digits, turning):
    data = turning if model_class(key).needs_pairs else digits
    want = _planned(key, data, 16)
    if want is None:
        pytest.skip(f"{key} does not train on this data from the engine alone")
    assert epoch_steps(key, data, 16, 0.1) == want


def test_pairs_and_sequences_count_what_the_model_draws(digits, turning):
    assert epoch_steps("bgae", turning, 50, 0.1) == 1  # 54 pairs (48 to train), not 60 frames
    assert epoch_steps("bgae", turning, 16, 0.1) == 3  # (60 frames: 54 to train, 4 steps)
    # siamese: two pairs an item (its pairs_per_item), an option the dialog's form can change
    two = epoch_steps("siamese", digits, 16, 0.1)
    assert abs(2 * epoch_steps("siamese", digits, 16, 0.1, {"pairs_per_item": 1.0}) - two) <= 1
    assert epoch_steps("siamese", digits, 16, 0.1, {"no_such_option": 1}) == two
