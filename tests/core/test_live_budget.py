"""The live views' CPU budget: frames over budget are skipped, one comes at least every max_gap_s,
the cost of a worker job is charged, and a training run probes only where the budget admits."""

import time

import numpy as np
import pytest

from explorer.core.live_budget import LiveBudget, charged


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_skips_a_frame_over_budget_until_enough_training():
    clock = FakeClock()
    budget = LiveBudget(share=0.04, max_gap_s=2.0, clock=clock)
    assert budget.admit()  # the first frame always
    budget.spend(0.050)  # its probe, layout and paints
    budget.work(0.5)  # 4% of 0.5 s is 20 ms < 50 ms
    clock.t = 0.5
    assert not budget.admit() and budget.skipped == 1
    budget.work(1.25)  # 4% of 1.25 s = 50 ms
    clock.t = 1.0
    assert budget.admit() and budget.admitted == 2
    assert budget.admit(force=True)  # the run's last frame: whatever the budget
    assert budget.admitted == 3


def test_a_frame_at_least_every_max_gap_even_over_budget():
    clock = FakeClock()
    budget = LiveBudget(share=0.04, max_gap_s=2.0, clock=clock)
    assert budget.admit()
    budget.spend(1.0)  # far over (training starved of CPU, say)
    clock.t = 1.99
    assert not budget.admit()
    clock.t = 2.0
    assert budget.admit()


def test_simulated_run_stays_within_share_and_keeps_frames_coming():
    """20 s of 10 ms training steps (10 ms CPU each), a probe point at every step, 60 ms a frame:
    the frames' CPU is within 4% of the training's (plus the first frame), none is 2 s late."""
    clock = FakeClock()
    budget = LiveBudget(share=0.04, max_gap_s=2.0, clock=clock)
    work, shown = 0.0, []
    for _step in range(2000):
        clock.t += 0.010
        work += 0.010
        budget.work(work)
        if budget.admit():
            shown.append(clock.t)
            budget.spend(0.060)
    assert budget.total_spent <= 0.04 * work + 0.060
    assert 0.04 * work - 0.12 <= budget.total_spent  # and it uses its share: ~13 frames, not 2
    gaps = np.diff(shown)
    assert gaps.max() <= 2.0 + 1e-9 and len(shown) >= 10


def test_slow_training_gets_a_frame_every_max_gap():
    """Training gets 5 ms of CPU a second (a loaded machine): frames every 2 s, not every 12 s."""
    clock = FakeClock()
    budget = LiveBudget(share=0.04, max_gap_s=2.0, clock=clock)
    shown = []
    for k in range(200):
        clock.t = k * 0.1
        budget.work(k * 0.0005)
        if budget.admit():
            shown.append(clock.t)
            budget.spend(0.060)
    assert np.allclose(np.diff(shown), 2.0)


def test_allowance_forecasts_from_the_last_interval():
    clock = FakeClock()
    budget = LiveBudget(share=0.04, clock=clock)
    budget.admit()
    budget.work(2.0)
    clock.t = 1.0
    assert budget.admit()  # the first frame cost nothing
    budget.spend(0.030)  # the new frame's probe and layout
    # just admitted, no training since, but the last interval was 2 s: 80 ms - 30 ms
    assert budget.allowance() == pytest.approx(0.050)


def test_charged_bills_the_jobs_cpu_and_returns_its_value():
    def job():
        t0 = time.thread_time()
        while time.thread_time() - t0 < 0.02:
            pass
        yield 1
        return "done"

    budget = LiveBudget()
    gen = charged(job(), budget)
    assert next(gen) == 1
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"
    assert 0.018 <= budget.total_spent < 0.2


def test_training_probes_only_where_the_budget_admits():
    from explorer.data import load_data
    from explorer.training.engine import TrainConfig, train

    digits = load_data("sample:digits").subset(np.arange(300))
    config = TrainConfig(
        model="ae",
        epochs=2,
        batch_size=32,
        code_dim=4,
        options={"hidden": [32, 16]},
        probe_every=1,
        probe_size=100,
    )
    clock = FakeClock()
    budget = LiveBudget(share=0.0, max_gap_s=1e9, clock=clock)  # no budget at all: only forced frames
    steps = []
    gen = train(config, digits, live_budget=budget)
    while True:
        try:
            rec = next(gen)
        except StopIteration:
            break
        steps.append(rec.payload["probe_step"])
    last = steps[-1]
    assert last == 18  # the run's last frame is its end (2 epochs of 9 steps)
    assert sorted(set(steps)) == [0, last]  # the first frame and the last: every other one skipped
    assert budget.admitted == 2 and budget.skipped >= 17  # asked at every step, not every 100
    assert budget.total_spent > 0  # the probes' encodes were charged
