"""Private: raster inputs as one aligned grid (single files, tile lists, Hansen folders, VRTs).

A *layer* (tree cover, loss year, gain, or any raster for ``raster_stats``) is
one or more GeoTIFF/VRT files on a common pixel grid. Tiles are placed on a
*global grid* anchored at the first tile's origin; every tile must share its
CRS and cell size and sit at a whole number of pixels from it. Windows of the
global grid are read from every tile they touch (zones crossing tile edges),
the rest is nodata.

Each layer plays a *role* (:data:`ROLES`: tree cover, loss year, gain, data
mask, or the anonymous ``raster`` of ``raster_stats``). A role says how its
files are recognised by name (``*treecover2000*``, ``*lossyear*``, ``*gain*``,
``*datamask*``, case-insensitive) and which values it may hold (its
:class:`Domain`). A folder gives the files whose name holds the role's word and
nothing else; a file whose name holds another role's word is refused, and so is
one file (or a VRT's source) in two roles (:func:`check_distinct`); tiles of one
layer must not overlap, must share a data type and lie inside the Hansen tile
their name gives; a nodata tag must lie outside the domain; and every valid
pixel read must lie in it (:meth:`Layer.check` on the blocks read, no extra
pass; ``forest`` folds the check into its uint8 lookup table).
"""

from __future__ import annotations

import datetime
import math
import os
import re
import xml.etree.ElementTree as ET
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS, Transformer
from rasterio.windows import Window

from .errors import RasterError, ReadError

__all__ = [
    "Domain",
    "Role",
    "ROLES",
    "RASTER",
    "LAST_LOSS_YEAR",
    "Grid",
    "Layer",
    "open_layer",
    "check_distinct",
    "row_areas",
    "hansen_year",
]

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt")
# Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif: top-left corner 20N 80W, 10 x 10 degrees
_HANSEN_TILE = re.compile(r"_(\d{2})([NS])_(\d{3})([EW])\.tif{1,2}$", re.IGNORECASE)
_HANSEN_YEAR = re.compile(r"GFC-?(\d{4})", re.IGNORECASE)

#: The last loss year accepted (as ``v`` = year ``2000 + v``): the current year. Hansen
#: GFC-2024-v1.12 holds 1-24; anything above the current year cannot be a year of loss.
LAST_LOSS_YEAR = datetime.date.today().year - 2000


@dataclass(frozen=True)
class Domain:
    """The values a role's raster may hold (nodata aside).

    ``lo``-``hi`` inclusive; ``integer`` refuses fractional values; ``calendar`` also
    accepts years ``2001``-``2000 + hi``; ``percent`` refuses a floating-point raster whose
    values all lie in 0-1 (fractions given for percent).

    Examples
    --------
    >>> d = Domain(0, 24, integer=True, text="loss years", calendar=True)
    >>> d.bad(np.array([0, 24, 25, 2013, 2030, 3.5])).tolist()
    [False, False, True, False, True, True]
    """

    lo: float
    hi: float
    integer: bool
    text: str
    calendar: bool = False
    percent: bool = False

    def bad(self, values: np.ndarray) -> np.ndarray:
        """Boolean array: ``True`` where a value is outside the domain (NaN is outside)."""
        v = np.asarray(values)
        with np.errstate(invalid="ignore"):
            ok = (v >= self.lo) & (v <= self.hi)
            if self.calendar:
                ok |= (v >= 2001) & (v <= 2000 + self.hi)
            if self.integer and v.dtype.kind == "f":
                ok &= v == np.floor(v)
        return ~ok

    def contains(self, value: float) -> bool:
        """Whether one value lies in the domain."""
        return not bool(self.bad(np.array([value], dtype="float64"))[0])


