"""Shared fixtures for the GUI tests (pytest-qt, offscreen)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, qapp):
    """QSettings go to a fresh folder per test, never the user's real settings."""
    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("relate-explorer-tests")
    QCoreApplication.setApplicationName("explorer-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("settings"))
    )
    from explorer.ui.qt_setup import configure_pyqtgraph

    configure_pyqtgraph()
    yield


@pytest.fixture
def digits_300():
    """The first 300 of sklearn's 8x8 digits as a uint8 ImageSet (300, 1, 8, 8), as files would load."""
    from sklearn.datasets import load_digits

    from explorer.core.imageset import ImageSet

    d = load_digits()
    images = np.round(d.images[:300] * (255 / 16)).astype(np.uint8)[:, None]
    return ImageSet(
        images=images, labels=d.target[:300], class_names=[str(k) for k in range(10)], name="digits"
    )


@pytest.fixture
def digits_set():
    """sklearn's 8x8 digits as an ImageSet (1797 items, 10 classes, float32 in [0, 1])."""
    from sklearn.datasets import load_digits

    from explorer.core.imageset import ImageSet

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)[:, None]
    return ImageSet(
        images=images, labels=d.target, class_names=[str(k) for k in range(10)], name="digits", format="test"
    )


@pytest.fixture
def ctx():
    """A standalone AppContext with the shared services installed."""
    from explorer.ui.context import AppContext
    from explorer.ui.services import install_services, shutdown_services

    c = install_services(AppContext.standalone())
    yield c
    shutdown_services(c)


@pytest.fixture
def image_folder(tmp_path):
    """A class-per-folder tree of 3 classes x 4 small greyscale PNGs; returns its path."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "shapes"
    for k, name in enumerate(["circle", "square", "tri"]):
        (root / name).mkdir(parents=True)
        for i in range(4):
            arr = (rng.random((12, 12)) * 60 + 60 * k).astype(np.uint8)
            Image.fromarray(arr, mode="L").save(root / name / f"{i}.png")
    return root


@pytest.fixture
def open_dialog(qtbot, ctx):
    """A function: the training dialog on a data set, shown, once it knows the model types (shut
    down after the test)."""
    from explorer.ui.dialogs.training import TrainingDialog

    opened = []

    def open_on(data):
        ctx.workspace.set_dataset(data)
        dlg = TrainingDialog(ctx)
        qtbot.addWidget(dlg)
        dlg.show()
        qtbot.waitUntil(dlg.ready, timeout=60000)
        opened.append(dlg)
        return dlg

    yield open_on
    for dlg in opened:
        dlg.shutdown()


@pytest.fixture
def dialog(open_dialog, digits_set):
    """The training dialog on the 1797 digits, once it knows the model types."""
    return open_dialog(digits_set)


@pytest.fixture
def open_verification(qtbot):
    """Factory: a verification view on ``data`` with ``encoders`` loaded and their codes set
    (``with_codes``: only those of these names), ``model`` chosen, waited for until its evaluation is in
    (``wait=False``: not); settings a session restored (``settings``) are applied first."""
    from explorer.ui.context import AppContext
    from explorer.ui.views import verification as vv

    views = []

    def open_on(data, encoders, model=None, with_codes=True, wait=True, settings=None):
        ctx = AppContext.standalone()
        ws = ctx.workspace
        ws.set_dataset(data)
        if settings is not None:
            ws.apply_view_settings(settings)
        for enc in encoders:
            ws.add_model(enc.name, enc)
            if with_codes is True or enc.name in with_codes:
                ws.set_codes(enc.name, enc.encode(data.float_images()))
        v = vv.View(ctx)
        views.append(v)
        qtbot.addWidget(v)
        v.resize(1200, 850)
        v.show()
        v.model_combo.setCurrentText(model or encoders[0].name)
        if wait:
            qtbot.waitUntil(lambda: v.evaluation() is not None, timeout=30000)
        return v

    yield open_on
    for v in views:
        v.shutdown()
