"""File-backed sets in the GUI: the browser fills its placeholders as renditions are built, the
preprocessing dialog gives presets."""

import numpy as np
from PySide6.QtCore import Qt

from explorer.data import load_data
from explorer.ui.services import RenditionService, ThumbnailCache
from explorer.ui.views.browser import View
from tests.data.test_files import photos


def test_browser_shows_placeholders_then_thumbnails(qtbot, ctx, tmp_path):
    data = load_data(str(photos(tmp_path / "p", per_class=6)), file_backed=True)
    thumbs = ctx.services["thumbnails"]
    service = ctx.services["renditions"]  # builds in the background once the data set opens
    assert isinstance(service, RenditionService) and isinstance(thumbs, ThumbnailCache)
    view = View(ctx)
    qtbot.addWidget(view)
    view.resize(400, 500)
    view.show()
    first = thumbs.get(data, 0, 48, wait=False)  # before the set is open: not built, a placeholder
    assert first.toImage().pixelColor(10, 10).name() == "#d8d8d8"
    with qtbot.waitSignal(service.job_finished, timeout=20000):
        ctx.workspace.set_dataset(data)
    assert data.source.ready().all()
    pix = view.model.data(view.model.index(0), Qt.ItemDataRole.DecorationRole)
    colour = pix.toImage().pixelColor(pix.width() // 2, pix.height() // 2)
    assert colour.red() > 200  # class c0 has its red channel saturated
    assert view.model.rowCount() == 12


def test_preprocessing_dialog_presets(qtbot):
    from explorer.core.preprocess import preset
    from explorer.ui.dialogs.preprocessing import PreprocessingDialog

    dialog = PreprocessingDialog("m.onnx", (3, 224, 224), preset("plain", (3, 224, 224)), "default")
    qtbot.addWidget(dialog)
    assert dialog.spec().preset == "plain" and dialog.side.value() == 224
    dialog.preset_box.setCurrentIndex(0)  # imagenet
    assert dialog.side.value() == 256
    spec = dialog.spec()
    assert spec.preset == "imagenet" and np.allclose(spec.mean, (0.485, 0.456, 0.406))
    dialog.side.setValue(300)
    assert dialog.spec().resize_to == 300
