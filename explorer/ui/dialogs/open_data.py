"""File ▸ Open data…: a file dialog that opens a data file, or a folder."""

from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog

DATA_FILTERS = (
    "Data sets (*.npz *.tsv *ubyte *ubyte.gz *.png *.jpg *.jpeg *.pgm *.bmp *.tif *.tiff);;All files (*)"
)


class OpenDataDialog(QFileDialog):
    """A file dialog that opens a file, or the folder it is in when nothing is picked."""

    def __init__(self, parent=None, directory: str = "") -> None:
        super().__init__(parent, "Open data: pick a file, or open a folder with nothing selected",
                         directory, DATA_FILTERS)
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setFileMode(QFileDialog.FileMode.AnyFile)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        self.setLabelText(QFileDialog.DialogLabel.FileName, "File or folder:")
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Open")

    def accept(self) -> None:
        files = self.selectedFiles()
        path = files[0] if files else self.directory().absolutePath()
        current = os.path.normpath(self.directory().absolutePath())
        if os.path.isdir(path) and os.path.normpath(path) == current:
            QFileDialog.done(self, QFileDialog.DialogCode.Accepted)  # the folder we are in
            return
        super().accept()

    def chosen(self) -> str:
        files = self.selectedFiles()
        return files[0] if files else self.directory().absolutePath()
