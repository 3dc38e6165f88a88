"""Loss by cause: the WRI / Google DeepMind drivers of tree-cover loss (Sims et al. 2025).

The drivers map gives, for every 1 km cell of the globe, the *dominant* direct driver of the
tree-cover loss of 2001-2024 in that cell, as a uint8 class (:data:`DRIVER_CLASSES`). Given
to :func:`asm_pace.forest_loss` as ``drivers=``, every Hansen loss pixel (30 m) takes the
class of the drivers cell holding the pixel's **centre** (the two grids need not align, nor
share a CRS: the centre is transformed to the drivers' CRS), and each zone's loss is split
into ``loss_driver_<class>_ha`` columns plus ``loss_driver_unknown_ha`` (loss on a cell of
class 0, on nodata or off the drivers raster). The columns add up to ``loss_total_ha``.

The drivers raster is read through the same machinery as the forest rasters
(``asm_pace._raster``, role ``drivers``): chosen by the word ``drivers`` in a folder, refused
when its name says another layer, when it is the same file as a forest raster, when a pixel
read holds a value outside 0-7, when it has several bands or a nodata tag of 1-7, and when
it lies wholly away from the zones (another region).

Reference: Sims, M. J. et al. (2025). Global drivers of forest loss at 1 km resolution.
*Environmental Research Letters* 20, 074027. https://doi.org/10.1088/1748-9326/add606
(data: Zenodo record 15366671, v1.2 2001-2024; Earth Engine
``projects/landandcarbon/assets/wri_gdm_drivers_forest_loss_1km``).
"""

from __future__ import annotations

import warnings

import numpy as np
from pyproj import Transformer

from ._raster import ROLES, Grid, Layer, check_distinct, open_layer
from .errors import ExtentWarning, RasterError

__all__ = ["DRIVER_CLASSES", "driver_columns", "open_drivers_layer"]

#: The drivers map's classes, by value (the order of the dataset's class list), as the slug
#: used in column names (``loss_driver_<slug>_ha``). 0, nodata and no cell: ``unknown``.
#: Checked against the Earth Engine catalog entry of the dataset (band ``classification``,
#: ``gee:classes`` values 1-7 in this order; v1.1 2001-2023, the same classes in v1.2).
DRIVER_CLASSES: dict[int, str] = {
    1: "permanent_agriculture",
    2: "hard_commodities",  # mining and energy infrastructure: the ASM class
    3: "shifting_cultivation",
    4: "logging",
    5: "wildfire",
    6: "settlements_infrastructure",
    7: "other_natural_disturbances",
}

#: Labels handed to the zonal sums: 0 not a loss pixel, 1 loss of unknown driver,
#: ``1 + c`` loss in a cell of class ``c``.
N_LABELS = 2 + len(DRIVER_CLASSES)


def driver_columns() -> list[str]:
    """The columns ``forest_loss(..., drivers=)`` adds, in order.

    Examples
    --------
    >>> driver_columns()[:2], driver_columns()[-1]
    (['loss_driver_permanent_agriculture_ha', 'loss_driver_hard_commodities_ha'], \
'loss_driver_unknown_ha')
    """
    return [f"loss_driver_{slug}_ha" for slug in DRIVER_CLASSES.values()] + [
        "loss_driver_unknown_ha"
    ]


def open_drivers_layer(
    drivers,
    forest_layers: list[Layer],
    *,
    bounds: tuple[float, float, float, float] | None = None,
    warn: bool = True,
) -> Layer:
    """Open the drivers raster and check who it is, before any pixel is read.

    ``forest_layers`` are the open forest rasters (:func:`asm_pace.forest.open_forest_layers`):
    no file may play two roles. ``bounds`` (lon/lat) are the zones' (or sites') box: a
    drivers raster wholly outside it is refused (another region), one covering only part of
    it gives an :class:`~asm_pace.errors.ExtentWarning` (loss off it counts as unknown)
    unless ``warn`` is False (the pipeline's early check: :func:`asm_pace.forest_loss` warns).

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> from asm_pace.forest import open_forest_layers
    >>> forest = open_forest_layers(sample_path("treecover2000.tif"),
    ...                             sample_path("lossyear.tif"))
    >>> open_drivers_layer(sample_path("drivers.tif"), forest).name
    'drivers'
    """
    layer = open_layer(drivers, role=ROLES["drivers"], bounds=bounds)
    check_distinct([*forest_layers, layer])
    if bounds is not None:
        _check_extent(layer, bounds, warn=warn)
    return layer


def _check_extent(layer: Layer, zb: tuple[float, float, float, float], *, warn: bool) -> None:
    b = layer.bounds_lonlat()
    span = "lon {:.4f} to {:.4f}, lat {:.4f} to {:.4f}"
    if zb[2] <= b[0] or zb[0] >= b[2] or zb[3] <= b[1] or zb[1] >= b[3]:
        raise RasterError(
            f"{layer.describe()}: the drivers raster (drivers=, --drivers) spans "
            f"{span.format(b[0], b[2], b[1], b[3])} and the zones "
            f"{span.format(zb[0], zb[2], zb[1], zb[3])}: it is of another region; give the "
            "drivers map that covers the zones (the global 1 km file, or a clip of that region)"
        )
    if warn and (zb[0] < b[0] or zb[2] > b[2] or zb[1] < b[1] or zb[3] > b[3]):
        warnings.warn(
            f"{layer.describe()}: the drivers raster spans {span.format(b[0], b[2], b[1], b[3])}, "
            f"only part of the zones' box {span.format(zb[0], zb[2], zb[1], zb[3])}; loss off it "
            "is counted in loss_driver_unknown_ha: give a drivers raster that covers the zones",
            ExtentWarning,
            stacklevel=3,
        )


