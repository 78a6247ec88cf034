"""Size budgets: what a file or an option may make vaemf allocate, checked before allocating.

One rule per kind of size, used by the readers, the settings and the commands:

- **Dense arrays** (a raster read whole, the samples of a fit, sampled configurations) must
  fit in :func:`memory_budget`: ``VAEMF_MEMORY_LIMIT`` (bytes, or ``512M``, ``8G``) when set,
  else half of this machine's memory (or of the container's limit). :func:`check_alloc`
  refuses larger ones with a one-line error naming the size, before anything is allocated.
- **Rasters** may have at most :data:`MAX_BINS` time bins. A raster larger than memory is
  fine while it is binned lazily (dask, chunk by chunk), but every chunk is a task, so the
  number of bins is bounded too (one spike at t = 1e9 s would make 5e10 bins of 20 ms).
- **Models** have at most :data:`MAX_LATENTS` latents and :data:`MAX_HIDDEN_PARAMETERS`
  weights between hidden layers (``VAEConfig`` checks both), and run on a device named by
  :data:`DEVICE_NAMES`.
- **Counts** in one bin above :data:`MAX_BIN_COUNT` are not spike counts (an image, a wrong
  variable, or int64 garbage such as 2**62).
- **Declared sizes** come before reading: a ``.npy`` header must not claim more bytes than
  the file holds (:func:`check_npy`); every member of a ``.npz`` must be stored or deflated
  as NumPy writes them, expand by no more than deflate can (:data:`MAX_RATIO`) and have a
  header that agrees with its size (:func:`check_npz`); an HDF5 dataset's shape x itemsize is
  checked before it is read (:func:`check_dataset`).

Nothing here reads more than a file's headers.
"""
from __future__ import annotations

import math
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from napari_vaemf.core.errors import InputError, ParameterError

__all__ = ["memory_budget", "check_alloc", "format_bytes", "check_npy", "check_npz",
           "check_dataset", "MAX_BINS", "MAX_BIN_COUNT", "MAX_RATIO", "MAX_LATENTS",
           "MAX_HIDDEN_PARAMETERS", "DEVICE_NAMES", "MEMORY_ENV"]

MEMORY_ENV = "VAEMF_MEMORY_LIMIT"  # bytes a dense array may take, e.g. "8G" (default: half the memory)
MAX_BINS = 1_000_000_000  # time bins of one raster: 11.6 days at 1 ms, 231 days at 20 ms
MAX_LATENTS = 1024  # latent variables of one fit (order parameters; the sweeps use a handful)
MAX_HIDDEN_PARAMETERS = 50_000_000  # VAE weights between hidden layers (200 MB of float32)
DEVICE_NAMES = re.compile(r"auto|cpu|mps|cuda(:\d+)?")  # where a fit may run (torch's names)
MAX_BIN_COUNT = 1_000_000  # spikes in one bin of a counts raster (1 kHz for 1000 s); more is not spikes
# Deflate cannot expand more than 1032:1; a member beyond this ratio was packed by something
# else (bzip2, lzma) or is crafted. Small members are exempt (a few MB of zeros is harmless).
MAX_RATIO = 1100
RATIO_EXEMPT_BYTES = 64 << 20
_NUMPY_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 9: "deflate64"}


def format_bytes(n: float) -> str:
    """``4294967296`` -> ``"4.0 GiB"``."""
    for unit in ("B", "KB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if m is None:
        raise ParameterError(f"{MEMORY_ENV} must be a size like 8G or 512M, got {text!r}")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2)]
    value = float(m.group(1)) * scale
    if not value > 0:
        raise ParameterError(f"{MEMORY_ENV} must be positive, got {text!r}")
    return int(value)


def _machine_memory() -> int:
    """Physical memory, or the container's (cgroup) limit when smaller; 8 GiB if unknown."""
    total = 8 << 30
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - Windows
        pass
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return int(total)


def memory_budget() -> int:
    """Bytes one dense array may take: ``VAEMF_MEMORY_LIMIT``, else half the machine's memory."""
    text = os.environ.get(MEMORY_ENV)
    if text:
        return _parse_bytes(text)
    return _machine_memory() // 2


def _budget_words() -> str:
    if os.environ.get(MEMORY_ENV):
        return f"{MEMORY_ENV}={os.environ[MEMORY_ENV]}"
    return f"half this machine's memory; set {MEMORY_ENV} to change"


