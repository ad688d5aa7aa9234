"""Filling the retrieval view's result columns: search the column's model, make its tiles
(thumbnails with a tick or cross frame; text snippets for documents) and its info line."""

from __future__ import annotations

import numpy as np

from explorer.data.documents import document_snippet
from explorer.ui.imaging import to_pixmap
from explorer.ui.numbers import caption_number
from explorer.ui.views.retrieval.indexes import HAMMING
from explorer.ui.views.retrieval.widgets import THUMB, blank_tile, marked_tile, match_icon

NO_BINARY = (
    "No binary codes loaded. Train a binae model (Models ▸ Train…, or explorer train --model binae) "
    "to search its 256-bit codes by Hamming distance beside the float codes."
)


def fill_column(view, col, name: str | None, metric: str) -> None:
    """Search ``col``'s model ``name`` under ``metric`` for the view's query and show the results
    (or why there are none) in the column."""
    ws, ds = view.ws, view.ws.dataset
    if name is None:
        if col is view.binary_column:
            col.show_message(NO_BINARY)
        else:
            col.show_message(
                "Choose a second model above to compare three ways."
                if col is view.columns[2]
                else "Load or train a model (Models menu) to compare it with raw pixels."
            )
        return
    if ds is None:
        col.show_message("No data set open.")
        return
    codes = ws.codes.get(name)
    if codes is None:
        col.show_message(f"Waiting for the codes of {name}…")
        return
    what = f"{codes.shape[1]} bits" if metric == HAMMING else f"{codes.shape[1]}-d codes"
    if ws.query_index is not None:
        query, exclude = codes[ws.query_index], np.array([ws.query_index])
    elif ws.query_image is not None:
        query, exclude = view.query_codes.get(name), None
        if query is None:
            col.show_message(
                f"Encoding the query with {name}…"
                if name in ws.models
                else f"{name} has no encoder for an external image."
            )
            return
    else:
        col.show_message(
            "Pick a query: double-click an item in the data grid, click a point "
            "in the scatter, or drop an image file on the query slot.",
            what,
        )
        return
    found = view.indexes.search(name, codes, metric, query, view.k, exclude)
    status = view.indexes.status(name, metric)
    if found is None:  # the FAISS index is being built
        col.show_message(f"{status}\nResults come when the index is ready.", what)
        return
    tiles, hits = result_tiles(view, *found)
    info = column_info(view, name, metric, what, status)
    if view.query_class() is not None and tiles:
        info += f" · {hits}/{len(tiles)} of the query's {view._group_word(ds)}"
    col.show_results(tiles, info, text=view.documents())


def result_tiles(view, idx: np.ndarray, dist: np.ndarray) -> tuple[list[tuple], int]:
    """(data set index, marked pixmap, caption, tooltip) per result, and how many match the query."""
    ds = view.ws.dataset
    qclass = view.query_class()
    thumbs = view.ctx.services.get("thumbnails")
    docs = view.documents()
    tiles, hits = [], 0
    for i, d in zip(idx[0].tolist(), dist[0].tolist()):
        if i < 0:  # an approximate index found fewer than k
            continue
        label = int(ds.labels[i]) if ds.labels is not None else -1
        match = None if qclass is None or label < 0 else label == qclass
        hits += bool(match)
        mark = "" if match is None else ("✓ " if match else "✗ ")
        cls = ds.label_name(i)
        tip = (
            f"item #{i}" + (f", class {cls}" if cls else "") + f"\ndistance {d:.4g}\nclick: make it the query"
        )
        if docs:
            text = document_snippet(ds, i, 110)  # the longer text is in the tooltip
            caption = f"{mark}#{i} · d {caption_number(d)}" + (f" · {cls}" if cls else "") + f"\n{text}"
            tiles.append((i, match_icon(match), caption, tip + "\n\n" + document_snippet(ds, i, 1200)))
            continue
        pix = (
            (thumbs.get(ds, i, THUMB) if thumbs is not None else to_pixmap(ds.images[i], THUMB))
            if ds.has_images
            else blank_tile(THUMB)
        )
        tiles.append((i, marked_tile(pix, match, THUMB), f"{mark}#{i}\nd {caption_number(d)}", tip))
    return tiles, hits


def column_info(view, name: str, metric: str, what: str, status: str) -> str:
    """The column's line above its results: codes, search, query time, MAP@R."""
    parts = [what if metric != HAMMING else status]
    if metric != HAMMING and status != "exact search":
        parts.append(status)
    ms = view.indexes.last_ms.get((name, metric))
    if ms is not None:
        parts.append(f"query {ms:.2f} ms")
    m = view.metrics_of(name, metric)
    if m is not None:
        parts.append(f"MAP@R {m.map_at_r:.3f}")
    return " · ".join(parts)
