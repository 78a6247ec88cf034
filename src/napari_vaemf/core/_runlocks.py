"""The locks and signal handling under :mod:`napari_vaemf.core.runs`: Ctrl-C held off during
a commit (:func:`defer_sigint`), the owner lock on ``RUN/.vaemf.lock`` (a ``flock`` the kernel
drops when its process dies), the shared/exclusive ``flock`` on the folder itself, and the
directory fsync of a commit's renames."""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from napari_vaemf.core.errors import InputError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

__all__ = ["Deferred", "defer_sigint", "LOCK_FILE", "owner_lock", "folder_lock", "fsync_dir"]

log = logging.getLogger(__name__)

LOCK_FILE = ".vaemf.lock"


# --- signals -----------------------------------------------------------------------------
@dataclass
class Deferred:
    """What :func:`defer_sigint` caught: ``count`` SIGINTs while it was active."""

    count: int = 0


@contextlib.contextmanager
def defer_sigint(reraise: bool = True) -> Iterator[Deferred]:
    """Hold Ctrl-C (SIGINT) off until the block ends; then, if one came, act on it once.

    Acting on it = calling the handler that was installed before (Python's default raises
    ``KeyboardInterrupt``; ``SIG_DFL`` re-sends the signal; ``SIG_IGN`` does nothing). Not
    re-raised when the block raised, or with ``reraise=False`` (read ``.count``). Outside the
    main thread (napari workers) signals cannot be handled, and where SIGINT is ignored
    (background jobs) it stays ignored: the block runs unchanged.
    """
    state = Deferred()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is signal.SIG_IGN):  # e.g. a background job
        yield state
        return

    def _hold(signum, frame):  # noqa: ARG001
        state.count += 1
        log.warning("interrupt received; finishing the save first")

    previous = signal.signal(signal.SIGINT, _hold)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
    if state.count and reraise:
        if previous is signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)
        elif callable(previous):
            previous(signal.SIGINT, None)
        elif previous is None:
            raise KeyboardInterrupt


def fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on Windows; best effort elsewhere
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- locks -------------------------------------------------------------------------------
def _try_lock(fd: int) -> bool:
    """Exclusive, non-blocking lock on an open file; False when another holder has it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows: the OS drops it when the process dies, too
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except (BlockingIOError, PermissionError):
        return False
    except OSError as err:
        if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            raise
        log.warning("file locks are not supported here (%s); folder left unlocked", err)
    return True


def owner_lock(run: Path) -> int | None:
    """Open and lock ``run/.vaemf.lock``; the fd, or None when a live process holds it.

    Checks that the locked file is still the one at that path (a closing owner may remove
    the lock file of a folder it created and leaves empty).
    """
    lock = run / LOCK_FILE
    for _ in range(5):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            return None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
        run.mkdir(parents=True, exist_ok=True)
    raise InputError(run, "the lock file keeps changing; is another program removing it?")


@contextlib.contextmanager
def folder_lock(run: Path, shared: bool) -> Iterator[None]:
    """``flock`` on the folder itself: shared for readers, exclusive for a commit.

    A no-op where folders cannot be locked (Windows, some network filesystems).
    """
    try:
        fd = os.open(run, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        if fcntl is not None:
            mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            t0 = time.monotonic()
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() - t0 > 10:
                        log.warning("%s: waiting for %s of the folder", run,
                                    "a save" if shared else "readers")
                        t0 = time.monotonic()
                    time.sleep(0.02)
                except OSError as err:  # pragma: no cover - no flock on this filesystem
                    log.debug("%s: folder lock unavailable (%s)", run, err)
                    break
        yield
    finally:
        os.close(fd)  # releases the flock
