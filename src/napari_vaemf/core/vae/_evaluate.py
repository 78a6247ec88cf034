"""What a trained :class:`~napari_vaemf.core.vae.fit.Fit` computes, beside training: held-out
numbers (:meth:`evaluate`, :meth:`rate_per_latent`), posterior means (:meth:`latents`), the
decoder's fields, samples and mixture components, and the :class:`FitSummary` writers take.
Every pass over data goes chunk by chunk (:mod:`napari_vaemf.core.vae._memory`), so the same
code serves dense samples and bit-packed ones.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np
import torch

from napari_vaemf.core.errors import ParameterError
from napari_vaemf.core.vae import bingham
from napari_vaemf.core.vae._data import FitSummary, check_data
from napari_vaemf.core.vae._memory import rows_per_chunk

__all__ = ["FitEval"]


class FitEval:
    """Mixin of :class:`~napari_vaemf.core.vae.fit.Fit` (uses its model, split, data chunks)."""

    @torch.no_grad()
    def evaluate(self, x: np.ndarray | None = None, iwae_k: int | None = None,
                 per_sample: bool = False) -> dict:
        """Per-sample numbers in nats.

        Without ``x``: ``elbo_nats``, ``rate_nats``, ``rate_per_latent_nats`` and
        ``distortion_nats`` on the training split, ``test_elbo_nats`` and
        ``test_loglik_nats`` (IWAE bound with ``iwae_k`` samples) on the held-out split.
        With ``x``: every number on ``x``. The ELBO is log-likelihood-like (higher is better).
        ``per_sample``: also ``test_loglik_per_sample``, the IWAE bound of every held-out row
        (float64 array; its mean is ``test_loglik_nats``), from the same pass.
        """
        k = int(iwae_k or self.config.iwae_k)
        self.model.eval()
        if x is not None:
            data = check_data(x, self.encoding)
            train = test = lambda k: self._array_chunks(data, k)  # noqa: E731
            n_train = n_test = len(data)
        else:
            self._need_data()
            n_train, n_test = len(self.train_index), len(self.test_index)
            train = lambda k: self._chunks("train", n_train, k)  # noqa: E731
            test = lambda k: self._chunks("test", n_test, k)  # noqa: E731
        gen = torch.Generator(device=self.device).manual_seed(self.config.seed + 4)
        out: dict[str, Any] = {"iwae_k": k, "n_train": n_train, "n_test": n_test}
        dist = kl = elbo_t = ll_t = 0.0
        kl_lat = torch.zeros(self.config.latents, dtype=torch.float64, device=self.device)
        for xb in train(1):
            d, _ = self.model.neg_elbo_terms(xb, gen)
            mu, logvar = self.model.encode(xb)
            kl_b = self.model.kl(mu, logvar)
            dist += float(d.sum())
            kl_lat += kl_b.sum(0).double()
            kl += float(kl_b.sum())
        rows = []
        for xb in test(k):
            d, r = self.model.neg_elbo_terms(xb, gen)
            elbo_t -= float((d + r).sum())
            ll_b = self.model.iwae(xb, k, gen)
            ll_t += float(ll_b.sum())
            if per_sample:
                rows.append(ll_b.double().cpu().numpy())
        out.update(
            elbo_nats=-(dist + kl) / n_train,
            rate_nats=kl / n_train,
            rate_per_latent_nats=(kl_lat / n_train).tolist(),
            distortion_nats=dist / n_train,
            test_elbo_nats=elbo_t / n_test if n_test else math.nan,
            test_loglik_nats=ll_t / n_test if n_test else math.nan,
        )
        if x is None:
            self.metrics.update(out)
        if per_sample:
            out["test_loglik_per_sample"] = np.concatenate(rows) if rows else np.zeros(0)
        return out

    @torch.no_grad()
    def rate_per_latent(self, max_rows: int = 2000) -> np.ndarray:
        """Mean KL(q(z_k|x) || N(0,1)) per latent k (nats), on up to ``max_rows`` held-out rows
        (training rows when nothing is held out), shape (K,)."""
        self._need_data()
        idx = self.test_index if self.test_index.size else self.train_index
        rows = np.asarray(self.x[np.sort(idx[:max_rows])])
        was_training = self.model.training
        self.model.eval()
        try:
            mu, logvar = self.model.encode(self._prepare(rows))
            return self.model.kl(mu, logvar).mean(dim=0).cpu().numpy().astype(np.float64)
        finally:
            self.model.train(was_training)

    def _array_chunks(self, x: np.ndarray, k: int):
        size = rows_per_chunk(self.model, k)
        for i in range(0, len(x), size):
            yield self._prepare(x[i : i + size])

    @torch.no_grad()
    def latents(self, x: np.ndarray | None = None) -> np.ndarray:
        """Posterior means E[z|x] for every row of ``x`` (default: all the fit's data), (T, K)."""
        if x is None:
            self._need_data()
            x = self.x
        else:
            x = check_data(x, self.encoding)
        self.model.eval()
        out = [self.model.encode(xb)[0].cpu() for xb in self._array_chunks(x, 0)]
        return torch.cat(out).numpy().astype(np.float32)

    @torch.no_grad()
    def fields(self, z: np.ndarray) -> np.ndarray:
        """Decoder fields φ(z) for latents (..., K): (..., N), or Bingham A(z) (..., N, 3, 3)."""
        p = next(self.model.parameters())
        zt = torch.as_tensor(np.asarray(z), dtype=p.dtype, device=p.device)
        if zt.shape[-1] != self.config.latents:
            raise ParameterError(f"z must end in K={self.config.latents}, got {tuple(zt.shape)}")
        return self.model.fields(zt).cpu().numpy()

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` new configurations from the model, in the data's encoding.

        binary: int8 {0, 1} (n, N); spin: int8 ±1 (n, N); vector: float32 unit vectors (n, N, 3).
        """
        if n < 0:
            raise ParameterError(f"samples must be >= 0, got {n}")
        seed = self.config.seed + 5 if seed is None else int(seed)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        self.model.eval()
        phi = self.model.sample_fields(n, gen)
        if self.encoding == "vector":
            a = bingham.to_matrix(phi.double()).cpu().numpy()
            return bingham.sample_bingham(a, np.random.default_rng(seed)).astype(np.float32)
        logits = 2 * phi if self.encoding == "spin" else phi
        u = torch.rand(logits.shape, generator=gen, device=logits.device)
        on = (u < torch.sigmoid(logits)).cpu().numpy()
        return (2 * on.astype(np.int8) - 1) if self.encoding == "spin" else on.astype(np.int8)

    @torch.no_grad()
    def prior_probabilities(self, n: int, seed: int | None = None, chunk: int = 65536) -> Iterator[np.ndarray]:
        """P(x_i = 1 | z) (spin: P(s_i = +1 | z)) for ``n`` prior draws z ~ N(0, I), in chunks
        of (≤ chunk, N) float64: the model is the mixture of these product Bernoullis."""
        if self.encoding == "vector":
            raise ParameterError("prior_probabilities is for binary or spin fits")
        seed = self.config.seed + 7 if seed is None else int(seed)
        gen = torch.Generator(device=self.device).manual_seed(seed)
        self.model.eval()
        for a in range(0, n, chunk):
            phi = self.model.sample_fields(min(chunk, n - a), gen)
            yield torch.sigmoid(2 * phi if self.encoding == "spin" else phi).double().cpu().numpy()

    def summary(self) -> FitSummary:
        """Latents, patterns W, fields b, config and metrics (e.g. for ``save_fit_to_nwb``)."""
        vec = self.encoding == "vector"
        return FitSummary(
            latents=self.latents() if self.x is not None else np.zeros((0, self.config.latents), np.float32),
            patterns=None if vec else self.model.W.detach().cpu().numpy().copy(),
            fields=None if vec else self.model.b.detach().cpu().numpy().copy(),
            encoding=self.encoding,
            config=self.config.to_dict(),
            metrics=dict(self.metrics),
        )
