"""A tiny observer: named events with keyword payloads, no Qt (the ui adapter re-emits them)."""

from __future__ import annotations

from collections import defaultdict
from typing import Callable


class Emitter:
    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable]] = defaultdict(list)

    def connect(self, event: str, callback: Callable) -> None:
        self._listeners[event].append(callback)

    def disconnect(self, event: str, callback: Callable) -> None:
        if callback in self._listeners[event]:
            self._listeners[event].remove(callback)

    def emit(self, event: str, **payload) -> None:
        for callback in list(self._listeners[event]):
            callback(**payload)
