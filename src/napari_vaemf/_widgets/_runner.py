"""Run a core job (a generator of Progress records) in a napari thread worker.

The worker thread only advances the generator (and, optionally, a pure post-processing
function); every Qt/viewer update happens in the handlers, which napari calls on the main
thread. Stopping is cooperative: :meth:`JobRunner.stop` sets a flag that the worker checks
after every ``yield``; it then *closes* the job (``GeneratorExit`` at its ``yield``, which is
where core jobs keep consistent state, e.g. the best model of a fit) and returns
``Outcome(stopped=True)``. A napari-initiated ``worker.quit()`` (closing the window)
closes the generator in the worker thread the same way (see ``_JobWorker``).

Jobs that train run in a child process (:func:`napari_vaemf.core.processes.process_job`):
their generator only waits on a pipe, so this thread sleeps and never holds the GIL for long.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from napari.qt.threading import GeneratorWorker, create_worker
from napari.utils.notifications import show_error

from ..core.processes import ChildFailed
from ..core.progress import Job, Progress

__all__ = ["Outcome", "JobRunner", "JobFailed"]

log = logging.getLogger(__name__)


class JobFailed(Exception):
    """A job raised a RuntimeError (torch's out-of-memory, CUDA and shape errors are ones).

    superqt takes a RuntimeError inside a generator worker for a deleted Qt object and ends
    the worker silently (no ``errored``, no ``finished``), so the runner re-raises it as this.
    """


@dataclass
class Outcome:
    """What a job left behind: its return value (None when stopped) and whether it was stopped."""

    value: Any = None  # the job's return value, passed through ``then`` when given
    stopped: bool = False  # True when the user (or closing napari) stopped it early


def _guarded(
    job: Job,
    stop: threading.Event,
    done: threading.Event,
    then: Callable[[Any], Any] | None,
    each: Callable[[Progress], Progress] | None,
    last: list,
):
    """The generator the worker runs: forwards progress, honours ``stop``, never touches Qt.
    Its Outcome is also put in ``last`` before ``done`` is set."""
    try:
        stopped = False
        value = None
        while True:
            if stop.is_set():
                job.close()
                stopped = True
                break
            try:
                rec = next(job)
            except StopIteration as fin:
                value = fin.value
                break
            yield rec if each is None else each(rec)
        if then is not None:
            value = then(value if not stopped else None)
        last[:] = [Outcome(value=value, stopped=stopped)]
        return last[0]
    except ChildFailed as exc:  # already "Type: message" or "the fit process ended ..."
        raise JobFailed(str(exc)) from exc
    except RuntimeError as exc:  # one line in the notification (_errored logs the whole)
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        raise JobFailed(f"{type(exc).__name__}: {first}") from exc
    finally:
        job.close()
        done.set()


class _JobWorker(GeneratorWorker):
    """A GeneratorWorker that closes its generator in the worker thread when it ends.

    superqt leaves an aborted generator suspended until garbage collection; closing it
    here runs the job's clean-up (and sets the runner's ``done`` event) deterministically.
    """

    def work(self):
        try:
            return super().work()
        finally:
            self._gen.close()


class JobRunner:
    """Starts one job at a time in a napari ``GeneratorWorker`` and keeps its bookkeeping.

    ``on_progress(Progress)``, ``on_result(Outcome)``, ``on_error(Exception)`` and
    ``on_finished()`` run on the main thread. Errors are also shown as napari
    notifications (the worker's exceptions never escape as tracebacks).

    ``activity_bar``: follow the job with a bar in napari's activity dock (default). Widgets
    whose dock shows the progress themselves may turn it off for long jobs: while any bar
    exists napari animates an "in progress" indicator, and each bar update processes
    pending events; with software OpenGL (remote desktops, VMs, xvfb) every such repaint
    recomposites the whole window, which measured +30 ms at the 95th percentile of napari's
    event-loop lateness on a busy 2-core machine (benchmarks/bench_gui_latency.py).
    """

    activity_bar: bool = True

    def __init__(
        self,
        desc: str,
        on_progress: Callable[[Progress], Any] | None = None,
        on_result: Callable[[Outcome], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        on_finished: Callable[[], Any] | None = None,
    ):
        self.desc = desc
        self.on_progress = on_progress
        self.on_result = on_result
        self.on_error = on_error
        self.on_finished = on_finished
        self.worker: GeneratorWorker | None = None
        self._job: Job | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._done.set()
        self._last: list[Outcome] = []  # the last job's Outcome, once its worker left it
        self._stage: str | None = None
        self._queue: deque[Callable[[], Any]] = deque()  # signals waiting to be handled
        self._draining = False  # a handler is running

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def outcome(self) -> Outcome | None:
        """The last job's Outcome as soon as its worker has made it (before ``on_result``
        runs on the main thread; e.g. after :meth:`stop_and_wait`), else None."""
        return self._last[0] if self._last else None

    def start(
        self,
        job: Job,
        then: Callable[[Any], Any] | None = None,
        each: Callable[[Progress], Progress] | None = None,
    ) -> GeneratorWorker:
        """Run ``job`` (already created, not started) in a worker.

        ``then`` post-processes its result and ``each`` enriches each progress record, both
        in the worker thread while the job is suspended (pure computation only, no Qt).
        """
        if self.running:
            job.close()
            raise RuntimeError(f"{self.desc} is already running")
        self._job = job
        self._stop = threading.Event()
        self._done = threading.Event()
        self._last = []
        self._stage = None
        worker = create_worker(
            _guarded,
            job,
            self._stop,
            self._done,
            then,
            each,
            self._last,
            _progress={"desc": self.desc} if self.activity_bar else False,
            _ignore_errors=True,
            _worker_class=_JobWorker,
        )
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        worker.start()
        return worker

    def stop(self) -> None:
        """Ask the job to stop after its current step (non-blocking)."""
        self._stop.set()

    def stop_and_wait(self, timeout_s: float = 30.0) -> bool:
        """Stop and block until the worker thread has left the job; True if it did."""
        self._stop.set()
        ok = self._done.wait(timeout_s)
        if not ok:
            log.warning("%s did not stop within %.0f s", self.desc, timeout_s)
        return ok

    # -- main-thread handlers -------------------------------------------------------------
    # A handler can re-enter the event loop (napari's progress bar does), so later signals
    # may arrive while one is still being handled. Every signal goes through one FIFO queue
    # drained by the outermost handler: handlers never nest and run in emission order.
    def _enqueue(self, fn: Callable[[], Any]) -> None:
        self._queue.append(fn)
        if self._draining:
            return
        self._draining = True
        try:
            while self._queue:
                self._queue.popleft()()
        finally:
            self._draining = False

    def _on_yielded(self, rec: Progress) -> None:
        self._enqueue(lambda: self._show_progress(rec))

    def _show_progress(self, rec: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(rec)
        pbar = getattr(self.worker, "pbar", None)
        if pbar is not None and isinstance(rec, Progress):
            if rec.stage != self._stage:
                self._stage = rec.stage
                pbar.set_description(f"{self.desc}: {rec.stage}")
            total = rec.total or 0
            if pbar.total != total:
                pbar.total = total
            if rec.step != pbar.n:
                pbar.update(rec.step - pbar.n)

    def _on_returned(self, outcome: Outcome) -> None:
        self._enqueue(lambda: self._returned(outcome))

    def _returned(self, outcome: Outcome) -> None:
        if self.on_result is not None:
            self.on_result(outcome)

    def _on_errored(self, exc: BaseException) -> None:
        self._enqueue(lambda: self._errored(exc))

    def _errored(self, exc: BaseException) -> None:
        log.info("%s failed: %s", self.desc, exc, exc_info=exc)
        show_error(f"{self.desc} failed: {exc}")
        if self.on_error is not None:
            self.on_error(exc)

    def _on_finished(self) -> None:
        self._enqueue(self._finished)

    def _finished(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            for sig, slot in (
                (worker.yielded, self._on_yielded),
                (worker.returned, self._on_returned),
                (worker.errored, self._on_errored),
                (worker.finished, self._on_finished),
            ):
                try:
                    sig.disconnect(slot)
                except (TypeError, RuntimeError):
                    pass
        self._job = None
        if self.on_finished is not None:
            self.on_finished()

    def detach(self) -> None:
        """Forget the widget callbacks (the widget is closing)."""
        self.on_progress = self.on_result = self.on_error = self.on_finished = None
