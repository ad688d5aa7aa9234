"""What every view is given: the workspace, its Qt adapter, and the app's shared services.

A view module under ``explorer/ui/views`` exposes ``TITLE`` (tab/dock title), ``AREA``
("left", "center" or "bottom"), ``ORDER`` (int, lower first) and ``View(ctx, parent=None)``,
a QWidget. It reads state from ``ctx.workspace``, listens to ``ctx.qws`` signals through small
``_on_<thing>_changed`` slots, and keeps no copy of what the workspace already holds. Optionally
``View.prepare_snapshot()`` puts the view in a state worth a picture (e.g. picks a query) and
``View.busy()`` says whether it is still computing (the snapshot waits while it is).
A module-level ``SNAPSHOT_DATA = "sample:shifts"`` (and ``SNAPSHOT_MODELS = [file, ...]``) makes
``explorer snapshot`` picture that view on other data than the main window's sample:mnist, and
``View.shutdown()``, if present, is called when the main window closes (stop your TaskRunners).

Services in ``ctx.services`` (installed by the main window, see ``explorer/ui/services.py``):
``"codes"`` (CodeService: ``busy()``, ``request(model)``), ``"thumbnails"`` (ThumbnailCache:
``get(dataset, index, size) -> QPixmap``), ``"loader"`` (LoadService: ``open_data(spec)``,
``load_models(specs)``) and ``"settings"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from explorer.core.workspace import Workspace
from explorer.ui.qworkspace import QWorkspace


def _print_error(message: str) -> None:
    import sys

    print(f"explorer: {message}", file=sys.stderr)


@dataclass
class AppContext:
    workspace: Workspace
    qws: QWorkspace
    # show a user-facing error (a message box in the app; stderr in tests)
    show_error: Callable[[str], None] = _print_error
    # show a short status-line message
    show_status: Callable[[str], None] = lambda message: None
    services: dict = field(default_factory=dict)  # named shared helpers (code service, ...)

    @classmethod
    def standalone(cls) -> AppContext:
        """A context for tests and for views shown on their own."""
        ws = Workspace()
        return cls(workspace=ws, qws=QWorkspace(ws))
