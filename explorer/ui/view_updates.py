"""Workspace events to the main window's views: a hidden view gets them when it is shown.

Workspace events are synchronous: before this, one change ran every view's slots inside the
handler that made it. The end of a training run (``add_model``, then ``set_codes``) redrew the
scatter, retrieval, verification, inspection and relational views in one event-loop turn, and
started their metrics and evaluations, while the user looks at one of them: 40-50 ms of GUI-thread
CPU per event, several times that in wall time at load.

A view the main window builds (:func:`build_view`) gets a :class:`ViewChannel` as its ``ctx.qws``:
a QWorkspace with the same signals, fed from the app's one QWorkspace:

- a view that is shown, or whose window is not (tests, offscreen scripts, the window being set
  up), gets each event at once, as before: a view acting on the workspace sees its own change
  (``set_labels`` and then the next issue) in the same call;
- a hidden view (another tab, a closed dock) keeps its events: an event already waiting moves to
  the end instead of waiting twice (slots read the workspace, so one call brings the view up to
  date). They are delivered in the view's Show event, before its first paint, in their order; its
  background jobs (metrics, evaluations) start then too.

``ctx.services["view_updates"]`` (:class:`ViewUpdates`) knows every channel: ``flush()`` delivers
what hidden views wait for (before pictures of them are taken, or a script drives one).
"""

from __future__ import annotations

import dataclasses
import weakref

from PySide6.QtCore import QEvent, QObject

from explorer.ui.qworkspace import QWorkspace


class ViewUpdates(QObject):
    """Every view's channel (see the module docstring)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._channels: weakref.WeakSet = weakref.WeakSet()

    def add(self, channel: ViewChannel) -> None:
        self._channels.add(channel)

    def waiting(self) -> int:
        """How many views have events waiting."""
        return sum(ch.waiting() for ch in list(self._channels))

    def flush(self) -> None:
        """Deliver every hidden view's waiting events now (and those that causes, until none wait)."""
        for _ in range(20):  # (a view answering an event with another one: a few rounds)
            waiting = [ch for ch in list(self._channels) if ch.waiting()]
            if not waiting:
                return
            for channel in waiting:
                channel.flush()


class ViewChannel(QWorkspace):
    """One view's QWorkspace (see the module docstring): its events come from ``source``.
    ``delivered`` counts the events handed to the view, by event name."""

    def __init__(self, source: QWorkspace, updates: ViewUpdates | None = None) -> None:
        QObject.__init__(self, source)  # (not QWorkspace.__init__: the events come from source)
        self.ws = source.ws
        self.view = None
        self._waiting: list[tuple[str, tuple]] = []
        self.delivered: dict[str, int] = {}
        for event in self.EVENTS:
            getattr(source, f"{event}_changed").connect(getattr(self, f"_{event}"))
        if updates is not None:
            updates.add(self)

    def attach(self, view) -> None:
        """The view is built: from now on its events wait while it is hidden."""
        self.view = view
        self.setParent(view)  # the channel goes with the view (and its connections with it)
        view.installEventFilter(self)

    # ---- the source's signals (bound methods: disconnected when the channel goes) -------------
    def _dataset(self) -> None:
        self._event("dataset", ())

    def _models(self) -> None:
        self._event("models", ())

    def _current_model(self) -> None:
        self._event("current_model", ())

    def _codes(self, model: str) -> None:
        self._event("codes", (model,))

    def _layout(self, key) -> None:
        self._event("layout", (key,))

    def _selection(self) -> None:
        self._event("selection", ())

    def _query(self) -> None:
        self._event("query", ())

    def _probe(self, run: str) -> None:
        self._event("probe", (run,))

    def _labels(self, indices) -> None:
        self._event("labels", (indices,))

    # ----
    def hidden(self) -> bool:
        """True when the view's window is shown and the view is not (its events wait)."""
        view = self.view
        return view is not None and not view.isVisible() and view.window().isVisible()

    def waiting(self) -> bool:
        return bool(self._waiting)

    def _event(self, event: str, args: tuple) -> None:
        if event != "labels":  # (labels carry the items that changed: each one counts)
            self._waiting = [w for w in self._waiting if w[0] != event or w[1] != args]
        self._waiting.append((event, args))
        if not self.hidden():
            self.flush()

    def flush(self) -> None:
        """Deliver the waiting events now, in their order."""
        while self._waiting:
            event, args = self._waiting.pop(0)
            self.delivered[event] = self.delivered.get(event, 0) + 1
            getattr(self, f"{event}_changed").emit(*args)

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.view and ev.type() == QEvent.Type.Show and self._waiting:
            self.flush()  # before the view's first paint
        return False


def build_view(ctx, view_class, parent=None):
    """``view_class(ctx', parent)`` where ``ctx'`` is ``ctx`` with the view's own
    :class:`ViewChannel` as ``qws`` (``ctx.services["view_updates"]`` knows them all)."""
    updates = ctx.services.get("view_updates")
    if updates is None:
        updates = ctx.services["view_updates"] = ViewUpdates(ctx.qws)
    channel = ViewChannel(ctx.qws, updates)
    view = view_class(dataclasses.replace(ctx, qws=channel), parent)
    channel.attach(view)
    return view
