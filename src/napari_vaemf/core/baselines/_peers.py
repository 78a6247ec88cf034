"""Peers for recovering Hopfield patterns from raw ±1 (or {0,1}) configurations.

Each returns a (N, P) ±1 int8 pattern estimate, to be scored with
:func:`napari_vaemf.core.stats.bits_right` against the truth:

- :func:`kmeans_patterns`: k-means with 2P clusters on the configurations; each cluster's
  centroid sign is a candidate, and P candidates distinct up to sign are kept, largest
  clusters first (retrieval states ±ξ^μ pair up);
- :func:`pca_patterns`: the signs of the top P eigenvectors of the correlation matrix;
- :func:`pca_ica_patterns`: FastICA on the rows of those P eigenvectors (units are the
  samples, the P columns the mixed binary sources), then signs;
- :func:`rbm_patterns`: signs of the weight vectors of scikit-learn's BernoulliRBM with P
  hidden units (persistent contrastive divergence, the peer of the read-off pages).
"""
from __future__ import annotations

import numpy as np

from napari_vaemf.core.baselines._models import to_binary
from napari_vaemf.core.baselines._rbm import fit_rbm
from napari_vaemf.core.errors import ParameterError

__all__ = ["kmeans_patterns", "pca_patterns", "pca_ica_patterns", "rbm_patterns", "ica_rows"]


def _sign(a: np.ndarray) -> np.ndarray:
    return np.where(a >= 0, 1, -1).astype(np.int8)


def _check(x: np.ndarray, p: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not 0 < p <= x.shape[1]:
        raise ParameterError(f"need (T, N) configurations and 1 <= P <= N, got {x.shape}, P={p}")
    return 2 * to_binary(x) - 1  # ±1


def _distinct(cands: np.ndarray, p: int) -> np.ndarray:
    """First ``p`` rows of ``cands`` (M, N) ±1 whose |overlap| with those kept is < 0.5."""
    n = cands.shape[1]
    kept: list[np.ndarray] = []
    for c in cands:
        if all(abs(float(c @ k)) / n < 0.5 for k in kept):
            kept.append(c)
        if len(kept) == p:
            break
    for c in cands:  # not enough distinct ones: fill with the rest
        if len(kept) == p:
            break
        if not any(np.array_equal(c, k) for k in kept):
            kept.append(c)
    return np.stack(kept, axis=1).astype(np.int8)


def kmeans_patterns(x: np.ndarray, n_patterns: int, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans

    s = _check(x, n_patterns)
    km = KMeans(n_clusters=2 * n_patterns, n_init=10, random_state=seed).fit(s)
    order = np.argsort(-np.bincount(km.labels_, minlength=2 * n_patterns))
    return _distinct(_sign(km.cluster_centers_[order]), n_patterns)


def _top_eigvecs(s: np.ndarray, p: int) -> np.ndarray:
    c = np.corrcoef(s.T)
    c[~np.isfinite(c)] = 0.0
    lam, v = np.linalg.eigh(c)
    return v[:, ::-1][:, :p]


def pca_patterns(x: np.ndarray, n_patterns: int) -> np.ndarray:
    return _sign(_top_eigvecs(_check(x, n_patterns), n_patterns))


def ica_rows(v: np.ndarray, seed: int = 0) -> np.ndarray:
    """FastICA on the N rows of ``v`` (N, P): the P unmixed sources, (N, P) float."""
    from sklearn.decomposition import FastICA

    ica = FastICA(n_components=v.shape[1], whiten="unit-variance", random_state=seed, max_iter=1000)
    return ica.fit_transform(v)


def pca_ica_patterns(x: np.ndarray, n_patterns: int, seed: int = 0) -> np.ndarray:
    v = _top_eigvecs(_check(x, n_patterns), n_patterns)
    if n_patterns == 1:
        return _sign(v)
    return _sign(ica_rows(v, seed))


def rbm_patterns(x: np.ndarray, n_patterns: int, seed: int = 0, n_iter: int = 20) -> np.ndarray:
    s = _check(x, n_patterns)
    rbm = fit_rbm((s + 1) / 2, n_hidden=n_patterns, n_iter=n_iter, seed=seed, method="pcd")
    order = np.argsort(-np.linalg.norm(rbm.W, axis=1))
    return _distinct(_sign(rbm.W[order]), n_patterns)