@dataclass(frozen=True)
class Role:
    """What a layer is: its name, the word in its file names, its option and its domain."""

    name: str
    keyword: str
    option: str
    what: str
    domain: Domain | None
    #: nodata tags allowed although inside the domain (they mean what the value means)
    free_nodata: tuple[float, ...] = ()

    def named(self, filename: str) -> bool:
        """Whether ``filename`` holds this role's word (letters may not touch it)."""
        return bool(self.keyword) and bool(
            re.search(rf"(?<![a-z]){self.keyword}(?![a-z])", filename, re.IGNORECASE)
        )


#: The Hansen Global Forest Change layers, by name.
ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role(
            "treecover",
            "treecover2000",
            "--treecover",
            "tree-cover",
            Domain(0, 100, False, "tree cover in percent, 0-100", percent=True),
        ),
        Role(
            "lossyear",
            "lossyear",
            "--lossyear",
            "loss-year",
            Domain(
                0,
                LAST_LOSS_YEAR,
                True,
                f"0 for no loss, 1-{LAST_LOSS_YEAR} for the years "
                f"2001-{2000 + LAST_LOSS_YEAR}, or those calendar years",
                calendar=True,
            ),
        ),
        Role("gain", "gain", "--gain", "gain", Domain(0, 1, True, "0 or 1")),
        Role("datamask", "datamask", "", "data-mask", Domain(0, 2, True, "0, 1 or 2")),
        # WRI / Google DeepMind drivers of tree-cover loss (Sims et al. 2025), 1 km: classes
        # 1-7 (asm_pace.drivers.DRIVER_CLASSES); 0 and nodata: no class (a tag of 0 is fine)
        Role(
            "drivers",
            "drivers",
            "--drivers",
            "drivers-of-loss",
            Domain(0, 7, True, "0 for no class, 1-7 for the driver classes"),
            free_nodata=(0.0,),
        ),
    )
}

