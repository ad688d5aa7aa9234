"""Relate Explorer: see what image encoders learn."""

__version__ = "0.1.0"
