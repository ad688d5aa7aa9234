"""The scatter view's two rows of controls: model, method and its parameters, compare; the
selection modes, search, colour, export and the training-run slider. Widgets only: the view
connects them and keeps them in step with its state."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
)

METHODS = [("PCA", "pca"), ("t-SNE", "tsne"), ("UMAP", "umap")]


class ScatterControls:
    """``top``, ``tools`` and ``live`` (the training run's slider): the rows (QHBoxLayouts);
    ``on_export(kind)`` is called with "png", "svg", "csv", "npy" or "tsv" from the export menu."""

    # the widgets the view exposes under the same names (tests and the main window use them)
    WIDGETS = (
        "model_combo",
        "method_combo",
        "seed_spin",
        "perplexity_spin",
        "neighbours_spin",
        "compare_check",
        "compare_combo",
        "faith_label",
        "mode_buttons",
        "reset_button",
        "clear_button",
        "search_edit",
        "colour_combo",
        "export_button",
        "live_check",
        "frame_slider",
        "frame_label",
        "cluster_combo",
        "contours_check",
    )

    def __init__(self, on_export: Callable[[str], None]) -> None:
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Whose codes to lay out")
        # model names like "siamese (mnist[0:2500])" must stay readable
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model_combo.setMinimumContentsLength(14)
        self.method_combo = QComboBox()
        for label, key in METHODS:
            self.method_combo.addItem(label, key)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 99999)
        self.seed_spin.setPrefix("seed ")
        self.perplexity_spin = QDoubleSpinBox()
        self.perplexity_spin.setRange(2, 200)
        self.perplexity_spin.setValue(30)
        self.perplexity_spin.setPrefix("perplexity ")
        self.neighbours_spin = QSpinBox()
        self.neighbours_spin.setRange(2, 200)
        self.neighbours_spin.setValue(15)
        self.neighbours_spin.setPrefix("neighbours ")
        self.compare_check = QCheckBox("Compare with")
        self.compare_combo = QComboBox()
        self.compare_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.compare_combo.setMinimumContentsLength(14)
        self.compare_combo.setEnabled(False)
        self.compare_combo.setPlaceholderText("no second model")
        self.faith_label = QLabel("10-NN kept: –")
        widest = self.faith_label.fontMetrics().horizontalAdvance("10-NN kept: 0.00 | 0.00")
        self.faith_label.setMinimumWidth(widest + 8)
        self.faith_label.setToolTip(
            "Faithfulness: the share of each point's 10 nearest neighbours in code space that are also\n"
            "its 10 nearest in the plot (1 = neighbourhoods kept exactly)."
        )
        top = self.top = QHBoxLayout()
        for w in (
            QLabel("Model"),
            self.model_combo,
            self.method_combo,
            self.seed_spin,
            self.perplexity_spin,
            self.neighbours_spin,
            self.compare_check,
            self.compare_combo,
        ):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.faith_label)

        self.mode_buttons = {}
        tools = self.tools = QHBoxLayout()
        for mode, text, tip in (
            ("pan", "Pan", "Drag to pan, wheel to zoom"),
            ("box", "Box", "Drag a rectangle to select"),
            ("lasso", "Lasso", "Draw around points to select"),
        ):
            # tool buttons, not push buttons (80 px each at least): the row must fit the tab of a
            # 1280 px window beside the data dock (it was 1,077 px wide and scrolled)
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setAutoExclusive(True)
            b.setToolTip(tip)
            self.mode_buttons[mode] = b
            tools.addWidget(b)
        self.mode_buttons["pan"].setChecked(True)
        self.reset_button = QToolButton()
        self.reset_button.setText("Reset view")
        self.reset_button.setToolTip("Show the whole layout")
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear the selection")
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Find class…")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(90)
        self.search_edit.setMaximumWidth(160)
        self.colour_combo = QComboBox()
        self.colour_combo.addItems(["Colour: class", "Colour: faithfulness"])
        _compact(self.colour_combo, 11)
        from explorer.ui.views.scatter.overlays import CLUSTER_CHOICES

        self.cluster_combo = QComboBox()
        self.cluster_combo.addItems([label for label, _ in CLUSTER_CHOICES])
        _compact(self.cluster_combo, 11)
        self.cluster_combo.setToolTip(
            "Cluster the points, colour them by cluster and label each cluster\n"
            "with its majority class, purity and most typical items"
        )
        self.contours_check = QCheckBox("Contours")
        self.contours_check.setToolTip("Density contours of the layout (25, 50, 75 and 90% of the points)")
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Plot as PNG…", lambda: on_export("png"))
        menu.addAction("Plot as SVG…", lambda: on_export("svg"))
        menu.addAction("Layout as CSV…", lambda: on_export("csv"))
        menu.addAction("Layout as .npy…", lambda: on_export("npy"))
        menu.addAction("Codes as projector TSV…", lambda: on_export("tsv"))
        self.export_button.setMenu(menu)
        self.live_check = QCheckBox("Follow training")
        self.live_check.setChecked(True)
        self.live_check.setToolTip("Show the probe items of the current training run, frame by frame")
        self.frame_slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setEnabled(False)
        self.frame_slider.setMinimumWidth(120)
        self.frame_slider.setMaximumWidth(240)
        self.frame_label = QLabel("")
        # a run's name can be long ("siamese (mnist[0:2500]) #3: step 1,234 (12/40)"): the label
        # takes the room the row has and is cut, so the row never asks for more than the window
        self.frame_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.frame_label.setMinimumWidth(60)
        for w in (
            self.reset_button,
            self.clear_button,
            self.search_edit,
            self.colour_combo,
            self.cluster_combo,
            self.contours_check,
            self.export_button,
        ):
            tools.addWidget(w)
        tools.addStretch(1)
        # the training run's row of its own (shown only while there are frames): it adds height,
        # never width, to a tools row that already fills a narrow window
        live = self.live = QHBoxLayout()
        live.addWidget(self.live_check)
        live.addWidget(self.frame_slider)
        live.addWidget(self.frame_label, 1)

    # ---- in step with the view's state (explorer.core.view_state.ScatterState) ---------------
    def values(self) -> dict:
        """The settings the widgets show, as ScatterState fields (not ``hidden``: the legend's)."""
        return {
            "model": self.model_combo.currentText() or None,
            "compare_model": self.compare_combo.currentText() or None,
            "compare": self.compare_check.isChecked(),
            "method": self.method_combo.currentData(),
            "seed": int(self.seed_spin.value()),
            "perplexity": float(self.perplexity_spin.value()),
            "neighbours": int(self.neighbours_spin.value()),
            "colour": "faithfulness" if self.colour_combo.currentIndex() == 1 else "class",
        }

    def show(self, state) -> None:
        """Set the widgets to ``state`` without their change signals (the caller redraws once)."""
        widgets = (
            self.model_combo,
            self.compare_combo,
            self.compare_check,
            self.method_combo,
            self.seed_spin,
            self.perplexity_spin,
            self.neighbours_spin,
            self.colour_combo,
        )
        for w in widgets:
            w.blockSignals(True)
        try:
            for combo, name in ((self.model_combo, state.model), (self.compare_combo, state.compare_model)):
                if name is not None and combo.findText(name) >= 0:
                    combo.setCurrentText(name)
            self.compare_check.setChecked(state.compare)
            self.compare_combo.setEnabled(state.compare)
            self.method_combo.setCurrentIndex([k for _, k in METHODS].index(state.method))
            self.seed_spin.setValue(state.seed)
            self.perplexity_spin.setValue(state.perplexity)
            self.neighbours_spin.setValue(state.neighbours)
            self.colour_combo.setCurrentIndex(1 if state.colour == "faithfulness" else 0)
        finally:
            for w in widgets:
                w.blockSignals(False)


def _compact(combo: QComboBox, chars: int) -> None:
    """``combo`` asks for room for ``chars`` characters, not for its longest item (its popup
    still shows every item whole)."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(chars)
