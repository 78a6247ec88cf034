"""Baseline models and peers, all through one small API so tables compare like with like.

Models: ``fit(...) -> model`` with ``model.sample(n, seed)``, ``model.loglik(x)`` (mean nats
per configuration, ``None`` where undefined) and ``model.n_parameters``:

- :meth:`IndependentModel.fit` (independent units);
- :func:`fit_cms` (PCA-based generalized Hopfield inference of Cocco, Monasson & Sessak 2011);
- :func:`fit_rbm` (a binary RBM: exact maximum likelihood up to 16 hidden units,
  scikit-learn's BernoulliRBM beyond, optional extra ``rbm``).

Pattern-recovery peers for Hopfield data: :func:`kmeans_patterns`, :func:`pca_patterns`,
:func:`pca_ica_patterns`, :func:`rbm_patterns`.
"""
from napari_vaemf.core.baselines._cms import CMSHopfield, fit_cms
from napari_vaemf.core.baselines._models import (
    HopfieldModel,
    IndependentModel,
    PairwiseModel,
    gibbs_sweep,
    detect_encoding,
    from_binary,
    to_binary,
)
from napari_vaemf.core.baselines._peers import (
    ica_rows,
    kmeans_patterns,
    pca_ica_patterns,
    pca_patterns,
    rbm_patterns,
)
from napari_vaemf.core.baselines._rbm import RBMModel, fit_rbm

__all__ = [
    "IndependentModel",
    "PairwiseModel",
    "gibbs_sweep",
    "HopfieldModel",
    "CMSHopfield",
    "RBMModel",
    "fit_cms",
    "fit_rbm",
    "kmeans_patterns",
    "pca_patterns",
    "pca_ica_patterns",
    "rbm_patterns",
    "ica_rows",
    "detect_encoding",
    "to_binary",
    "from_binary",
]
