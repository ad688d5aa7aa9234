"""Issue 13 item 11: the verification panel fits a 1280x720 window without scrolling, and files
dropped on it that are items of the open data set are recognised as those items."""

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from explorer.core.imageset import ImageSet
from explorer.jobs.verification import find_item
from explorer.models.encoders import PixelEncoder
from explorer.ui.context import AppContext
from explorer.ui.views import verification as vv

# what a 1280x720 window leaves a centre tab (the data dock, menu, toolbar, tabs, status bar)
TAB_AREA = (950, 600)


def _panel(qtbot, data, size=TAB_AREA):
    ctx = AppContext.standalone()
    ctx.workspace.set_dataset(data)
    enc = PixelEncoder()
    ctx.workspace.add_model(enc.name, enc)
    ctx.workspace.set_codes(enc.name, enc.encode(data.float_images()))
    v = vv.View(ctx)
    qtbot.addWidget(v)
    v.resize(*size)
    v.show()
    qtbot.waitUntil(lambda: v.evaluation() is not None, timeout=30000)
    return v


def _drop_files(widget, paths):
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    widget.dropEvent(
        QDropEvent(
            QPointF(5, 5),
            Qt.DropAction.CopyAction,
            md,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    )


def test_the_panel_fits_a_1280x720_window(qtbot, digits_300):
    from explorer.ui.view_loading import scrolling_page

    v = _panel(qtbot, digits_300)
    area = scrolling_page(v)  # how the main window hosts a view: it scrolls when it does not fit
    qtbot.addWidget(area)
    area.resize(*TAB_AREA)
    area.show()
    v.load_pair(3, 8)
    v.set_threshold(-1e9)  # a verdict and its note shown, as in use
    qtbot.wait(100)
    hint = v.minimumSizeHint()
    assert hint.width() <= TAB_AREA[0] and hint.height() <= TAB_AREA[1], hint
    # no scrolling: the panel is exactly the tab's size (a word-wrapped label makes the scroll area
    # size it by height-for-width, from the preferred sizes, so those must fit too)
    assert v.size() == area.viewport().size(), (v.size(), area.viewport().size())
    assert not area.verticalScrollBar().isVisible() and not area.horizontalScrollBar().isVisible()
    for w in (v.slot_a, v.verdict, v.slider, v.roc_plot, v.hist_plot, v.table, v.fa_grid, v.fr_grid):
        r = w.geometry()
        top_left = w.mapTo(v, r.topLeft() - r.topLeft())
        assert top_left.y() >= 0 and top_left.y() + w.height() <= v.height(), type(w).__name__
        assert top_left.x() + w.width() <= v.width(), type(w).__name__
    assert v.roc_plot.height() >= 150 and v.hist_plot.height() >= 150  # the plots keep room
    v.shutdown()
    area.takeWidget()  # qtbot deletes the view; the area must not delete it a second time


def test_dropped_files_of_the_open_data_set_are_its_items(qtbot, digits_300, tmp_path):
    v = _panel(qtbot, digits_300, (1200, 850))
    labels = digits_300.labels
    same = [i for i in range(1, 300) if labels[i] == labels[0]][0]
    other = [i for i in range(1, 300) if labels[i] != labels[0]][0]
    paths = []
    for i in (0, same, other):
        p = tmp_path / f"copy{i}.png"
        Image.fromarray(digits_300.images[i, 0], mode="L").save(p)
        paths.append(p)
    _drop_files(v.slot_a, paths[:2])  # two files at once fill A and B
    assert v.slots[0].index == 0 and v.slots[1].index == same
    assert f"= item #{same}" in v.slots[1].caption and f"class {labels[0]}" in v.slots[1].caption
    v.set_threshold(-1e9)  # everything matches: same class, so correct
    assert v.verdict_text() == "MATCH" and "correct: same class" in v.verdict_note.text()
    assert v.load_file(1, str(paths[2]))
    assert v.slots[1].index == other
    assert "wrong: different classes" in v.verdict_note.text()
    # a file that is no item stays an outside image (no right/wrong said)
    noise = tmp_path / "noise.png"
    Image.fromarray((np.random.default_rng(0).random((8, 8)) * 255).astype(np.uint8), mode="L").save(noise)
    assert v.load_file(1, str(noise)) and v.slots[1].index is None
    assert "correct" not in v.verdict_note.text() and "wrong" not in v.verdict_note.text()
    v.shutdown()


def test_find_item_by_path_then_by_pixels(tmp_path, digits_300):
    p = tmp_path / "x.png"
    p.write_bytes(b"")
    data = ImageSet(images=digits_300.images[:5], paths=["a.png", str(p), "c.png", "d.png", "e.png"])
    img = digits_300.float_images([3])[0]
    assert find_item(data, str(p), img) == 1  # the same file: by its path, whatever its pixels
    assert find_item(data, str(tmp_path / "other.png"), img) == 3  # by its pixels
    codes = data.float_images().reshape(5, -1)
    assert find_item(data, None, img, pixel_codes=codes) == 3
    assert find_item(data, None, np.clip(img + 0.05, 0, 1)) is None


def test_documents_show_as_text_in_the_slots_and_the_error_grids(qtbot):
    from explorer.data.documents import documents_set

    topics = ["the cat sat on the mat with a kitten", "stock prices fell as traders sold shares"]
    texts = [f"{topics[i % 2]} and item {i} {'purr' if i % 2 else 'bonds'}" for i in range(30)]
    data = documents_set(
        texts, [i % 2 for i in range(30)], ["pets", "money"], [f"t#{i}" for i in range(30)], "t", "documents"
    )
    v = _panel(qtbot, data, (1200, 850))
    v.load_pair(0, 2)
    assert v.slot_a.image_label.text().startswith("the cat sat on the mat")
    assert v.slot_a.image_label.pixmap().isNull()
    assert v.slot_a.image_label.alignment() & Qt.AlignmentFlag.AlignTop  # a long text is cut at its end
    v.set_threshold(-1e9)  # everything is a match: the false accepts are the cross-topic pairs
    v._refresh_hardest()
    assert v.fa_grid.count() > 0
    first = v.fa_grid.item(0)
    assert first.icon().isNull() and "pets" in first.text() and "money" in first.text()
    assert "the cat sat" in first.toolTip() and "stock prices" in first.toolTip()
    v.shutdown()
