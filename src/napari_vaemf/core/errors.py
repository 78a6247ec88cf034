"""The project's error types: every bad input becomes one of these, with the file named."""
from __future__ import annotations

from os import PathLike

__all__ = ["VaemfError", "InputError", "ParameterError"]


class VaemfError(ValueError):
    """Base of napari-vaemf's errors about data or parameters (a ``ValueError``)."""


class InputError(VaemfError):
    """A file or array cannot be used; the message names the file and the problem."""

    def __init__(self, source: str | PathLike | None, problem: str):
        self.source = None if source is None else str(source)
        self.problem = problem
        where = f"{self.source}: " if self.source else ""
        super().__init__(f"{where}{problem}")


class ParameterError(VaemfError):
    """An impossible parameter value (negative sizes, bin size <= 0, ...)."""
