"""Run a core job in a child process, as a job of this process.

Training holds Python's interpreter lock (GIL) most of the time, so a fit in a thread of the
napari process makes napari's event loop wait for it (134 ms at the 95th percentile on a busy
2-core machine). :func:`process_job` moves the work to a child process and gives back an
ordinary core job (a generator of :class:`~napari_vaemf.core.progress.Progress` records)::

    job = process_job(train_target, config, arrays={"x": x})
    metrics = drive(job)            # or hand ``job`` to the GUI's JobRunner
    job.result                      # also there after a stop (``job.close()``)

- The child is started with the **spawn** method (never fork: forking a process that runs
  Qt, OpenGL or torch threads copies locks held by other threads) when the job is first
  advanced. It calls the module-level ``target(*args, **arrays)``, which builds a core job
  and returns it, or ``(job, finish)`` where ``finish(value, stopped)`` makes what is sent
  back (for a fit: its best model, also after a stop). The child sends each record through a
  pipe and checks a stop event (and that this process still lives) after each one.
- Closing the job here (Stop, closing napari) sets the event: the child closes its job at
  the next record (core jobs leave consistent state at every ``yield``; fits restore their
  best model), sends ``finish(None, True)`` and exits. :attr:`ProcessJob.result` holds it, since
  a closed generator cannot return a value.
- Errors: a :class:`~napari_vaemf.core.errors.VaemfError` raised in the child is raised here
  as itself, with its one-line message; any other exception as :class:`ChildFailed` (a
  ``RuntimeError``) naming its type and the first line of its message; the child's traceback
  goes to the log. A child that dies (killed, segfault) is a :class:`ChildFailed` naming the
  exit code or signal, never a hang: this process waits on the pipe with a timeout and checks
  that the child is alive.
- Data: ``arrays`` are copied once into :mod:`multiprocessing.shared_memory` and the child
  views them read-only (no pickled copy in the pipe, no second copy in the child). The
  pickled ``target`` and ``args`` travel in a shared block too: ``Process.start()`` writes
  what it is given to the child through a pipe and blocks until the child has read it, so a
  child that dies while starting (e.g. a script without ``if __name__ == "__main__":``)
  would hang it once that exceeds the pipe's 64 KB. Blocks are unlinked when the job ends.
  The records and the result come back pickled through a pipe.
- No child is left behind: the job's end joins it (terminating it if it does not exit), and
  on interpreter exit any child still running is stopped.
"""
from __future__ import annotations

import atexit
import gc
import importlib
import logging
import pickle
import multiprocessing as mp
import multiprocessing.util  # noqa: F401 - registers its exit handler before ours (see the end)
import signal
import time
import traceback
from collections.abc import Generator
from multiprocessing import shared_memory
from typing import Any, Callable

import numpy as np

from napari_vaemf.core.errors import VaemfError

__all__ = ["ChildFailed", "ProcessJob", "process_job"]

log = logging.getLogger(__name__)

_CALL = "__call__"  # the shared block holding the pickled (target, args)
_POLL_S = 0.25  # how long this side sleeps on the pipe before checking the child is alive
_EXIT_S = 10.0  # how long a child that sent its result may take to exit before it is terminated


class ChildFailed(RuntimeError):
    """The child raised an exception that is not a vaemf error, or died."""


def process_job(target: Callable[..., Any], *args: Any, arrays: dict[str, np.ndarray] | None = None,
                name: str = "job", stop_timeout_s: float = 120.0) -> "ProcessJob":
    """A job that runs ``target(*args, **arrays)``'s job in a spawned child process.

    ``target`` must be importable by name (a module-level function); ``args`` must pickle;
    ``arrays`` reach the child as read-only views of shared memory. ``name`` words the errors
    ("the fit process ended unexpectedly ..."). After a stop, the child has
    ``stop_timeout_s`` to send its result before it is terminated.
    """
    return ProcessJob(target, args, arrays or {}, name, stop_timeout_s)


