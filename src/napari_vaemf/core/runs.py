"""Run folders you can trust: checked up front, locked, written all at once.

A *run folder* (``vaemf fit -o RUN``, ``vaemf extract RUN``, ...) holds the files of one
result side by side (``model.pt``, ``latents.npy``, ``report.json``, ...) plus
``manifest.json``, which lists every file of the run with its size and sha256. Writers
use :class:`RunFolder`, readers :func:`read_run` or :func:`verify_run`::

    with RunFolder.open(out, kind="fit", option="-o") as run:   # checks + lock, before any work
        ...                                                     # hours of training
        with run.begin() as txn:                                # RUN/.vaemf-stage-<id>/
            fit.save(txn.path("model.pt"))
            txn.save_npy("latents.npy", z)
            txn.write_json("report.json", report)
            txn.commit()                                        # all files appear at once

Guarantees (POSIX; on other systems the lock is ``msvcrt`` and readers are not locked):

- :meth:`RunFolder.open` fails fast with a one-line :class:`InputError` when the path is a
  file, lies under a file, cannot be created or written (tested with a real write, so root
  and read-only mounts are caught too), or is held by another live process. The lock is a
  ``flock`` on ``RUN/.vaemf.lock``: the kernel drops it when its process dies.
- :meth:`Transaction.commit` hashes and fsyncs the staged files, puts the new manifest in
  the staging folder and renames that folder to ``.vaemf-commit-<id>`` (the commit point,
  one atomic rename), then rolls forward: delete ``manifest.json``, move the files in,
  delete the old run's files the new run does not have, move the new ``manifest.json`` in.
  Hence at every instant, ``manifest.json`` present means every file it lists is the one
  it lists; after a SIGKILL at any instant the next open (or :func:`read_run`) finishes a
  committed roll-forward or discards an uncommitted staging folder, so the folder holds
  exactly the complete old run or the complete new one, and no temporary file remains.
- Ctrl-C during a commit is deferred (:func:`defer_sigint`): the commit completes, then
  ``KeyboardInterrupt`` is raised (the run on disk is complete at that point).
- Readers in :func:`read_run` hold a shared ``flock`` on the folder; a commit takes it
  exclusively, so files read inside ``read_run`` all belong to one run.

Files of the folder not listed in any manifest (a user's notes) are never touched.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from napari_vaemf.core._runlocks import LOCK_FILE as _LOCK
from napari_vaemf.core._runlocks import defer_sigint
from napari_vaemf.core._runlocks import folder_lock, fsync_dir, owner_lock
from napari_vaemf.core.errors import InputError, ParameterError

__all__ = ["RunFolder", "Transaction", "Manifest", "read_run", "verify_run", "defer_sigint",
           "MANIFEST", "RUN_FORMAT"]

log = logging.getLogger(__name__)

RUN_FORMAT = "napari-vaemf.run/1"
MANIFEST = "manifest.json"
_STAGE, _COMMIT = ".vaemf-stage-", ".vaemf-commit-"
_REPLACES = ".replaces.json"  # in a journal: the old run's files the new run drops
_LEGACY_TMP = (".model.pt.*.tmp", ".report.json.tmp")  # left by writers before this module
_CHUNK = 1 << 20


# --- manifest ----------------------------------------------------------------------------
@dataclass
class Manifest:
    """``manifest.json``: what one committed run consists of.

    ``files`` maps each file name to ``{"size": bytes, "sha256": hex}``; ``run_id`` names the
    run (kept by ``commit(keep=True)`` additions), ``commit_id`` the commit that wrote it.
    """

    run_id: str
    commit_id: str
    kind: str
    created: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format": RUN_FORMAT, "run_id": self.run_id, "commit_id": self.commit_id,
                "kind": self.kind, "created": self.created, "files": self.files, "meta": self.meta}

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        """Parse a manifest file; :class:`InputError` if it is not one."""
        try:
            d = json.loads(Path(path).read_text())
            if d.get("format") != RUN_FORMAT:
                raise ValueError(f"format {d.get('format')!r}, expected {RUN_FORMAT!r}")
            return cls(d["run_id"], d["commit_id"], d["kind"], d["created"], dict(d["files"]),
                       dict(d.get("meta") or {}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            raise InputError(path, f"not a readable run manifest ({err})") from err


def _new_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def _hash_fsync(path: Path) -> dict[str, Any]:
    """Size and sha256 of a file, whose data are flushed to disk on the way."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            h.update(block)
            size += len(block)
        with contextlib.suppress(OSError):
            os.fsync(fh.fileno())
    return {"size": size, "sha256": h.hexdigest()}


