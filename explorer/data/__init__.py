"""Loaders for every DATA form of DESIGN.md, bundled sample sets, and pair generators."""
