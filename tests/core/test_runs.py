"""Run folders (core/runs.py): fail-fast checks, locks, all-or-nothing commits, Ctrl-C.

The crash tests run writers in child processes and SIGKILL them, at random moments and at
every step of a commit in turn, then check what a reader sees: at every instant either the
complete old run or the complete new one, and no temporary file after the next open.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from napari_vaemf.core.errors import InputError
from napari_vaemf.core.runs import MANIFEST, RunFolder, defer_sigint, read_run, verify_run

posix_only = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and flock are POSIX")

# A writer that commits run i = start, start+1, ... into one folder until it is killed.
# Run i: a.npy (512k float64 all equal to i, big enough for kills to land mid-write),
# b.npy ([i] * 1000), report.json {"i": i}, and odd.json only for odd i (so commits also
# delete files). It prints each i once committed.
WRITER = """
import json, sys, numpy as np
from napari_vaemf.core.runs import RunFolder
run_dir, i = sys.argv[1], int(sys.argv[2])
with RunFolder.open(run_dir, kind="test") as run:
    print("ready", flush=True)
    while True:
        with run.begin() as t:
            t.save_npy("a.npy", np.full(1 << 19, i, dtype=np.float64))
            t.save_npy("b.npy", np.full(1000, i))
            t.write_json("report.json", {"i": i})
            if i % 2:
                t.write_json("odd.json", {"i": i})
            t.commit()
        print(i, flush=True)
        i += 1
"""

# Commits run 0 completely, then run 1 with a hook that SIGKILLs this process before its
# n-th filesystem step (rename, replace, unlink, rmtree, directory fsync) of the commit.
CRASH_AT = """
import os, pathlib, shutil, signal, sys
import numpy as np
import napari_vaemf.core.runs as R
run_dir, n = sys.argv[1], int(sys.argv[2])
steps = 0
def hook(fn):
    def wrapped(*args, **kwargs):
        global steps
        steps += 1
        if steps == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return wrapped
def write(run, i):
    with run.begin() as t:
        t.save_npy("a.npy", np.full(1000, i, dtype=np.float64))
        t.save_npy("b.npy", np.full(1000, i))
        t.write_json("report.json", {"i": i})
        if i % 2:
            t.write_json("odd.json", {"i": i})
        t.commit()
with R.RunFolder.open(run_dir, kind="test") as run:
    write(run, 0)
    R.fsync_dir = hook(R.fsync_dir)
    os.replace, os.rename, shutil.rmtree = hook(os.replace), hook(os.rename), hook(shutil.rmtree)
    pathlib.Path.unlink = hook(pathlib.Path.unlink)
    write(run, 1)