class ProcessJob(Generator):
    """The parent's side of a child-process job: a generator of Progress records.

    ``result`` is what the child sent back (its job's return value, or ``finish``'s), also
    after a stop; ``stopped`` says whether it was stopped; ``pid`` and ``exitcode`` are the
    child's, once started and ended; ``shared`` names its shared-memory blocks.
    """

    def __init__(self, target, args, arrays, name, stop_timeout_s):
        self.target, self.args, self.name = target, tuple(args), name
        self.stop_timeout_s = float(stop_timeout_s)
        self.result: Any = None
        self.stopped = False
        self.pid: int | None = None
        self.exitcode: int | None = None
        self.shared: list[str] = []  # names of the shared-memory blocks (unlinked at the end)
        self._arrays = dict(arrays)
        self._gen = self._run()

    # the generator protocol, delegated (close() must reach _run even before it started)
    def send(self, value):
        return self._gen.send(value)

    def throw(self, *exc):
        return self._gen.throw(*exc)

    def close(self) -> None:
        self._gen.close()

    def _run(self):
        ctx = mp.get_context("spawn")
        call = np.frombuffer(pickle.dumps((self.target, self.args), protocol=5), np.uint8)
        blocks, specs = _share({**self._arrays, _CALL: call})
        del call
        self.shared = [block.name for block in blocks]
        self._arrays = {}  # the caller keeps its arrays; we keep the shared copies only
        recv = send = proc = stop = None
        try:
            recv, send = ctx.Pipe(duplex=False)
            stop = ctx.Event()
            proc = ctx.Process(target=_child_main, args=(send, stop, specs),
                               name=f"vaemf {self.name}", daemon=False)  # may start a Dask cluster
            proc.start()
            _RUNNING[proc.pid] = (proc, stop)
            self.pid = proc.pid
            send.close()  # the child holds the only write end: its death is an EOF here
            while True:
                kind, payload = self._receive(recv, proc)
                if kind == "result":
                    self.result = payload
                    return payload
                try:
                    yield payload
                except GeneratorExit:
                    self._stop(recv, proc, stop)
                    return
        finally:
            if proc is not None:
                self._end(proc, stop)
            for conn in (recv, send):
                if conn is not None:
                    conn.close()
            for block in blocks:
                block.close()
                block.unlink()

    def _receive(self, recv, proc, deadline: float | None = None) -> tuple[str, Any]:
        """The next ("progress", rec) or ("result", value); raises the child's error."""
        while True:
            if recv.poll(_POLL_S):
                try:
                    kind, payload = recv.recv()
                except (EOFError, OSError):  # the child died, maybe mid-message
                    proc.join(1.0)
                    raise ChildFailed(self._death(proc)) from None
                if kind == "error":
                    raise _rebuild_error(payload, self.name)
                return kind, payload
            if not proc.is_alive() and not recv.poll(0):
                raise ChildFailed(self._death(proc))
            if deadline is not None and time.monotonic() > deadline:
                raise ChildFailed(f"the {self.name} process did not stop within "
                                  f"{self.stop_timeout_s:.0f} s; it was terminated")

    def _stop(self, recv, proc, stop) -> None:
        """Closing: ask the child to stop and keep what it sends back."""
        stop.set()
        self.stopped = True
        deadline = time.monotonic() + self.stop_timeout_s
        while True:
            kind, payload = self._receive(recv, proc, deadline)
            if kind == "result":
                self.result = payload
                return

    def _death(self, proc) -> str:
        code = proc.exitcode
        if code is None:
            how = "its pipe closed"
        elif code < 0:
            try:
                how = f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit code {code}"
        return f"the {self.name} process ended unexpectedly ({how})"

    def _end(self, proc, stop) -> None:
        """Join the child; one that does not exit in time is terminated, then killed."""
        try:
            if proc.is_alive():
                stop.set()
                proc.join(_EXIT_S)
            if proc.is_alive():
                log.warning("%s process %s did not exit; terminating it", self.name, proc.pid)
                proc.terminate()
                proc.join(5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(5.0)
            self.exitcode = proc.exitcode
        finally:
            _RUNNING.pop(proc.pid, None)
            if proc.exitcode is not None:
                proc.close()


# -- shared arrays ---------------------------------------------------------------------------
def _share(arrays: dict[str, np.ndarray]):
    """Copy each array into a new shared-memory block: (blocks, {name: (block, shape, dtype)})."""
    blocks, specs = [], {}
    try:
        for key, a in arrays.items():
            a = np.asarray(a)
            if a.dtype.hasobject:
                raise TypeError(f"array {key!r} holds Python objects; it cannot be shared")
            block = shared_memory.SharedMemory(create=True, size=max(1, a.nbytes))
            blocks.append(block)
            view = np.ndarray(a.shape, a.dtype, buffer=block.buf)
            view[...] = a
            del view
            specs[key] = (block.name, a.shape, a.dtype.str)
    except BaseException:
        for block in blocks:
            block.close()
            block.unlink()
        raise
    return blocks, specs


# -- the child -------------------------------------------------------------------------------
def _child_main(conn, stop, specs) -> None:
    """Entry point of the spawned child: run the target's job, stream records, send the result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    parent = mp.parent_process()
    blocks: list[shared_memory.SharedMemory] = []
    try:
        arrays = _attach(specs, blocks)
        target, args = pickle.loads(arrays.pop(_CALL).tobytes())
        made = target(*args, **arrays)
        job, finish = made if isinstance(made, tuple) else (made, None)
        del made
        value, stopped = None, False
        try:
            while True:
                if stop.is_set() or (parent is not None and not parent.is_alive()):
                    stopped = True
                    job.close()  # GeneratorExit at its yield: it keeps its consistent state
                    break
                try:
                    rec = next(job)
                except StopIteration as fin:
                    value = fin.value
                    break
                conn.send(("progress", rec))
        finally:
            job.close()
        result = finish(value, stopped) if finish is not None else (None if stopped else value)
        conn.send(("result", result))
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent
        try:
            conn.send(("error", _describe_error(exc)))
        except (OSError, ValueError):  # the parent is gone
            pass
    finally:
        # drop every view of the shared blocks before closing them (an open view blocks close)
        job = finish = result = arrays = None  # noqa: F841
        gc.collect()
        for block in blocks:
            try:
                block.close()
            except BufferError:  # a view escaped into a cycle that outlives us: exit unmapped
                pass
        conn.close()


def _attach(specs: dict, blocks: list) -> dict[str, np.ndarray]:
    """Read-only views of the parent's shared blocks (appended to ``blocks`` to close later)."""
    arrays = {}
    for key, (block_name, shape, dtype) in specs.items():
        block = shared_memory.SharedMemory(name=block_name)
        blocks.append(block)
        view = np.ndarray(shape, np.dtype(dtype), buffer=block.buf)
        view.flags.writeable = False
        arrays[key] = view
    return arrays


def _first_line(text: str) -> str:
    return next((s.strip() for s in str(text).splitlines() if s.strip()), "")


def _describe_error(exc: BaseException) -> dict:
    """What the parent needs to raise ``exc`` again: a picklable description."""
    cls = type(exc)
    attrs = {k: v for k, v in vars(exc).items() if isinstance(v, (str, int, float, type(None)))}
    return {
        "module": cls.__module__,
        "qualname": cls.__qualname__,
        "message": str(exc),
        "attrs": attrs,
        "vaemf": isinstance(exc, VaemfError),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _rebuild_error(d: dict, name: str) -> BaseException:
    """The child's exception, as itself for vaemf errors, else a ChildFailed."""
    log.info("the %s process failed:\n%s", name, d.get("traceback", ""))
    if d.get("vaemf") and d["module"].startswith("napari_vaemf."):
        try:
            cls = importlib.import_module(d["module"])
            for part in d["qualname"].split("."):
                cls = getattr(cls, part)
            if isinstance(cls, type) and issubclass(cls, VaemfError):
                exc = cls.__new__(cls)
                Exception.__init__(exc, d["message"])
                exc.__dict__.update(d["attrs"])
                return exc
        except (ImportError, AttributeError):
            pass
    message = _first_line(d["message"])
    return ChildFailed(f"{d['qualname']}: {message}" if message else d["qualname"])


# -- no child outlives this process -----------------------------------------------------------
_RUNNING: dict[int, tuple[Any, Any]] = {}  # pid -> (process, stop event) of running children


@atexit.register
def _stop_children() -> None:
    """At exit (registered after multiprocessing's own handler, so it runs first): stop the
    children of jobs nobody closed, so that multiprocessing's join of them does not hang."""
    running = list(_RUNNING.values())
    for proc, stop in running:
        stop.set()
    deadline = time.monotonic() + 5.0
    for proc, _stop in running:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.terminate()
            proc.join(2.0)
