"""Layers of a read-off energy around a raster: its attractors, their basins, its landscape.

Placed in the raster's world coordinates (:class:`~.overlays.RasterGeometry`) so that none
covers the raster or the Theory widget's other layers:

- the attractor patterns, an (N, A) image left of the pattern/field images, sharing the
  raster's unit axis (column a = the a-th largest basin), with a one-row key under it;
- the basin track, a labels strip under the raster's overlap strip, on its time axis
  (label a + 1 where the bin descends to attractor a, 0 for the all-silent state); the key
  under the attractor image carries the same labels, so a colour names its column;
- for K = 2, the landscape (−log density of E[z | x]) in a square twice the raster's height,
  below the strips and left of the raster, with the recording's latent trajectory drawn on
  it (z1 right, z2 up; a time stride of at most 2000 vertices over the whole recording).

Only placement and decimation happen here (the numbers come from
:mod:`napari_vaemf.core.extraction.attractors`); no Qt.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .overlays import MAX_LABEL_COLUMNS, MAX_PATH_VERTICES, RasterGeometry

__all__ = ["MAX_ATTRACTORS", "attractor_layers", "basin_labels_layer", "energy_layers",
           "landscape_layers", "left_edge"]

MAX_ATTRACTORS = 32  # attractor columns shown (the largest basins)


def left_edge(layer_tuples: Sequence[tuple], geom: RasterGeometry) -> float:
    """World x of the left edge of the images in ``layer_tuples`` (the raster's when none)."""
    edges = [geom.left]
    for data, kw, kind in layer_tuples:
        if kind == "image":
            edges.append(kw["translate"][-1] - 0.5 * kw["scale"][-1])
    return float(min(edges))


def _strip(geom: RasterGeometry, row: int) -> tuple[float, float]:
    """(top, height) of the ``row``-th strip under the raster (row 0: the overlap strip's)."""
    height = max(1.0, 0.05 * geom.n_units)
    return geom.n_units - 0.5 + geom.gap + row * (height + geom.gap), height


def attractor_layers(attractors: list[dict], geom: RasterGeometry, name: str, right: float | None = None,
                     row: int = 1, max_shown: int = MAX_ATTRACTORS) -> list[tuple]:
    """The patterns of the ``max_shown`` largest basins as an (N, A) image whose right edge
    is ``right`` (default: the raster's left edge) minus a gap, and its key: a labels row
    1..A under it at the height of the basin track ``row``. None shown when there are none."""
    shown = attractors[:max_shown]
    if not shown:
        return []
    pats = np.array([a["pattern"] for a in shown], dtype=np.float32).T  # (N, A)
    col = geom.column
    x_left = (geom.left if right is None else right) - geom.gap_x - pats.shape[1] * col
    meta = {"vaemf": {
        "kind": "attractors", "shown": len(shown), "total": len(attractors),
        "fractions": [float(a["fraction"]) for a in shown],
        "energies": [float(a["energy"]) for a in shown],
        "what": "attractor patterns (columns, largest basin first; 1 = active unit)"}}
    image = (pats, dict(name=name, colormap="gray_r", contrast_limits=(0.0, 1.0),  # as the raster
                        translate=(0.0, x_left + 0.5 * col), scale=(1.0, col),
                        interpolation2d="nearest", metadata=meta, **geom.layer_units()), "image")
    top, height = _strip(geom, row)
    key = (np.arange(1, len(shown) + 1, dtype=np.int32)[None, :],
           dict(name=f"{name}: key", scale=(height, col), translate=(top + height / 2, x_left + 0.5 * col),
                opacity=0.9, metadata={"vaemf": {"kind": "attractor key"}}, **geom.layer_units()),
           "labels")
    return [image, key]


def _block_label(lab: np.ndarray, factor: int) -> np.ndarray:
    """The most frequent nonzero label of each block of ``factor`` bins (the smaller on
    ties), 0 where the whole block is 0: like an envelope that keeps a trajectory's spikes,
    it keeps the rare bins that leave the silent state (most bins of sparse recordings)."""
    out = np.zeros(int(np.ceil(len(lab) / factor)), np.int32)
    nz = np.flatnonzero(lab > 0)
    if nz.size:
        base = int(lab.max()) + 1
        keys, counts = np.unique((nz // factor) * base + lab[nz], return_counts=True)
        block, value = np.divmod(keys, base)
        order = np.lexsort((value, -counts, block))  # by block, most frequent, smaller label
        block, value = block[order], value[order]
        first = np.r_[True, block[1:] != block[:-1]]
        out[block[first]] = value[first]
    return out


def basin_labels_layer(basin: np.ndarray, geom: RasterGeometry, name: str, row: int = 1) -> tuple:
    """The basin track: a labels strip under the raster (strip ``row``), label a + 1 where
    the bin's descent ends in attractor a, 0 in the all-silent state; beyond
    MAX_LABEL_COLUMNS bins each column shows the most frequent attractor of its block (0
    only when every bin of the block is silent)."""
    lab = np.asarray(basin, dtype=np.int32) + 1  # (T,)
    factor = max(1, int(np.ceil(len(lab) / MAX_LABEL_COLUMNS)))
    if factor > 1:
        lab = _block_label(lab, factor)
    top, height = _strip(geom, row)
    dx = geom.bin_size * factor
    meta = {"vaemf": {"kind": "basins", "block": factor,
                      "what": "attractor of each bin (label = rank + 1; 0 = all-silent state); a "
                              "block of bins shows its most frequent attractor"}}
    return (lab[None, :], dict(name=name, scale=(height, dx), translate=(top + height / 2, geom.left + dx / 2),
                               opacity=0.9, metadata=meta, **geom.layer_units()), "labels")


def landscape_layers(land: dict, trajectory: np.ndarray, geom: RasterGeometry, name: str, rows: int = 2,
                     max_vertices: int = MAX_PATH_VERTICES) -> list[tuple]:
    """The landscape image (``core.extraction.attractors.landscape``) in a square below
    ``rows`` strips, its right edge a gap left of the raster, z1 to the right and z2 up; and
    the trajectory (T, 2) of posterior means on it as a path of at most ``max_vertices``
    vertices (a time stride). Trajectory points outside the extent are clipped to its border."""
    image = np.asarray(land["image"], dtype=np.float32)[::-1]  # row 0 (top) = largest z2
    bins = image.shape[0]
    z1a, z1b, z2a, z2b = land["extent"]
    top = _strip(geom, rows)[0]
    side = 2.0 * max(geom.n_units, 10)  # twice the raster's height
    x0 = geom.left - geom.gap_x - side
    px = side / bins
    finite = image[np.isfinite(image)]
    limits = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    meta = {"vaemf": {"kind": "landscape", "what": land["what"], "extent": list(land["extent"]),
                      "axes": ["z2 (up)", "z1 (right)"], "square": [top, x0, side]}}
    img = (image, dict(name=name, colormap="viridis", contrast_limits=limits,
                       translate=(top + 0.5 * px, x0 + 0.5 * px), scale=(px, px),
                       interpolation2d="nearest", metadata=meta, **geom.layer_units()), "image")
    z = np.asarray(trajectory, dtype=np.float64)
    keep = np.unique(np.linspace(0, len(z) - 1, min(len(z), max_vertices)).round().astype(int))
    u = np.clip((z[keep, 0] - z1a) / (z1b - z1a), 0.0, 1.0)
    v = np.clip((z2b - z[keep, 1]) / (z2b - z2a), 0.0, 1.0)
    path = np.column_stack([top + side * v, x0 + side * u])  # (vertices, 2) world (row, col)
    stride = int(keep[1] - keep[0]) if len(keep) > 1 else 1
    meta = {"vaemf": {"kind": "landscape trajectory", "stride_bins": stride,
                      "what": "E[z|x] of the recorded bins, in time order"}}
    traj = ([path], dict(name=f"{name} trajectory", shape_type="path", edge_color="#ff3355",
                         edge_width=max(0.05, side / 800), opacity=0.4, metadata=meta,
                         **geom.layer_units()), "shapes")
    return [img, traj]


def energy_layers(report: Any, geom: RasterGeometry, base: str, beside: Sequence[tuple] = (),
                  land: dict | None = None, trajectory: np.ndarray | None = None) -> list[tuple]:
    """Every layer above for an :class:`~napari_vaemf.core.extraction.energy_report.EnergyReport`
    of the raster named ``base``; ``beside``: the layers already left of the raster (the
    attractor image goes left of them); the landscape only when ``land`` is given."""
    out = attractor_layers(report.attractors, geom, f"{base}: attractors", right=left_edge(beside, geom))
    out.append(basin_labels_layer(report.basin, geom, f"{base}: basins"))
    if land is not None and trajectory is not None:
        out += landscape_layers(land, trajectory, geom, f"{base}: landscape")
    return out