# --- recovery ----------------------------------------------------------------------------
def _roll_forward(run: Path, journal: Path) -> None:
    """Finish a committed journal: files in, old files out, manifest last; idempotent."""
    staged = journal / MANIFEST
    if staged.exists():
        new = Manifest.read(staged)
        rep = journal / _REPLACES
        drop = json.loads(rep.read_text()) if rep.exists() else []
        (run / MANIFEST).unlink(missing_ok=True)  # from here until the end: no manifest
        fsync_dir(run)
        for name in new.files:
            if (journal / name).exists():
                os.replace(journal / name, run / name)
        for name in drop:
            if name not in new.files:
                (run / name).unlink(missing_ok=True)
        fsync_dir(run)
        os.replace(staged, run / MANIFEST)
        fsync_dir(run)
    shutil.rmtree(journal, ignore_errors=True)


def _recover(run: Path) -> None:
    """With the owner lock and the folder lock held: complete or discard interrupted saves."""
    for entry in sorted(run.iterdir()):
        if entry.name.startswith(_COMMIT) and entry.is_dir():
            log.warning("%s: completing a save that was interrupted (%s)", run, entry.name)
            _roll_forward(run, entry)
        elif entry.name.startswith(_STAGE) and entry.is_dir():
            log.info("%s: removing unfinished staging folder %s", run, entry.name)
            shutil.rmtree(entry, ignore_errors=True)
    for pattern in _LEGACY_TMP:
        for tmp in run.glob(pattern):
            tmp.unlink(missing_ok=True)


def _pending(run: Path) -> list[Path]:
    return [p for p in run.glob(_COMMIT + "*") if (p / MANIFEST).exists()]


def _try_recover(run: Path) -> bool:
    """Recover ``run`` if no live process owns it; False when it cannot (owned, read-only)."""
    try:
        fd = owner_lock(run)
    except (OSError, InputError):
        return False
    if fd is None:
        return False
    try:
        with folder_lock(run, shared=False):
            _recover(run)
        return True
    finally:
        os.close(fd)


def _holder(run: Path) -> str:
    try:
        text = (run / _LOCK).read_text().strip()
    except OSError:
        text = ""
    return f" ({text})" if text else ""


