"""Point colours of the scatter: a palette index per point, by class or by faithfulness, with the
points outside the emphasis (selection, searched classes) washed out. Numpy in, numpy out."""

from __future__ import annotations

import numpy as np

from explorer.jobs.scatter.grid import _jit, numba

# Categorical colours for up to 30 classes. The first ten are Tableau 10 (what a plot of <= 10
# classes looked like before); the other twenty were picked greedily, glasbey-style: each the
# colour (CIELAB lightness 32..80, so it shows on white; chroma <= 60, so it is not garish) that is
# farthest from all colours before it and from the grey of unlabelled points. Any two of the 30
# differ by at least 25.8 in CIELAB (Delta E 1976; the hue wheel used before had 3.7 between
# neighbouring classes at 20 classes), so neighbouring class numbers never look alike.
CLASS_COLOURS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#5a3796", "#9b005a", "#1e553c", "#786e00", "#a09bff",
    "#823700", "#00dcaf", "#00c8ff", "#ff96f0", "#c3c887",
    "#fab482", "#5a4655", "#b4c3f5", "#823237", "#0064be",
    "#f064a0", "#2d5a00", "#738250", "#aa4ba0", "#00916e",
)  # fmt: skip
GREY = (150, 150, 150, 255)  # unlabelled points, and points whose faithfulness is unknown
DIM_ALPHA = 70


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))


def class_palette(k: int) -> np.ndarray:
    """(k, 4) uint8 RGBA, one opaque colour per class: :data:`CLASS_COLOURS` in order, then (past
    30 classes, where no palette keeps every pair apart) hues a golden angle apart at three
    lightnesses."""
    cols = [(*_rgb(c), 255) for c in CLASS_COLOURS[: max(k, 1)]]
    for i in range(len(cols), max(k, 1)):
        h = (i * 0.618033988749895) % 1.0
        v = (0.85, 0.65, 0.45)[i % 3]
        cols.append((*_hsv_to_rgb(h, 0.75, v), 255))
    return np.array(cols, dtype=np.uint8)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))[i]
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def ramp_palette(levels: int = 11) -> np.ndarray:
    """(levels, 4) uint8: red (0, untrustworthy) through amber to green (1, faithful)."""
    t = np.linspace(0.0, 1.0, levels)
    r = np.interp(t, [0, 0.5, 1], [215, 240, 40])
    g = np.interp(t, [0, 0.5, 1], [48, 190, 160])
    b = np.interp(t, [0, 0.5, 1], [39, 60, 80])
    return np.stack([r, g, b, np.full(levels, 255)], axis=1).astype(np.uint8)


def code_dtype(n_colours: int) -> type:
    """The smallest unsigned integer type that holds ``n_colours`` palette indices and one more
    (the renderer's code for "not drawn")."""
    return np.uint8 if n_colours < 255 else np.uint16 if n_colours < 65535 else np.uint32


@_jit
def _class_codes(labels, grey, others, offset, out):  # pragma: no cover (numba)
    """``out[i]`` = the label, or ``grey`` for a label outside [0, grey), plus ``offset`` where
    ``others[i]`` (the points outside the emphasis): one pass instead of numpy's four (a cast,
    a minimum, an invert and a multiply-add: 19-27 ms at 10^7 int64 labels)."""
    for i in range(labels.shape[0]):
        v = labels[i]
        c = v if 0 <= v < grey else grey
        out[i] = c + offset if others is not None and not others[i] else c


