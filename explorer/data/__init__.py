"""Loaders for every DATA form of DESIGN.md, bundled sample sets, and pair generators.

``load_data(spec)`` is the one entry point; ``load_data_job(spec)`` is the same as a progress
generator for the GUI. Every failure is a :class:`~explorer.core.errors.DataError`.
"""

from explorer.data.loader import load_data, load_data_job
from explorer.data.samples import SAMPLES, available_samples, sample_data_dir

__all__ = ["load_data", "load_data_job", "SAMPLES", "available_samples", "sample_data_dir"]