#: Any raster (``raster_stats``): any name, any values.
RASTER = Role("raster", "", "the raster argument", "input", None)


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
    """One raster layer made of one or more aligned tiles, playing one :class:`Role`."""

    role: Role
    grid: Grid
    tiles: list[Tile]
    _open: dict[str, rasterio.DatasetReader] = field(default_factory=dict, repr=False)
    #: smallest and largest valid value :meth:`check` has seen
    seen: tuple[float, float] = (math.inf, -math.inf)

    @property
    def name(self) -> str:
        return self.role.name

    def describe(self) -> str:
        """The layer's files for messages: the first tile, and how many more."""
        more = len(self.tiles) - 1
        return self.tiles[0].path + (f" (and {more} more tile(s))" if more else "")

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the tiles' union box, in the grid's CRS."""
        g = self.grid
        r0 = min(t.row_off for t in self.tiles)
        r1 = max(t.row_off + t.height for t in self.tiles)
        c0 = min(t.col_off for t in self.tiles)
        c1 = max(t.col_off + t.width for t in self.tiles)
        xs = (g.x0 + c0 * g.dx, g.x0 + c1 * g.dx)
        ys = (g.y0 + r0 * g.dy, g.y0 + r1 * g.dy)
        return min(xs), min(ys), max(xs), max(ys)

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """:meth:`bounds` in longitude/latitude (EPSG:4326)."""
        b = self.bounds()
        if self.grid.crs.is_geographic:
            return b
        to_ll = Transformer.from_crs(self.grid.crs, "EPSG:4326", always_xy=True)
        return tuple(float(x) for x in to_ll.transform_bounds(*b, densify_pts=21))

    def tile_at(self, row: int, col: int) -> Tile:
        """The tile holding global pixel (row, col)."""
        for t in self.tiles:
            if t.row_off <= row < t.row_off + t.height and t.col_off <= col < t.col_off + t.width:
                return t
        return self.tiles[0]

    def check(
        self, data: np.ndarray, valid: np.ndarray | None, r0: int, c0: int
    ) -> tuple[float, float] | None:
        """Refuse a window whose valid pixels leave the role's :class:`Domain`.

        ``data``/``valid`` as :meth:`read` returns them (nodata masked) for the window whose
        top-left global pixel is (``r0``, ``c0``). Returns the smallest and largest valid
        value (``None`` when no pixel is valid; for unsigned data the smallest is reported
        as 0, a bound the data type guarantees) and widens :attr:`seen`. Costs one max (and
        one min for signed and float data) over the window when every value is in the
        domain.
        """
        dom = self.role.domain
        if dom is None or data.size == 0:
            return None
        if valid is not None and not valid.any():
            return None
        kind = data.dtype.kind
        lo_free = kind == "u" and dom.lo <= 0  # unsigned data cannot go below the domain
        if kind == "f":
            where = np.isfinite(data) if valid is None else valid
            vmin = float(np.min(data, where=where, initial=np.inf))
            vmax = float(np.max(data, where=where, initial=-np.inf))
        elif valid is None:
            vmin = 0.0 if lo_free else float(data.min())
            vmax = float(data.max())
        else:
            vmin = (
                0.0
                if lo_free
                else float(np.min(data, where=valid, initial=np.iinfo(data.dtype).max))
            )
            vmax = float(np.max(data, where=valid, initial=np.iinfo(data.dtype).min))
        inside = dom.lo <= vmin and vmax <= dom.hi
        if not inside or (dom.integer and kind == "f"):
            bad = dom.bad(data)
            if valid is not None:
                bad &= valid
            elif kind == "f":
                bad &= np.isfinite(data)
            if bad.any():
                raise self._domain_error(data, bad, r0, c0)
        self.seen = (min(self.seen[0], vmin), max(self.seen[1], vmax))
        return vmin, vmax

    def _domain_error(self, data: np.ndarray, bad: np.ndarray, r0: int, c0: int) -> RasterError:
        i, j = (int(x) for x in np.argwhere(bad)[0])
        value = data[i, j].item()
        tile = self.tile_at(r0 + i, c0 + j)
        role, dom = self.role, self.role.domain
        hints = [
            f"is this the {other.what} raster given as {role.option}?"
            for other in ROLES.values()
            if other is not role and other.option and other.domain.contains(value)
        ]
        if tile.nodata is None and (value < 0 or value >= 255):
            hints.append(
                f"if {value:g} marks missing data, the file has no nodata tag: set it with "
                f"gdal_edit.py -a_nodata {value:g} {Path(tile.path).name}"
            )
        if not hints:
            hints.append(f"give the {role.what} raster (Hansen {role.keyword}) to {role.option}")
        return RasterError(
            f"{tile.path}: value {value:g} (pixel row {r0 + i - tile.row_off}, column "
            f"{c0 + j - tile.col_off}; {int(bad.sum())} such pixel(s) in the window read) is "
            f"not a {role.what} value ({dom.text}) for {role.option}; " + "; ".join(hints)
        )

    def finish(self) -> None:
        """Layer-wide rules once every window is checked: fractions given for percent."""
        dom = self.role.domain
        lo, hi = self.seen
        floats = any(np.dtype(t.dtype).kind == "f" for t in self.tiles)
        if dom is not None and dom.percent and floats and 0.0 < hi <= 1.0:
            raise RasterError(
                f"{self.describe()}: the {self.role.what} raster holds values from {lo:g} to "
                f"{hi:g} only: fractions, not percent? {self.role.option} needs percent 0-100; "
                "multiply it by 100 (gdal_calc.py -A file.tif --calc=A*100 --outfile=pct.tif), "
                "or, if it is percent already, store it as integers (gdal_translate -ot Byte)"
            )

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
                cause = err.__cause__ or err.__context__ or err
                raise ReadError(
                    f"{t.path}: could not read rows {win.row_off}-{win.row_off + win.height}, "
                    f"columns {win.col_off}-{win.col_off + win.width} (GDAL: "
                    f"{' '.join(str(cause).split())}): the file is damaged or truncated; "
                    "download or rebuild it"
                ) from err
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
    except rasterio.errors.RasterioError as err:
        raise ReadError(
            f"{path}: cannot open it as a raster (GDAL: {' '.join(str(err).split())}); give a "
            "GeoTIFF or VRT, whole and undamaged (download it again if it was cut short)"
        ) from err


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


def _vrt_sources(path: str) -> list[str]:
    """The source files a VRT names (relative ones resolved); ``[]`` for other files."""
    if not path.lower().endswith(".vrt"):
        return []
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return []  # reported when the VRT is opened
    out = []
    for el in root.iter("SourceFilename"):
        src = (el.text or "").strip()
        if src and not src.startswith("/vsi") and "://" not in src:
            rel = el.get("relativeToVRT", "0") == "1"
            out.append(str(Path(path).parent / src) if rel else src)
    return out


def _identity(path: str) -> tuple[int, int] | str:
    """The file behind ``path`` (device and inode: links and relative paths agree)."""
    try:
        st = os.stat(path)
    except OSError:
        return str(Path(path).resolve())
    return st.st_dev, st.st_ino


def _check_name(path: str, role: Role) -> None:
    """Refuse a file whose name (or, for a neutral VRT, its sources' names) says another role."""
    if not role.keyword:
        return
    where = "the file name says"
    found = [r for r in ROLES.values() if r.named(Path(path).name)]
    if not found:
        where = "the VRT's sources say"
        names = [Path(s).name for s in _vrt_sources(path)]
        found = [r for r in ROLES.values() if any(r.named(n) for n in names)]
    if found and role not in found:
        other = found[0]
        fix = f"give it to {other.option}, and" if other.option else "that layer is not used;"
        raise RasterError(
            f"{path}: {where} '{other.keyword}' but it is given as {role.option}; {fix} give "
            f"the {role.what} raster (Hansen {role.keyword}) to {role.option}"
        )


def _candidates(spec, role: Role) -> list[str]:
    if isinstance(spec, (str, os.PathLike)):
        p = Path(spec)
        if p.is_dir():
            files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES)
            named = [f for f in files if role.named(Path(f).name)] if role.keyword else files
            if not named:
                shown = files or sorted(f.name for f in p.iterdir())
                held = ", ".join(Path(f).name for f in shown[:6]) or "nothing"
                held += f" and {len(shown) - 6} more" if len(shown) > 6 else ""
                if not files:
                    held += "; only .tif, .tiff and .vrt files are read"
                word = f"; no file name holds '{role.keyword}'" if role.keyword else ""
                raise ReadError(
                    f"{p}: the folder holds no {role.what} raster{word} (it holds {held}); "
                    f"give the file itself to {role.option}"
                    + (
                        f" or name the tiles like Hansen_GFC-2024-v1.12_{role.keyword}_20N_080W.tif"
                        if role.keyword
                        else ""
                    )
                )
            return named
        files = [str(p)]
    else:
        try:
            files = [str(Path(s)) for s in spec]
        except TypeError as err:
            raise RasterError(
                f"{role.option} must be a file, a folder or a list of files, "
                f"got {type(spec).__name__}"
            ) from err
        if not files:
            raise RasterError(f"the list of {role.what} rasters for {role.option} is empty")
    for f in files:
        if not Path(f).exists():
            raise ReadError(f"{f}: the {role.what} raster for {role.option} does not exist")
        _check_name(f, role)
    return files


