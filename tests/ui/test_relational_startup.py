"""The relational view takes a new data set or model from the workspace at once and shows it over
the next event-loop turns (issue 13 item 3: source, analogy and code tabs in one handler held the
GUI thread 100-230 ms at start-up, when the sample data arrives)."""

from __future__ import annotations

import numpy as np
import torch

from explorer.core.imageset import ImageSet
from explorer.models.gae import GaeConfig, GatedAutoencoder
from explorer.ui.context import AppContext


def _data(seed: int, n: int, name: str) -> ImageSet:
    rng = np.random.default_rng(seed)
    return ImageSet(images=rng.random((n, 1, 9, 9)).astype(np.float32), name=name)


def test_a_new_data_set_is_shown_one_step_per_turn_and_completely(qtbot, tmp_path, monkeypatch):
    from explorer.models.checkpoint import save
    from explorer.relational.engine import infer_mappings
    from explorer.ui.views.relational import View

    torch.manual_seed(0)
    (tmp_path / "models").mkdir()  # the shipped model, for 9x9 images here
    monkeypatch.setenv("EXPLORER_SAMPLE_DATA", str(tmp_path))
    gae = GatedAutoencoder(GaeConfig(factors=12, mapping=4, whiten=0), (1, 9, 9)).eval()
    save(str(tmp_path / "models" / "gae_shifts.safetensors"), gae, summary={}, name="shifts")
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(_data(0, 20, "first"))
    view = View(ctx)  # made with its model shown (at start-up, under the splash)
    qtbot.addWidget(view)
    model = view.model
    assert view.model_name == "default: gae_shifts" and not view.busy()
    assert "first (20 items)" in view.status.text()
    steps: list[str] = []
    for name in View._RENDER_STEPS:
        real = getattr(view, name)
        setattr(view, name, lambda real=real, name=name: (steps.append(name), real())[1])
    emitted = []
    view.analogy_changed.connect(lambda: emitted.append(1))

    ctx.workspace.set_dataset(_data(1, 30, "second"))
    assert view.model is model and view.dataset() is ctx.workspace.dataset  # taken at once
    assert steps == [] and emitted == [] and view.busy()  # shown later, not in this handler
    qtbot.waitUntil(lambda: not view.busy(), timeout=5000)
    assert steps == list(View._RENDER_STEPS) and len(emitted) == 1
    assert "second (30 items)" in view.status.text()
    x, y = view.current_pair()
    np.testing.assert_allclose(view.z, infer_mappings(model, x[None], y[None])[0], atol=1e-6)
    np.testing.assert_array_equal(
        view.x2[0], ctx.workspace.dataset.float_images([view.panel.items(30)[0]])[0]
    )

    steps.clear()  # two changes before the first turn: shown once, for the last
    ctx.workspace.set_dataset(_data(2, 12, "third"))
    ctx.workspace.set_dataset(_data(3, 14, "fourth"))
    qtbot.waitUntil(lambda: not view.busy(), timeout=5000)
    assert steps == list(View._RENDER_STEPS) and "fourth (14 items)" in view.status.text()
    view.runner.shutdown()


def test_a_render_still_pending_when_the_view_is_gone_does_nothing(qtbot):
    from explorer.ui.views.relational import View

    torch.manual_seed(0)
    ctx = AppContext.standalone()
    view = View(ctx)
    view.set_model(GatedAutoencoder(GaeConfig(factors=8, mapping=4, whiten=0), (1, 9, 9)).eval(), "toy")
    ctx.workspace.set_dataset(_data(0, 10, "data"))
    assert view.busy()
    view.runner.shutdown()
    view.deleteLater()
    qtbot.wait(50)  # the pending turn's timer went with the view (no call on a deleted widget)
