"""The main window's status bar parts: the open data set's facts, and background jobs' progress."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class JobIndicator(QWidget):
    """Status-bar progress of background jobs: the newest job's message and a small bar."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setObjectName("jobLabel")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(140)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        self.jobs: dict[str, tuple[str, float]] = {}
        self._refresh()

    def update_job(self, key: str, message: str, fraction: float) -> None:
        self.jobs.pop(key, None)
        self.jobs[key] = (message, fraction)  # newest last
        self._refresh()

    def finish_job(self, key: str) -> None:
        self.jobs.pop(key, None)
        self._refresh()

    def _refresh(self) -> None:
        if not self.jobs:
            self.hide()
            return
        message, fraction = next(reversed(self.jobs.values()))
        more = f"  (+{len(self.jobs) - 1})" if len(self.jobs) > 1 else ""
        self.label.setText(message + more)
        if fraction < 0:
            self.bar.setRange(0, 0)  # busy indicator
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))
        self.show()


def dataset_facts_text(ds) -> str:
    """One status line: name, count, shape, classes (or sequences), format, skipped files, notes."""
    parts = [f"<b>{ds.name or 'data'}</b>", f"{ds.count:,} {'images' if ds.has_images else 'items'}"]
    if ds.shape:
        c, h, w = ds.shape
        parts.append(f"{c}×{h}×{w}")
    elif ds.codes is not None:
        parts.append(f"{ds.codes.shape[1]}-D codes")
    if ds.labels is not None and ds.class_names:
        from explorer.data.pairs import group_word  # (numpy only; a few ms: 64 small frames at most)

        parts.append(f"{len(ds.class_names)} {group_word(ds)}")
    if ds.format:
        parts.append(ds.format)
    if ds.skipped:
        parts.append(f"<span style='color:#b35900'>{len(ds.skipped)} skipped</span>")
    if ds.notes:
        parts.append(f"<i>{ds.notes[0]}{' …' if len(ds.notes) > 1 else ''}</i>")
    return "  ·  ".join(parts)