class DriverLabels:
    """Per-pixel driver labels of the loss pixels of a forest window (:data:`N_LABELS`).

    Each loss pixel of the forest grid takes the class of the drivers cell holding its
    centre: ``col = floor((x - x0) / dx)``, ``row = floor((y - y0) / dy)`` on the drivers
    grid (rasterio's ``rowcol``), ``x, y`` the pixel centre in the drivers' CRS. On one CRS
    the mapping is separable (a column index per window column, a row index per window
    row); otherwise the centres of the loss pixels only are transformed.
    """

    def __init__(self, layer: Layer, grid: Grid):
        self.layer = layer
        self.grid = grid
        d = layer.grid
        # the drivers tiles' rows and columns (global): cells beyond them are unknown
        self.rows = (
            min(t.row_off for t in layer.tiles),
            max(t.row_off + t.height for t in layer.tiles),
        )
        self.cols = (
            min(t.col_off for t in layer.tiles),
            max(t.col_off + t.width for t in layer.tiles),
        )
        self.same_crs = d.crs == grid.crs
        self.to_drivers = (
            None
            if self.same_crs
            else Transformer.from_crs(grid.crs, d.crs, always_xy=True).transform
        )

    def _cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = self.layer.grid
        with np.errstate(invalid="ignore"):
            fc = np.floor((x - d.x0) / d.dx)
            fr = np.floor((y - d.y0) / d.dy)
        ok = np.isfinite(fc) & np.isfinite(fr)
        return (
            np.where(ok, fr, 0).astype(np.int64),
            np.where(ok, fc, 0).astype(np.int64),
            ok,
        )

    def __call__(self, code: np.ndarray, r0: int, c0: int) -> np.ndarray:
        """Labels (uint8, the window's shape) from the forest codes (> 2: lost)."""
        h, w = code.shape
        lab = np.zeros(h * w, dtype=np.uint8)
        idx = np.flatnonzero(code.ravel() > 2)
        if idx.size == 0:
            return lab.reshape(h, w)
        rows, cols = np.divmod(idx, w)
        g = self.grid
        if self.same_crs:
            xs = g.x0 + (c0 + np.arange(w) + 0.5) * g.dx
            ys = g.y0 + (r0 + np.arange(h) + 0.5) * g.dy
            row_of = self._cells(np.zeros(h), ys)[0]  # drivers row of each window row
            col_of = self._cells(xs, np.zeros(w))[1]
            dr, dc = row_of[rows], col_of[cols]
            ok = np.ones(idx.size, dtype=bool)
        else:
            x = g.x0 + (c0 + cols + 0.5) * g.dx
            y = g.y0 + (r0 + rows + 0.5) * g.dy
            tx, ty = self.to_drivers(x, y)
            dr, dc, ok = self._cells(np.asarray(tx, dtype=float), np.asarray(ty, dtype=float))
        # off the drivers raster: unknown, and never read (a far transformed point would
        # otherwise widen the window read)
        ok &= (
            (dr >= self.rows[0]) & (dr < self.rows[1]) & (dc >= self.cols[0]) & (dc < self.cols[1])
        )
        cls = np.zeros(idx.size, dtype=np.int64)
        if ok.any():
            rr0, rr1 = int(dr[ok].min()), int(dr[ok].max()) + 1
            cc0, cc1 = int(dc[ok].min()), int(dc[ok].max()) + 1
            data, valid = self.layer.read(rr0, rr1, cc0, cc1)
            self.layer.check(data, valid, rr0, cc0)
            i, j = dr[ok] - rr0, dc[ok] - cc0
            v = data[i, j]
            if v.dtype.kind == "f":
                v = np.nan_to_num(v)
            v = v.astype(np.int64)
            if valid is not None:
                v = np.where(valid[i, j], v, 0)
            cls[ok] = v
        lab[idx] = (cls + 1).astype(np.uint8)
        return lab.reshape(h, w)


def split_columns(sums: np.ndarray) -> dict[str, np.ndarray]:
    """The ``loss_driver_..._ha`` columns from per-zone label sums (ha, :data:`N_LABELS`)."""
    sums = sums.copy()
    # float cancellation in the prefix sums leaves ~1e-15 noise on absent labels
    sums[np.abs(sums) <= 1e-9 * np.abs(sums).sum(axis=1, keepdims=True)] = 0.0
    np.maximum(sums, 0.0, out=sums)
    names = driver_columns()
    cols = {names[c - 1]: sums[:, 1 + c] for c in DRIVER_CLASSES}
    cols[names[-1]] = sums[:, 1]
    return cols
