"""Private: raster inputs as one aligned grid (single files, tile lists, Hansen folders, VRTs).

A *layer* (tree cover, loss year, gain, or any raster for ``raster_stats``) is
one or more GeoTIFF/VRT files on a common pixel grid. Tiles are placed on a
*global grid* anchored at the first tile's origin; every tile must share its
CRS and cell size and sit at a whole number of pixels from it. Windows of the
global grid are read from every tile they touch (zones crossing tile edges),
the rest is nodata.
"""

from __future__ import annotations

import math
import re
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.windows import Window

from .errors import RasterError, ReadError

__all__ = ["Grid", "Layer", "open_layer", "row_areas", "hansen_year"]

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt")
# Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif: top-left corner 20N 80W, 10 x 10 degrees
_HANSEN_TILE = re.compile(r"_(\d{2})([NS])_(\d{3})([EW])\.tif{1,2}$", re.IGNORECASE)
_HANSEN_YEAR = re.compile(r"GFC-?(\d{4})", re.IGNORECASE)


@dataclass
class Tile:
    path: str
    row_off: int  # offset of the tile's first row in the global grid
    col_off: int
    height: int
    width: int
    nodata: float | None
    dtype: str
    block: tuple[int, int]


@dataclass
class Grid:
    """A north-up pixel grid: ``x = x0 + col * dx``, ``y = y0 + row * dy``."""

    crs: CRS
    x0: float
    y0: float
    dx: float
    dy: float

    def same_as(self, other: Grid) -> bool:
        return (
            self.crs == other.crs
            and math.isclose(self.dx, other.dx, rel_tol=1e-9)
            and math.isclose(self.dy, other.dy, rel_tol=1e-9)
        )

    def offset_of(self, x: float, y: float, what: str) -> tuple[int, int]:
        """Whole-pixel (row, col) offset of the point (x, y) on this grid."""
        fc = (x - self.x0) / self.dx
        fr = (y - self.y0) / self.dy
        c, r = round(fc), round(fr)
        if abs(fc - c) > 1e-3 or abs(fr - r) > 1e-3:
            raise RasterError(
                f"{what} is not aligned with the first raster's pixel grid (offset of "
                f"{fc:.4f} columns, {fr:.4f} rows); rasters must share one grid: "
                "asm_pace never resamples"
            )
        return r, c


