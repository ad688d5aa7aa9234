"""The relational view's worker job: what a gated autoencoder's mapping codes look like in 2-D."""

from __future__ import annotations

import numpy as np

from explorer.core.errors import ExplorerError

N_LAYOUT = 1500  # pairs in the mapping-code layout


def mapping_layout_job(model, data=None, count: int = N_LAYOUT, seed: int = 0, tsne: bool = True):
    """Mapping codes of ``count`` pairs with known transforms, laid out in 2-D.

    Pairs come from ``data`` when it has partners with known transforms, else fresh generated
    pairs of the kind the model was trained on. Yields Progress with payload dicts
    {layout, colour, colour_label, colour_names, method, source, note}; returns the last one.
    ``colour_names``: the names of the sequences (or classes) when the colour is one, by its
    value (a folder's sub-folder names, as the scatter's legend shows them), else None. The t-SNE runs in
    a layout process (:mod:`explorer.jobs.layout_child`) unless those are turned off.
    """
    from explorer.core.progress import Progress
    from explorer.projection.pca import pca_layout
    from explorer.relational.engine import infer_mappings
    from explorer.relational.transforms import transform_colour_values

    yield Progress(step=0, total=3, message="mapping codes")
    sequences = False
    if data is not None and data.partners is None and data.has_images:
        from explorer.data.pairs import looks_like_sequences

        # what the model trains on: a folder of sequences gives pairs of consecutive frames (a
        # folder of classes does not: its next file is another photo, not a motion)
        try:
            sequences = looks_like_sequences(data)
            data = type(model).prepare_data(data) if sequences else None
        except ExplorerError:
            data = None
    colour, names = None, None
    if data is not None and data.partners is not None and data.transforms:
        colour = transform_colour_values(data.transforms)
    if colour is None and data is not None and data.partners is not None and data.labels is not None:
        # pairs of sequences (as_pair_set): each sequence moves one way, so colour by sequence,
        # named as the scatter's legend names classes (their folders)
        label = "sequence (one motion each)" if sequences else "class"
        colour = (data.labels.astype(np.float32), label)
        k = int(data.labels.max()) + 1 if data.count else 0
        names = [data.class_names[i] if i < len(data.class_names) else str(i) for i in range(k)]
    if colour is not None:
        n = min(count, data.count)
        pick = np.sort(np.random.default_rng(seed).permutation(data.count)[:n])
        x, y = data.float_images(pick), data.float_partners(pick)
        values, label = colour[0][pick], colour[1]
        source = data.name or "data set"
    else:
        from explorer.relational.evaluate import generated_quadruples

        c, h, w = model.input_shape
        if c != 1 or h != w:
            raise ExplorerError(
                "This model's input is not a grey square, so no pairs can be generated "
                "for the layout; open a pair set with known transforms."
            )
        kind = "rotations" if "rot" in str(getattr(model, "trained_on", "")) else "shifts"
        q = generated_quadruples(kind, count, h, seed=seed + 1)
        x, y = q["x"], q["y"]
        values, label = transform_colour_values(q["transforms"])
        source = f"generated {kind}"
    z = infer_mappings(model, x, y)
    base = {"colour": values, "colour_label": label, "colour_names": names, "source": source}
    first = dict(base, layout=pca_layout(z, seed=seed), method="PCA", note="t-SNE is forming ...")
    yield Progress(step=1, total=3, message="PCA", payload=first)
    if not tsne:
        return dict(first, note="")
    from explorer.jobs.layout_child import child_layout_job, runs_in_child

    if runs_in_child("tsne", z):  # openTSNE's callbacks take the GIL from the GUI thread
        gen = child_layout_job(z, "tsne", seed=seed, faith=False)
    else:
        from explorer.projection.tsne import tsne_job

        gen = tsne_job(z, seed=seed)
    last = first
    while True:
        try:
            rec = next(gen)
        except StopIteration as stop:
            value = stop.value[0] if isinstance(stop.value, tuple) else stop.value  # the child's
            final = value if value is not None else last["layout"]
            return dict(
                base,
                layout=np.asarray(final, np.float32),
                method="t-SNE",
                note="Pairs that moved the same way sit together, whatever their content.",
            )
        if rec.payload is not None:
            last = dict(base, layout=np.asarray(rec.payload, np.float32), method="t-SNE", note=rec.message)
            yield Progress(step=2, total=3, message=rec.message, payload=last)
