"""Torch models, their configs, checkpoint IO, pseudo-encoders and external encoders."""
