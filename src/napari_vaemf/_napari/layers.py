"""Layer builders: a :class:`Recording` as a napari image layer (units vertical, time horizontal)."""
from __future__ import annotations

import logging
from typing import Any

from napari_vaemf.core.recordings import Recording, bin_spikes_lazy

__all__ = ["recording_layer", "pyramid"]

log = logging.getLogger(__name__)

# A lazy raster wider than this many bins is shown as a multiscale pyramid.
PYRAMID_MIN_BINS = 16384
PYRAMID_FACTOR = 4  # bins merged per pyramid level


def pyramid(rec: Recording) -> list[Any]:
    """Multiscale levels of a lazy spike raster: counts at bin_size * 4**k, binned from spikes.

    Every level is a dask array binned on demand, so napari only ever bins the tiles it
    shows; the coarsest level is at most ``PYRAMID_MIN_BINS`` wide.
    """
    levels = [rec.raster]
    st = rec.spike_trains
    if st is None or rec.bin_size is None:
        return levels
    n, bs = rec.n_bins, rec.bin_size
    while n > PYRAMID_MIN_BINS:
        n //= PYRAMID_FACTOR
        bs *= PYRAMID_FACTOR
        levels.append(bin_spikes_lazy(st, bs, rec.t_start, rec.t_start + n * bs))
    return levels


def recording_layer(rec: Recording, name: str | None = None) -> tuple:
    """A napari LayerDataTuple ``(data, kwargs, "image")`` showing ``rec``.

    Units run down, bins across; ``scale=(1, bin_size)`` makes the horizontal axis read in
    seconds (bins when the bin size is unknown). ``metadata["vaemf"]`` is json-able (source,
    bin_size, unit ids and table, encoding, repeats, model, params, truth) and
    ``metadata["recording"]`` is the Recording itself, so widgets can re-bin and fit it
    without reading the file again. Unit-vector configurations show as RGB (x, y, z).
    """
    step = rec.bin_size if rec.bin_size else 1.0
    kwargs: dict[str, Any] = {
        "name": name or rec.name,
        "metadata": {"vaemf": rec.to_json_meta(), "recording": rec},
        "interpolation2d": "nearest",
    }
    if rec.encoding == "vector":
        kwargs.update(rgb=True, contrast_limits=(-1.0, 1.0), scale=(1.0, step))
        return rec.raster, kwargs, "image"
    data: Any = rec.raster
    if rec.is_lazy and rec.n_bins > PYRAMID_MIN_BINS:
        levels = pyramid(rec)
        if len(levels) > 1:
            data = levels
            kwargs["multiscale"] = True
    limits = (-1.0, 1.0) if rec.encoding == "spin" else (0.0, 1.0)
    kwargs.update(
        scale=(1.0, step),
        translate=(0.0, rec.t_start + step / 2 if rec.bin_size else 0.0),
        contrast_limits=limits,
        colormap="gray_r",
        axis_labels=("unit", "time"),
        # both axes in seconds for recordings: napari's scale bar reads the time axis and warns
        # (napari >= 0.9.2) when the displayed axes differ in dimension; a unit's row is then
        # one second tall at zoom 1, and .view frames the first minute
        units=("second", "second") if rec.bin_size else ("pixel", "pixel"),
    )
    return data, kwargs, "image"
