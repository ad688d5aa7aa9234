"""The retrieval view: drops, clicks, history, columns and the metrics panel (pytest-qt)."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from explorer.core.imageset import ImageSet
from explorer.retrieval import retrieval_metrics
from explorer.ui.context import AppContext
from explorer.ui.views import retrieval as rv


class Pixels:
    name, input_shape = "pixels", None

    def encode(self, images):
        return np.asarray(images, np.float32).reshape(len(images), -1)


class Projection:
    """A fixed random projection to 6-d: a stand-in for a trained encoder."""

    name, input_shape = "proj", (1, 8, 8)

    def __init__(self):
        self.w = np.random.default_rng(0).standard_normal((64, 6)).astype(np.float32)

    def encode(self, images):
        return np.asarray(images, np.float32).reshape(len(images), -1) @ self.w


@pytest.fixture
def view(qtbot, digits_300):
    data = digits_300
    ctx = AppContext.standalone()
    ws = ctx.workspace
    ws.set_dataset(data)
    for enc in (Pixels(), Projection()):
        ws.add_model(enc.name, enc)
        ws.set_codes(enc.name, enc.encode(data.float_images()))
    v = rv.View(ctx)
    qtbot.addWidget(v)
    v.resize(1100, 800)
    v.show()
    yield v
    v.shutdown()


def _drop(widget, md):
    assert widget._accepts(md)  # what dragEnterEvent checks
    drop = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    widget.dropEvent(drop)


def test_default_columns(view):
    assert view.column_models() == ["proj", "pixels", None]


def test_dropped_file_finds_itself_in_the_pixel_column(view, qtbot, tmp_path):
    ds = view.ws.dataset
    path = tmp_path / "item42.png"
    Image.fromarray(ds.images[42, 0], mode="L").save(path)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    _drop(view.query_slot, md)
    assert view.ws.query_index is None and view.ws.query_image.shape == (1, 8, 8)
    pixels = view.columns[1]
    qtbot.waitUntil(lambda: pixels.list.count() == view.k, timeout=5000)
    assert pixels.results()[0] == 42
    assert pixels.list.item(0).text().endswith("d 0")
    # identical to item 42, so it takes its class: the first result is marked as a match
    assert pixels.list.item(0).text().startswith("✓")
    # the projection column encoded the external image too, and agrees on the nearest item
    qtbot.waitUntil(lambda: view.columns[0].list.count() == view.k, timeout=5000)
    assert view.columns[0].results()[0] == 42


def test_big_file_is_resized_and_greyed(view, qtbot, tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((40, 30, 3), np.uint8), mode="RGB").save(path)
    assert view.query_from_file(str(path))
    assert "30×40 → 8×8" in view.status.text() and "grey" in view.status.text()
    qtbot.waitUntil(lambda: view.columns[1].list.count() == view.k, timeout=5000)
    darkest = (view.ws.codes["pixels"] ** 2).sum(1).argmin()  # nearest to an all-black image
    assert view.columns[1].results()[0] == darkest


def test_bad_file_says_so(view, tmp_path):
    errors = []
    view.ctx.show_error = errors.append
    path = tmp_path / "nope.png"
    path.write_text("not an image")
    assert not view.query_from_file(str(path))
    assert "nope.png could not be read" in errors[0]


def test_dropped_grid_item_becomes_query(view):
    md = QMimeData()
    md.setData(rv.MIME_INDEX, b"17,18")
    _drop(view.query_slot, md)
    assert view.ws.query_index == 17


def test_click_result_makes_it_the_query_and_history(view, qtbot):
    ws = view.ws
    ws.set_query(index=5)
    col = view.columns[1]
    assert col.list.count() == view.k and 5 not in col.results()  # leave-one-out
    # marks agree with the labels
    label = ws.dataset.labels[5]
    for row, i in enumerate(col.results()):
        assert col.list.item(row).text().startswith("✓" if ws.dataset.labels[i] == label else "✗")
    target = col.results()[2]
    rect = col.list.visualItemRect(col.list.item(2))
    qtbot.mouseClick(col.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ws.query_index == target
    assert view.back_button.isEnabled() and not view.forward_button.isEnabled()
    view.back_button.click()
    assert ws.query_index == 5
    view.forward_button.click()
    assert ws.query_index == target


def test_k_and_column_choice(view):
    view.ws.set_query(index=3)
    view.k_spin.setValue(4)
    assert [c.list.count() for c in view.columns] == [4, 4, 0]
    view.set_column_model(2, "pixels")
    assert view.columns[2].results() == view.columns[1].results()
    idx = np.argsort(((view.ws.codes["proj"] - view.ws.codes["proj"][3]) ** 2).sum(1), kind="stable")
    assert view.columns[0].results() == [i for i in idx.tolist() if i != 3][:4]


def test_metrics_panel_matches_engine_and_worst_query_opens(view, qtbot):
    qtbot.waitUntil(lambda: not view.busy(), timeout=10000)
    want = retrieval_metrics(view.ws.codes["pixels"], view.ws.dataset.labels)
    table = view.metrics.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert set(rows) == {"proj", "pixels"}
    assert table.item(rows["pixels"], 3).text() == f"{want.map_at_r:.3f}"
    assert view.metrics_of("pixels").map == pytest.approx(want.map)
    view.metrics.worst_combo.setCurrentText("pixels")
    view._show_worst()
    worst = view.metrics.worst
    assert worst.count() == 24
    first = worst.item(0).data(rv.INDEX_ROLE)
    assert first == want.worst_queries(1)[0]
    worst.itemClicked.emit(worst.item(0))
    assert view.ws.query_index == first


def test_marked_tile_colours(qapp):
    from PySide6.QtGui import QPixmap

    pix = QPixmap(10, 10)
    pix.fill(Qt.GlobalColor.white)
    good = rv.marked_tile(pix, True, 10).toImage()
    bad = rv.marked_tile(pix, False, 10).toImage()
    assert good.pixelColor(1, 17).name() == rv.GOOD.name()
    assert bad.pixelColor(1, 17).name() == rv.BAD.name()


def test_snapshot_picks_a_query_the_model_gets_right_and_pixels_wrong(view):
    view.prepare_snapshot()
    q = view.ws.query_index
    labels = view.ws.dataset.labels
    hits = [sum(labels[i] == labels[q] for i in c.results()) for c in view.columns[:2]]
    assert q == view.telling_query()
    best = 0
    for i in range(300):  # the same search, by brute force
        h = []
        for name in ("proj", "pixels"):
            d = ((view.ws.codes[name] - view.ws.codes[name][i]) ** 2).sum(1)
            d[i] = np.inf
            h.append(int((labels[np.argsort(d, kind="stable")[: view.k]] == labels[i]).sum()))
        best = max(best, h[0] - h[1])
    assert hits[0] - hits[1] == best


def test_history_returns_to_an_external_image(view, qtbot, tmp_path):
    path = tmp_path / "item9.png"
    Image.fromarray(view.ws.dataset.images[9, 0], mode="L").save(path)
    assert view.query_from_file(str(path))
    pixels = view.columns[1]
    qtbot.waitUntil(lambda: pixels.list.count() == view.k, timeout=5000)
    view.ws.set_query(index=100)
    assert 100 not in pixels.results()
    view.go_back()
    assert view.ws.query_index is None and view.ws.query_image is not None
    qtbot.waitUntil(lambda: pixels.list.count() == view.k and pixels.results()[0] == 9, timeout=5000)
    # another view setting a new external image: the old image's codes are not reused
    view.ws.set_query(image=np.zeros((1, 8, 8), np.float32))
    qtbot.waitUntil(lambda: pixels.list.count() == view.k, timeout=5000)
    darkest = (view.ws.codes["pixels"] ** 2).sum(1).argmin()
    assert pixels.results()[0] == darkest


def test_code_only_data_set(qtbot):
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(0, 0.1, (20, 3)), rng.normal(5, 0.1, (20, 3))]).astype(np.float32)
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(ImageSet(images=None, codes=codes, labels=np.repeat([0, 1], 20)))
    v = rv.View(ctx)
    qtbot.addWidget(v)
    assert v.column_models() == ["codes", None, None]
    ctx.workspace.set_query(index=25)
    assert v.columns[0].list.count() == v.k
    assert all(i >= 20 for i in v.columns[0].results())
    qtbot.waitUntil(lambda: v.metrics_of("codes") is not None, timeout=5000)
    assert v.metrics_of("codes").map_at_r == 1.0
    v.shutdown()


def test_results_drag_out_as_item_indices(view):
    view.ws.set_query(index=11)
    col = view.columns[0]
    first, second = col.results()[:2]
    md = col.list.mimeData([col.list.item(0), col.list.item(1)])
    assert bytes(md.data(rv.MIME_INDEX)).decode() == f"{first},{second}"
    _drop(view.query_slot, md)  # dropping a result on the query slot opens it
    assert view.ws.query_index == first


def test_new_codes_are_scored_again_and_per_class_tooltip(view, qtbot):
    qtbot.waitUntil(lambda: not view.busy(), timeout=10000)
    before = view.metrics_of("proj").map_at_r
    ws = view.ws
    ws.set_codes("proj", ws.codes["pixels"].copy())  # the model was retrained: new codes
    assert view.metrics_of("proj") is None
    qtbot.waitUntil(lambda: view.metrics_of("proj") is not None, timeout=10000)
    assert view.metrics_of("proj").map_at_r == pytest.approx(view.metrics_of("pixels").map_at_r)
    assert view.metrics_of("proj").map_at_r != pytest.approx(before)
    qtbot.waitUntil(lambda: not view.busy(), timeout=10000)
    tip = view.metrics.table.item(0, 0).toolTip()
    assert "per class" in tip and tip.count("\n") == 11  # a header, a title and 10 classes


def test_unscorable_labels_are_explained(qtbot):
    ctx = AppContext.standalone()
    images = np.arange(4 * 16, dtype=np.uint8).reshape(4, 1, 4, 4)
    ctx.workspace.set_dataset(ImageSet(images=images, labels=np.arange(4)))  # every class alone
    ctx.workspace.set_codes("pixels", images.reshape(4, -1).astype(np.float32))
    v = rv.View(ctx)
    qtbot.addWidget(v)
    qtbot.waitUntil(lambda: not v.busy(), timeout=5000)
    assert "two or more labelled items" in v.metrics.note.text()
    v.shutdown()


def test_on_a_folder_of_sequences_the_query_line_says_sequence(view, qtbot, tmp_path):
    """polish27: turning objects read "class obj_011" and "same class as the query"."""
    from explorer.data import load_data
    from explorer.data.sequences import render_sequences, write_sequence_folder

    view.ws.set_query(3)
    assert "class <b>" in view.query_label.text() and "same class as the query" in view.query_label.text()
    seqs, _ = render_sequences(3, np.random.default_rng(0), 8, 16, motion="turn")
    write_sequence_folder(str(tmp_path / "turning"), seqs, prefix="obj")
    view.ws.set_dataset(load_data(str(tmp_path / "turning")))
    view.ws.set_query(9)
    text = view.query_label.text()
    assert "sequence <b>obj_001</b>" in text and "same sequence as the query" in text and "class" not in text
    view.ws.set_codes("pixels", view.ws.dataset.float_images().reshape(24, -1))  # a column with results
    view.refresh()
    qtbot.waitUntil(lambda: "of the query's" in view.columns[1].info.text(), timeout=5000)
    assert view.columns[1].info.text().endswith("of the query's sequence")
