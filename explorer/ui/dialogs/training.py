"""Placeholder: the training dialog (being written)."""
from PySide6.QtWidgets import QDialog


class TrainingDialog(QDialog):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx

    def shutdown(self):
        pass
