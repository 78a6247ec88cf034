"""Layers for trials and behaviour around a raster layer (no Qt).

- :func:`event_points_layer`: one marker per aligned trial at its event time, in the gap
  between the raster and the latent lanes above it, coloured by group (features: trial,
  row, group, time); selecting one is how the Trials widget moves the view to a trial.
- :func:`aligned_raster_layers`: the aligned spike counts as an image below the raster,
  right of the latent-space panel: for each unit a block of its trials (sorted by group),
  time across; a strip of group colours on its left and a line at the event time.
- :func:`behavior_lanes_layer`: behavioural variables as paths in lanes above the latent
  lanes, on the raster's time axis.

All return napari LayerDataTuples placed with :class:`~.overlays.RasterGeometry`.
"""
from __future__ import annotations

import numpy as np

from napari_vaemf.core.trials import GROUP_COLORS, Aligned

from .overlays import RasterGeometry, _panel, envelope

__all__ = ["event_points_layer", "aligned_raster_layers", "AlignedRows", "behavior_lanes_layer",
           "event_marker_y"]


def _color(i: int) -> str:
    return GROUP_COLORS[int(i) % len(GROUP_COLORS)]


def event_marker_y(geom: RasterGeometry) -> float:
    """World y of the event markers: the middle of the gap above the raster."""
    return -0.5 - 0.5 * geom.gap


def event_points_layer(aligned: Aligned, geom: RasterGeometry, name: str) -> tuple:
    """Markers at the aligned trials' event times above the raster, coloured by group."""
    n = aligned.n_trials
    coords = np.column_stack([np.full(n, event_marker_y(geom)), aligned.event_times])
    labels = np.asarray(aligned.labels, dtype=object)[aligned.group]
    features = {"trial": np.arange(n), "row": aligned.rows, "group": labels,
                "time": aligned.event_times}
    kwargs = dict(
        name=name, features=features, face_color=[_color(g) for g in aligned.group],
        border_width=0, symbol="triangle_down", size=max(0.5, 0.9 * geom.gap),
        canvas_size_limits=(7, 40), opacity=0.9,
        metadata={"vaemf": {"kind": "trial events", "table": aligned.table,
                            "time": aligned.settings.time, "by": aligned.settings.by}},
        **geom.layer_units(),
    )
    return (coords, kwargs, "points")


class AlignedRows:
    """Which trial each row of the aligned raster shows (rows: unit-major, trials by group)."""

    def __init__(self, aligned: Aligned):
        self.order = aligned.order()  # trials sorted by group
        self.n_trials = aligned.n_trials
        self.n_units = 0 if aligned.counts is None else int(aligned.counts.shape[2])

    def trial(self, row: int) -> int | None:
        """The trial (index into the Aligned arrays) shown in image row ``row``."""
        if not 0 <= row < self.n_trials * self.n_units:
            return None
        return int(self.order[row % self.n_trials])


def aligned_raster_layers(aligned: Aligned, geom: RasterGeometry, name: str) -> list[tuple]:
    """The aligned counts (units × trials rows, window bins across) below the raster.

    The panel starts right of the latent-space panel, ``2 × side`` tall and ``side`` wide
    (side = that panel's side); rows are scaled to fit. Returns the image, the strip of
    group colours on its left and the guides (the event time, lines between units).
    """
    if aligned.counts is None:
        return []
    rows = AlignedRows(aligned)
    counts = aligned.counts[rows.order]  # (trials, bins, units), trials sorted by group
    image = np.ascontiguousarray(np.transpose(counts, (2, 0, 1)).reshape(-1, counts.shape[1]))
    n_rows, n_bins = image.shape
    top, left, side = _panel(geom, strip=False)
    width, height = side, 2.0 * side
    x0 = left + side + 2 * geom.gap  # right of the latent-space panel
    dy, dx = height / n_rows, width / n_bins
    hi = float(np.percentile(image, 99.5)) if image.size else 1.0
    meta = {"vaemf": {"kind": "aligned raster", "table": aligned.table, "time": aligned.settings.time,
                      "rows": "for each unit, its trials sorted by group", "n_units": rows.n_units,
                      "n_trials": rows.n_trials, "window": list(aligned.settings.window),
                      "bin_size": aligned.bin_size},
            "rows": rows}
    raster = (image, dict(name=name, scale=(dy, dx), translate=(top + dy / 2, x0 + dx / 2),
                          colormap="gray_r", contrast_limits=(0.0, max(1.0, hi)),
                          interpolation2d="nearest", metadata=meta, **geom.layer_units()), "image")
    group_of_row = np.tile(aligned.group[rows.order], rows.n_units)
    rgb = np.array([[int(_color(g)[i : i + 2], 16) / 255 for i in (1, 3, 5)] for g in group_of_row])
    strip_w = 0.04 * width
    strip = (rgb[:, None, :].astype(np.float32),
             dict(name=f"{name}: groups", rgb=True, scale=(dy, strip_w),
                  translate=(top + dy / 2, x0 - strip_w / 2 - 0.01 * width),
                  metadata={"vaemf": {"kind": "aligned groups"}}, **geom.layer_units()), "image")
    w0 = aligned.settings.window[0]
    x_event = x0 + (-w0 / aligned.bin_size) * dx  # the window starts w0 s from the event
    lines = [np.array([[top, x_event], [top + height, x_event]])]
    lines += [np.array([[top + u * rows.n_trials * dy, x0], [top + u * rows.n_trials * dy, x0 + width]])
              for u in range(1, rows.n_units)]
    colors = ["#e0e0e0"] + ["#4a90d9"] * (len(lines) - 1)
    guides = (lines, dict(name=f"{name}: guides", shape_type="line", edge_color=colors,
                          edge_width=0.004 * height, opacity=0.8,
                          metadata={"vaemf": {"kind": "aligned guides"}}, **geom.layer_units()),
              "shapes")
    return [raster, strip, guides]


def behavior_lanes_layer(values: np.ndarray, columns: list[str], geom: RasterGeometry,
                         first_lane: int, name: str = "behaviour") -> tuple:
    """Behaviour (bins, V) as paths in lanes ``first_lane``, ``first_lane + 1``, ... above the
    raster (the latent lanes are 0..K-1), each scaled to its lane, min/max decimated."""
    v = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    lane = max(3.0, 0.25 * geom.n_units)  # the latent lanes' height (overlays.PathLOD)
    times = geom.times(len(v))
    paths = []
    for j in range(v.shape[1]):
        col = v[:, j]
        ok = np.isfinite(col)
        lo, hi = (float(col[ok].min()), float(col[ok].max())) if ok.any() else (0.0, 1.0)
        mid, half = 0.5 * (lo + hi), max(0.5 * (hi - lo), 1e-12)
        filled = np.where(ok, col, mid)
        idx = envelope(filled)
        centre = -0.5 - geom.gap - (first_lane + j + 0.5) * lane
        paths.append(np.column_stack([centre - 0.45 * lane * (filled[idx] - mid) / half, times[idx]]))
    kwargs = dict(
        name=name, shape_type="path", edge_color="#4fc3f7", edge_width=max(0.15, 0.02 * lane),
        features={"variable": list(columns)},
        text={"string": "{variable}", "anchor": "upper_left", "size": 9, "color": "#4fc3f7"},
        metadata={"vaemf": {"kind": "behaviour lanes", "first_lane": first_lane, "variables": list(columns)}},
        **geom.layer_units(),
    )
    return (paths, kwargs, "shapes")
