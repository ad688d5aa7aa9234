"""The training dialog's widgets: the settings column (model, data, settings, model options,
checkpoint) beside the run's progress, curves and sample panel, and the buttons under them."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.ui.qt_setup import configure_pyqtgraph

configure_pyqtgraph()  # before the panels module creates pens and plots
from explorer.ui.dialogs.training_panels import LossPlot, MetricPlot, OptionsForm, SamplePanel  # noqa: E402

# the window frame a window manager adds (its sides; the title bar and bottom edge): a dialog sized
# to the whole available area would have its title bar or its buttons off the screen
FRAME_ALLOWANCE = (16, 40)
STATE_LINES = (3, 6)  # the state line's height in lines: while a run reports, and at most
WIDGET_SIZE_MAX = 16_777_215  # Qt's QWIDGETSIZE_MAX (not in PySide6)


class TrainingForm:
    """Mixin of :class:`explorer.ui.dialogs.training.TrainingDialog`: ``_build`` makes the widgets
    (its attributes: model_box, epochs, batch_size, lr, code_dim, seed, val_fraction, augment,
    live_scatter, device_box, backbone_box, options, save_check, save_path, bar, state_label,
    loss_plot, metric_plot, samples and the buttons) and connects them to the dialog's slots."""

    def _build(self) -> None:
        self.model_box = QComboBox()
        self.model_box.setEnabled(False)
        self.model_box.addItem("reading model types…")
        self.model_box.currentIndexChanged.connect(self._on_model_chosen)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("hint")
        self.data_label = QLabel()
        self.data_label.setWordWrap(True)

        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 65_536)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 10.0)
        self.lr.setSingleStep(1e-4)
        self.code_dim = QSpinBox()
        self.code_dim.setRange(1, 65_536)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.val_fraction = QDoubleSpinBox()
        self.val_fraction.setRange(0.0, 0.5)
        self.val_fraction.setSingleStep(0.05)
        self.val_fraction.setValue(0.1)
        self.augment = QCheckBox("shift images by a pixel or two")
        self.image_size = QComboBox()  # filled per data set by fill_image_sizes
        self.image_size.setToolTip(
            "The size the model trains at: the shorter side scaled to this many pixels, the aspect "
            "ratio kept. The model remembers it and encodes any image by the same resize."
        )
        self.live_scatter = QCheckBox("1,000 items, twice an epoch")
        self.live_scatter.setChecked(True)
        self.live_scatter.setToolTip(
            "Encode a fixed probe set during training so the scatter view "
            "shows the codes move (costs a little speed)"
        )
        self.device_box = QComboBox()
        self.device_box.addItem("cpu", "cpu")
        self.backbone_box = QComboBox()  # fine-tuning: one of the loaded models, never typed
        self.backbone_box.setToolTip("The loaded model to fine-tune (trained here or opened)")
        self.backbone_box.currentIndexChanged.connect(lambda *_: self._update_start_enabled())

        common = QFormLayout()
        common.addRow("backbone", self.backbone_box)
        common.addRow("epochs", self.epochs)
        common.addRow("batch size", self.batch_size)
        common.addRow("learning rate", self.lr)
        common.addRow("code size", self.code_dim)
        common.addRow("validation share", self.val_fraction)
        common.addRow("seed", self.seed)
        common.addRow("image size", self.image_size)
        common.addRow("augment", self.augment)
        common.addRow("live scatter", self.live_scatter)
        common.addRow("device", self.device_box)
        self.options = OptionsForm()

        self.save_check = QCheckBox("Save checkpoint to")
        self.save_check.setChecked(True)
        self.save_path = QLineEdit()
        browse = QToolButton()
        browse.setText("…")
        browse.clicked.connect(self._browse_checkpoint)
        save_row = QHBoxLayout()
        save_row.addWidget(self.save_path, 1)
        save_row.addWidget(browse)
        self.save_check.toggled.connect(self.save_path.setEnabled)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(_group("Model", [self.model_box, self.description]))
        lv.addWidget(_group("Data", [self.data_label]))
        hp = QGroupBox("Settings")
        hp.setLayout(common)
        self._common = common
        lv.addWidget(hp)
        self.options_group = _group("Model options", [self.options])
        lv.addWidget(self.options_group)
        cp = QGroupBox("Checkpoint")
        cpl = QVBoxLayout(cp)
        cpl.addWidget(self.save_check)
        cpl.addLayout(save_row)
        lv.addWidget(cp)
        lv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._left, self._scroll = left, scroll

        # right: progress, curves, samples
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p%")
        self.state_label = QLabel("Choose a model and press Start.")
        self.state_label.setObjectName("trainState")
        # changing text must not re-lay out (and repaint) the plots below it: three lines, fixed,
        # while a run reports; the end of a run (where its checkpoint went, whether its codes
        # collapsed) may take up to STATE_LINES[1] (fit_state_label: it was cut top and bottom)
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.state_label.setWordWrap(True)
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.state_label.setFixedHeight(self._state_height(STATE_LINES[0]))
        self.loss_plot = LossPlot()
        self.metric_plot = MetricPlot()
        self.samples = SamplePanel()
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.samples)
        bottom.addWidget(self.metric_plot)
        self.metric_plot.hide()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_plot)
        right.addWidget(bottom)
        right.setSizes([380, 260])
        rv = QWidget()
        rl = QVBoxLayout(rv)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.state_label)
        rl.addWidget(self.bar)
        rl.addWidget(right, 1)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self.cancel)
        self.use_stopped_button = QPushButton("Use stopped model")
        self.use_stopped_button.setToolTip("Load the checkpoint the cancelled run kept")
        self.use_stopped_button.clicked.connect(self._use_stopped)
        self.use_stopped_button.hide()
        self.save_as_button = QPushButton("Save model as…")
        self.save_as_button.clicked.connect(self._save_as)
        self.save_as_button.setEnabled(False)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.use_stopped_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_as_button)
        buttons.addWidget(close)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(rv)
        split.setStretchFactor(1, 1)
        split.setSizes([380, 720])
        self._fit_left()
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        lay.addLayout(buttons)

    def fit_to_screen(self, width: int = 1100, height: int = 760) -> None:
        """Open at ``width`` x ``height``, or smaller to fit the screen's available area (less a
        title bar): on a 1280x720 screen a 760-px dialog put its buttons below the screen's edge.
        The settings column scrolls, the plots share what is left."""
        from PySide6.QtGui import QGuiApplication

        parent = self.parentWidget()
        screen = (parent.screen() if parent is not None else None) or self.screen()
        screen = screen or QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            width = min(width, area.width() - FRAME_ALLOWANCE[0])
            height = min(height, area.height() - FRAME_ALLOWANCE[1])
        hint = self.minimumSizeHint()
        self.resize(max(width, hint.width()), max(height, hint.height()))

    def _state_height(self, lines: int) -> int:
        return lines * self.state_label.fontMetrics().lineSpacing() + 4

    def fit_state_label(self) -> None:
        """Make the state line as tall as its text needs at its width (STATE_LINES[0] to [1]
        lines); its height changes only when that count of lines does, not with every report."""
        label = self.state_label
        width = label.width() if label.isVisible() else label.parentWidget().width()
        m = label.contentsMargins()
        box = QRect(0, 0, max(width - m.left() - m.right(), 50), 10_000)
        need = label.fontMetrics().boundingRect(box, Qt.TextFlag.TextWordWrap, label.text()).height()
        lines = -(-need // max(label.fontMetrics().lineSpacing(), 1))
        height = self._state_height(min(max(lines, STATE_LINES[0]), STATE_LINES[1]))
        if lines >= STATE_LINES[0] - 1:
            # near the fixed lines: ask the label itself, as it wraps (the app's style sheet sets
            # it in bold; the font's own measure said 3 lines where it wrapped to 4, the last cut
            # off). A fixed-height label answers at least the height it has: freed first.
            label.setMinimumHeight(0)
            label.setMaximumHeight(WIDGET_SIZE_MAX)
            own = label.heightForWidth(max(width, 50))
            low, high = self._state_height(STATE_LINES[0]), self._state_height(STATE_LINES[1])
            height = max(height, min(max(own, low), high))
        if height != label.height() or label.minimumHeight() != height or label.maximumHeight() != height:
            label.setFixedHeight(height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_state_label()  # narrower: the same text takes more lines

    def _fit_left(self) -> None:
        """Make the settings column wide enough for its widest row (it never scrolls sideways)."""
        bar = self._scroll.verticalScrollBar().sizeHint().width()
        self._scroll.setMinimumWidth(self._left.sizeHint().width() + bar + 6)


IMAGE_SIDES = (32, 48, 64, 96, 128)


def fill_image_sizes(box: QComboBox, shape) -> None:
    """The training sizes ``box`` offers for images of ``shape`` (C, H, W): automatic, as they are,
    and shorter sides of IMAGE_SIDES pixels, each with the H x W it gives; keeps the choice made."""
    from explorer.training.image_size import training_spec

    def size(side):
        spec = training_spec(shape, side)
        return f"{shape[1]}×{shape[2]}" if spec is None else f"{spec.height}×{spec.width}"

    chosen = box.currentData()
    box.blockSignals(True)
    box.clear()
    if shape is None:
        box.addItem("automatic", None)
    else:
        box.addItem(f"automatic ({size(None)})", None)
        box.addItem(f"as they are ({size(0)})", 0)
        for side in IMAGE_SIDES:
            if side < min(shape[1], shape[2]):
                box.addItem(f"{side} px ({size(side)})", side)
    k = box.findData(chosen)
    box.setCurrentIndex(k if k >= 0 else 0)
    box.blockSignals(False)


def _group(title: str, widgets: list[QWidget]) -> QGroupBox:
    box = QGroupBox(title)
    lay = QVBoxLayout(box)
    for w in widgets:
        lay.addWidget(w)
    return box