def check_alloc(nbytes: float, what: str, *, source: Any = None, hint: str | None = None) -> None:
    """Refuse, before allocating, a dense ``what`` of ``nbytes`` beyond :func:`memory_budget`.

    Raises :class:`InputError` naming ``source`` when the size comes from a file, else
    :class:`ParameterError` (the size comes from an option, which ``what`` should name).
    """
    budget = memory_budget()
    if nbytes <= budget:
        return
    msg = (f"{what} would take {format_bytes(nbytes)} of memory, more than the "
           f"{format_bytes(budget)} vaemf allows itself ({_budget_words()})")
    if hint:
        msg += f"; {hint}"
    if source is not None:
        raise InputError(source, msg)
    raise ParameterError(msg)


def _shape_words(shape: tuple, dtype: np.dtype) -> str:
    return f"{' x '.join(str(int(s)) for s in shape) or 'scalar'} {dtype} array"


def _read_npy_header(fh) -> tuple[tuple, np.dtype]:
    version = np.lib.format.read_magic(fh)
    read = {(1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read is None:  # (3, 0): utf-8 field names; same layout as 2.0
        read = np.lib.format._read_array_header  # type: ignore[attr-defined]
        shape, _, dtype = read(fh, version)
    else:
        shape, _, dtype = read(fh)
    return tuple(shape), dtype


def _check_npy_stream(fh, data_bytes_available: int | None, source: Any, where: str) -> int:
    """Declared bytes of the .npy at ``fh`` (header checked against what the file holds)."""
    start = fh.tell()
    try:
        shape, dtype = _read_npy_header(fh)
    except (ValueError, OSError, EOFError, SyntaxError) as err:
        raise InputError(source, f"{where}is not a readable .npy array: {err}") from err
    if dtype.hasobject:  # a pickle: never loaded (allow_pickle=False), so nothing to allocate
        return 0
    header = fh.tell() - start
    nbytes = math.prod(int(s) for s in shape) * dtype.itemsize
    if data_bytes_available is not None and header + nbytes > data_bytes_available:
        raise InputError(
            source,
            f"{where}the header declares a {_shape_words(shape, dtype)} ({format_bytes(nbytes)}) "
            f"but there are only {format_bytes(max(0, data_bytes_available - header))} of data: "
            "truncated or damaged",
        )
    return nbytes


def check_npy(path: str | os.PathLike) -> int:
    """Check a ``.npy`` file's header before ``np.load``: the declared array must be in the file
    and within :func:`memory_budget`. Returns its size in bytes."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        nbytes = _check_npy_stream(fh, size, path, "")
    check_alloc(nbytes, "its array", source=path)
    return nbytes


def check_npz(path: str | os.PathLike) -> int:
    """Check every member of a ``.npz`` before any is decompressed (see the module docstring).

    A file that is not a zip is left to the caller (``np.load`` reads a ``.npy`` under a
    ``.npz`` name, which :func:`check_npy` checks). Returns the declared bytes of all members.
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            is_npy = fh.read(6) == b"\x93NUMPY"
        return check_npy(path) if is_npy else 0
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(path, f"cannot read this .npz file: {err}") from err
    total = 0
    with zf:
        for info in zf.infolist():
            name = info.filename
            packed, size = info.compress_size, info.file_size
            if size > RATIO_EXEMPT_BYTES and size > MAX_RATIO * max(packed, 1):
                raise InputError(
                    path,
                    f"member {name} would expand {format_bytes(packed)} to {format_bytes(size)} "
                    f"({size / max(packed, 1):,.0f}:1, more than deflate can pack): refusing a "
                    "likely decompression bomb",
                )
            if info.compress_type not in _NUMPY_METHODS:
                method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
                raise InputError(
                    path,
                    f"member {name} is {method}-compressed; vaemf reads .npz files as NumPy writes "
                    "them (stored or deflate): save it again with numpy.savez_compressed",
                )
            total += size
            if name.endswith(".npy"):
                try:
                    with zf.open(info) as fh:
                        _check_npy_stream(fh, size, path, f"member {name}: ")
                except (zipfile.BadZipFile, OSError, EOFError) as err:
                    raise InputError(path, f"cannot read member {name}: {err}") from err
    check_alloc(total, "its arrays", source=path)
    return total


def check_dataset(ds: Any, source: Any, what: str) -> int:
    """Check an HDF5 dataset's declared size (shape x itemsize) before reading it whole."""
    shape = tuple(int(s) for s in (ds.shape or ()))
    nbytes = math.prod(shape) * ds.dtype.itemsize
    check_alloc(nbytes, f"{what} ({_shape_words(shape, ds.dtype)})", source=source)
    return nbytes
