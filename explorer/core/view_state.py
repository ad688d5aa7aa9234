"""Settings of the views as plain objects (no Qt), like glue's viewer states: the widgets of a view
follow its state and write to it; sessions save and restore it; the workspace keys the finished
layouts by it (:meth:`ScatterState.layout_settings`).

A state emits "changed" (names=the fields that changed) through its ``events`` whenever
:meth:`ViewState.update` changes something; a view that listens to it sets its widgets without
re-emitting.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from explorer.core.events import Emitter

METHODS = ("pca", "tsne", "umap")
COLOURS = ("class", "faithfulness")


@dataclass(eq=False)
class ViewState:
    events: Emitter = field(default_factory=Emitter, repr=False, compare=False)

    def fields(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if f.name != "events"]

    def update(self, **changes: Any) -> set[str]:
        """Set the given fields; emit "changed" with the names of those that changed (if any)."""
        changed = set()
        for name, value in changes.items():
            if name not in self.fields():
                raise AttributeError(f"{type(self).__name__} has no setting {name!r}")
            value = self._clean(name, value)
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.add(name)
        if changed:
            self.events.emit("changed", names=changed)
        return changed

    def to_dict(self) -> dict[str, Any]:
        """JSON-able settings (sets become sorted lists)."""
        out = {}
        for name in self.fields():
            value = getattr(self, name)
            out[name] = sorted(value) if isinstance(value, (set, frozenset)) else value
        return out

    def apply(self, settings: dict[str, Any]) -> set[str]:
        """Take the known, well-typed fields of ``settings`` (a saved :meth:`to_dict`); the rest is
        ignored, so a session from another version restores what it can."""
        changes = {}
        for name in self.fields():
            if name in settings:
                try:
                    changes[name] = self._clean(name, settings[name])
                except (TypeError, ValueError):
                    continue
        return self.update(**changes)

    def _clean(self, name: str, value: Any) -> Any:
        return value


@dataclass(eq=False)
class ScatterState(ViewState):
    """What the scatter view shows: whose codes (and whose beside them), laid out how, coloured how.

    model, compare_model: model names (None: not chosen yet); compare: show the second panel;
    method: "pca" | "tsne" | "umap"; seed; perplexity (t-SNE); neighbours (UMAP);
    colour: "class" | "faithfulness"; hidden: class indices not drawn.
    """

    model: str | None = None
    compare_model: str | None = None
    compare: bool = False
    method: str = "pca"
    seed: int = 0
    perplexity: float = 30.0
    neighbours: int = 15
    colour: str = "class"
    hidden: frozenset = frozenset()

    def params(self) -> dict[str, Any]:
        """The projection's parameters for ``method`` (what project_job takes besides the seed)."""
        if self.method == "tsne":
            return {"perplexity": float(self.perplexity)}
        if self.method == "umap":
            return {"n_neighbors": int(self.neighbours)}
        return {}

    def layout_settings(self) -> dict[str, Any]:
        """What, besides the model and the method, made a layout: the workspace keeps it beside
        each layout, so a view reuses a layout only when these match."""
        return {"seed": int(self.seed), **self.params()}

    def _clean(self, name: str, value: Any) -> Any:
        if name in ("model", "compare_model"):
            return None if value in (None, "") else str(value)
        if name == "compare":
            return bool(value)
        if name == "method":
            if value not in METHODS:
                raise ValueError(f"unknown method {value!r}")
            return str(value)
        if name == "colour":
            if value not in COLOURS:
                raise ValueError(f"unknown colour mode {value!r}")
            return str(value)
        if name in ("seed", "neighbours"):
            return int(value)
        if name == "perplexity":
            return float(value)
        if name == "hidden":
            return frozenset(int(k) for k in value)
        return value


VERIFICATION_SCORES = ("raw", "gallery", "unlabelled")  # explorer.jobs.verification.SCORES


@dataclass(eq=False)
class VerificationState(ViewState):
    """How the verification view scores pairs: score "raw" | "gallery" (AS-norm against the open
    data set itself, transductive) | "unlabelled" (AS-norm against its unlabelled items); top_k:
    AS-norm's top-k cohort scores (clamped to the cohort's size when used)."""

    score: str = "raw"
    top_k: int = 300

    def _clean(self, name: str, value: Any) -> Any:
        if name == "score":
            if value not in VERIFICATION_SCORES:
                raise ValueError(f"unknown score {value!r}")
            return str(value)
        if name == "top_k":
            value = int(value)
            if value < 2:
                raise ValueError("top-k must be at least 2")
            return value
        return value
