"""Result columns share the row by what they show (seen at 1280x800 on a photo folder: the empty
"Second model" and "Binary codes" columns held half the row while the two columns with results
showed two thumbnails a line)."""

import numpy as np

from explorer.ui.context import AppContext
from explorer.ui.views import retrieval as rv


class Flat:
    def __init__(self, name, dim=None):
        self.name, self.input_shape = name, None
        self.w = (
            None if dim is None else np.random.default_rng(0).standard_normal((64, dim)).astype(np.float32)
        )

    def encode(self, images):
        x = np.asarray(images, np.float32).reshape(len(images), -1)
        return x if self.w is None else x @ self.w


def per_row(column) -> int:
    """Results on the first line of the column's grid."""
    lst = column.list
    tops = [lst.visualItemRect(lst.item(i)).top() for i in range(lst.count())]
    return sum(1 for t in tops if t == tops[0])


def test_columns_with_results_take_the_width_of_empty_ones(qtbot, digits_300):
    ctx = AppContext.standalone()
    ws = ctx.workspace
    ws.set_dataset(digits_300)
    for enc in (Flat("pixels"), Flat("proj", 6)):
        ws.add_model(enc.name, enc)
        ws.set_codes(enc.name, enc.encode(digits_300.float_images()))
    view = rv.View(ctx)
    qtbot.addWidget(view)
    view.resize(950, 690)  # the view's tab in a 1280x800 window beside the data dock
    view.show()
    qtbot.waitExposed(view)
    ws.set_query(0)
    model, pixels, second = view.columns
    qtbot.waitUntil(lambda: model.filled and pixels.filled, timeout=10000)
    qtbot.wait(50)  # the layout settles
    assert not second.filled and not view.binary_column.filled
    assert model.width() > 1.3 * second.width() and pixels.width() > 1.3 * view.binary_column.width()
    assert per_row(model) >= 3 and per_row(pixels) >= 3
    # a second model chosen: its column fills and widens, the others give way
    second.combo.setCurrentText("pixels")
    second.combo.activated.emit(second.combo.currentIndex())
    qtbot.waitUntil(lambda: second.filled, timeout=10000)
    qtbot.wait(50)
    assert second.width() > 1.3 * view.binary_column.width()
    view.shutdown()