# --- writers -----------------------------------------------------------------------------
class RunFolder:
    """A run folder opened for writing: checked, locked, recovered. Use :meth:`open`."""

    def __init__(self, path: Path, kind: str, fd: int, created: bool):
        self.path, self.kind, self._fd, self._created = path, kind, fd, created
        self.committed = 0  # commits made through this object

    @classmethod
    def open(cls, path: str | os.PathLike, kind: str = "run", *, option: str | None = None,
             min_free_bytes: int = 0) -> "RunFolder":
        """Check ``path`` can hold a run, create it if needed, lock it, repair it.

        Raises :class:`InputError` (one line, naming ``option``, e.g. ``"-o"``, and the path)
        when ``path`` is a file or lies under one, cannot be created or written, has less
        than ``min_free_bytes`` free, or is held by another live process (or this one).
        """
        run = Path(path).expanduser().absolute()
        what = f" ({option} must name a folder)" if option else ""
        where = f" ({option} must name a folder this user can write)" if option else ""
        if run.exists() and not run.is_dir():
            raise InputError(run, f"exists and is not a folder{what}")
        base = run
        while not base.exists() and base != base.parent:
            base = base.parent
        if not base.is_dir():
            raise InputError(run, f"cannot be created: {base} is a file{what}")
        created = not run.exists()
        try:
            run.mkdir(parents=True, exist_ok=True)
            fd = owner_lock(run)
        except OSError as err:
            raise InputError(run, f"cannot be created or written: {err.strerror or err}{where}") from err
        if fd is None:
            raise InputError(run, f"is in use by another vaemf process{_holder(run)}; "
                                  "wait for it or choose another folder")
        self = cls(run, kind, fd, created)
        try:
            with folder_lock(run, shared=False):
                _recover(run)
            probe = run / f"{_STAGE}probe-{os.getpid()}"
            probe.mkdir()
            (probe / "x").write_bytes(b"x")  # a real write: root ignores permission bits
            shutil.rmtree(probe)
            holder = f"vaemf {kind}, pid {os.getpid()} on {socket.gethostname()}, " \
                     f"since {time.strftime('%Y-%m-%d %H:%M:%S')}"
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, holder.encode() + b"\n")
            if min_free_bytes and shutil.disk_usage(run).free < min_free_bytes:
                raise InputError(run, f"has {shutil.disk_usage(run).free / 2**20:.0f} MiB free, "
                                      f"needs {min_free_bytes / 2**20:.0f} MiB")
        except OSError as err:
            self.close()
            raise InputError(run, f"is not writable: {err.strerror or err}{where}") from err
        except BaseException:
            self.close()
            raise
        log.info("%s: opened for %s", run, kind)
        return self

    @property
    def manifest(self) -> Manifest | None:
        """The committed run now in the folder (None before the first commit)."""
        p = self.path / MANIFEST
        return Manifest.read(p) if p.exists() else None

    def begin(self) -> "Transaction":
        """A new staging folder inside the run folder; commit it to publish its files."""
        if self._fd is None:
            raise ParameterError(f"{self.path} is closed")
        return Transaction(self)

    def close(self) -> None:
        """Release the lock; a folder this object created and never committed is removed."""
        if self._fd is None:
            return
        if self._created and not self.committed:
            with contextlib.suppress(OSError):
                if [p.name for p in self.path.iterdir()] == [_LOCK]:
                    (self.path / _LOCK).unlink()  # still locked: nobody can be inside
                    self.path.rmdir()
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - a forgotten close
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)


class Transaction:
    """Files being written for one commit, in ``RUN/.vaemf-stage-<id>/`` (:attr:`dir`).

    Write with :meth:`path` (any writer: ``Fit.save``, ``plt.savefig``) or the helpers,
    then :meth:`commit`. Leaving the ``with`` block without committing discards them.
    """

    def __init__(self, folder: RunFolder):
        self.folder, self.id = folder, _new_id()
        self.dir = folder.path / f"{_STAGE}{self.id}"
        self.dir.mkdir()
        self.manifest: Manifest | None = None

    def path(self, name: str) -> Path:
        """Where to write file ``name`` (a plain name: no folders, no leading dot)."""
        if not name or name != Path(name).name or name.startswith(".") or name == MANIFEST:
            raise ParameterError(f"run files need plain names (not {MANIFEST!r}), got {name!r}")
        return self.dir / name

    def write_bytes(self, name: str, data: bytes) -> Path:
        p = self.path(name)
        p.write_bytes(data)
        return p

    def write_json(self, name: str, obj: Any) -> Path:
        return self.write_bytes(name, (json.dumps(obj, indent=1, default=str) + "\n").encode())

    def save_npy(self, name: str, array: np.ndarray) -> Path:
        p = self.path(name)
        with open(p, "wb") as fh:
            np.save(fh, np.asarray(array), allow_pickle=False)
        return p

    def commit(self, keep: bool = False, meta: dict | None = None) -> Manifest:
        """Publish the staged files as the folder's run, all at once; returns the manifest.

        ``keep=False``: the staged files are the whole new run (files of the old run that
        are not restaged are deleted). ``keep=True``: add to / replace files of the current
        run (``vaemf extract`` adding extraction.json beside model.pt); the run id stays.
        Ctrl-C is deferred until the commit is complete, then raised.
        """
        folder, run = self.folder, self.folder.path
        if self.manifest is not None or not self.dir.is_dir() or folder._fd is None:
            raise ParameterError("this transaction is already committed or discarded")
        with defer_sigint() as interrupted:
            names = sorted(p.name for p in self.dir.iterdir() if not p.name.startswith("."))
            for name in names:
                if not (self.dir / name).is_file() or (run / name).is_dir():
                    raise ParameterError(f"{name}: run files must be plain files")
            files = {name: _hash_fsync(self.dir / name) for name in names}
            old = folder.manifest
            if keep and old is not None:
                kept = {k: v for k, v in old.files.items() if k not in files
                        and (run / k).is_file() and (run / k).stat().st_size == v["size"]}
                files = {**kept, **files}
            new = Manifest(old.run_id if keep and old else self.id, self.id, folder.kind,
                           time.strftime("%Y-%m-%dT%H:%M:%S%z"), files, dict(meta or {}))
            drop = sorted(set(old.files) - set(files)) if old else []
            for name, text in ((_REPLACES, json.dumps(drop)),
                               (MANIFEST, json.dumps(new.to_json(), indent=1) + "\n")):
                (self.dir / name).write_text(text)
                _hash_fsync(self.dir / name)
            fsync_dir(self.dir)
            journal = run / f"{_COMMIT}{self.id}"
            with folder_lock(run, shared=False):
                os.rename(self.dir, journal)  # the commit point
                fsync_dir(run)
                _roll_forward(run, journal)
            self.manifest = new
            folder.committed += 1
            log.info("%s: committed %d files (%s)", run, len(names), self.id)
            if interrupted.count:
                log.warning("%s: interrupted while saving; the run was saved completely", run)
        return new

    def abort(self) -> None:
        """Discard the staged files (nothing in the folder changes)."""
        if self.manifest is None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, *exc) -> None:
        self.abort()


