"""The main window's file actions: the Open / Load / Export / Save codes dialogs, trusting program
files, input preprocessing, and opening what is dropped on the window."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog, QScrollArea

from explorer.core import session as sessions
from explorer.ui.dialogs.open_data import OpenDataDialog, local_paths

MODEL_SUFFIXES = (".safetensors", ".pt", ".pth", ".ckpt", ".ts", ".jit", ".pt2", ".onnx")


class FileActions:
    """Mixin of :class:`explorer.ui.main_window.MainWindow` (uses its ``ctx``, ``loader``,
    ``settings``, ``tabs``, ``open_data``, ``open_session`` and ``show_error``)."""

    def open_data_dialog(self) -> None:
        start = self.settings.value("dialogs/data_dir", os.path.expanduser("~"))
        dlg = OpenDataDialog(self, str(start))
        if dlg.exec():
            path = dlg.chosen()
            self.settings.set_value("dialogs/data_dir", os.path.dirname(os.path.normpath(path)))
            self.open_data(path)

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load model", "", "Models (*.safetensors *.pt *.pth *.ckpt *.pt2 *.onnx);;All files (*)"
        )
        if path:
            self.loader.load_models([path])

    def export_view_dialog(self) -> None:
        widget = self.tabs.currentWidget() if self.tabs.count() else None
        if isinstance(widget, QScrollArea):
            widget = widget.widget()
        if widget is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export view", "view.png", "PNG (*.png)")
        if path:
            from explorer.core.atomic import atomic_write

            pix = widget.grab()
            atomic_write(path, lambda tmp: pix.save(tmp, "PNG"))

    def save_codes_dialog(self) -> None:
        ws = self.ctx.workspace
        name = ws.current_model
        if name not in ws.codes:
            self.show_error("The current model has no codes yet; wait until encoding finishes.")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save codes", f"{name}.npy", "NumPy (*.npy);;Parquet table with paths (*.parquet)"
        )
        if path:
            from explorer.core.atomic import atomic_save_npy

            codes = ws.codes[name]
            if path.lower().endswith(".parquet"):  # one row per item: image_path, label, embedding, x/y
                from explorer.data.parquet import write_table

                layout = next((v for (m, _k), v in ws.layouts.items() if m == name), None)
                write_table(path, ws.dataset, codes, layout, model=name)
            else:
                atomic_save_npy(path, codes)  # exactly `path`, whatever its suffix

    def ask_trust(self, errors: list) -> None:
        """Ask about each program-format model file the loader would not open (UntrustedModelError
        objects); "Trust and open" loads it again with the hash the box showed."""
        from explorer.ui.dialogs.trust import ask_trust

        for err in errors:

            def answer(ok: bool, err=err) -> None:
                if ok:
                    self.loader.load_models([err.path], trust=err.sha256)
                else:
                    self.ctx.show_status(f"{os.path.basename(err.path)} was not opened.")

            self.trust_box = ask_trust(self, err.path, err.kind, err.sha256, answer)

    def preprocessing_dialog(self) -> None:
        """Choose how the current (external) model's input is made; remembered per model file."""
        from explorer.ui.dialogs.preprocessing import PreprocessingDialog

        ws = self.ctx.workspace
        name = ws.current_model
        enc = ws.models.get(name)
        source = getattr(enc, "source", "") if enc is not None else ""
        if (
            enc is None
            or getattr(enc, "input_shape", None) is None
            or not hasattr(enc, "preprocess")
            or not source
        ):
            self.show_error(
                "The current model takes its input as it is; preprocessing applies to "
                "ONNX, TorchScript and .pt2 models with a fixed input size."
            )
            return
        dialog = PreprocessingDialog(name, enc.input_shape, enc.preprocess, enc.preprocess_source, self)
        if dialog.exec() != PreprocessingDialog.DialogCode.Accepted:
            return
        from explorer.models.preprocessing import remember, set_spec

        set_spec(enc, dialog.spec(), "user")
        remember(source, enc.preprocess)
        codes = self.ctx.services.get("codes")
        if codes is not None:
            codes.request(name)  # its codes are made again with the new input

    # ---- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        path = paths[0]
        if path.lower().endswith(sessions.SESSION_EXT):
            self.open_session(path)
        elif path.lower().endswith(MODEL_SUFFIXES):
            self.loader.load_models(paths)
        else:
            self.open_data(path)
