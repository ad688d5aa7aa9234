"""Relational models at work: transformation inference, analogies and their error, numpy in and out."""
