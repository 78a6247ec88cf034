"""Running a sweep's fits on Dask distributed: a LocalCluster on a laptop, a running
scheduler on a cluster (e.g. one started by dask-jobqueue on SLURM), the same tasks.

``scheduler`` strings (``CapacitySettings.scheduler``):

- ``"serial"``: no Dask; the fits run one after the other in this process;
- ``"local:N"``: a LocalCluster of N worker processes with one thread each, closed after the sweep;
- ``"tcp://host:8786"`` (or any address ``distributed.Client`` takes): a running scheduler.

Each fit is one task (:func:`~napari_vaemf.core.capacity._tasks.run_task`) that pins torch to
one thread, so a fit gives the same numbers here and on a worker. A worker that dies mid-task
is replaced and its task retried by the scheduler; results are stored only by this process,
when a task has finished, so no partial result is ever written.
"""
from __future__ import annotations

import logging
from typing import Callable

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
        cluster = LocalCluster(n_workers=int(arg), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(arg, timeout="10s"), None
    except (OSError, TimeoutError) as err:
        raise ParameterError(f"--scheduler {arg}: cannot reach a Dask scheduler ({err})") from err


def run_on_dask(spec: str, tasks: list, data, on_done: Callable[[object, dict], None]) -> Job[None]:
    """Run ``tasks`` (FitTask) on the Dask scheduler ``spec``; ``on_done(task, result)`` is
    called here, in completion order; yields one Progress record per finished fit."""
    from distributed import as_completed

    from napari_vaemf.core.capacity._tasks import run_task

    client, cluster = _client(spec)
    try:
        shared = client.scatter(data, broadcast=True)
        # larger K trains longer: start those first, so no worker waits on one long last fit
        futures = {client.submit(run_task, t, shared, 1, key=f"vaemf-{t.name}-{id(data)}",
                                 pure=False, retries=2, priority=t.latents): t for t in tasks}
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
        client.close()
        if cluster is not None:
            cluster.close()
