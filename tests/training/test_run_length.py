from explorer.training.run_length import MAX_SCALE, MIN_STEPS, scaled_epochs, steps_per_epoch


def test_steps_per_epoch_leave_out_the_validation_share():
    assert steps_per_epoch(354, 64, 0.1) == 5  # 318 to train
    assert steps_per_epoch(1797, 64, 0.1) == 26
    assert steps_per_epoch(6, 64, 0.1) == 1 and steps_per_epoch(0, 64, 0.1) == 1


def test_small_data_gets_enough_epochs_for_the_minimum_steps_and_no_more_than_the_cap():
    assert MIN_STEPS == 300
    assert scaled_epochs(20, 354, 64, 0.1) == 60  # 354 photos: 100 steps -> 300
    assert scaled_epochs(20, 1797, 64, 0.1) == 20  # 520 steps already
    assert scaled_epochs(20, 6, 64, 0.1) == MAX_SCALE * 20 == 200  # 1 step an epoch: capped