def open_layer(
    spec,
    *,
    role: Role = RASTER,
    bounds: tuple[float, float, float, float] | None = None,
    grid: Grid | None = None,
) -> Layer:
    """Open a raster layer playing ``role`` from a file, a list of files or a folder.

    A folder gives its files whose name holds the role's word (all its rasters for
    :data:`RASTER`). ``bounds`` (lon/lat, EPSG:4326) pre-selects tiles by their Hansen
    name (``20N_080W``) before any file is opened; files without such a name are kept.
    Refused (:class:`~asm_pace.errors.RasterError`): a file named for another role, tiles
    off ``grid`` or off each other's grid, overlapping tiles, tiles of different data
    types, and, for a role with a :class:`Domain`, several bands or a nodata tag inside the
    domain.

    Examples
    --------
    >>> from asm_pace import datasets
    >>> layer = open_layer(datasets.sample_path("lossyear.tif"), role=ROLES["lossyear"])
    >>> layer.name, len(layer.tiles), layer.tiles[0].dtype
    ('lossyear', 1, 'uint8')
    """
    files = _candidates(spec, role)
    for f in files:
        gone = [src for src in _vrt_sources(f) if not Path(src).exists()]
        if gone:
            raise ReadError(
                f"{f}: the VRT's source {gone[0]} does not exist ({len(gone)} missing); fix "
                "its path in the VRT or rebuild the VRT (gdalbuildvrt)"
            )
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
                raise RasterError(
                    f"{f}: the raster has no CRS (or a damaged header); assign one "
                    f"(gdal_edit.py -a_srs EPSG:4326 {Path(f).name}) or download it again"
                )
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
                    f"{f}: {role.what} raster grid (CRS {g.crs.to_string()}, cell {g.dx} x "
                    f"{g.dy}) differs from the first raster's (CRS {grid.crs.to_string()}, cell "
                    f"{grid.dx} x {grid.dy}); all rasters must share one grid"
                )
            r, c = grid.offset_of(t.c, t.f, f"{f}")
            if ds.count < 1:
                raise RasterError(f"{f}: the raster has no band")
            tile = Tile(
                path=f,
                row_off=r,
                col_off=c,
                height=ds.height,
                width=ds.width,
                nodata=ds.nodata,
                dtype=ds.dtypes[0],
                block=tuple(ds.block_shapes[0]),
            )
            _check_tile(tile, ds.count, role, tiles[0] if tiles else None)
            _check_hansen_name(tile, g)
            tiles.append(tile)
    _check_overlaps(tiles, role)
    return Layer(role=role, grid=grid, tiles=tiles)


