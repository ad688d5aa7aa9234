"""Qt adapter over the core Workspace: re-emits its events as signals on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from explorer.core.workspace import Workspace


class QWorkspace(QObject):
    dataset_changed = Signal()
    models_changed = Signal()
    current_model_changed = Signal()
    codes_changed = Signal(str)  # model name
    layout_changed = Signal(object)  # (model, method)
    selection_changed = Signal()
    query_changed = Signal()
    probe_changed = Signal(str)  # training run name
    labels_changed = Signal(object)  # (M,) int64 items whose label changed or was confirmed

    def __init__(self, workspace: Workspace, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        ev = workspace.events
        ev.connect("dataset", lambda: self.dataset_changed.emit())
        ev.connect("models", lambda: self.models_changed.emit())
        ev.connect("current_model", lambda: self.current_model_changed.emit())
        ev.connect("codes", lambda model: self.codes_changed.emit(model))
        ev.connect("layout", lambda key: self.layout_changed.emit(key))
        ev.connect("selection", lambda: self.selection_changed.emit())
        ev.connect("query", lambda: self.query_changed.emit())
        ev.connect("probe", lambda run: self.probe_changed.emit(run))
        ev.connect("labels", lambda indices: self.labels_changed.emit(indices))

    EVENTS = (
        "dataset",
        "models",
        "current_model",
        "codes",
        "layout",
        "selection",
        "query",
        "probe",
        "labels",
    )

    def connect_view(self, view, **slots: str) -> list[str]:
        """Connect each ``<event>_changed`` signal to ``view._on_<event>_changed`` where the view has
        that slot; ``slots`` names another slot's event for an event (``current_model="models"``:
        the current model's change runs ``_on_models_changed``). Returns the events connected."""
        connected = []
        for event in self.EVENTS:
            slot = getattr(view, f"_on_{slots.get(event, event)}_changed", None)
            if slot is not None:
                getattr(self, f"{event}_changed").connect(slot)
                connected.append(event)
        return connected
