"""The relational view: infer the transformation between two images and apply it to others.

Top left, the example pair (``pair_form``): x is an item of the open data set (images of another
size or channels brought to the model's in a worker, as encoders get them; generated random dots
only for data without images) or a dropped image; y is its partner in a
pair set, the next frame of its sequence, any other item, x under a transformation picked here
(shift dx, dy; rotation angle; scale) or a dropped image. Top right, the mapping units z that the
gated autoencoder infers from (x, y), as a bar chart. Middle, the analogy (``analogy_panel``):
a row of x' images (any items), the model's ŷ' for each, the true y' where it is known, one line
comparing the model's analogy error with copying x' (saying plainly when the model does worse),
the same on many analogies of the open data, and a slot for one dropped third image. Bottom
(``mapping_codes``), the factor filter pairs and the mapping codes of many pairs of the open data
laid out in 2-D, coloured by the true transformation or by sequence.

The model is a gated autoencoder among the workspace's models (key 'gae'), else the default
``sample_data/models/gae_shifts.safetensors``. The analogy itself is cheap and runs at once; the
layout of the mapping codes runs in a TaskRunner worker.
"""

from explorer.jobs.relational import mapping_layout_job
from explorer.ui.views.relational.analogy_panel import N_APPLY, AnalogyPanel, parse_items, verdict
from explorer.ui.views.relational.mapping_codes import CodeTabs
from explorer.ui.views.relational.pair_form import ITEM, NEXT, PARTNER, TRANSFORM, PairForm
from explorer.ui.views.relational.slots import (
    ROW_PX,
    SLOT_PX,
    ImageSlot,
    default_model_path,
    find_relational_models,
)
from explorer.ui.views.relational.view import View

TITLE = "Relational"
AREA = "center"
ORDER = 50

__all__ = [
    "AREA",
    "ITEM",
    "N_APPLY",
    "NEXT",
    "ORDER",
    "PARTNER",
    "ROW_PX",
    "SLOT_PX",
    "TITLE",
    "TRANSFORM",
    "AnalogyPanel",
    "CodeTabs",
    "ImageSlot",
    "PairForm",
    "View",
    "default_model_path",
    "find_relational_models",
    "mapping_layout_job",
    "parse_items",
    "verdict",
]
