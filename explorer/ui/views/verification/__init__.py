"""The verification panel: is this pair the same identity? Two slots, a threshold, and the ROC.

Top: drop slots A and B. They take image files from the file manager (read with Pillow and
brought to the data set's shape, with a note saying how), items dragged from the data grid,
retrieval results or the scatter (``application/x-explorer-index``), or a pair clicked in the
hardest-error grids below. Beside them: the pair's score under the chosen model and, in large
type, MATCH (green) or MISMATCH (red) at the current threshold.

Middle: the threshold slider, with marks at the EER threshold and at FAR 1e-3.

Bottom: the open data set's ROC (FAR on a log axis) for the chosen model and a second one to
compare, the genuine and impostor score histograms with the threshold line (drag it), a table of
AUC / EER / TAR@FAR / 10-fold accuracy, and the hardest false accepts and false rejects at the
threshold (click one to load it into A and B).

Scores are the negative distance between codes (L2 or cosine) for encoders, and the pair
classifier's logit for a pair scorer such as ``pairnet``. The "Score" choice normalises code
scores by AS-norm (verification/norm.py) against the open data set itself (transductive) or its
unlabelled items, for the figures, the histograms, the threshold and the pair's score alike; each
number names its unit. Whole-set evaluation runs in a
TaskRunner worker whenever the data set, the codes, the models or the metric change.
"""

from explorer.ui.views.verification.charts import BLUE, GREEN, ORANGE, RED
from explorer.ui.views.verification.panel import HARDEST, NONE, View
from explorer.jobs.verification import GUI_SCORER_PAIRS, Evaluation, evaluation_job, pair_scorer_of
from explorer.ui.views.verification.slots import MIME_INDEX, SlotItem, load_pair_image, qimage_to_array

TITLE = "Verification"
AREA = "center"
ORDER = 30

__all__ = [
    "AREA",
    "BLUE",
    "Evaluation",
    "GREEN",
    "GUI_SCORER_PAIRS",
    "HARDEST",
    "MIME_INDEX",
    "NONE",
    "ORANGE",
    "ORDER",
    "RED",
    "SlotItem",
    "TITLE",
    "View",
    "evaluation_job",
    "load_pair_image",
    "pair_scorer_of",
    "qimage_to_array",
]
