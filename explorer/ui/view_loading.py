"""Which views the main window shows and how their modules are imported (``VIEW_MODULES``; the
heavy ones in a worker, after the window is on screen)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Iterator

from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

from explorer.core.progress import Progress
from explorer.ui.views import VIEW_MODULES

# part of the shell and cheap to import: created at once even when the other views load lazily
SHELL_VIEWS = ("explorer.ui.views.browser",)


def load_view_modules(names: list[str] = VIEW_MODULES) -> list[ModuleType]:
    """The view modules, sorted by ``ORDER``; one that is missing or broken raises (a typo in
    VIEW_MODULES is a bug, not a feature still to come)."""
    mods = [importlib.import_module(name) for name in names]
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 100))


def import_views_job(names: list[str]) -> Iterator[Progress]:
    """Import view modules off the GUI thread (they pull in torch and the engines).

    Returns (names imported, [(name, error message)] of the modules that failed, missing ones too)."""
    from explorer.ui.qt_setup import configure_pyqtgraph

    yield Progress(step=0, total=len(names) + 1, message="loading views")
    configure_pyqtgraph()  # imports pyqtgraph: before any view module does
    try:  # the model modules too, so a view's first model load does not import them on the GUI thread
        from explorer.models.base import model_keys

        model_keys()
    except Exception:  # a broken model module is reported where it is used
        pass
    ok, failed = [], []
    for i, name in enumerate(names):
        try:
            importlib.import_module(name)
            ok.append(name)
        except Exception as err:  # a broken view must not keep the app from starting
            failed.append((name, f"{type(err).__name__}: {err}"))
        # the payload is every module imported so far, so a record the runner's rate limit
        # drops loses nothing: the window creates each view as soon as its module is in
        yield Progress(step=i + 1, total=len(names) + 1, message="loading views", payload=tuple(ok))
    return ok, failed


def view_key(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def scrolling_page(view: QWidget) -> QScrollArea:
    """``view`` in a frameless scroll area: it fills the tab, and scrolls instead of forcing the
    window taller than the screen when its minimum size is large (a 768-pixel-high laptop)."""
    area = QScrollArea()
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setWidget(view)
    return area
