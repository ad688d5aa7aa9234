"""File ▸ Open data…: a file dialog that opens a data file, or a folder."""

from __future__ import annotations

import os

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLineEdit

DATA_FILTERS = (
    "Data sets (*.npz *.tsv *ubyte *ubyte.gz *.png *.jpg *.jpeg *.pgm *.bmp *.tif *.tiff);;All files (*)"
)


class OpenDataDialog(QFileDialog):
    """A file dialog that opens a file, a folder typed into it, or the folder it is in when nothing
    is picked. Qt's own dialog greys Open for an empty name and, for a typed folder, walks into
    it instead of opening it: here both open (double-click still walks into a folder)."""

    def __init__(self, parent=None, directory: str = "") -> None:
        super().__init__(
            parent, "Open data: pick a file, or open a folder with nothing selected", directory, DATA_FILTERS
        )
        self.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        self.setFileMode(QFileDialog.FileMode.AnyFile)
        self.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
        self.setLabelText(QFileDialog.DialogLabel.FileName, "File or folder:")
        self.setLabelText(QFileDialog.DialogLabel.Accept, "Open")
        self._chosen: str | None = None
        self.name_edit = self.findChild(QLineEdit, "fileNameEdit")
        box = self.findChild(QDialogButtonBox, "buttonBox")
        self.open_button = box.button(QDialogButtonBox.StandardButton.Open) if box else None
        # after Qt's own update of the button (connected first, so it runs first)
        if self.name_edit is not None:
            self.name_edit.textChanged.connect(lambda *_: self._update_open_button())
        self.directoryEntered.connect(lambda *_: QTimer.singleShot(0, self._update_open_button))
        self.currentChanged.connect(lambda *_: self._update_open_button())
        QTimer.singleShot(0, self._update_open_button)

    def _typed(self) -> str:
        return self.name_edit.text().strip() if self.name_edit is not None else ""

    def _typed_folder(self) -> str | None:
        text = os.path.expanduser(self._typed())
        if not text:
            return None
        path = text if os.path.isabs(text) else os.path.join(self.directory().absolutePath(), text)
        return os.path.normpath(path) if os.path.isdir(path) else None

    def _update_open_button(self) -> None:
        if self.open_button is not None and (not self._typed() or self._typed_folder()):
            self.open_button.setEnabled(True)  # the folder we are in, or the folder typed

    def accept(self) -> None:
        folder = self._typed_folder()
        if folder is None and not self._typed():
            folder = os.path.normpath(self.directory().absolutePath())  # nothing picked: this folder
        if folder is not None:
            self._chosen = folder
            QFileDialog.done(self, QFileDialog.DialogCode.Accepted)
            return
        super().accept()

    def chosen(self) -> str:
        if self._chosen is not None:
            return self._chosen
        files = self.selectedFiles()
        return files[0] if files else self.directory().absolutePath()


def local_paths(md) -> list[str]:
    """The existing local files and folders a drop (QMimeData ``md``) carries."""
    if md is None or not md.hasUrls():
        return []
    return [u.toLocalFile() for u in md.urls() if u.isLocalFile() and os.path.exists(u.toLocalFile())]
