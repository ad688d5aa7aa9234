"""What the scatter view writes: the plot as PNG or SVG, the layout as .npy or CSV, the codes as
TensorBoard-projector TSV. Every file is written atomically (temp + rename)."""

from __future__ import annotations

import os

import numpy as np

from explorer.core.atomic import atomic_save_npy, atomic_write, atomic_write_bytes


class Exports:
    """The scatter view's export methods (a mixin of its View: they read its panels)."""

    def export_plot(self, path: str) -> str:
        """The plot as PNG (both plots when comparing) or SVG (the first plot, with the legend of
        the shown classes), by the extension; returns what to tell the user about it."""
        if path.lower().endswith(".svg"):
            from explorer.jobs.scatter.colours import class_palette
            from explorer.ui.views.scatter.svg import legend_entries, write_svg

            ds, k = self.ws.dataset, self._n_classes()
            by_class = (
                self.colour_combo.currentIndex() == 0 and self.overlays.cluster_ids(self.sides[0]) is None
            )
            legend = []
            if by_class and k:
                names = [ds.class_names[i] if i < len(ds.class_names) else str(i) for i in range(k)]
                legend = legend_entries(names, class_palette(k), self.state.hidden)
            return write_svg(self.panel, path, legend)
        both = self.splitter if self.sides[1].panel.isVisible() else None
        write_plot(self.panel.plot_item, path, both=both)
        return ""

    def export_layout(self, path: str) -> None:
        """The shown layout as .npy ((N, 2) float32) or CSV (index, x, y, label, class, faithfulness)."""
        side = self.sides[0]
        if side.layout is None:
            raise OSError("there is no layout to save yet")
        items = side.items_of(np.arange(len(side.layout)))
        per = side.faith[1] if side.faith is not None else None
        write_layout(path, side.layout, items, self._labels(side), self.ws.dataset, per)

    def export_projector(self, folder: str) -> None:
        """The current model's codes as TensorBoard-projector ``vectors.tsv`` + ``metadata.tsv``."""
        model = self.sides[0].model or self.model_combo.currentText()
        if model not in self.ws.codes:
            raise OSError("there are no codes to save yet")
        write_projector(folder, self.ws.codes[model], self.ws.dataset)


def export_dialog(view, kind: str) -> None:
    """Ask where, then write ``kind`` ("png", "svg", "csv", "npy" or "tsv") through the scatter
    ``view``'s export methods; the outcome goes to the status bar or an error message."""
    from PySide6.QtWidgets import QFileDialog

    filters = {
        "png": "PNG image (*.png)",
        "svg": "SVG image (*.svg)",
        "csv": "CSV (*.csv)",
        "npy": "NumPy array (*.npy)",
    }
    try:
        if kind == "tsv":
            folder = QFileDialog.getExistingDirectory(view, "Folder for vectors.tsv and metadata.tsv")
            if folder:
                view.export_projector(folder)
            return
        path, _ = QFileDialog.getSaveFileName(view, "Export", f"scatter.{kind}", filters[kind])
        if not path:
            return
        note = ""
        if kind in ("png", "svg"):
            note = view.export_plot(path)
        else:
            view.export_layout(path)
        view.ctx.show_status(f"Saved {path}" + (f" ({note})" if note else ""))
    except OSError as err:
        view.ctx.show_error(f"Could not save: {err}")


def write_plot(plot_item, path: str, both=None) -> None:
    """``plot_item`` (a pyqtgraph PlotItem) as PNG (pyqtgraph's exporter). ``both``: a widget
    holding both plots when comparing; the PNG is then its grab, as on screen. (SVG:
    :func:`explorer.ui.views.scatter.svg.write_svg`, through QSvgGenerator: pyqtgraph's SVG
    exporter cannot read the path data this Qt writes, ValueError in its correctCoordinates.)"""
    if both is not None:
        pix = both.grab()
        atomic_write(path, lambda tmp: pix.save(tmp, "PNG") or _raise(OSError(f"could not write {path}")))
        return
    import pyqtgraph.exporters as exporters

    exporter = exporters.ImageExporter(plot_item)
    exporter.parameters()["width"] = max(800, int(plot_item.width()))
    atomic_write(path, lambda tmp: exporter.export(tmp))


def write_layout(
    path: str,
    layout: np.ndarray,
    items: np.ndarray,
    labels: np.ndarray,
    dataset,
    faith_per_point: np.ndarray | None,
) -> None:
    """``layout`` (N, 2) as .npy (float32) or CSV (index, x, y, label, class, faithfulness), by the
    file's extension; ``items`` (N,) is the data set index of each row."""
    if path.lower().endswith(".npy"):
        atomic_save_npy(path, layout.astype(np.float32))  # ".NPY" too: np.save(name) would append .npy
        return
    per = faith_per_point if faith_per_point is not None else np.full(len(layout), np.nan)
    lines = ["index,x,y,label,class,faithfulness"]
    for row, (x, y) in enumerate(layout):
        item = int(items[row])
        name = (
            dataset.label_name(item).replace(",", " ") if dataset is not None and item < dataset.count else ""
        )
        lines.append(f"{item},{x:.6g},{y:.6g},{labels[row]},{name},{per[row]:.3f}")
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


def write_projector(folder: str, codes: np.ndarray, dataset) -> None:
    """``codes`` (N, D) as TensorBoard-projector ``vectors.tsv`` + ``metadata.tsv`` in ``folder``."""
    vec = "".join("\t".join(f"{v:.6g}" for v in row) + "\n" for row in codes).encode()
    meta_rows = ["index\tlabel"] + [
        f"{i}\t{dataset.label_name(i) if dataset is not None else ''}" for i in range(len(codes))
    ]
    meta = ("\n".join(meta_rows) + "\n").encode()
    atomic_write_bytes(os.path.join(folder, "vectors.tsv"), vec)
    atomic_write_bytes(os.path.join(folder, "metadata.tsv"), meta)


def _raise(err: Exception):
    raise err
