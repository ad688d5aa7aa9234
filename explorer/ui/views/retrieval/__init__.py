"""The retrieval view: a query and its nearest neighbours under several models, side by side.

Top: the query slot (the workspace query: an item picked in the data grid or the scatter, a data
grid item dragged onto it, or an image file dropped from the file manager, which is brought to
the data set's shape and encoded on the fly by each column's encoder in a worker), back/forward
through past queries, k and the distance. Middle: one column of top-k results per chosen model
(by default the current model, raw pixels and, when loaded, a second model); each result has a
green tick or red cross frame saying whether its class matches the query's. Clicking a result
makes it the query. Bottom: leave-one-out figures of every shown model on the whole data set
(computed in a worker whenever codes change) and that model's worst queries (click to open).
"""

from explorer.ui.views.retrieval.view import View
from explorer.ui.views.retrieval.widgets import (
    BAD,
    GOOD,
    INDEX_ROLE,
    MIME_INDEX,
    NEUTRAL,
    MetricsPanel,
    QuerySlot,
    ResultColumn,
    load_query_image,
    marked_tile,
    qimage_to_array,
)

TITLE = "Retrieval"
AREA = "center"
ORDER = 20

__all__ = [
    "AREA",
    "BAD",
    "GOOD",
    "INDEX_ROLE",
    "MIME_INDEX",
    "NEUTRAL",
    "ORDER",
    "TITLE",
    "MetricsPanel",
    "QuerySlot",
    "ResultColumn",
    "View",
    "load_query_image",
    "marked_tile",
    "qimage_to_array",
]
