"""The VAE engine: product-decoder VAEs whose decoders are finite-size mean-field theories.

Public API (see owners.md, helper C):

- :class:`VAEConfig` — the fit's settings (one dataclass, in ``config.py``, no torch; the CLI
  options, the widget form and checkpoints come from it).
- :class:`ProductVAE` — ``encoder`` (MLP -> Gaussian q(z|x)), ``decoder`` with the named
  theory tensors ``W`` (patterns), ``b`` (fields), ``g`` (order-parameter map R^K -> R^K);
  ``encode(x) -> (mu, logvar)``, ``fields(z)``.
- :class:`Fit` — data split + model + optimiser: ``train() -> Job[dict]``, ``evaluate()``,
  ``latents()``, ``sample()``, ``fields()``, ``summary()``, ``save()``, ``Fit.load()``.
- :mod:`.bingham` — the Bingham density on S² (normaliser, moments, exact sampler).

Notes where the contract needed detail:

- For ``"vector"`` data the decoder emits 5 traceless-symmetric components per unit, so
  ``W`` is (N, 5, K) and ``b`` is (N, 5); ``fields(z)`` returns the matrices A(z), (..., N, 3, 3).
- ``ProductVAE.encode`` takes *prepared* data (``ProductVAE.prepare(x)``); ``Fit.latents(x)``
  takes data in its own encoding.
- ``Fit.latents`` is a method; writers that want attributes (``save_fit_to_nwb``) take
  ``fit.summary()`` (latents, patterns, fields, config, metrics).
- ``Fit(..., test_index=...)`` holds those rows out for early stopping and evaluation; to
  judge on data never used for early stopping, call ``fit.evaluate(x_test)``.
- ``Fit.train(epochs=None, batches=None)``: ``batches(epoch)`` may supply any iterable of
  batches (e.g. ``Recording.iter_batches``) instead of the fit's in-memory split.
- ``VAEConfig.train_k > 1`` trains on the k-sample IWAE bound; the progress metric
  ``test_neg_elbo`` is then the held-out value of that bound (the ELBO when ``train_k=1``).
"""
import importlib

from napari_vaemf.core.vae.config import VAEConfig

__all__ = ["VAEConfig", "ProductVAE", "Fit", "FitSummary", "bingham", "pick_device"]

# torch is imported on first use of a torch-backed name, so that reading VAEConfig (the CLI's
# option parser, the widget forms) stays light.
_LAZY = {
    "ProductVAE": "napari_vaemf.core.vae.model",
    "Fit": "napari_vaemf.core.vae.fit",
    "FitSummary": "napari_vaemf.core.vae.fit",
    "pick_device": "napari_vaemf.core.vae._checkpoint",
    "bingham": "napari_vaemf.core.vae.bingham",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        return module if name == "bingham" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
