"""core.processes: a job run in a spawned child streams its progress, stops with its last
result, re-raises the child's errors as one-line errors, reports a dead child, and leaves
no process or shared memory behind."""
from __future__ import annotations

import os
import signal
import sys
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np
import psutil  # a dependency of distributed
import pytest

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.processes import ChildFailed, process_job
from napari_vaemf.core.progress import drive


@pytest.fixture
def targets(monkeypatch):
    """The test targets, importable in this process and (through sys.path) in the child."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    import _process_targets

    return _process_targets


def _gone(job) -> bool:
    """The child has exited and been reaped, and the shared blocks are unlinked."""
    if job.pid is not None and psutil.pid_exists(job.pid):
        proc = psutil.Process(job.pid)
        if proc.status() != psutil.STATUS_ZOMBIE and proc.ppid() == os.getpid():
            return False
    for name in job.shared:
        try:
            shared_memory.SharedMemory(name=name).close()
            return False
        except FileNotFoundError:
            pass
    return True


def test_progress_is_streamed_and_the_result_returned(targets):
    x = np.arange(1000, dtype=np.int8).reshape(100, 10)
    job = process_job(targets.counter, 5, 0.0, arrays={"x": x})
    seen = []
    out = drive(job, bar=False, on_progress=seen.append)
    assert [r.step for r in seen] == [1, 2, 3, 4, 5] and seen[-1].metrics == {"i": 5}
    assert out == job.result
    assert out == {"value": "finished", "done": 5, "stopped": False, "sum": int(x.sum()),
                   "writeable": False}  # the child viewed the shared copy, read-only
    assert not job.stopped and job.exitcode == 0 and _gone(job)


def test_a_plain_job_returns_its_value(targets):
    job = process_job(targets.plain, 3)
    assert drive(job, bar=False) == 30 and job.result == 30 and _gone(job)


def test_stop_keeps_the_last_result(targets):
    x = np.ones((50, 4), np.int8)
    job = process_job(targets.counter, 100_000, 0.01, arrays={"x": x})
    for _ in range(3):
        next(job)
    job.close()  # what Stop does: the child closes its job at the next record and finishes
    assert job.stopped
    res = job.result
    assert res["stopped"] and 3 <= res["done"] < 100_000 and res["sum"] == 200
    assert _gone(job)


def test_closing_before_the_start_starts_nothing(targets):
    job = process_job(targets.plain, 3)
    job.close()
    assert job.pid is None and job.result is None


@pytest.mark.parametrize("kind", ["vaemf", "other"])
def test_child_errors_are_raised_as_one_line_errors(targets, kind):
    job = process_job(targets.fails, kind)
    if kind == "vaemf":
        with pytest.raises(InputError) as err:
            drive(job, bar=False)
        assert str(err.value) == "recording.mat: the raster has no spikes"
        assert err.value.source == "recording.mat"
    else:
        with pytest.raises(ChildFailed) as err:
            drive(job, bar=False)
        assert str(err.value) == "ZeroDivisionError: boom"
    assert _gone(job)


def test_a_killed_child_is_reported_not_waited_for(targets):
    job = process_job(targets.forever, name="test")
    next(job)
    os.kill(job.pid, signal.SIGKILL)
    with pytest.raises(ChildFailed, match=r"the test process ended unexpectedly \(killed by signal SIGKILL\)"):
        for _ in range(10_000):
            next(job)
    assert _gone(job)


def test_the_child_is_spawned_not_forked(targets):
    job = process_job(targets.forever)
    next(job)
    cmd = " ".join(psutil.Process(job.pid).cmdline())
    assert "multiprocessing.spawn" in cmd and sys.executable.split("/")[-1] in cmd
    job.close()
    assert _gone(job)


def test_large_arguments_and_a_child_that_cannot_start(targets, tmp_path, monkeypatch):
    """Arguments far beyond a pipe's 64 KB reach the child; a child that cannot import its
    target is a one-line error (start-up never waits on a child that is gone)."""
    values = list(range(200_000))  # ~1 MB pickled
    job = process_job(targets.total, values)
    assert drive(job, bar=False) == float(sum(values)) and _gone(job)

    (tmp_path / "vanishing_target.py").write_text(
        "from napari_vaemf.core.progress import Progress\n"
        "def job(n):\n    yield Progress('x', 1)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import vanishing_target

    job = process_job(vanishing_target.job, list(range(200_000)))
    monkeypatch.undo()  # the child's sys.path no longer has the module's folder
    with pytest.raises(ChildFailed, match=r"^ModuleNotFoundError: No module named 'vanishing_target'$"):
        drive(job, bar=False)
    assert _gone(job)
