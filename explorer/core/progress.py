"""Progress records: what long-running generators yield.

Long work (training, encoding, projection, evaluation) is a generator that yields one of these
between small steps. The caller stops it by closing the generator (``gen.close()``) or simply not
asking for more; the CLI draws a text bar from the records, the GUI worker turns them into signals.
Records are frozen and carry numpy copies, never live tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping


@dataclass(frozen=True)
class Progress:
    """One step of a long job.

    step, total: how far along (total 0 when unknown).
    message:     short text for a status line ("epoch 2/5", "encoding").
    loss:        current training loss, if any.
    metrics:     other numbers worth plotting (val_loss, auc, kl, throughput, eta_s, ...).
    payload:     a partial result (numpy layout, codes, sample images) for a view to show.
    """

    step: int = 0
    total: int = 0
    message: str = ""
    loss: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    payload: Any = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total) if self.total else 0.0


def run_to_end(gen: Iterator[Progress]):
    """Drive a progress generator to its end and return its ``return`` value (no UI)."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
