"""The verification panel's widgets and their layout (the View wires them up)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
)

from explorer.ui.views.verification.charts import (
    ErrorGrid,
    MetricsTable,
    RocPlot,
    ScoreHistogram,
    ThresholdSlider,
)
from explorer.ui.views.verification.slots import PairSlot


def build_panel(view) -> None:
    """Make and lay out the panel's widgets as attributes of ``view`` (the View), as Qt
    Designer's setupUi does: the slots and the verdict over its threshold on top, the ROC and the
    score histograms below (they take the height left), the figures and the hardest errors.
    Compact enough for a 1280x720 window."""
    view.slot_a, view.slot_b = PairSlot("A"), PairSlot("B")
    for k, slot in enumerate((view.slot_a, view.slot_b)):
        slot.dropped_files.connect(lambda paths, k=k: view._on_files(k, paths))
        slot.dropped_indices.connect(lambda idx, k=k: view._on_indices(k, idx))
        slot.dropped_image.connect(lambda img, k=k: view._on_qimage(k, img))
        slot.open_clicked.connect(lambda k=k: view._open_file(k))

    view.score_label = QLabel("score —", alignment=Qt.AlignmentFlag.AlignCenter)
    font = QFont(view.font())
    font.setPointSize(15)
    view.score_label.setFont(font)
    view.verdict = QLabel("", alignment=Qt.AlignmentFlag.AlignCenter)
    font = QFont(view.font())
    font.setPointSize(22)
    font.setBold(True)
    view.verdict.setFont(font)
    view.verdict.setMinimumSize(220, 50)
    view.verdict_note = QLabel("", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
    _at_most_lines(view.verdict_note, 2)
    verdict_box = QVBoxLayout()
    verdict_box.addStretch(1)
    for w in (view.score_label, view.verdict, view.verdict_note):
        verdict_box.addWidget(w)
    verdict_box.addStretch(1)

    view.model_combo = QComboBox(toolTip="The model that scores pairs")
    view.compare_combo = QComboBox(toolTip="A second model whose ROC is drawn on the same plot")
    # until the user picks, the panel shows the app's current model against pixels
    view._picked = {view.model_combo: False, view.compare_combo: False}
    for combo in view._picked:
        combo.activated.connect(lambda *_, c=combo: view._picked.__setitem__(c, True))
    view.metric_combo = QComboBox(toolTip="Distance between codes (encoders only)")
    view.metric_combo.addItems(["l2", "cosine"])
    for combo in (view.model_combo, view.compare_combo):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        combo.setMinimumContentsLength(14)
    for combo in (view.model_combo, view.compare_combo, view.metric_combo):
        combo.currentTextChanged.connect(view._on_choice_changed)
    _score_controls(view)
    load_btn = QToolButton(text="Load…", toolTip="Load a model file (.safetensors, .pt, .pt2, .onnx)")
    load_btn.clicked.connect(view._load_model)
    view.progress = QProgressBar(maximum=1000, textVisible=False, maximumHeight=10)
    view.progress.hide()
    view.status = QLabel("", wordWrap=True)
    view.status.setStyleSheet("color: #555;")
    _at_most_lines(view.status, 3)
    controls = QGridLayout()
    controls.addWidget(QLabel("Model"), 0, 0)
    controls.addWidget(view.model_combo, 0, 1)
    controls.addWidget(load_btn, 0, 2)
    controls.addWidget(QLabel("Compare"), 1, 0)
    controls.addWidget(view.compare_combo, 1, 1)
    controls.addWidget(QLabel("Distance"), 2, 0)
    controls.addWidget(view.metric_combo, 2, 1)
    controls.addWidget(QLabel("Score"), 3, 0)
    controls.addWidget(view.score_combo, 3, 1)
    controls.addWidget(QLabel("AS-norm"), 4, 0)
    controls.addWidget(view.top_k_spin, 4, 1)
    controls.addWidget(view.score_note, 5, 0, 1, 3)
    controls.addWidget(view.progress, 6, 0, 1, 3)
    controls.addWidget(view.status, 7, 0, 1, 3)
    controls.setRowStretch(8, 1)
    top = QHBoxLayout()
    top.addWidget(view.slot_a)
    top.addWidget(view.slot_b)
    middle = QVBoxLayout()  # the verdict over the threshold that makes it
    middle.addLayout(verdict_box)
    top.addLayout(middle, 2)
    top.addLayout(controls, 1)

    view.slider = ThresholdSlider()
    view.slider.score_changed.connect(view._on_slider)
    view.slider.setToolTip("The threshold: pairs scoring at or above it are a MATCH")
    view.threshold_label = QLabel("threshold —", alignment=Qt.AlignmentFlag.AlignCenter)
    eer_btn = QToolButton(text="EER", toolTip="Set the threshold where FAR = FRR")
    far_btn = QToolButton(text="FAR 1e-3", toolTip="Set the threshold for a false accept rate of 0.1%")
    eer_btn.clicked.connect(lambda: view._snap("eer"))
    far_btn.clicked.connect(lambda: view._snap("far"))
    thr_row = QHBoxLayout()
    for w, stretch in ((view.slider, 1), (eer_btn, 0), (far_btn, 0)):
        thr_row.addWidget(w, stretch)
    middle.addLayout(thr_row)
    middle.addWidget(view.threshold_label)

    view.roc_plot = RocPlot()
    view.hist_plot = ScoreHistogram()
    for plot in (view.roc_plot, view.hist_plot):  # the plots take what the rest leaves
        plot.setMinimumHeight(150)
    view.hist_plot.threshold_dragged.connect(view.set_threshold)
    view.table = MetricsTable()
    view.fa_grid, view.fr_grid = ErrorGrid(), ErrorGrid()
    view.fa_title = QLabel("<b>Hardest false accepts</b>")
    view.fr_title = QLabel("<b>Hardest false rejects</b>")
    grids = QGridLayout()
    for col, (title, grid) in enumerate(((view.fa_title, view.fa_grid), (view.fr_title, view.fr_grid))):
        grid.pair_clicked.connect(view.load_pair)
        grids.addWidget(title, 0, col)
        grids.addWidget(grid, 1, col)

    plots = QHBoxLayout()
    plots.addWidget(view.roc_plot, 1)
    plots.addWidget(view.hist_plot, 1)
    lay = QVBoxLayout(view)
    lay.setContentsMargins(6, 4, 6, 4)
    lay.setSpacing(4)
    lay.addLayout(top)
    lay.addLayout(plots, 1)
    lay.addWidget(view.table)
    lay.addLayout(grids)


SCORE_CHOICES = (  # (state value, text, tooltip)
    ("raw", "raw", "The raw score: the negative distance between the codes (a pair model's logit)"),
    (
        "gallery",
        "AS-norm · this set",
        "Adaptive symmetric normalisation: each side's score is judged against the mean and spread of "
        "its top-k scores against the open data set's other items. Transductive: the cohort is the "
        "very set being measured, so its figures use the set's unlabelled structure.",
    ),
    (
        "unlabelled",
        "AS-norm · unlabelled",
        "AS-norm against the open data set's unlabelled items only: they are in no measured pair, so "
        "the figures do not use the measured items (offered when there are at least two)",
    ),
)


def _score_controls(view) -> None:
    """The score choice (raw or AS-norm against a cohort), its top-k and the line saying which."""
    view.score_combo = QComboBox(toolTip="How pair scores are normalised (codes only)")
    view.score_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    view.score_combo.setMinimumContentsLength(14)
    for k, (value, text, tip) in enumerate(SCORE_CHOICES):
        view.score_combo.addItem(text, value)
        view.score_combo.setItemData(k, tip, Qt.ItemDataRole.ToolTipRole)
    view.top_k_spin = QSpinBox(
        minimum=2,
        maximum=100_000,
        value=300,
        prefix="top ",
        toolTip="AS-norm's top-k cohort scores (300 measured best; at most the cohort's size)",
    )
    view.score_note = QLabel("", wordWrap=True)
    view.score_note.setStyleSheet("color: #555;")
    _at_most_lines(view.score_note, 2)


def _at_most_lines(label: QLabel, lines: int) -> None:
    """A wrapped label no taller than ``lines`` lines (a long message must not push the plots
    off a 720-pixel window); the whole text stays in its tooltip."""
    label.setMaximumHeight(lines * label.fontMetrics().lineSpacing() + 4)
    label.setToolTip("")
