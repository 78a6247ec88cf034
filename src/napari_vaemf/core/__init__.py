"""Pure computation: samplers, file formats, the VAE, capacity, extraction, statistics.

Nothing under ``core`` imports napari or Qt (an import-linter contract in pyproject.toml
and ``tests/test_architecture.py`` enforce it).
"""
