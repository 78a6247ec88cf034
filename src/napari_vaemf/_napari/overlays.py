"""Layers laid over a raster layer: patterns, latent trajectories, latent space, overlaps.

All builders return napari LayerDataTuples ``(data, kwargs, layer_type)`` placed in the
raster's world coordinates (rows = units, columns = time in seconds, or sample index for
configuration layers): pattern and field images to the left of the raster sharing its unit
axis, latent trajectories in a band above it on its time axis, an overlap labels strip and
the latent-space point cloud below it. Long recordings are decimated for display (min/max
envelopes for paths, strides for points, block modes for labels) so that napari stays fluid
with the 283,041-bin salamander raster; the full-resolution arrays stay with the fit.

No Qt here; :class:`CursorLink` is a plain callable for ``viewer.cursor.events.position``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RasterGeometry",
    "pattern_layers",
    "latent_trajectory_layer",
    "latent_points_layers",
    "overlap_labels_layer",
    "CursorLink",
    "envelope",
]

MAX_PATH_VERTICES = 2000  # vertices per latent path shown (min/max envelope beyond this)
MAX_POINTS = 10_000  # latent-space points shown (time stride beyond this)
MAX_LABEL_COLUMNS = 8192  # columns of the overlap strip (block mode beyond this)
LATENT_COLORS = ["#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


@dataclass(frozen=True)
class RasterGeometry:
    """Where a raster layer sits in world coordinates."""

    n_units: int  # rows of the raster image
    n_bins: int  # columns of the raster image
    bin_size: float = 1.0  # world width of one column (seconds, or 1 for sample index)
    t_start: float = 0.0  # world x of the centre of column 0
    units: tuple[str, str] | None = None  # the raster's (row, column) units, e.g. ("pixel", "second")

    @classmethod
    def of(cls, layer) -> RasterGeometry:
        """Geometry of a napari image layer holding a (units, bins) raster."""
        shape = tuple(layer.data.shape)
        if getattr(layer, "rgb", False):
            shape = shape[:-1]
        units = getattr(layer, "units", None)
        units = tuple(str(u) for u in units[-2:]) if units is not None else None
        return cls(
            int(shape[-2]), int(shape[-1]), float(layer.scale[-1]), float(layer.translate[-1]),
            units,
        )

    def layer_units(self) -> dict:
        """``{"units": ...}`` for the overlay layers (napari warns when units differ)."""
        return {"units": self.units} if self.units else {}

    @property
    def left(self) -> float:
        return self.t_start - 0.5 * self.bin_size

    @property
    def right(self) -> float:
        return self.t_start + (self.n_bins - 0.5) * self.bin_size

    @property
    def gap(self) -> float:
        """Spacing between the raster and the things around it (world units)."""
        return max(1.0, 0.04 * self.n_units)

    @property
    def column(self) -> float:
        """Width on the time axis of one pattern/field column beside the raster."""
        return max(1.0, self.n_units / 10.0)

    @property
    def gap_x(self) -> float:
        """Horizontal spacing left of the raster (time-axis units)."""
        return 0.5 * self.column

    def times(self, n: int | None = None) -> np.ndarray:
        """World x of each column (the first ``n``)."""
        n = self.n_bins if n is None else n
        return self.t_start + self.bin_size * np.arange(n)

    def bin_at(self, x: float) -> int | None:
        """Column under world x, or None outside the raster."""
        j = int(round((x - self.t_start) / self.bin_size))
        return j if 0 <= j < self.n_bins else None


def _symmetric_limits(a: np.ndarray) -> tuple[float, float]:
    m = float(np.nanmax(np.abs(a))) if a.size else 1.0
    m = m if m > 0 and np.isfinite(m) else 1.0
    return (-m, m)


def _column_image(a: np.ndarray, name: str, kind: str, x_left: float, geom: RasterGeometry) -> tuple:
    """Image layer of the (N, k) array ``a`` whose columns start at time-axis ``x_left``."""
    col = geom.column
    meta = {"vaemf": {"kind": kind, "shape": list(a.shape)}}
    kwargs = dict(name=name, colormap="bwr", contrast_limits=_symmetric_limits(a),
                  translate=(0.0, x_left + 0.5 * col), scale=(1.0, col),
                  interpolation2d="nearest", metadata=meta, **geom.layer_units())
    return (a, kwargs, "image")


def pattern_layers(patterns, fields, geom: RasterGeometry, name: str = "patterns") -> list:
    """Patterns (N, P) and fields (N,) as images left of the raster, rows = its units.

    Each column is ``geom.column`` wide on the time axis; diverging colormap centred at 0.
    """
    out = []
    col = geom.column
    x_edge = geom.left - geom.gap_x
    if patterns is not None:
        p = np.asarray(patterns, dtype=np.float32).reshape(geom.n_units, -1)
        x_edge -= p.shape[1] * col
        out.append(_column_image(p, name, "patterns", x_edge, geom))
        x_edge -= geom.gap_x
    if fields is not None:
        f = np.asarray(fields, dtype=np.float32).reshape(geom.n_units, 1)
        x_edge -= col
        out.append(_column_image(f, f"{name}: fields", "fields", x_edge, geom))
    return out


def envelope(y: np.ndarray, max_vertices: int = MAX_PATH_VERTICES) -> np.ndarray:
    """Indices of a min/max envelope of ``y`` with at most ``max_vertices`` points.

    Every block of samples contributes its minimum and its maximum (in time order), so
    spikes of the trajectory survive the decimation; short series are returned whole.
    """
    n = len(y)
    if n <= max_vertices:
        return np.arange(n)
    size = int(np.ceil(n / max(1, max_vertices // 2)))
    blocks = int(np.ceil(n / size))
    padded = np.empty(blocks * size, dtype=y.dtype)
    padded[:n] = y
    padded[n:] = y[-1]
    grid = padded.reshape(blocks, size)  # (blocks, size)
    base = np.arange(blocks) * size
    idx = np.concatenate([base + grid.argmin(axis=1), base + grid.argmax(axis=1)])
    return np.unique(np.minimum(idx, n - 1))


class PathLOD:
    """Level of detail for latent paths: at most ``max_vertices`` per path inside [x0, x1].

    Zoomed out, each path is a min/max envelope of the whole recording; zoomed in, the
    visible window is shown at full resolution (plus one window either side, so that a
    short pan needs no update).
    """

    def __init__(self, z: np.ndarray, geom: RasterGeometry, max_vertices: int = MAX_PATH_VERTICES):
        self.z = np.asarray(z, dtype=np.float64).reshape(len(z), -1)
        self.geom = geom
        self.max_vertices = max_vertices
        self.lane = max(3.0, 0.25 * geom.n_units)
        scales = np.max(np.abs(self.z), axis=0) if len(self.z) else np.ones(self.z.shape[1])
        self.scales = np.where(scales > 0, scales, 1.0)
        self.window: tuple[int, int] = (0, len(self.z))  # bins shown by the last paths()

    def bins(self, x0: float | None, x1: float | None) -> tuple[int, int]:
        """Bins covering [x0, x1] widened by its width on either side."""
        t = len(self.z)
        if x0 is None or x1 is None:
            return 0, t
        g = self.geom
        j0 = int(np.floor((x0 - g.t_start) / g.bin_size))
        j1 = int(np.ceil((x1 - g.t_start) / g.bin_size)) + 1
        width = max(1, j1 - j0)
        return max(0, j0 - width), min(t, j1 + width)

    def paths(self, x0: float | None = None, x1: float | None = None) -> list[np.ndarray]:
        """One (vertices, 2) path per latent in world coordinates for the window [x0, x1]."""
        j0, j1 = self.bins(x0, x1)
        self.window = (j0, j1)
        times = self.geom.times(len(self.z))
        out = []
        for k in range(self.z.shape[1]):
            zk = self.z[j0:j1, k]
            idx = j0 + envelope(zk, self.max_vertices)
            centre = -0.5 - self.geom.gap - (k + 0.5) * self.lane
            out.append(np.column_stack([centre - 0.45 * self.lane * self.z[idx, k] / self.scales[k], times[idx]]))
        return out

    def needs_update(self, x0: float, x1: float) -> bool:
        """True when the visible [x0, x1] is outside the current window, or much narrower
        than a decimated window (zoomed in: more detail available)."""
        g, t = self.geom, len(self.z)
        j0 = max(0, int(np.floor((x0 - g.t_start) / g.bin_size)))
        j1 = min(t, int(np.ceil((x1 - g.t_start) / g.bin_size)) + 1)
        w0, w1 = self.window
        inside = w0 <= j0 and j1 <= w1
        decimated = (w1 - w0) > self.max_vertices // 2
        zoomed_in = decimated and (j1 - j0) * 3 < (w1 - w0) / 2
        return not inside or zoomed_in


def latent_trajectory_layer(latents, geom: RasterGeometry, name: str = "latents") -> tuple:
    """Posterior means z_k(t) as paths in a band above the raster, on its time axis.

    Latent k gets a lane above the raster; within its lane the path is z_k(t) / max|z_k|
    (up = positive). ``metadata["lod"]`` is the :class:`PathLOD` that re-decimates the
    paths for the visible time window (the Fit widget calls it when the camera moves).
    """
    lod = PathLOD(latents, geom)
    k_count = lod.z.shape[1]
    colors = [LATENT_COLORS[k % len(LATENT_COLORS)] for k in range(k_count)]
    kwargs = dict(
        name=name,
        shape_type="path",
        edge_color=colors,
        edge_width=max(0.15, 0.02 * lod.lane),
        features={"latent": np.arange(k_count), "max_abs": lod.scales},
        text={"string": "z{latent}", "anchor": "upper_left", "size": 9, "color": "white"},
        metadata={
            "vaemf": {"kind": "latent trajectories", "lane": lod.lane, "max_abs": lod.scales.tolist()},
            "lod": lod,
        },
        **geom.layer_units(),
    )
    return (lod.paths(), kwargs, "shapes")


def _panel(geom: RasterGeometry, strip: bool) -> tuple[float, float, float]:
    """Top-left corner and side of the square latent-space panel below the raster."""
    top = geom.n_units - 0.5 + geom.gap
    if strip:
        top += max(1.0, 0.05 * geom.n_units) + geom.gap
    side = float(max(geom.n_units, 10))
    return top, geom.left, side


def latent_points_layers(
    latents,
    geom: RasterGeometry,
    overlaps_: np.ndarray | None = None,
    name: str = "latent space",
    with_strip: bool = False,
    max_points: int = MAX_POINTS,
) -> tuple[tuple, tuple, CursorLink]:
    """The latent space (z0 right, z1 up) as Points below the raster, coloured by time.

    Returns (points layer, marker layer, link): ``link`` moves the marker to the latent
    state of the bin under the viewer's cursor. Features: time, bin, z0.., m0.. (overlaps).
    One latent is drawn against time-in-recording (scaled to the panel).
    """
    z = np.asarray(latents, dtype=np.float64).reshape(len(latents), -1)
    t_count = len(z)
    top, left, side = _panel(geom, with_strip)
    a = z[:, 0]
    b = z[:, 1] if z.shape[1] > 1 else (np.arange(t_count) / max(1, t_count - 1)) * 2 - 1
    ra = float(np.max(np.abs(a))) or 1.0
    rb = float(np.max(np.abs(b))) or 1.0
    coords = np.column_stack(
        [top + side / 2 - 0.45 * side * b / rb, left + side / 2 + 0.45 * side * a / ra]
    )
    stride = max(1, int(np.ceil(t_count / max_points)))
    keep = np.arange(0, t_count, stride)
    times = geom.times(t_count)
    features = {"time": times[keep], "bin": keep}
    for k in range(z.shape[1]):
        features[f"z{k}"] = z[keep, k]
    if overlaps_ is not None:
        for m in range(overlaps_.shape[1]):
            features[f"m{m}"] = overlaps_[keep, m]
    size = max(0.3, side / 70)
    points = (
        coords[keep],
        dict(
            name=name,
            features=features,
            face_color="time",
            face_colormap="viridis",
            border_width=0,
            size=size,
            opacity=0.8,
            metadata={
                "vaemf": {"kind": "latent space", "stride": stride, "axes": ["z0", "z1"]}
            },
            **geom.layer_units(),
        ),
        "points",
    )
    marker = (
        coords[:1],
        dict(
            name=f"{name}: cursor",
            face_color="white",
            border_color="red",
            border_width=0.3,
            size=size * 6,
            metadata={"vaemf": {"kind": "latent cursor"}},
            **geom.layer_units(),
        ),
        "points",
    )
    return points, marker, CursorLink(geom, coords)


class CursorLink:
    """Callable for ``viewer.cursor.events.position``: moves a marker to the cursor's bin.

    Set ``marker`` (the napari Points layer) after adding it; ``bin`` is the last bin shown.
    """

    def __init__(self, geom: RasterGeometry, coords: np.ndarray):
        self.geom = geom
        self.coords = coords
        self.marker = None
        self.bin: int | None = None

    def __call__(self, event=None) -> None:
        if self.marker is None or event is None:
            return
        pos = event.value if hasattr(event, "value") else event
        if pos is None or len(pos) < 2:
            return
        j = self.geom.bin_at(float(pos[-1]))
        if j is None or j == self.bin or j >= len(self.coords):
            return
        self.bin = j
        self.marker.data = self.coords[j : j + 1]


def overlap_labels_layer(
    m: np.ndarray, geom: RasterGeometry, threshold: float | None = None, name: str = "overlaps"
) -> tuple:
    """A labels strip under the raster: label mu+1 where pattern mu dominates, 0 elsewhere.

    ``threshold`` on |m| (default 0.5, suitable for spin overlaps; use ~2 for z-scored ones).
    Beyond MAX_LABEL_COLUMNS bins each column shows the most frequent label of its block.
    """
    m = np.asarray(m, dtype=np.float32)
    thr = 0.5 if threshold is None else threshold
    best = np.argmax(np.abs(m), axis=1)
    lab = np.where(np.abs(m[np.arange(len(m)), best]) > thr, best + 1, 0).astype(np.int32)
    factor = max(1, int(np.ceil(len(lab) / MAX_LABEL_COLUMNS)))
    if factor > 1:
        cols = int(np.ceil(len(lab) / factor))
        padded = np.zeros(cols * factor, dtype=np.int64)
        padded[: len(lab)] = lab
        n_lab = m.shape[1] + 1
        counts = np.bincount(
            np.repeat(np.arange(cols), factor) * n_lab + padded, minlength=cols * n_lab
        ).reshape(cols, n_lab)
        lab = np.argmax(counts, axis=1).astype(np.int32)
    height = max(1.0, 0.05 * geom.n_units)
    top = geom.n_units - 0.5 + geom.gap
    dx = geom.bin_size * factor
    return (
        lab[None, :],
        dict(
            name=name,
            scale=(height, dx),
            translate=(top + height / 2, geom.left + dx / 2),
            opacity=0.9,
            metadata={"vaemf": {"kind": "overlaps", "threshold": thr, "block": factor}},
            **geom.layer_units(),
        ),
        "labels",
    )
