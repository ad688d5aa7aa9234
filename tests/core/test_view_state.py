"""View settings as plain objects: changes are events, sessions get them back, layouts are keyed by
them in the workspace."""

import numpy as np
import pytest

from explorer.core import session as sessions
from explorer.core.view_state import ScatterState
from explorer.core.workspace import Workspace


def test_update_emits_only_what_changed_and_cleans_types():
    st = ScatterState()
    seen = []
    st.events.connect("changed", lambda names: seen.append(names))
    assert st.update(method="tsne", seed="3", hidden=[1, 1, 4]) == {"method", "seed", "hidden"}
    assert st.update(method="tsne") == set()
    assert seen == [{"method", "seed", "hidden"}]
    assert st.seed == 3 and st.hidden == frozenset({1, 4})
    assert st.params() == {"perplexity": 30.0} and st.layout_settings() == {"seed": 3, "perplexity": 30.0}
    with pytest.raises(ValueError):
        st.update(method="lda")


def test_apply_takes_what_it_knows_and_skips_the_rest():
    st = ScatterState()
    st.apply({"method": "umap", "neighbours": 7, "colour": "rainbow", "future_setting": 1, "seed": "x"})
    assert (st.method, st.neighbours, st.colour, st.seed) == ("umap", 7, "class", 0)
    assert ScatterState().apply(st.to_dict()) == {"method", "neighbours"}


def test_layouts_are_found_by_their_settings_and_dropped_with_new_codes():
    ws = Workspace()
    ws.set_codes("m", np.zeros((4, 3)))
    ws.set_layout("m", "tsne", np.ones((4, 2)), {"seed": 0, "perplexity": 30.0})
    assert ws.layout_for("m", "tsne", {"seed": 0, "perplexity": 30.0}) is not None
    assert ws.layout_for("m", "tsne", {"seed": 1, "perplexity": 30.0}) is None
    ws.set_codes("m", np.ones((4, 3)))  # the layout was made from the old codes
    assert ws.layout_for("m", "tsne", {"seed": 0, "perplexity": 30.0}) is None


def test_sessions_keep_view_settings_and_layout_settings(tmp_path):
    ws = Workspace()
    ws.set_codes("m", np.zeros((4, 3)))
    ws.models["m"] = object()
    st = ScatterState()
    ws.register_view_state("scatter", st)
    st.update(method="tsne", seed=2, hidden={3})
    ws.set_layout("m", "tsne", np.arange(8.0).reshape(4, 2), st.layout_settings())
    sessions.save_session(tmp_path / "a.session", sessions.state_from_workspace(ws, None, {"m": "m"}))

    fresh = Workspace()
    fresh.models["m"] = object()
    state = sessions.load_session(tmp_path / "a.session")
    assert sessions.restore_into_workspace(fresh, state) == []
    np.testing.assert_array_equal(
        fresh.layout_for("m", "tsne", {"seed": 2, "perplexity": 30.0}), np.arange(8.0).reshape(4, 2)
    )
    later = ScatterState()  # a view created after the restore still gets its settings
    fresh.register_view_state("scatter", later)
    assert (later.method, later.seed, later.hidden) == ("tsne", 2, frozenset({3}))


def test_set_current_model_has_its_own_event():
    ws = Workspace()
    ws.add_model("a", object())
    ws.add_model("b", object())
    seen = []
    ws.events.connect("current_model", lambda: seen.append(ws.current_model))
    ws.events.connect("models", lambda: seen.append("models"))
    ws.set_current_model("b")
    ws.set_current_model("b")
    ws.set_current_model("nope")
    assert seen == ["b"]