print("steps", steps)
"""


def _python(tmp_path: Path, name: str, code: str) -> list[str]:
    script = tmp_path / name
    script.write_text(textwrap.dedent(code))
    return [sys.executable, str(script)]


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _run_index(run: Path) -> int:
    """The run i the files of ``run`` agree on (assertion error if they disagree)."""
    i = json.loads((run / "report.json").read_text())["i"]
    assert np.all(np.load(run / "a.npy") == i) and np.all(np.load(run / "b.npy") == i)
    assert (run / "odd.json").exists() == bool(i % 2)
    if i % 2:
        assert json.loads((run / "odd.json").read_text())["i"] == i
    return i


def _check_after_kill(run: Path, allowed: set[int]) -> int:
    """What a reader may see after a kill; returns the run index the folder holds."""
    if (run / MANIFEST).exists():  # before any repair: a manifest means its files are right
        m = json.loads((run / MANIFEST).read_text())
        for name, entry in m["files"].items():
            assert _sha(run / name) == entry["sha256"], name
        assert _run_index(run) in allowed
    manifest = verify_run(run)  # completes an interrupted roll-forward
    i = _run_index(run)
    assert i in allowed and set(manifest.files) == {"a.npy", "b.npy", "report.json"} | (
        {"odd.json"} if i % 2 else set())
    with RunFolder.open(run):  # the next open removes every leftover
        pass
    assert sorted(p.name for p in run.iterdir()) == sorted(
        [".vaemf.lock", MANIFEST, *manifest.files])
    return i


# --- (1) -o checks fail fast, with one line -------------------------------------------------
def _one_line_error(path, match):
    with pytest.raises(InputError, match=match) as err:
        RunFolder.open(path, kind="fit", option="-o")
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_open_refuses_a_file_and_a_path_under_a_file(tmp_path):
    f = tmp_path / "report.json"
    f.write_text("{}")
    _one_line_error(f, "exists and is not a folder \\(-o must name a folder\\)")
    _one_line_error(f / "run", "cannot be created: .* is a file")
    with pytest.raises(InputError, match="MiB free, needs"):
        RunFolder.open(tmp_path / "big", min_free_bytes=1 << 62)
    assert not (tmp_path / "big").exists()


def test_open_refuses_read_only_places(tmp_path):
    """Places no one can write, root included (root ignores permission bits, so chmod alone
    cannot make a read-only folder for it): /proc and /sys refuse new entries to root too;
    open() creates its lock file and a probe file, real writes, not an ``os.access`` guess."""
    places = [p for p in (Path("/proc/self"), Path("/proc/vaemf-run"), Path("/sys/vaemf/run"))
              if p.parent.is_dir()]
    if os.name == "posix" and os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        places += [ro, ro / "run"]
    if not places:
        pytest.skip("no read-only place to try here")
    for place in places:
        _one_line_error(place, "cannot be created or written|is not writable")


def test_open_creates_and_a_failed_run_leaves_no_folder(tmp_path):
    run = tmp_path / "a" / "b" / "run"
    with RunFolder.open(run, kind="fit") as folder:
        assert run.is_dir() and folder.manifest is None
    assert not run.exists()  # created here, nothing committed: removed again
    (tmp_path / "kept").mkdir()
    with RunFolder.open(tmp_path / "kept"):
        pass
    assert (tmp_path / "kept").is_dir()  # a folder the user made stays


# --- commits --------------------------------------------------------------------------------
def test_commit_replace_keep_and_verify(tmp_path):
    run = tmp_path / "run"
    with RunFolder.open(run, kind="fit") as folder:
        with folder.begin() as t:
            t.write_bytes("model.pt", b"m1")
            t.save_npy("latents.npy", np.arange(3.0))
            t.write_json("report.json", {"k": 1})
            first = t.commit()
        (run / "notes.txt").write_text("mine")  # not in any manifest: never touched
        with folder.begin() as t:
            t.write_json("extraction.json", {"p": 1})
            kept = t.commit(keep=True)
        assert kept.run_id == first.run_id and set(kept.files) == {
            "model.pt", "latents.npy", "report.json", "extraction.json"}
        (run / "latents.npy").unlink()  # deleted by hand: not carried into the next manifest
        with folder.begin() as t:
            t.write_json("extraction.json", {"p": 2})
            assert set(t.commit(keep=True).files) == {"model.pt", "report.json", "extraction.json"}
        with folder.begin() as t:
            t.write_bytes("model.pt", b"m2")
            t.write_bytes("junk", b"discarded")
            t.abort()
        with folder.begin() as t:
            t.write_bytes("model.pt", b"m2")
            new = t.commit()
    assert new.run_id != first.run_id and verify_run(run).commit_id == new.commit_id
    assert sorted(p.name for p in run.iterdir()) == [
        ".vaemf.lock", MANIFEST, "model.pt", "notes.txt"]  # the old run's files are gone
    (run / "model.pt").write_bytes(b"m3")
    with pytest.raises(InputError, match="differs from manifest.json"):
        verify_run(run)
    assert verify_run(run, hashes=False).files["model.pt"]["size"] == 2


def test_readers_of_unmanaged_folders_and_stale_leftovers(tmp_path):
    run = tmp_path / "old"
    run.mkdir()
    (run / "model.pt").write_bytes(b"from an older vaemf")
    (run / ".model.pt.abc123.tmp").write_bytes(b"partial")
    (run / ".vaemf-stage-dead").mkdir()
    (run / ".vaemf-stage-dead" / "model.pt").write_bytes(b"half")
    with pytest.raises(InputError, match="has no manifest.json"):
        verify_run(run)
    assert verify_run(run, allow_unmanaged=True) is None
    with read_run(run, allow_unmanaged=True) as m:
        assert m is None and (run / "model.pt").read_bytes() == b"from an older vaemf"
    with RunFolder.open(run):
        pass
    assert sorted(p.name for p in run.iterdir()) == [".vaemf.lock", "model.pt"]


# --- (2) SIGKILL at any moment --------------------------------------------------------------
@posix_only
def test_sigkill_at_every_step_of_a_commit(tmp_path):
    """Kill before each filesystem step of a commit in turn, until a commit survives."""
    cmd = _python(tmp_path, "crash.py", CRASH_AT)
    for n in range(1, 60):
        run = tmp_path / f"run{n}"
        p = subprocess.run([*cmd, str(run), str(n)], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:  # n is past the last step: every step was tried
            assert n > 5 and _check_after_kill(run, {1}) == 1
            break
        assert p.returncode == -signal.SIGKILL, p.stderr
        _check_after_kill(run, {0, 1})
    else:
        pytest.fail("the commit never completed")


@posix_only
def test_sigkill_at_random_moments(tmp_path):
    """>= 20 kills at random moments of a writer committing 4 MB runs back to back."""
    cmd = _python(tmp_path, "writer.py", WRITER)
    run, rng, last, kills = tmp_path / "run", random.Random(11), 0, 0
    with RunFolder.open(run) as folder, folder.begin() as t:  # run 0, complete
        t.save_npy("a.npy", np.full(1 << 19, 0.0))
        t.save_npy("b.npy", np.full(1000, 0))
        t.write_json("report.json", {"i": 0})
        t.commit()
    t0 = time.monotonic()
    while kills < 20 or time.monotonic() - t0 < 2:
        args = [*cmd, str(run), str(last + 1)]
        with subprocess.Popen(args, stdout=subprocess.PIPE, text=True) as p:
            try:
                assert p.stdout.readline().strip() == "ready"
                time.sleep(rng.uniform(0.0, 0.2))
            finally:
                p.kill()
            done = [int(line) for line in p.communicate(timeout=30)[0].split()]
        kills += 1
        committed = done[-1] if done else last
        last = _check_after_kill(run, {committed, committed + 1})
    assert kills >= 20 and last > 0


# --- (3) locks ------------------------------------------------------------------------------
@posix_only
def test_folder_held_by_a_live_process_is_refused_a_dead_ones_is_not(tmp_path):
    run = tmp_path / "run"
    cmd = _python(tmp_path, "hold.py", """
        import sys, time
        from napari_vaemf.core.runs import RunFolder
        with RunFolder.open(sys.argv[1], kind="fit"):
            print("ready", flush=True)
            time.sleep(60)
    """)
    with subprocess.Popen([*cmd, str(run)], stdout=subprocess.PIPE, text=True) as p:
        try:
            assert p.stdout.readline().strip() == "ready"
            busy = f"in use by another vaemf process .*pid {p.pid}"
            with pytest.raises(InputError, match=busy) as err:
                RunFolder.open(run, kind="fit", option="-o")
            assert "\n" not in str(err.value)
        finally:
            p.kill()
    with RunFolder.open(run, kind="fit") as folder:  # the kernel dropped the dead one's lock
        with pytest.raises(InputError, match="in use"):  # and one process cannot open it twice
            RunFolder.open(run)
        assert folder.manifest is None


# --- (4) Ctrl-C -----------------------------------------------------------------------------
@posix_only
def test_defer_sigint_holds_then_raises_once():
    with pytest.raises(KeyboardInterrupt):
        with defer_sigint() as caught:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            assert caught.count == 2  # still running
    with defer_sigint(reraise=False) as caught:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
    assert caught.count == 1 and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job: SIGINT stays ignored
    try:
        with defer_sigint() as caught:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        assert caught.count == 0
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@posix_only
def test_second_ctrl_c_during_commit_still_saves_the_run(tmp_path):
    """Two SIGINTs while the files are hashed and moved: the commit completes, then
    KeyboardInterrupt comes out of commit() and the folder holds the complete new run."""
    run = tmp_path / "run"
    cmd = _python(tmp_path, "ctrlc.py", """
        import os, signal, sys
        import numpy as np
        import napari_vaemf.core.runs as R
        hash_fsync, replace = R._hash_fsync, os.replace
        def hashing(p):
            os.kill(os.getpid(), signal.SIGINT)
            return hash_fsync(p)
        def moving(*a):
            os.kill(os.getpid(), signal.SIGINT)
            return replace(*a)
        with R.RunFolder.open(sys.argv[1], kind="test") as run:
            with run.begin() as t:
                for name, i in (("a.npy", 0), ("b.npy", 0), ("report.json", 0)):
                    t.save_npy(name, [i]) if name.endswith("npy") else t.write_json(name, {"i": i})
                t.commit()
            R._hash_fsync, os.replace = hashing, moving
            try:
                with run.begin() as t:
                    t.save_npy("a.npy", np.full(1 << 16, 1.0))
                    t.save_npy("b.npy", np.full(1000, 1))
                    t.write_json("report.json", {"i": 1})
                    t.write_json("odd.json", {"i": 1})
                    t.commit()
            except KeyboardInterrupt:
                print("interrupted after", run.committed, "commits", flush=True)
                sys.exit(130)
    """)
    p = subprocess.run([*cmd, str(run)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 130 and "interrupted after 2 commits" in p.stdout, p.stderr
    assert "the run was saved completely" in p.stderr
    assert verify_run(run) is not None and _run_index(run) == 1
    assert not [q for q in run.iterdir() if q.name.startswith(".vaemf-")]