def _check_tile(tile: Tile, bands: int, role: Role, first: Tile | None) -> None:
    """Refuse a tile unlike the layer's first, or unfit for the role's domain."""
    f, dom = tile.path, role.domain
    if np.dtype(tile.dtype).kind not in "uif":
        raise RasterError(
            f"{f}: the {role.what} raster holds {tile.dtype} values; asm_pace reads integer "
            "or floating-point rasters (convert it with gdal_translate -ot Float32)"
        )
    if first is not None and tile.dtype != first.dtype:
        raise RasterError(
            f"{f}: {role.what} tiles must share one data type: this one is {tile.dtype}, "
            f"{Path(first.path).name} is {first.dtype}; convert them to one type "
            "(gdal_translate -ot)"
        )
    if dom is None:
        return
    if bands > 1:
        raise RasterError(
            f"{f}: the {role.what} raster for {role.option} has {bands} bands; Hansen layers "
            f"have one: give the single-band {role.keyword} file (or gdal_translate -b 1)"
        )
    if (
        tile.nodata is not None
        and dom.contains(tile.nodata)
        and tile.nodata not in role.free_nodata
    ):
        raise RasterError(
            f"{f}: the nodata tag {tile.nodata:g} is a {role.what} value ({dom.text}), so "
            f"those pixels would be left out as missing data; for {role.option} remove the tag "
            f"(gdal_edit.py -unsetnodata {Path(f).name})"
        )


