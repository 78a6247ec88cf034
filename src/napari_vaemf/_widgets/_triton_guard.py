"""Keep torch from loading triton into a napari process where that would segfault.

Why: torch 2 imports ``torch._dynamo`` the first time an optimizer is made
(``Optimizer.add_param_group`` is wrapped in ``torch._disable_dynamo``), and
``torch._dynamo.utils`` imports ``triton`` when it is installed (the default Linux torch
wheel depends on it). ``triton/_C/libtriton.so`` carries its own LLVM and exports those
symbols. napari's canvas makes an OpenGL context when the viewer is created; Mesa loads its
driver (``swrast_dri.so``, also radeonsi/iris/llvmpipe on desktops) with ``RTLD_GLOBAL`` and
with it ``libLLVM-NN.so``. From then on the dynamic linker binds libtriton's LLVM symbols to
Mesa's LLVM (another version), and libtriton's static initialisers crash inside
``import triton``: napari dies with a segmentation fault when a fit starts. Importing
triton *before* the context is made is safe, but napari makes the context before it
imports a plugin's widget module, so the plugin cannot guarantee that order.

What: :func:`keep_triton_out_if_it_would_crash` runs on the main thread when Start is
pressed, before the widget builds its job. When an LLVM is visible in the process's global
symbol scope and triton is not loaded yet, ``import triton`` could only crash, so it marks
triton as absent (``sys.modules["triton"] = None``): torch then takes its no-triton paths
(as with the CPU wheel), and any later ``import triton`` raises ImportError instead of
killing napari. It also drops torch's native triton kernel overrides (torch >= 2.14
registers them at ``import torch`` and would import triton lazily for some CUDA ops). Fits
never use ``torch.compile``, so nothing is lost; where no LLVM is global (NVIDIA's driver,
the headless CLI) or triton was loaded safely earlier, nothing changes.

Not chosen: importing triton early from the plugin (napari has made its context before it
imports the plugin, even from the Plugins menu); loading libtriton with ``RTLD_DEEPBIND``
(works for the import but is a loader trick with known pitfalls, for no gain here);
GUI fits now train in a spawned child process without a GL context (core.processes), but
napari's process still rebuilds the finished fit (and its optimizer) from the child's
checkpoint, so the guard stays.
"""
from __future__ import annotations

import ctypes
import importlib.util
import logging
import sys

__all__ = ["keep_triton_out_if_it_would_crash", "llvm_in_global_scope"]

log = logging.getLogger(__name__)

# Exported by every shared libLLVM (Mesa links against one): the C API's first entry point,
# and the command-line option registration that libtriton's static initialisers run.
_LLVM_SYMBOLS = ("LLVMContextCreate", "_ZN4llvm2cl6Option11addArgumentEv")


def llvm_in_global_scope() -> bool:
    """True when a shared LLVM's symbols are in the process's global scope (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        scope = ctypes.CDLL(None)  # dlopen(NULL): the program and its RTLD_GLOBAL libraries
    except OSError:
        return False
    return any(hasattr(scope, name) for name in _LLVM_SYMBOLS)


def keep_triton_out_if_it_would_crash() -> bool:
    """Mark triton absent when importing it now would crash; True if it did so (idempotent)."""
    if "triton" in sys.modules:  # loaded (safely) already, or already marked absent
        return sys.modules["triton"] is None
    if importlib.util.find_spec("triton") is None or not llvm_in_global_scope():
        return False
    sys.modules["triton"] = None  # type: ignore[assignment]
    native = sys.modules.get("torch._native.triton_utils")
    if native is not None:
        try:
            native.deregister_op_overrides()
        except Exception:  # noqa: BLE001 - a private torch API; hiding triton is the fix
            log.debug("could not drop torch's native triton kernels", exc_info=True)
    log.info(
        "triton is not loaded in this process: the OpenGL driver's LLVM is already loaded "
        "and triton's would clash with it (segfault); torch runs without triton here."
    )
    return True