@dataclass
class Layer:
    """One raster layer made of one or more aligned tiles."""

    name: str
    grid: Grid
    tiles: list[Tile]
    _open: dict[str, rasterio.DatasetReader] = field(default_factory=dict, repr=False)

    @property
    def block(self) -> tuple[int, int]:
        return self.tiles[0].block

    @property
    def tile_shape(self) -> tuple[int, int]:
        return self.tiles[0].height, self.tiles[0].width

    def open_all(self, stack: ExitStack) -> None:
        for t in self.tiles:
            if t.path not in self._open:
                self._open[t.path] = stack.enter_context(_open(t.path))

    def read(
        self, r0: int, r1: int, c0: int, c1: int, *, mask_nodata: bool = True
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Values and validity mask of the global window rows r0:r1, cols c0:c1.

        The mask is ``None`` when every pixel is valid. With ``mask_nodata=False``
        only pixels off the tiles are masked (the caller handles nodata values).
        """
        h, w = r1 - r0, c1 - c0
        data = None
        valid = None
        covered = 0
        for t in self.tiles:
            tr0, tr1 = max(r0, t.row_off), min(r1, t.row_off + t.height)
            tc0, tc1 = max(c0, t.col_off), min(c1, t.col_off + t.width)
            if tr0 >= tr1 or tc0 >= tc1:
                continue
            ds = self._open[t.path]
            win = Window(tc0 - t.col_off, tr0 - t.row_off, tc1 - tc0, tr1 - tr0)
            try:
                arr = ds.read(1, window=win)
            except rasterio.errors.RasterioError as err:
                raise ReadError(f"{t.path}: could not read window {win}: {err}") from err
            if arr.shape == (h, w) and not mask_nodata:
                return arr, None  # one tile holds the whole window
            if data is None:
                data = np.zeros((h, w), dtype=arr.dtype)
                valid = np.zeros((h, w), dtype=bool)
            sl = (slice(tr0 - r0, tr1 - r0), slice(tc0 - c0, tc1 - c0))
            data[sl] = arr
            covered += arr.size
            if not mask_nodata:
                valid[sl] = True
                continue
            ok = np.ones(arr.shape, dtype=bool)
            if t.nodata is not None:
                ok = ~np.isnan(arr) if np.isnan(t.nodata) else arr != t.nodata
            if arr.dtype.kind == "f":
                ok &= np.isfinite(arr)
            valid[sl] = ok
        if data is None:
            data = np.zeros((h, w), dtype=self.tiles[0].dtype)
            valid = np.zeros((h, w), dtype=bool)
        if not mask_nodata and covered == h * w:
            return data, None
        return data, valid


def _open(path: str) -> rasterio.DatasetReader:
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        raise ReadError(f"{path}: cannot open the raster ({err}); check the path") from err


def hansen_year(paths: list[str]) -> int | None:
    """The product year of Hansen GFC files (``Hansen_GFC-2023-v1.11_...`` -> 2023)."""
    years = {int(m.group(1)) for p in paths if (m := _HANSEN_YEAR.search(Path(p).name))}
    return max(years) if years else None


def _hansen_bounds(name: str) -> tuple[float, float, float, float] | None:
    m = _HANSEN_TILE.search(name)
    if not m:
        return None
    lat = int(m.group(1)) * (1 if m.group(2).upper() == "N" else -1)
    lon = int(m.group(3)) * (1 if m.group(4).upper() == "E" else -1)
    return (lon, lat - 10.0, lon + 10.0, lat)


def _candidates(spec, keyword: str, what: str) -> list[str]:
    if isinstance(spec, (str, Path)):
        p = Path(spec)
        if p.is_dir():
            files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES)
            named = [f for f in files if keyword.lower() in Path(f).name.lower()]
            files = named or files
            if not files:
                raise ReadError(
                    f"{p}: the folder holds no GeoTIFF or VRT for {what}; expected files "
                    f"like Hansen_GFC-2023-v1.11_{keyword}_20N_080W.tif"
                )
            return files
        if not p.exists():
            raise ReadError(f"{p}: the {what} raster does not exist")
        return [str(p)]
    try:
        files = [str(Path(s)) for s in spec]
    except TypeError as err:
        raise RasterError(
            f"{what} must be a file, a folder or a list of files, got {type(spec).__name__}"
        ) from err
    if not files:
        raise RasterError(f"the list of {what} rasters is empty")
    for f in files:
        if not Path(f).exists():
            raise ReadError(f"{f}: the {what} raster does not exist")
    return files


def open_layer(
    spec,
    *,
    name: str,
    keyword: str,
    bounds: tuple[float, float, float, float] | None = None,
    grid: Grid | None = None,
) -> Layer:
    """Open a raster layer from a file, a list of files or a folder.

    ``bounds`` (lon/lat, EPSG:4326) pre-selects tiles by their Hansen name
    (``20N_080W``) before any file is opened; files without such a name are kept.
    """
    files = _candidates(spec, keyword, name)
    if bounds is not None and len(files) > 1:
        bx0, by0, bx1, by1 = bounds
        keep = []
        for f in files:
            hb = _hansen_bounds(Path(f).name)
            if hb is None or not (hb[2] <= bx0 or hb[0] >= bx1 or hb[3] <= by0 or hb[1] >= by1):
                keep.append(f)
        files = keep or files[:1]
    tiles: list[Tile] = []
    for f in files:
        with _open(f) as ds:
            if ds.crs is None:
                raise RasterError(f"{f}: the raster has no CRS; assign one (e.g. gdal_edit -a_srs)")
            t = ds.transform
            if t.b != 0 or t.d != 0:
                raise RasterError(
                    f"{f}: rotated rasters are not supported; warp it to a north-up grid first"
                )
            g = Grid(CRS.from_user_input(ds.crs), t.c, t.f, t.a, t.e)
            if grid is None:
                grid = g
            elif not grid.same_as(g):
                raise RasterError(
                    f"{f}: {name} raster grid (CRS {g.crs.to_string()}, cell {g.dx} x {g.dy}) "
                    f"differs from the first raster's (CRS {grid.crs.to_string()}, cell "
                    f"{grid.dx} x {grid.dy}); all rasters must share one grid"
                )
            r, c = grid.offset_of(t.c, t.f, f"{f}")
            if ds.count < 1:
                raise RasterError(f"{f}: the raster has no band")
            tiles.append(
                Tile(
                    path=f,
                    row_off=r,
                    col_off=c,
                    height=ds.height,
                    width=ds.width,
                    nodata=ds.nodata,
                    dtype=ds.dtypes[0],
                    block=tuple(ds.block_shapes[0]),
                )
            )
    return Layer(name=name, grid=grid, tiles=tiles)


def row_areas(grid: Grid, rows: np.ndarray) -> np.ndarray:
    """Area in m2 of one cell on each global pixel row.

    Geographic grids: the exact area of a latitude/longitude cell on the
    CRS's ellipsoid, ``|dlon| * (a^2 / 2) * |q(phi1) - q(phi2)|`` with
    ``q(phi) = (1 - e^2) * (sin phi / (1 - e^2 sin^2 phi)
    - 1 / (2e) * ln((1 - e sin phi) / (1 + e sin phi)))`` (Snyder 1987, eq. 3-12;
    ``a^2 q / 2`` is the area from the equator to ``phi`` per radian of longitude,
    i.e. ``R_q^2 sin(beta)`` with the authalic latitude ``beta``). Projected
    grids: ``|dx * dy|`` in the CRS's unit squared (metres).
    """
    rows = np.asarray(rows, dtype="float64")
    if not grid.crs.is_geographic:
        unit = grid.crs.axis_info[0].unit_conversion_factor if grid.crs.axis_info else 1.0
        return np.full(rows.shape, abs(grid.dx * grid.dy) * unit * unit)
    ell = grid.crs.ellipsoid
    a = ell.semi_major_metre
    inv_f = ell.inverse_flattening
    e2 = 0.0 if not inv_f else (2.0 - 1.0 / inv_f) / inv_f
    lat1 = np.radians(np.clip(grid.y0 + rows * grid.dy, -90.0, 90.0))
    lat2 = np.radians(np.clip(grid.y0 + (rows + 1.0) * grid.dy, -90.0, 90.0))
    dlon = abs(math.radians(grid.dx))
    if e2 == 0.0:
        return dlon * a * a * np.abs(np.sin(lat1) - np.sin(lat2))
    e = math.sqrt(e2)

    def q(phi: np.ndarray) -> np.ndarray:
        s = np.sin(phi)
        return (1.0 - e2) * (
            s / (1.0 - e2 * s * s) - (1.0 / (2.0 * e)) * np.log((1.0 - e * s) / (1.0 + e * s))
        )

    return dlon * 0.5 * a * a * np.abs(q(lat1) - q(lat2))
