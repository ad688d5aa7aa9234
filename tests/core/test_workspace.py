"""The workspace: one shared state, its events, and which models fit the open data set."""

import numpy as np

from explorer.core.imageset import ImageSet
from explorer.core.workspace import Workspace


class _Enc:
    def __init__(self, shape):
        self.input_shape = shape


def _set(n=4, shape=(1, 8, 8)):
    return ImageSet(images=np.zeros((n, *shape), np.uint8), labels=np.arange(n) % 2, class_names=["a", "b"])


def test_events_and_selection():
    ws, seen = Workspace(), []
    for ev in ("dataset", "selection", "query"):
        ws.events.connect(ev, lambda ev=ev, **kw: seen.append(ev))
    ws.set_dataset(_set())
    ws.set_selection([3, 1, 3])
    ws.set_selection([1, 3])  # no change: no event
    ws.set_query(index=2)
    assert seen == ["dataset", "selection", "query"]
    np.testing.assert_array_equal(ws.selection, [1, 3])
    assert ws.query_float_image().shape == (1, 8, 8)


def test_models_for_dataset_leaves_out_models_of_another_input_shape():
    ws = Workspace()
    ws.add_model("pixels", _Enc(None))
    ws.add_model("digits_ae", _Enc((1, 8, 8)))
    ws.add_model("gae_13", _Enc((1, 13, 13)))
    ws.set_dataset(_set())
    assert ws.models_for_dataset() == ["pixels", "digits_ae"]
    assert ws.current_model == "digits_ae"


def test_selection_is_sorted_unique_whatever_order_and_repeats_come_in():
    """set_selection is np.unique by sort and compare (numpy 2.4's hashing np.unique took seconds
    for a lasso of millions of rows): the same rows, sorted, once each, and a copy."""
    rng = np.random.default_rng(0)
    ws = Workspace()
    for rows in (rng.integers(0, 5000, 20_000), np.arange(0, 9000, 3), np.array([7]), np.zeros(0, int)):
        ws.set_selection(rows)
        np.testing.assert_array_equal(ws.selection, np.unique(rows))
        assert ws.selection.dtype == np.int64 and ws.selection is not rows


def test_a_presorted_selection_is_taken_as_it_is_and_made_read_only():
    """A lasso's rows (sorted, unique int64) are handed over, not checked or copied; anything
    else marked presorted is put in order as any selection."""
    ws, seen = Workspace(), []
    ws.events.connect("selection", lambda **kw: seen.append(1))
    rows = np.arange(2, 5000, 7, dtype=np.int64)
    ws.set_selection(rows, presorted=True)
    assert ws.selection is rows and not rows.flags.writeable and seen == [1]
    ws.set_selection(rows, presorted=True)  # the same array again: no event
    ws.set_selection(rows.copy(), presorted=True)  # equal rows: no event
    assert seen == [1]
    ws.set_selection([9, 3, 3], presorted=True)  # not an int64 array: sorted and made unique
    np.testing.assert_array_equal(ws.selection, [3, 9])
    assert seen == [1, 1]