def _check_hansen_name(tile: Tile, g: Grid) -> None:
    """Refuse a lon/lat tile lying outside the 10-degree tile its name gives (``20N_080W``).

    Tiles are chosen by that name before they are opened, so a wrong name would drop the
    tile that covers the zones (clipped tiles inside their 10 degrees are fine).
    """
    hb = _hansen_bounds(Path(tile.path).name)
    if hb is None or not g.crs.is_geographic:
        return
    xs = sorted((g.x0, g.x0 + tile.width * g.dx))  # g: the tile's own grid
    ys = sorted((g.y0, g.y0 + tile.height * g.dy))
    tol = max(abs(g.dx), abs(g.dy))
    if xs[0] < hb[0] - tol or xs[1] > hb[2] + tol or ys[0] < hb[1] - tol or ys[1] > hb[3] + tol:
        tag = _HANSEN_TILE.search(Path(tile.path).name).group(0)[1:].split(".")[0]
        raise RasterError(
            f"{tile.path}: the name says Hansen tile {tag} (lon {hb[0]:g} to {hb[2]:g}, lat "
            f"{hb[1]:g} to {hb[3]:g}) but the raster covers lon {xs[0]:.4f} to {xs[1]:.4f}, lat "
            f"{ys[0]:.4f} to {ys[1]:.4f}; tiles are chosen by that name: rename the file"
        )


def _check_overlaps(tiles: list[Tile], role: Role) -> None:
    """Refuse tiles of one layer that share pixels (touching tiles are fine)."""
    if len(tiles) < 2:
        return
    r0 = np.array([t.row_off for t in tiles])
    c0 = np.array([t.col_off for t in tiles])
    r1 = r0 + np.array([t.height for t in tiles])
    c1 = c0 + np.array([t.width for t in tiles])
    hit = (
        (r0[:, None] < r1[None, :])
        & (r0[None, :] < r1[:, None])
        & (c0[:, None] < c1[None, :])
        & (c0[None, :] < c1[:, None])
    )
    pairs = np.argwhere(np.triu(hit, 1))
    if pairs.size == 0:
        return
    a, b = tiles[pairs[0, 0]], tiles[pairs[0, 1]]
    if _identity(a.path) == _identity(b.path):
        raise RasterError(f"{a.path}: the file is listed twice for {role.option}; give it once")
    for vrt, tile in ((a, b), (b, a)):
        if _identity(tile.path) in {_identity(s) for s in _vrt_sources(vrt.path)}:
            raise RasterError(
                f"{vrt.path}: the VRT reads {Path(tile.path).name}, which is given for "
                f"{role.option} too; give the VRT or its tiles, not both"
            )
    raise RasterError(
        f"{a.path} and {Path(b.path).name}: two {role.what} tiles for {role.option} overlap "
        f"({len(pairs)} overlapping pair(s)); a layer's tiles must not overlap (two versions or "
        "copies of one tile?): keep one of each"
    )


def check_distinct(layers: list[Layer]) -> None:
    """Refuse one file (directly, by a link, or as a VRT's source) in two layers.

    Examples
    --------
    >>> from asm_pace import datasets
    >>> tc = open_layer(datasets.sample_path("treecover2000.tif"), role=ROLES["treecover"])
    >>> ly = open_layer(datasets.sample_path("lossyear.tif"), role=ROLES["lossyear"])
    >>> check_distinct([tc, ly])  # two files: nothing to say
    >>> check_distinct([tc, ly, open_layer(tc.tiles[0].path)])
    Traceback (most recent call last):
    ...
    asm_pace.errors.RasterError: ...the same raster is given as --treecover and the raster...
    """
    owner: dict[tuple[int, int] | str, Layer] = {}
    for layer in layers:
        for t in layer.tiles:
            for f in (t.path, *_vrt_sources(t.path)):
                first = owner.setdefault(_identity(f), layer)
                if first is not layer:
                    raise RasterError(
                        f"{f}: the same raster is given as {first.role.option} and "
                        f"{layer.role.option} (directly or through a VRT); each needs its own "
                        f"file (Hansen {first.role.keyword} and {layer.role.keyword}); one "
                        "folder holding both is fine: tiles are picked by name"
                    )


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
