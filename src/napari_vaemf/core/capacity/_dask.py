"""Running a sweep's fits on Dask distributed: a LocalCluster on a laptop, a running
scheduler on a cluster (e.g. one started by dask-jobqueue on SLURM), the same tasks.

``scheduler`` strings (``CapacitySettings.scheduler``):

- ``"serial"``: no Dask; the fits run one after the other in this process;
- ``"local:N"``: a LocalCluster of N worker processes with one thread each (their statistical
  profiler off: it slows torch fits by 20-40 %; each handed one fit at a time; forked where
  that is safe, :func:`start_method`), closed after the sweep;
- ``"tcp://host:8786"`` (or any address ``distributed.Client`` takes): a running scheduler.

Each fit is one task (:func:`~napari_vaemf.core.capacity._tasks.run_task`) that pins torch to
one thread, so a fit gives the same numbers here and on a worker. A worker that dies mid-task
is replaced and its task retried by the scheduler; results are stored only by this process,
when a task has finished, so no partial result is ever written.
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.progress import Job, Progress

__all__ = ["parse_scheduler", "run_on_dask"]

log = logging.getLogger(__name__)


def parse_scheduler(spec: str) -> tuple[str, int | str | None]:
    """("serial", None) | ("local", N) | ("address", spec), or ParameterError naming --scheduler."""
    spec = (spec or "serial").strip()
    if spec == "serial":
        return "serial", None
    if spec.startswith("local:"):
        try:
            n = int(spec.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise ParameterError(f"--scheduler local:N needs N >= 1 worker processes, got {spec!r}")
        return "local", n
    if "://" in spec:
        return "address", spec
    raise ParameterError(f"--scheduler must be serial, local:N or an address like "
                         f"tcp://host:8786, got {spec!r}")


def _client(spec: str):
    kind, arg = parse_scheduler(spec)
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - distributed is a dependency
        raise ParameterError("--scheduler needs dask's distributed package "
                             "(pip install distributed)") from err
    if kind == "local":
        import dask

        # the workers' statistical profiler samples every thread each 10 ms: it slowed a fit on
        # a worker by 20-40 % against the same fit here (the nannies keep this for restarts).
        # Worker saturation 1.0: a one-thread worker is handed one fit at a time (at the default
        # 1.1 it holds a second one queued, which at the end of a sweep can wait behind a long
        # fit while the other worker idles)
        # The scheduler and the nannies share this process's event loop: their 20 ms tick,
        # 100 ms memory checks and 0.5 s system monitor took 4 s of CPU in a 70 s sweep (7 s
        # in all with the main thread), taken from workers that fill every core; at 0.5 s,
        # 2 s and 5 s the loop took 0.7 s (the nannies still stop a runaway worker within 2 s)
        # dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's
        # adaptive mmap threshold: every tensor above 128 KiB became an mmap/munmap pair and a
        # fit's page faults showed as 5-17 % system time; the fits trained up to 20 % slower
        # than the same fits here (unset: as fast as here, measured)
        with dask.config.set({"distributed.worker.profile.enabled": False,
                              "distributed.scheduler.worker-saturation": 1.0,
                              "distributed.admin.tick.interval": "500ms",
                              "distributed.worker.memory.monitor-interval": "2s",
                              "distributed.admin.system-monitor.interval": "5s",
                              "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                              "distributed.worker.multiprocessing-method": start_method()}):
            cluster = LocalCluster(n_workers=int(arg), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(arg, timeout="10s"), None
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"--scheduler {arg}: cannot reach a Dask scheduler ({err})") from err


_GUI_TOOLKITS = ("PyQt5", "PyQt6", "PySide2", "PySide6")


def start_method() -> str:
    """How a ``local:N`` cluster starts its worker processes: ``fork`` on Linux from a process
    without a GUI toolkit on Python < 3.12, else ``spawn``. A forked worker inherits the
    imported modules: the cluster starts in 0.2 s instead of 1.7 s and closes in 0.03 s
    instead of 0.6 s (measured, 2 workers; a spawned worker imports torch and vaemf again
    and runs a full interpreter shutdown). Spawn where forking is unsafe (macOS; a process
    with Qt's threads, e.g. napari) or deprecated (Python 3.12+ warns when a threaded
    process forks). The workers' tasks pin torch to one thread before any torch work, so a
    parent's OpenMP pool is never entered in a child."""
    if sys.platform != "linux" or sys.version_info >= (3, 12):
        return "spawn"
    if any(name in sys.modules for name in _GUI_TOOLKITS):
        return "spawn"
    return "fork"


_SESSIONS: dict[str, tuple] = {}  # scheduler spec -> (client, cluster) held by scheduler_session


@contextmanager
def scheduler_session(spec: str) -> Iterator[None]:
    """Keep one client (and, for ``local:N``, one LocalCluster) for every
    :func:`run_on_dask` call on ``spec`` inside the block: a sweep's stages (K = 1, then 2,
    ...) share the workers instead of starting a cluster each. Serial: nothing to hold.
    The client is made at the first stage that needs it and closed when the block ends."""
    if parse_scheduler(spec)[0] == "serial" or spec in _SESSIONS:
        yield
        return
    _SESSIONS[spec] = (None, None)
    try:
        yield
    finally:
        client, cluster = _SESSIONS.pop(spec)
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def run_on_dask(spec: str, tasks: list, data, on_done: Callable[[object, dict], None]) -> Job[None]:
    """Run ``tasks`` (FitTask) on the Dask scheduler ``spec``; ``on_done(task, result)`` is
    called here, in completion order; yields one Progress record per finished fit. Inside a
    :func:`scheduler_session` the session's client is used (made here the first time) and
    kept open; outside, a client is made for these tasks and closed after them."""
    from distributed import as_completed

    from napari_vaemf.core.capacity._tasks import run_task

    held = spec in _SESSIONS
    client, cluster = _SESSIONS[spec] if held else (None, None)
    if client is None:
        client, cluster = _client(spec)
        if held:
            _SESSIONS[spec] = (client, cluster)
    try:
        shared = client.scatter(data, broadcast=True, hash=False)  # a fresh key per stage
        # larger K trains longer: start those first, so no worker waits on one long last fit.
        # Submitted in that order too: the scheduler hands the first tasks it receives to idle
        # workers before later (higher-priority) ones arrive, so priority alone started K = 1
        # first (measured: the K = 2 fits then ran last)
        first = sorted(tasks, key=lambda t: (-t.latents, t.restart))
        futures = {client.submit(run_task, t, shared, 1, key=f"vaemf-{t.name}-{id(data)}",
                                 pure=False, retries=2, priority=t.latents): t for t in first}
        done = 0
        try:
            for fut in as_completed(futures):
                task = futures[fut]
                result = fut.result()
                on_done(task, result)
                done += 1
                yield Progress("sweep", done, len(tasks),
                               {"K": task.latents, "restart": task.restart,
                                "test_loglik": result["point"]["test_loglik_nats"]})
        finally:  # stopped early (closed generator): cancel what is left
            client.cancel([f for f in futures if not f.done()])
    finally:
        if not held:
            client.close()
            if cluster is not None:
                cluster.close()
