"""How many rows an evaluation chunk may hold: sized by the activations, not the input.

A chunk of B prepared rows costs far more than its B × N input floats. Under
``torch.no_grad`` the peak of one chunk is, in float32 units (float64 counts twice):

- once per row: the prepared row and its source (2 × N·comps), the encoder's widest hidden
  layer with its activation and the next layer's output (3 × max encoder width), mu/logvar;
- per importance sample (k of them; k = 1 for the ELBO, 0 for ``encode`` only): eps and z
  and the prior/posterior terms (6 K), the order-parameter map's widest hidden layer
  (``layer(h)``, ``× gain``, ``tanh``: 2 × max decoder width; 0 for the identity map), its
  H outputs with the skip (3 H), and per unit the fields and the likelihood's temporaries:
  5 floats for binary and spin data (phi, logits, the expanded target, the loss), and
  for vectors the Bingham normaliser's quadrature (about 8 float64 arrays of
  ``bingham.NODES`` nodes per unit: ~1600 floats).

So with 2 units, width-64 map and k = 128 a row costs ~20,000 floats (80 kB), not 256: the
old rule of 2^24 floats of *input* per chunk put 65,536 rows (5 GB) in one chunk.
tests/core/vae/test_memory.py measures peak RSS of real evaluations against these numbers
(the estimate is an upper bound within a factor of ~3 of the measured peak).
"""
from __future__ import annotations

import logging

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.vae import bingham
from napari_vaemf.core.vae.model import ENCODINGS, ProductVAE, VAEConfig

__all__ = ["EVAL_BUDGET_BYTES", "floats_per_row", "rows_per_chunk"]

log = logging.getLogger(__name__)

EVAL_BUDGET_BYTES = 256 << 20  # default peak working memory of one evaluation chunk
_UNIT_FLOATS = {"binary": 5, "spin": 5, "vector": 8 * 2 * bingham.NODES + 64}


def floats_per_row(model: ProductVAE | VAEConfig, k: int = 1, *, n_units: int | None = None,
                   encoding: str | None = None) -> int:
    """Upper estimate of the float32 working memory one row adds to a chunk.

    ``model``: a :class:`ProductVAE` (knows its units and encoding) or a :class:`VAEConfig`
    with ``n_units`` and ``encoding``. ``k``: importance samples drawn per row (``iwae``:
    ``iwae_k``; ``neg_elbo_terms``: 1; ``encode`` alone, e.g. ``Fit.latents``: 0).
    """
    if isinstance(model, ProductVAE):
        config, n_units, encoding = model.config, model.n_units, model.encoding
    else:
        config = model.for_engine("vae")
        if n_units is None or encoding is None:
            raise ParameterError("floats_per_row of a VAEConfig needs n_units and encoding")
    if encoding not in ENCODINGS or n_units < 1 or k < 0:
        raise ParameterError(f"need an encoding in {ENCODINGS}, n_units >= 1 and k >= 0, "
                             f"got {encoding!r}, {n_units}, {k}")
    comps = 5 if encoding == "vector" else 1
    latents = config.latents
    features = config.features or latents
    once = 2 * n_units * comps + 3 * max(config.encoder_widths, default=0) + 4 * latents
    widest = max(config.decoder_widths, default=0) if config.decoder == "mlp" else 0
    per_sample = 6 * latents + 2 * widest + 3 * features + n_units * _UNIT_FLOATS[encoding]
    return int(once + k * per_sample)


def rows_per_chunk(model: ProductVAE | VAEConfig, k: int = 1, *,
                   budget_bytes: int = EVAL_BUDGET_BYTES, n_units: int | None = None,
                   encoding: str | None = None) -> int:
    """Rows per evaluation chunk so that one chunk's activations stay within ``budget_bytes``.

    At least 1; when a single row with all ``k`` samples exceeds the budget (thousands of
    vector units at k = 128) the chunk is one row and the budget is exceeded, with a warning.
    """
    if budget_bytes <= 0:
        raise ParameterError(f"budget_bytes must be > 0, got {budget_bytes}")
    row = 4 * floats_per_row(model, k, n_units=n_units, encoding=encoding)
    if row > budget_bytes:
        log.warning("one row of evaluation needs %.0f MiB (k=%d), over the %.0f MiB budget",
                    row / 2**20, k, budget_bytes / 2**20)
    return max(1, budget_bytes // row)