# --- readers -----------------------------------------------------------------------------
def _check(run: Path, hashes: bool, allow_unmanaged: bool,
           only: tuple[str, ...] | None = None) -> Manifest | None:
    if _pending(run):
        raise InputError(run, "holds an interrupted save that could not be completed; "
                              "open it for writing (e.g. rerun the command) to repair it")
    if not (run / MANIFEST).exists():
        if allow_unmanaged:
            return None
        raise InputError(run, f"has no {MANIFEST}: no run was completed here "
                              "(or it was written by an older vaemf)")
    m = Manifest.read(run / MANIFEST)
    for name, entry in m.files.items():
        if only is not None and name not in only:
            continue
        p = run / name
        if not p.is_file():
            raise InputError(p, f"is missing (listed in {MANIFEST})")
        same = p.stat().st_size == entry["size"]
        if not same or (hashes and _hash_fsync(p)["sha256"] != entry["sha256"]):
            raise InputError(p, f"differs from {MANIFEST} (changed after the run was saved)")
    return m


@contextlib.contextmanager
def read_run(path: str | os.PathLike, *, hashes: bool = True, allow_unmanaged: bool = False,
             only: tuple[str, ...] | None = None) -> Iterator[Manifest | None]:
    """Check a run folder and hold it still while the block reads its files.

    Completes an interrupted save first when no live process owns the folder. Yields the
    :class:`Manifest` (``None`` for a folder without one with ``allow_unmanaged``, e.g. runs
    from older versions); raises :class:`InputError` when files are missing or differ
    (``hashes=False`` compares sizes only; ``only`` checks just the files a reader reads, so a
    file deleted by hand that it does not need is no error). Commits wait until the block ends.
    """
    run = Path(path).expanduser().absolute()
    if not run.is_dir():
        raise InputError(run, "is not a run folder (no such directory)")
    if _pending(run):
        _try_recover(run)
    with folder_lock(run, shared=True):
        yield _check(run, hashes, allow_unmanaged, only)


def verify_run(path: str | os.PathLike, *, hashes: bool = True,
               allow_unmanaged: bool = False) -> Manifest | None:
    """:func:`read_run` without the block: the manifest of the complete run in ``path``."""
    with read_run(path, hashes=hashes, allow_unmanaged=allow_unmanaged) as manifest:
        return manifest
