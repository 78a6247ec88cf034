"""Progress records and the one protocol for long work.

Every long computation in :mod:`napari_vaemf.core` (sampling, training, sweeps) is a
*generator* that yields :class:`Progress` records and ``return``s its result. The caller
decides how to show progress and when to stop:

- the CLI wraps it with :func:`drive`, which shows a tqdm bar and returns the result;
- the GUI hands the generator to napari's ``thread_worker``; ``worker.quit()`` closes the
  generator at its next ``yield`` (``GeneratorExit``), so every job must leave consistent
  state behind whenever it yields.

Jobs stay stoppable by yielding often (at least every fraction of a second of work).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Generator, Mapping, TypeVar

__all__ = ["Progress", "Job", "drive", "shown_metrics"]

log = logging.getLogger(__name__)

R = TypeVar("R")
_SHOWN_ITEMS = 4  # metrics shown on a bar or status line (the first ones a job reports)


@dataclass(frozen=True)
class Progress:
    """One progress report from a long job."""

    stage: str  # what is running, e.g. "sample", "train", "sweep K=3"
    step: int  # steps done so far in this stage (monotone within a stage)
    total: int | None = None  # steps the stage will take, None when unknown
    metrics: Mapping[str, float] = field(default_factory=dict)  # numbers worth showing

    @property
    def fraction(self) -> float | None:
        """Fraction of the stage done, in [0, 1], or None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.step / self.total))


Job = Generator[Progress, None, R]


def drive(
    job: Job[R],
    *,
    desc: str | None = None,
    bar: bool = True,
    on_progress: Callable[[Progress], Any] | None = None,
) -> R:
    """Run ``job`` to completion and return its result.

    With ``bar=True`` a tqdm bar follows the current stage (a new bar per stage). Metrics
    are shown as the bar's postfix. ``on_progress`` sees every record.
    """
    pbar = None
    stage = None
    try:
        while True:
            try:
                rec = next(job)
            except StopIteration as stop:
                return stop.value
            if on_progress is not None:
                on_progress(rec)
            if not bar:
                continue
            if rec.stage != stage:
                if pbar is not None:
                    pbar.close()
                from tqdm.auto import tqdm

                stage = rec.stage
                pbar = tqdm(total=rec.total, desc=desc or rec.stage, leave=True)
            assert pbar is not None
            pbar.n = rec.step
            if rec.metrics:
                pbar.set_postfix(shown_metrics(rec), refresh=False)
            pbar.refresh()
    finally:
        if pbar is not None:
            pbar.close()
        job.close()


def shown_metrics(rec: Progress, items: int = _SHOWN_ITEMS) -> dict[str, str]:
    """The first ``items`` metrics of ``rec``, formatted for a terminal bar or a status line."""
    return {k: f"{v:.4g}" if isinstance(v, float) else str(v)
            for k, v in list(rec.metrics.items())[:items]}
