"""Targets for tests/core/test_processes.py: module-level, so that a spawned child imports
them by name (the test puts this folder on sys.path, which spawn passes to the child)."""
from __future__ import annotations

import time

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.progress import Progress


def counter(n: int, delay: float, *, x):
    """Count to ``n``; the result says how far it got, whether it was stopped, and sum(x)."""
    done = [0]

    def job():
        for i in range(1, n + 1):
            time.sleep(delay)
            done[0] = i
            yield Progress("count", i, n, {"i": i})
        return "finished"

    def finish(value, stopped):
        return {"value": value, "done": done[0], "stopped": stopped, "sum": int(x.sum()),
                "writeable": bool(x.flags.writeable)}

    return job(), finish


def plain(n: int):
    """A job without a finish: its return value is the result."""
    def job():
        for i in range(n):
            yield Progress("plain", i + 1, n)
        return n * 10
    return job()


def fails(kind: str):
    def job():
        yield Progress("fail", 1, 2)
        if kind == "vaemf":
            raise InputError("recording.mat", "the raster has no spikes")
        raise ZeroDivisionError("boom\nand a second line")
    return job()


def forever():
    def job():
        i = 0
        while True:
            i += 1
            time.sleep(0.02)
            yield Progress("forever", i)
    return job()


def total(values, *, x=None):
    """A job whose (large) argument is summed."""
    def job():
        yield Progress("total", 1, 1)
        return float(sum(values))
    return job()
