"""The retrieval view's searches: one index per shown model, the right kind for its codes.

- float codes up to the brute-force threshold (:func:`explorer.retrieval.ann.wants_index`):
  the exact :class:`~explorer.retrieval.KnnIndex`, built on the GUI thread (it only wraps the codes);
- float codes above it: the FAISS IVF index of :mod:`explorer.retrieval.ann`, loaded from beside
  the codes cache or built there in a worker with progress; its measured recall@10 goes with it,
  and until it is ready the column says how far the build is;
- binary codes in the binary column: a :class:`~explorer.retrieval.HammingIndex` over the packed bits.

Every search is timed, so a column can show its query time beside its results.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from explorer.core.progress import Progress
from explorer.retrieval import HammingIndex, KnnIndex, ann, is_binary
from explorer.ui.workers import TaskRunner

HAMMING = "hamming"


class ColumnIndexes(QObject):
    """Indexes by (model name, metric), each valid for one codes array (by identity).

    ``changed`` is emitted when a FAISS build moves on or ends (the view refreshes its columns).
    """

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._have: dict[tuple[str, str], tuple[int, object]] = {}  # (name, metric) -> (id(codes), index)
        self._binary: dict[str, tuple[int, bool]] = {}  # name -> (id(codes), codes are 0/1)
        self._building: dict[tuple[str, str], str] = {}  # (name, metric) -> progress text
        self._failed: dict[tuple[str, str], tuple[int, str]] = {}
        self.last_ms: dict[tuple[str, str], float] = {}  # (name, metric) -> time of the last search
        self._runner = TaskRunner(self, min_interval=0.2, background=True)
        self._runner.partial.connect(self._on_progress)
        self._runner.done.connect(self._on_built)
        self._runner.failed.connect(self._on_failed)

    # ---- what the view asks ----------------------------------------------------------------------
    def is_binary(self, name: str, codes: np.ndarray) -> bool:
        """True when ``codes`` are all 0 or 1 (cached per codes array)."""
        have = self._binary.get(name)
        if have is None or have[0] != id(codes):
            have = (id(codes), is_binary(codes))
            self._binary[name] = have
        return have[1]

    def get(self, name: str, codes: np.ndarray, metric: str):
        """The index of ``codes`` for ``metric`` ("l2", "cosine" or "hamming"), or None while a
        FAISS index is being built for it (``status`` says how far)."""
        key = (name, metric)
        have = self._have.get(key)
        if have is not None and have[0] == id(codes):
            return have[1]
        if metric == HAMMING:
            index = HammingIndex(codes)
        elif not ann.wants_index(*codes.shape):
            index = KnnIndex(codes, metric)
        else:
            failed = self._failed.get(key)
            if failed is not None and failed[0] == id(codes):
                index = KnnIndex(codes, metric)  # the index could not be built: exact, slow but right
            else:
                self._start_build(key, codes)
                return None
        self._have[key] = (id(codes), index)
        return index

    def search(self, name: str, codes: np.ndarray, metric: str, query, k: int, exclude=None):
        """(indices (1, k), distances (1, k)) of ``query`` among ``codes``, or None while the index
        is being built; the time it took is kept in ``last_ms``."""
        index = self.get(name, codes, metric)
        if index is None:
            return None
        t0 = time.perf_counter()
        out = index.search(query, k, exclude)
        self.last_ms[(name, metric)] = 1e3 * (time.perf_counter() - t0)
        return out

    def status(self, name: str, metric: str) -> str:
        """What answers queries of (name, metric), in a few words, for the column's info line."""
        key = (name, metric)
        if key in self._building:
            return self._building[key]
        have = self._have.get(key)
        index = None if have is None else have[1]
        if isinstance(index, ann.AnnIndex):
            recall = "?" if index.recall_at_10 is None else f"{index.recall_at_10:.3f}"
            return f"FAISS index, recall@10 {recall} (measured on {index.recall_queries} queries)"
        if isinstance(index, HammingIndex):
            return f"{index.bits} bits · Hamming"
        if key in self._failed:
            return f"exact search (no index: {self._failed[key][1]})"
        return "exact search"

    def index_of(self, name: str, metric: str):
        have = self._have.get((name, metric))
        return None if have is None else have[1]

    def building(self) -> bool:
        return self._runner.is_running()

    def drop(self, name: str | None = None) -> None:
        """Forget the indexes of ``name`` (None: all), e.g. when its codes change."""
        for d in (self._have, self._binary, self._failed, self.last_ms):
            for key in list(d):
                if name is None or (key[0] if isinstance(key, tuple) else key) == name:
                    del d[key]
        tag = self._runner.tag
        if tag is not None and (name is None or tag[0][0] == name):
            self._runner.cancel()
            self._building.clear()

    def shutdown(self) -> None:
        self._runner.shutdown()

    # ---- the FAISS build ---------------------------------------------------------------------------
    def _start_build(self, key: tuple[str, str], codes: np.ndarray) -> None:
        tag = (key, id(codes))
        if self._runner.is_running() and self._runner.tag is not None:
            if self._runner.tag == tag:
                return
            if self._runner.tag[0] in self._building:  # one build at a time: this one waits for it
                self._building.setdefault(key, "waiting for another index to be built…")
                return
        self._building[key] = f"building the FAISS index of {len(codes):,} codes…"
        metric = key[1]
        self._runner.start(lambda: ann.neighbour_index_job(codes, metric), tag=tag)

    def _on_progress(self, tag, rec: Progress) -> None:
        key = tag[0]
        if key in self._building:
            self._building[key] = f"{rec.message} ({rec.fraction:.0%})"
            self.changed.emit()

    def _on_built(self, tag, index) -> None:
        key, codes_id = tag
        self._building.pop(key, None)
        self._have[key] = (codes_id, index)
        self._next_waiting()
        self.changed.emit()

    def _on_failed(self, tag, message: str) -> None:
        key, codes_id = tag
        self._building.pop(key, None)
        self._failed[key] = (codes_id, message)
        self._next_waiting()
        self.changed.emit()

    def _next_waiting(self) -> None:
        """Builds that waited are asked for again by the view's next refresh."""
        for key in list(self._building):
            if self._building[key].startswith("waiting"):
                del self._building[key]