def point_colours(
    labels: np.ndarray, n_classes: int, faith_per_point: np.ndarray | None, emphasis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(palette index per point (N,) uint8 (uint16 past 126 classes), palette (P, 4) uint8).

    labels: (N,) int in [-1, n_classes), -1 for none; faith_per_point: (N,) in [0, 1] (NaN unknown)
    to colour by faithfulness, or None to colour by class; emphasis: (N,) bool, the points drawn in
    full colour while any is set (the others take the dimmed half of the palette). By class with
    numba: one pass (about 8 ms CPU at 10^7 int64 labels); else a few numpy passes."""
    if faith_per_point is not None:
        base = ramp_palette(11)
        per = faith_per_point
        grey = 11
        dtype = code_dtype(2 * (grey + 1))
        cidx = np.where(np.isfinite(per), np.round(np.nan_to_num(per) * 10), grey).astype(dtype)
    else:
        grey = max(1, n_classes)
        base = class_palette(grey)
        dtype = code_dtype(2 * (grey + 1))
        labels = np.asarray(labels)
        if numba is not None and labels.dtype.kind in "iu":
            cidx = np.empty(len(labels), dtype)
            emph = np.ascontiguousarray(emphasis, dtype=bool) if emphasis.any() else None
            _class_codes(labels, grey, emph, grey + 1, cidx)
            return cidx, _with_dimmed(base)
        # -1 wraps to the type's largest value, which the minimum turns into grey's index
        cidx = labels.astype(dtype)
        np.minimum(cidx, dtype(grey), out=cidx)
    palette = _with_dimmed(base)
    if emphasis.any():  # the others + len(base): a multiply-add, not a where (5x faster at 10^7)
        others = np.invert(np.asarray(emphasis, dtype=bool)).view(np.uint8)
        cidx += np.multiply(others, dtype(len(palette) // 2), dtype=dtype)
    return cidx, palette


def _with_dimmed(base: np.ndarray) -> np.ndarray:
    """(P, 4) colours -> (2P + 2, 4): them, grey, then the same washed out (the dimmed half)."""
    base = np.vstack([base, GREY])
    dim = base.copy()
    dim[:, :3] = (dim[:, :3].astype(np.int32) + 2 * 235) // 3  # washed out towards white
    dim[:, 3] = DIM_ALPHA
    return np.vstack([base, dim])


def in_classes(labels: np.ndarray, classes) -> np.ndarray:
    """(N,) bool: whether each label is one of ``classes``. np.isin's own choice for integers took
    150-260 ms CPU at 10^7 labels here; up to six classes are one comparison each (about 15 ms a
    class at 10^7), more go to np.isin's table."""
    classes = list(classes)
    return np.isin(labels, classes, kind="sort" if len(classes) <= 6 else None)


# ---- colouring in cell order (10^7 points: no permutation of the codes per colouring) ----------
def cell_labels(grid, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(M,) the class of each placed point in ``grid``'s cell order (``grid.order``), as
    palette codes: the label, or ``max(1, n_classes)`` (grey) for a label outside
    [0, n_classes), in :func:`code_dtype`. Made once per grid, labels array and class count (the
    permutation into cell order, ~50 ms at 10^7 rows) and kept on the grid; every colouring by
    class after that reads these in order."""
    import weakref

    held = getattr(grid, "_cell_labels", None)
    if held is not None and held[0]() is labels and held[1] == (len(labels), n_classes):
        return held[2]
    grey = max(1, n_classes)
    dtype = code_dtype(2 * (grey + 1))
    codes = np.empty(len(labels), dtype)
    if numba is not None and labels.dtype.kind in "iu":
        _class_codes(labels, grey, None, 0, codes)
    else:
        codes[...] = np.where((labels >= 0) & (labels < grey), labels, grey)
    out = grid.to_cell_order(codes)
    try:
        grid._cell_labels = (weakref.ref(labels), (len(labels), n_classes), out)
    except TypeError:  # not weak-referenceable: not kept
        pass
    return out


@_jit
def _cell_codes(slabels, emph, counts, any_emph, picked, shown, offset, skip, out):  # pragma: no cover
    """``out[p]``: ``skip`` where the class is not ``shown`` (per class, bool), else the class,
    plus ``offset`` (dimmed) while ``any_emph`` unless the point is emphasised: ``emph[p]``
    (empty: none) where its class ``counts`` (per class, bool), or its class ``picked``. One
    pass in cell order."""
    use = emph.shape[0] > 0
    for p in range(slabels.shape[0]):
        k = slabels[p]
        if not shown[k]:
            out[p] = skip
        elif any_emph and not (picked[k] or (use and emph[p] and counts[k])):
            out[p] = k + offset
        else:
            out[p] = k


@_jit
def _cell_codes_plain(slabels, emph, offset, out):  # pragma: no cover (numba)
    """``out[p] = slabels[p] + offset`` unless ``emph[p]`` (bytes 0/1): no class picked or
    hidden, so no branch and no table, and the pass vectorises (16 bytes at a time)."""
    for p in range(slabels.shape[0]):
        out[p] = slabels[p] + offset * (1 - emph[p])


def cell_class_codes(
    slabels: np.ndarray,
    n_classes: int,
    emphasis: np.ndarray | None,
    picked=(),
    hidden=(),
    not_emphasised=(),
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`point_colours` by class, in cell order: (codes (M,), palette (P, 4) uint8), from
    :func:`cell_labels` ``slabels``. ``emphasis`` (M,) bool in cell order (None: none) and the
    ``picked`` classes (a search) are drawn in full colour while either is set, the rest dimmed;
    points of ``hidden`` classes get code P (not drawn); ``emphasis`` does not count for points
    of the ``not_emphasised`` classes. One pass (about 10 ms at 10^7)."""
    grey = max(1, n_classes)
    palette = _with_dimmed(class_palette(grey))
    classes = len(palette) // 2  # the classes and grey
    picked_t, shown_t, counts_t = np.zeros(classes, bool), np.ones(classes, bool), np.ones(classes, bool)
    picked_t[[k for k in picked if 0 <= k < classes]] = True
    shown_t[[k for k in hidden if 0 <= k < classes]] = False
    counts_t[[k for k in not_emphasised if 0 <= k < classes]] = False
    any_emph = bool(picked_t.any()) or (emphasis is not None and bool(emphasis.any()))
    emph = np.zeros(0, bool) if emphasis is None else np.ascontiguousarray(emphasis, dtype=bool)
    out = np.empty(len(slabels), slabels.dtype)
    skip = slabels.dtype.type(len(palette))
    if numba is not None:
        if not any_emph and not len(hidden):  # (the codes are the classes)
            np.copyto(out, slabels)
        elif len(emph) and any_emph and not (len(picked) or len(hidden) or len(not_emphasised)):
            _cell_codes_plain(slabels, emph.view(np.uint8), slabels.dtype.type(classes), out)
        else:
            _cell_codes(slabels, emph, counts_t, any_emph, picked_t, shown_t, classes, skip, out)
        return out, palette
    dim = any_emph & ~(picked_t[slabels] | ((emph & counts_t[slabels]) if len(emph) else False))
    out[...] = np.where(shown_t[slabels], slabels + dim * classes, skip)
    return out, palette
