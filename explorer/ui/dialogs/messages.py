"""User-facing messages that never block the event loop (window-modal boxes opened with ``open``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from explorer import __version__


def show_error(parent: QWidget | None, message: str, title: str = "Relate Explorer") -> QMessageBox:
    """A warning box with ``message``; returns at once (the box closes itself on OK)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.open()
    return box


def show_about(parent: QWidget | None) -> QMessageBox:
    text = (
        f"<h3>Relate Explorer {__version__}</h3>"
        "<p>See what image encoders learn: live PCA / t-SNE / UMAP of codes while a model trains, "
        "nearest-neighbour retrieval against raw pixels, 1:1 verification with ROC and EER, and "
        "relational (gated) autoencoders that infer and apply transformations.</p>"
        "<p>Every view is also a command: <code>explorer --help</code>.</p>"
    )
    box = QMessageBox(
        QMessageBox.Icon.Information, "About Relate Explorer", text, QMessageBox.StandardButton.Ok, parent
    )
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
