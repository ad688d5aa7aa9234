"""The Qt side of the app: the only package that imports PySide6 or pyqtgraph."""
