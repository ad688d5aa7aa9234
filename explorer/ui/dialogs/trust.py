"""Asking before a model file that is a program is opened, and before a session opens its files.

Both boxes are window-modal and non-blocking (``open``): the caller connects ``accepted`` /
``rejected`` (or ``on_answer``) and the event loop keeps running. See explorer/models/trust.py for
what is asked and why.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from explorer.models.trust import printable

TRUST_BUTTON = "Trust and open"


def ask_trust(
    parent: QWidget | None, path: str, kind: str, sha256: str, on_answer: Callable[[bool], None]
) -> QMessageBox:
    """'<file> is a TorchScript program ...': Trust and open / Cancel; ``on_answer(trusted)``."""
    name = html.escape(printable(os.path.basename(path)))
    text = (
        f"<p><b>{name}</b> is {html.escape(kind)}. Opening it lets it run code on this computer "
        "with your permissions: it could read or change your files or start other programs.</p>"
        "<p>Open it only if you trust where it came from. The safe way is to convert it to "
        "<b>ONNX</b> (torch.onnx.export) or to a <b>.safetensors</b> checkpoint: those hold no "
        "code and open without asking.</p>"
        f"<p><small>SHA-256 {html.escape(sha256)}<br>{html.escape(printable(path, 300))}"
        "</small></p><p>Trusting remembers this file's content; a changed file asks again.</p>"
    )
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Open a model that can run code?",
        text,
        QMessageBox.StandardButton.NoButton,
        parent,
    )
    box.setObjectName("trustBox")
    box.setTextFormat(Qt.TextFormat.RichText)
    trust = box.addButton(TRUST_BUTTON, QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)  # Enter does not trust
    box.setEscapeButton(cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda b: on_answer(b is trust))
    box.open()
    return box


def ask_session(
    parent: QWidget | None,
    session: str,
    data: str | None,
    models: list[tuple[str, str]],
    on_answer: Callable[[bool], None],
) -> QMessageBox:
    """'This session opens: ...' with each file and what happens to it; Open / Cancel.

    models: (spec, note) pairs, note e.g. "" or "a TorchScript program: asks before opening"."""
    items = []
    if data:
        items.append(f"<li>data: {html.escape(printable(data, 300))}</li>")
    for spec, note in models:
        extra = f" <i>({html.escape(note)})</i>" if note else ""
        items.append(f"<li>model: {html.escape(printable(spec, 300))}{extra}</li>")
    text = (
        f"<p>The session <b>{html.escape(printable(os.path.basename(session)))}</b> opens:</p>"
        f"<ul>{''.join(items)}</ul><p>Model files that can run code are opened only after you "
        "trust each one.</p>"
    )
    box = QMessageBox(
        QMessageBox.Icon.Question, "Open session", text, QMessageBox.StandardButton.NoButton, parent
    )
    box.setObjectName("sessionOpenBox")
    box.setTextFormat(Qt.TextFormat.RichText)
    ok = box.addButton("Open", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.buttonClicked.connect(lambda b: on_answer(b is ok))
    box.open()
    return box
