"""``--classes``: a subset of a data set's classes, for training on some identities and
verifying on others (``explorer train --classes 0-4``, ``explorer evaluate verification
--classes 5-9``)."""

from __future__ import annotations

import numpy as np

from explorer.core.errors import DataError


def class_indices(spec: str, class_names: list[str], n_labels: int, what: str = "The data set") -> list[int]:
    """Sorted class indices named by ``spec``: a comma list of class names, class indices and
    ranges of indices (``0-4``, ``0-2,7``, ``cat,dog``); a class name wins over an index or a range
    it looks like. ``n_labels``: how many classes there are (names may be missing). A class that
    does not exist is a DataError naming it."""
    names = list(class_names)
    count = max(len(names), int(n_labels))
    keep: set[int] = set()
    for word in (s.strip() for s in spec.split(",")):
        if not word:
            continue
        if word in names:
            keep.add(names.index(word))
            continue
        lo, dash, hi = word.partition("-")
        if word.isdigit():
            picked = [int(word)]
        elif dash and lo.strip().isdigit() and hi.strip().isdigit() and int(lo) <= int(hi):
            picked = list(range(int(lo), int(hi) + 1))
        else:
            raise DataError(f"{what} has no class '{word}'.")
        if max(picked) >= count:
            raise DataError(f"{what} has no class {max(picked)}: its classes are 0 to {count - 1}.")
        keep.update(picked)
    if not keep:
        raise DataError("--classes is empty: name classes, e.g. --classes 0-4 or --classes cat,dog.")
    return sorted(keep)


def select_classes(data, spec: str):
    """The items of ``data`` whose class is in ``spec`` (see :func:`class_indices`), named after
    them (``mnist[classes 0-4]``); a DataError when the data has no labels or no such items."""
    what = data.name or "The data set"
    if data.labels is None:
        raise DataError(f"{what} has no class labels; --classes needs labelled items.")
    labels = np.asarray(data.labels)
    n_labels = int(labels.max()) + 1 if len(labels) else 0
    keep = class_indices(spec, data.class_names, n_labels, what)
    mask = np.isin(labels, keep)
    if not mask.any():
        raise DataError(f"No items of the classes {spec} in {data.name or 'the data set'}.")
    subset = data.subset(mask)
    subset.name = f"{data.name or 'data'}[classes {spec}]"
    return subset
