from __future__ import annotations

import pytest

from napari_vaemf.core.progress import Progress, drive


def _job(n, log):
    try:
        for i in range(n):
            yield Progress("count", i + 1, n, {"i": float(i)})
        return "done"
    finally:
        log.append("closed")


@pytest.mark.parametrize("bar", [True, False])
def test_drive_returns_the_result_and_sees_every_record(bar):
    seen, log = [], []
    assert drive(_job(5, log), bar=bar, on_progress=seen.append) == "done"
    assert [r.step for r in seen] == [1, 2, 3, 4, 5]
    assert log == ["closed"]


def test_drive_closes_the_job_when_the_consumer_fails():
    log = []

    def boom(rec):
        if rec.step == 2:
            raise RuntimeError("consumer failed")

    with pytest.raises(RuntimeError, match="consumer failed"):
        drive(_job(5, log), bar=False, on_progress=boom)
    assert log == ["closed"]


def test_fraction():
    assert Progress("s", 5, 10).fraction == 0.5
    assert Progress("s", 5, None).fraction is None
    assert Progress("s", 50, 10).fraction == 1.0
