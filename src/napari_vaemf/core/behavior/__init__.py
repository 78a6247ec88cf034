"""Behaviour beside the latents: read it, put it on the recording's bins, decode it.

- :func:`load_behavior`: the behavioural series of an NWB path (``processing/behavior/…``:
  Position, CompassDirection, BehavioralTimeSeries, …) or of a CSV/.npy file whose first
  column is the time; :func:`resample` puts them on a recording's bins (angles circularly).
- :func:`decode` (a job): cross-validated decoding of the behaviour from the latents, with
  k-nearest neighbours and ridge regression over blocked folds, next to the same from the
  raw counts and after shifting the behaviour in time (:class:`DecodeSettings`). Its result
  is ``decoding.json``: ``kind`` ("linear" or "circular"), ``metric`` (R² or circular
  correlation), ``score`` (latents, the better regressor), ``score_counts``,
  ``score_shuffled``, and per regressor and variable the details.

numpy and scipy only (no scikit-learn needed).
"""
from __future__ import annotations

from ._decode import REGRESSORS, DecodeSettings, circular_correlation, cv_predict, decode, r2_score
from ._load import FILE_SUFFIXES, Resampled, Series, load_behavior, resample

__all__ = ["Series", "Resampled", "load_behavior", "resample", "FILE_SUFFIXES",
           "DecodeSettings", "decode", "cv_predict", "circular_correlation", "r2_score",
           "REGRESSORS"]
