"""napari-vaemf: latent mean-field theories of neural and spin recordings, in napari."""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
