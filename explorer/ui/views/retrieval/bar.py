"""The retrieval view's query bar: the query slot, the query's description and status, back and
forward through past queries, an image file as the query, k and the distance."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.views.retrieval.widgets import QuerySlot


class QueryBar(QWidget):
    """The widgets above the result columns; the view wires them (see ``PARTS``)."""

    PARTS = (
        "query_slot",
        "query_label",
        "status",
        "back_button",
        "forward_button",
        "open_button",
        "k_spin",
        "metric_box",
    )

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.query_slot = QuerySlot()
        self.query_label = QLabel()
        self.query_label.setObjectName("queryLabel")
        self.query_label.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("retrievalStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #555;")
        self.back_button = QToolButton()
        self.back_button.setText("◀ Back")
        self.back_button.setToolTip("Previous query")
        self.forward_button = QToolButton()
        self.forward_button.setText("Forward ▶")
        self.forward_button.setToolTip("Next query")
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Use an image file as the query")
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 100)
        self.k_spin.setValue(16)
        self.k_spin.setPrefix("k = ")
        self.k_spin.setToolTip("Number of results per column")
        self.metric_box = QComboBox()
        self.metric_box.addItem("L2 distance", "l2")
        self.metric_box.addItem("cosine distance", "cosine")
        self.metric_box.setToolTip("How codes are compared")

        controls = QHBoxLayout()
        for w in (self.back_button, self.forward_button, self.open_button, self.k_spin, self.metric_box):
            controls.addWidget(w)
        controls.addStretch(1)
        text = QVBoxLayout()
        text.addLayout(controls)
        text.addWidget(self.query_label)
        text.addWidget(self.status)
        text.addStretch(1)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.query_slot)
        bar.addLayout(text, 1)
