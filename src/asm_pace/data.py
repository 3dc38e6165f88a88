"""Public data by version: fetch and cache the Hansen GFC tiles, WWF TEOW and the WDPA.

What an analysis needs is downloaded once into a cache folder and reused from there:

- **Hansen Global Forest Change** (Hansen et al. 2013; CC BY 4.0): 10-degree tiles named by
  their north-west corner (``10S_080W``), one file per layer and version, from
  ``{base_url}/{version}/Hansen_{version}_{layer}_{tile}.tif``
  (:func:`hansen_tiles` fetches only the tiles the zones or bounds touch);
- **WWF Terrestrial Ecoregions of the World** (Olson et al. 2001), the official zip
  (:func:`fetch_ecoregions`);
- the monthly **WDPA** release of Protected Planet (UNEP-WCMC and IUCN; non-commercial use,
  with attribution), ``WDPA_{Mon}{YYYY}_Public.zip`` (:func:`fetch_wdpa`).

Downloads go through pooch (:func:`pooch.retrieve`) with a downloader that resumes a cut
download with an HTTP ``Range`` request. Each file's SHA-256 is recorded on its first
download in ``registry.txt`` in the cache folder (pooch's registry format: ``path
sha256:HEX url``) and checked on every later use: a cached file that changed is refused.

The settings are arguments, each with an environment variable for the command line and
scripts; an argument given wins over its variable, and nothing is kept between calls:

========================  ==========================  ==========================================
argument                  variable                    default
========================  ==========================  ==========================================
``cache_dir``             ``ASM_PACE_DATA_DIR``       ``pooch.os_cache("asm_pace")``
``offline``               ``ASM_PACE_OFFLINE`` (1)    off: missing files are downloaded
``base_url`` (Hansen)     ``ASM_PACE_HANSEN_URL``     :data:`HANSEN_URL`
``base_url`` (WDPA)       ``ASM_PACE_WDPA_URL``       :data:`WDPA_URL`
``url`` (TEOW)            ``ASM_PACE_ECOREGIONS_URL`` :data:`ECOREGIONS_URL`
========================  ==========================  ==========================================

Examples
--------
>>> hansen_tile_names((-70.6, -13.0, -69.9, -12.4))
['10S_080W', '10S_070W']
>>> hansen_url("lossyear", "10S_080W", version="GFC-2024-v1.12")
'https://storage.googleapis.com/earthenginepartners-hansen/GFC-2024-v1.12/Hansen_GFC-2024-v1.12_lossyear_10S_080W.tif'
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ExtentWarning, InputError, RasterError, ReadError

__all__ = [
    "DataFile",
    "HansenTiles",
    "hansen_tiles",
    "hansen_tile_names",
    "hansen_url",
    "fetch_ecoregions",
    "fetch_wdpa",
    "wdpa_file_name",
    "provenance_rows",
    "check_version",
    "default_cache_dir",
    "HANSEN_URL",
    "HANSEN_LAYERS",
    "DEFAULT_HANSEN_VERSION",
    "ECOREGIONS_URL",
    "WDPA_URL",
    "REGISTRY_NAME",
]

#: Where the University of Maryland publishes the GFC tiles (Google Cloud Storage).
HANSEN_URL = "https://storage.googleapis.com/earthenginepartners-hansen"
#: The GFC version fetched when none is given.
DEFAULT_HANSEN_VERSION = "GFC-2025-v1.13"
#: The GFC layers asm_pace can fetch (``first`` and ``last``, the Landsat composites, are not).
HANSEN_LAYERS = ("treecover2000", "lossyear", "gain", "datamask")
#: WWF's official TEOW download (shapefile ``official/wwf_terr_ecos.shp`` in a zip).
ECOREGIONS_URL = (
    "https://files.worldwildlife.org/wwfcmsprod/files/Publication/file/6kcchn7e3u_official_teow.zip"
)
#: Protected Planet's download folder of the current monthly release.
WDPA_URL = "https://d1gam3xoknrgr2.cloudfront.net/current"
#: The file in the cache folder holding each file's SHA-256 and URL.
REGISTRY_NAME = "registry.txt"

ENV_DATA_DIR = "ASM_PACE_DATA_DIR"
ENV_OFFLINE = "ASM_PACE_OFFLINE"
ENV_HANSEN_URL = "ASM_PACE_HANSEN_URL"
ENV_WDPA_URL = "ASM_PACE_WDPA_URL"
ENV_ECOREGIONS_URL = "ASM_PACE_ECOREGIONS_URL"

#: GFC tiles exist for latitudes 80N to 60S (rows named 80N ... 50S).
_ROWS = (-6, 7)  # k: the tile spans latitudes 10k .. 10k + 10
_COLS = (-18, 17)  # j: the tile spans longitudes 10j .. 10j + 10
_VERSION = re.compile(r"^GFC-?\d{4}(-v\d+\.\d+)?$")
_MONTH = re.compile(r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(\d{4})$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_TIMEOUT = 60.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DataFile:
    """One fetched file and where it came from (a ``run_info`` provenance row).

    Attributes
    ----------
    dataset : str
        ``"hansen"``, ``"ecoregions"`` or ``"wdpa"``.
    version : str
        The dataset's version (``"GFC-2025-v1.13"``, ``"Nov2025"``, ``"official"``).
    url : str
        Where it was (or would be) downloaded from.
    path : pathlib.Path
        The file in the cache.
    sha256 : str
        Its SHA-256, hex, as recorded in the cache's registry.
    size : int
        Its size in bytes.
    layer, tile : str or None
        For a Hansen tile: ``"lossyear"``, ``"10S_080W"``.
    """

    dataset: str
    version: str
    url: str
    path: Path
    sha256: str
    size: int
    layer: str | None = None
    tile: str | None = None

    @property
    def key(self) -> str:
        """A short name for provenance tables: ``hansen_lossyear_10S_080W``, ``wdpa``."""
        return "_".join(p for p in (self.dataset, self.layer, self.tile) if p)


@dataclass(frozen=True)
class HansenTiles(Mapping[str, list[Path]]):
    """The local GFC tiles of one version, by layer: ``tiles["lossyear"]`` is a list of paths.

    A mapping layer -> list of :class:`pathlib.Path` (what :func:`asm_pace.forest_loss`'s
    ``treecover``, ``lossyear`` and ``gain`` take), with the provenance of each file.

    Attributes
    ----------
    version : str
    tiles : tuple of str
        The tile names (``"10S_080W"``), north to south, west to east.
    files : tuple of DataFile
        One per layer and tile.
    """

    version: str
    tiles: tuple[str, ...]
    files: tuple[DataFile, ...] = field(repr=False)

    def __getitem__(self, layer: str) -> list[Path]:
        paths = [f.path for f in self.files if f.layer == layer]
        if not paths:
            raise KeyError(layer)
        return paths

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(f.layer for f in self.files if f.layer))

    def __len__(self) -> int:
        return len(set(f.layer for f in self.files))


# --------------------------------------------------------------------------- settings
def default_cache_dir() -> Path:
    """The cache folder when none is given: ``ASM_PACE_DATA_DIR``, else pooch's OS cache.

    Examples
    --------
    >>> isinstance(default_cache_dir(), Path)
    True
    """
    given = os.environ.get(ENV_DATA_DIR, "").strip()
    if given:
        return Path(given).expanduser()
    import pooch

    return Path(pooch.os_cache("asm_pace"))


def _settings(cache_dir: str | os.PathLike[str] | None, offline: bool | None) -> tuple[Path, bool]:
    folder = default_cache_dir() if cache_dir is None else Path(os.fspath(cache_dir)).expanduser()
    if offline is None:
        text = os.environ.get(ENV_OFFLINE, "").strip().lower()
        if text not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
            raise InputError(
                f"{ENV_OFFLINE}={text!r} is neither on (1, true, yes, on) nor off (0, false, "
                "no, off, empty); set it to 1 or 0"
            )
        offline = text in ("1", "true", "yes", "on")
    if folder.exists() and not folder.is_dir():
        raise ReadError(
            f"{folder}: the data cache folder is a file; give a folder (cache_dir= in Python, "
            f"--data-dir on the command line, or {ENV_DATA_DIR})"
        )
    return folder, bool(offline)


def _base(given: str | None, env: str, default: str) -> str:
    url = given if given is not None else (os.environ.get(env, "").strip() or default)
    if not re.match(r"^https?://[^/\s]+", url):
        raise InputError(
            f"{url!r} is not a base URL (http:// or https://): give the mirror's "
            f"address (base_url= in Python, --base-url on the command line, or {env})"
        )
    return url.rstrip("/")


def check_version(version: str) -> str:
    """A GFC version as the download folders name it, or :class:`InputError`.

    Examples
    --------
    >>> check_version("GFC-2023-v1.11")
    'GFC-2023-v1.11'
    """
    text = str(version).strip()
    if not _VERSION.match(text):
        raise InputError(
            f"{version!r} is not a Hansen GFC version; they are named like "
            f"{DEFAULT_HANSEN_VERSION} or GFC-2023-v1.11 (--hansen / --version)"
        )
    return text


def _check_layers(layers: Sequence[str]) -> tuple[str, ...]:
    given = (layers,) if isinstance(layers, str) else tuple(layers)
    bad = [x for x in given if x not in HANSEN_LAYERS]
    if bad or not given:
        raise InputError(
            f"Hansen layer(s) {', '.join(map(repr, bad)) or 'none given'}: the layers are "
            f"{', '.join(HANSEN_LAYERS)} (--layers)"
        )
    return tuple(dict.fromkeys(given))


# --------------------------------------------------------------------------- tile names
def _tile_name(k: int, j: int) -> str:
    top, west = 10 * (k + 1), 10 * j
    return f"{abs(top):02d}{'N' if top >= 0 else 'S'}_{abs(west):03d}{'E' if west >= 0 else 'W'}"


def _as_boxes(where: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Lon/lat boxes (n, 4) from bounds or zones; the zones' parts (for the exact test)."""
    import geopandas as gpd
    import shapely

    if isinstance(where, gpd.GeoSeries):
        where = gpd.GeoDataFrame(geometry=where)
    if isinstance(where, gpd.GeoDataFrame):
        from ._vector import to_wgs84

        if where.crs is None:
            raise InputError(
                "the zones have no CRS; set it first (zones.set_crs('EPSG:4326')) so the "
                "Hansen tiles they touch can be found"
            )
        geoms = np.asarray(to_wgs84(where).geometry.values, dtype=object)
        parts = shapely.get_parts(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
        if len(parts) == 0:
            raise InputError(
                "the zones are empty (no feature with a geometry): no Hansen tile to fetch"
            )
        return shapely.bounds(parts), parts
    try:
        boxes = np.asarray(where, dtype="float64")
    except (TypeError, ValueError) as err:
        raise InputError(
            f"bounds {where!r} are not numbers: give west, south, east, north in degrees, "
            "e.g. --bounds -71,-13,-69,-12"
        ) from err
    boxes = boxes.reshape(1, -1) if boxes.ndim == 1 else boxes
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) == 0:
        raise InputError(
            f"bounds {where!r}: give four numbers, west, south, east, north in degrees, "
            "e.g. --bounds -71,-13,-69,-12"
        )
    w, s, e, n = boxes.T
    bad = ~np.isfinite(boxes).all(axis=1) | (s > n) | (s < -90) | (n > 90)
    bad |= (np.abs(w) > 540) | (np.abs(e) > 540)
    if bad.any():
        row = boxes[int(np.flatnonzero(bad)[0])]
        raise InputError(
            f"bounds {', '.join(f'{v:g}' for v in row)}: need finite degrees with south <= "
            "north within -90..90 and longitudes within -180..180 (west > east for a box "
            "across 180), e.g. --bounds 175,-20,-175,-15"
        )
    return boxes, None


def _split_at_180(boxes: np.ndarray) -> np.ndarray:
    """Boxes within -180..180: a box across 180 (west > east, or past +-180) in two."""
    w, s, e, n = (boxes[:, i].copy() for i in range(4))
    full = (e - w) >= 360
    e = np.where(e < w, e + 360.0, e)  # west > east: the box runs east across 180
    shift = np.floor((w + 180.0) / 360.0) * 360.0
    w, e = w - shift, e - shift  # now -180 <= west < 180 and west <= east < west + 360
    w = np.where(full, -180.0, w)
    e = np.where(full, 180.0, e)
    first = np.c_[w, s, np.minimum(e, 180.0), n]
    past = e > 180.0
    second = np.c_[np.full(past.sum(), -180.0), s[past], e[past] - 360.0, n[past]]
    return np.vstack([first, second])


def _tiles_of(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(box index, k, j) of every tile a box touches with area (a point: the tile it is in).

    Tile (k, j) spans latitudes 10k..10k+10 and longitudes 10j..10j+10. A box edge on a
    tile edge does not take the next tile: from floor(s/10) to ceil(n/10) - 1 (at least
    floor(s/10)), and the same for longitudes.
    """
    w, s, e, n = boxes.T
    # floor_divide, not floor(x / 10): x / 10 underflows to 0 for the tiniest x (5e-324)
    k0 = np.floor_divide(s, 10.0).astype(int)
    k1 = np.maximum(-np.floor_divide(-n, 10.0).astype(int) - 1, k0)
    j0 = np.floor_divide(w, 10.0).astype(int)
    j1 = np.maximum(-np.floor_divide(-e, 10.0).astype(int) - 1, j0)
    k0, k1 = np.maximum(k0, _ROWS[0]), np.minimum(k1, _ROWS[1])
    j0, j1 = np.maximum(j0, _COLS[0]), np.minimum(j1, _COLS[1])
    nk = np.maximum(k1 - k0 + 1, 0)
    nj = np.maximum(j1 - j0 + 1, 0)
    count = nk * nj
    box = np.repeat(np.arange(len(boxes)), count)
    # position of each tile within its box's block, then row / column within the block
    start = np.repeat(np.cumsum(count) - count, count)
    pos = np.arange(count.sum()) - start
    k = k0[box] + pos // np.maximum(nj[box], 1)
    j = j0[box] + pos % np.maximum(nj[box], 1)
    return box, k, j


def hansen_tile_names(where: Any) -> list[str]:
    """The GFC tiles (``"10S_080W"``) that bounds or zones touch, north to south, west to east.

    A tile is named by its north-west corner and spans 10 degrees: ``10S_080W`` covers
    longitudes -80..-70 and latitudes -20..-10. A box whose edge lies on a tile edge does
    not take the tile beyond it; a box across 180 (given with west > east, or past +-180)
    takes tiles on both sides. Zones take the tiles their parts (split at 180) meet, not
    every tile of their bounding box. GFC has tiles from 80N to 60S; a box partly outside
    warns (:class:`~asm_pace.errors.ExtentWarning`), one wholly outside is refused.

    Parameters
    ----------
    where : (west, south, east, north), array of such boxes, or GeoDataFrame
        Degrees; zones in any CRS.

    Returns
    -------
    list of str

    Examples
    --------
    >>> hansen_tile_names((-75.0, -15.0, -65.0, -5.0))
    ['00N_080W', '00N_070W', '10S_080W', '10S_070W']
    >>> hansen_tile_names((175.0, 60.0, -175.0, 65.0))  # across 180
    ['70N_180W', '70N_170E']
    >>> hansen_tile_names((-80.0, -20.0, -70.0, -10.0))  # edges on tile edges
    ['10S_080W']
    """
    return _tile_names(where)[0]


def _tile_names(where: Any) -> tuple[list[str], str]:
    """:func:`hansen_tile_names` and the ``W,S,E,N`` text of a box around ``where``."""
    import shapely

    boxes, parts = _as_boxes(where)
    if parts is None:
        hull = boxes
        boxes = _split_at_180(boxes)
    else:
        hull = boxes
    box, k, j = _tiles_of(boxes)
    if parts is not None and len(box):
        tiles = shapely.box(10.0 * j, 10.0 * k, 10.0 * j + 10.0, 10.0 * k + 10.0)
        hit = shapely.intersects(tiles, parts[box])
        box, k, j = box[hit], k[hit], j[hit]
    outside = (boxes[:, 1] < 10 * _ROWS[0]) | (boxes[:, 3] > 10 * (_ROWS[1] + 1))
    if not len(k):
        raise InputError(
            f"no Hansen GFC tile: the {'zones lie' if parts is not None else 'bounds lie'} "
            "outside 80N..60S, where GFC has data; give places within it"
        )
    if outside.any():
        warnings.warn(
            "the area reaches past 80N..60S, where Hansen GFC has no tiles: forest statistics "
            "there will have no data",
            ExtentWarning,
            stacklevel=3,
        )
    order = sorted(
        {(int(a), int(b)) for a, b in zip(k, j, strict=True)}, key=lambda t: (-t[0], t[1])
    )
    if len(hull) == 1:
        text = ",".join(f"{v:g}" for v in hull[0])
    else:  # several boxes: the box of the tiles taken
        ks, js = zip(*order, strict=True)
        text = f"{10 * min(js)},{10 * min(ks)},{10 * max(js) + 10},{10 * max(ks) + 10}"
    return [_tile_name(a, b) for a, b in order], text


def hansen_url(
    layer: str, tile: str, *, version: str = DEFAULT_HANSEN_VERSION, base_url: str | None = None
) -> str:
    """The download URL of one GFC tile.

    Examples
    --------
    >>> hansen_url("gain", "00N_070W", version="GFC-2023-v1.11", base_url="http://mirror/gfc/")
    'http://mirror/gfc/GFC-2023-v1.11/Hansen_GFC-2023-v1.11_gain_00N_070W.tif'
    """
    version = check_version(version)
    base = _base(base_url, ENV_HANSEN_URL, HANSEN_URL)
    return f"{base}/{version}/Hansen_{version}_{layer}_{tile}.tif"


# --------------------------------------------------------------------------- the cache
@dataclass(frozen=True)
class _Item:
    """One file to have in the cache."""

    rel: str  # path in the cache, '/' separators
    url: str
    dataset: str
    version: str
    layer: str | None = None
    tile: str | None = None
    check: Callable[[Path, _Item], None] | None = None


def _read_registry(folder: Path) -> dict[str, tuple[str, str]]:
    """``{relative path: (sha256 hex, url)}`` from the cache's registry (empty if none)."""
    path = folder / REGISTRY_NAME
    if not path.is_file():
        return {}
    out = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=2)
        if len(parts) < 2 or not re.fullmatch(r"sha256:[0-9a-f]{64}", parts[1]):
            raise ReadError(
                f"{path}: line {number} is not 'path sha256:HEX url' ({line[:80]!r}); fix or "
                "delete that line (the file is checked again and recorded on its next use)"
            )
        out[parts[0]] = (parts[1].split(":", 1)[1], parts[2] if len(parts) > 2 else "")
    return out


def _record(folder: Path, rel: str, sha: str, url: str) -> None:
    """Add or replace one line of the registry (written whole to a temporary, then renamed)."""
    entries = _read_registry(folder)
    entries[rel] = (sha, url)
    lines = ["# asm_pace data cache: path sha256:HEX url (pooch registry format)\n"]
    lines += [f"{r} sha256:{s} {u}".rstrip() + "\n" for r, (s, u) in sorted(entries.items())]
    tmp = folder / f".{REGISTRY_NAME}.{os.getpid()}.tmp"
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, folder / REGISTRY_NAME)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _ensure(
    items: Sequence[_Item],
    *,
    folder: Path,
    offline: bool,
    hint: str,
    progress: Callable[[str], None] | None = None,
) -> list[DataFile]:
    """Each item from the cache (checked against the registry) or downloaded and recorded."""
    if offline:
        missing = [i for i in items if not (folder / i.rel).is_file()]
        if missing:
            shown = ", ".join(i.rel for i in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            raise ReadError(
                f"offline: {len(missing)} file(s) missing from the data cache {folder}: "
                f"{shown}{more}; fetch them first (with the network) with: {hint}"
            )
    registry = _read_registry(folder)
    out = []
    for n, item in enumerate(items, 1):
        path = folder / item.rel
        recorded = registry.get(item.rel)
        sha = None
        if not path.is_file():
            if progress is not None:
                progress(f"downloading {item.url} ({n} of {len(items)})")
            sha = _download(item, path, recorded[0] if recorded else None, hint)
            if item.check is not None:
                try:
                    item.check(path, item)
                except Exception:
                    path.unlink(missing_ok=True)
                    raise
        sha = sha or _sha256(path)
        if recorded is not None and recorded[0] != sha:
            raise ReadError(
                f"{path}: the cached file changed since it was recorded in "
                f"{folder / REGISTRY_NAME} (SHA-256 {sha[:12]}..., recorded {recorded[0][:12]}...); "
                f"it may be damaged: delete it and fetch it again ({hint})"
            )
        if recorded is None:
            _record(folder, item.rel, sha, item.url)
        out.append(
            DataFile(
                item.dataset,
                item.version,
                item.url,
                path,
                sha,
                path.stat().st_size,
                item.layer,
                item.tile,
            )
        )
    return out


# --------------------------------------------------------------------------- downloading
class _ResumingDownloader:
    """A pooch downloader that keeps a cut download in ``<file>.part`` and resumes it.

    The next attempt asks for the rest with ``Range: bytes=N-`` and ``If-Range`` with the
    file's ``ETag`` (or ``Last-Modified``) as first sent, kept in ``<file>.part.tag``: a
    server whose file changed since, or one without range support, answers 200 with the
    whole file, which replaces the part. A part without such a tag is not resumed (its
    bytes could belong to another file).
    """

    def __init__(self, part: Path, timeout: float = _TIMEOUT):
        self.part = part
        self.timeout = timeout
        #: SHA-256 (hex) of the file written, computed while it streams in
        self.sha256: str | None = None

    def __call__(self, url: str, output_file: str, pooch: object) -> None:
        import requests

        tag_file = self.part.with_name(self.part.name + ".tag")
        tag = tag_file.read_text(encoding="utf-8").strip() if tag_file.is_file() else ""
        have = self.part.stat().st_size if self.part.is_file() and tag else 0
        # the file's own bytes (no gzip on the way), so lengths and ranges count them
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
            headers["If-Range"] = tag
        with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as resp:
            if have and resp.status_code == 416:  # nothing after byte `have`: done, or stale
                total = resp.headers.get("Content-Range", "").rpartition("/")[2]
                if total.isdigit() and int(total) == have:
                    os.replace(self.part, output_file)
                    tag_file.unlink(missing_ok=True)
                    return
                self.part.unlink()
                tag_file.unlink(missing_ok=True)
                return self(url, output_file, pooch)
            resp.raise_for_status()
            resumed = have and resp.status_code == 206 and _range_start(resp) == have
            if not resumed:  # a new part: keep what identifies the file, for a resume
                new_tag = resp.headers.get("ETag") or resp.headers.get("Last-Modified") or ""
                if new_tag.startswith("W/"):
                    new_tag = ""  # a weak tag may not be used with If-Range
                if new_tag:
                    tag_file.write_text(new_tag, encoding="utf-8")
                else:
                    tag_file.unlink(missing_ok=True)
            expected = resp.headers.get("Content-Length")
            written = 0
            digest = hashlib.sha256()
            if resumed:  # the bytes kept from before
                with open(self.part, "rb") as kept:
                    while chunk := kept.read(_CHUNK):
                        digest.update(chunk)
            # a cut connection ends the stream early instead of raising, so every byte
            # received is kept in the part (and the length check below says it was cut)
            resp.raw.enforce_content_length = False
            with open(self.part, "ab" if resumed else "wb") as fh:
                for chunk in resp.raw.stream(_CHUNK, decode_content=False):
                    fh.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
            if expected is not None and expected.isdigit() and written < int(expected):
                raise requests.exceptions.ChunkedEncodingError(
                    f"{written} of {expected} bytes received"
                )
        os.replace(self.part, output_file)
        tag_file.unlink(missing_ok=True)
        self.sha256 = digest.hexdigest()


def _range_start(resp: Any) -> int | None:
    m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else None


@contextmanager
def _quiet_pooch() -> Iterator[None]:
    """pooch's own INFO lines (``Downloading ...``, the hash) are not shown; restored after."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _download(item: _Item, path: Path, known: str | None, hint: str) -> str | None:
    """Download ``item`` to ``path`` with pooch; the SHA-256 computed on the way (or None)."""
    import pooch
    import requests

    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    downloader = _ResumingDownloader(part)
    try:
        with _quiet_pooch():
            pooch.retrieve(
                item.url,
                known_hash=None if known is None else f"sha256:{known}",
                fname=path.name,
                path=path.parent,
                downloader=downloader,
            )
        return downloader.sha256
    except requests.exceptions.HTTPError as err:
        status = err.response.status_code if err.response is not None else "?"
        why = _NOT_FOUND.get(item.dataset, "") if status == 404 else ""
        raise ReadError(
            f"{item.url}: the server answered HTTP {status}"
            + (f" ({why})" if why else "")
            + "; check the name and the address, or use a mirror"
        ) from None
    except requests.exceptions.ChunkedEncodingError:
        size = part.stat().st_size if part.is_file() else 0
        raise ReadError(
            f"{item.url}: the download was cut short after {size:,} bytes (kept in {part}); "
            f"run the same command again to resume it ({hint})"
        ) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
        raise ReadError(
            f"{item.url}: cannot reach the server ({type(err).__name__}); check the network "
            "or the address, use a mirror, or work offline from the cache (--offline)"
        ) from None
    except requests.exceptions.RequestException as err:
        raise ReadError(f"{item.url}: the download failed ({type(err).__name__}: {err})") from None
    except ValueError as err:  # pooch: the hash differs from the one recorded
        raise ReadError(
            f"{item.url}: the file downloaded differs from the SHA-256 recorded for "
            f"{item.rel} in the cache's {REGISTRY_NAME} (the server's file changed, or the "
            "download is damaged); if the new file is meant, delete that line of the registry "
            f"and fetch again ({hint}) [{' '.join(str(err).split())[:120]}]"
        ) from None
    except OSError as err:
        raise ReadError(
            f"{path.parent}: cannot write the data cache there ({err.strerror or err}); choose "
            f"another folder (cache_dir= in Python, --data-dir on the command line, or "
            f"{ENV_DATA_DIR})"
        ) from None


_NOT_FOUND = {
    "hansen": "no such GFC version or tile: versions are named like GFC-2024-v1.12; the "
    "ocean tiles exist too, so a missing tile usually means a wrong version",
    "wdpa": "Protected Planet's 'current' folder holds only the latest month: give that "
    "month, or a mirror that holds older ones",
    "ecoregions": "WWF may have moved the file: give its new address",
}


# --------------------------------------------------------------------------- identity checks
def _check_hansen_tile(path: Path, item: _Item) -> None:
    """A downloaded tile is a one-band 8-bit lon/lat GeoTIFF inside the 10 degrees it names."""
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as ds:
            count, dtype, crs, bounds = ds.count, ds.dtypes[0], ds.crs, ds.bounds
    except RasterioIOError:
        raise RasterError(
            f"{item.url}: what the server sent is not a GeoTIFF (a web page?); check the "
            "address (base URL) of the mirror"
        ) from None
    k_top = _tile_top_west(item.tile or "")
    problem = None
    if count != 1 or dtype != "uint8":
        problem = f"{count} band(s) of {dtype}, not one band of uint8"
    elif crs is None or not crs.is_geographic:
        problem = f"CRS {crs}, not lon/lat (EPSG:4326)"
    elif k_top is not None:
        top, west = k_top
        tol = 1e-6 + max(abs(bounds.right - bounds.left), abs(bounds.top - bounds.bottom)) * 1e-6
        inside = (
            bounds.left >= west - tol
            and bounds.right <= west + 10 + tol
            and bounds.top <= top + tol
            and bounds.bottom >= top - 10 - tol
        )
        if not inside:
            problem = (
                f"it covers lon {bounds.left:g}..{bounds.right:g}, lat {bounds.bottom:g}.."
                f"{bounds.top:g}, outside tile {item.tile}"
            )
    if problem:
        raise RasterError(
            f"{item.url}: not a Hansen {item.layer} tile ({problem}); check the address "
            "(base URL) of the mirror"
        )


def _tile_top_west(tile: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d{2})([NS])_(\d{3})([EW])", tile)
    if not m:
        return None
    top = int(m.group(1)) * (1 if m.group(2) == "N" else -1)
    west = int(m.group(3)) * (1 if m.group(4) == "E" else -1)
    return top, west


def _check_zip(path: Path, item: _Item) -> None:
    if not zipfile.is_zipfile(path):
        raise ReadError(
            f"{item.url}: what the server sent is not a zip archive (a web page?); check the "
            "address, or download it by hand and give the file itself"
        )


# --------------------------------------------------------------------------- public fetchers
def _fetch_hint(command: str, cache: Path, default: Path) -> str:
    extra = "" if cache == default else f" --data-dir {cache}"
    return f"asm-pace fetch {command}{extra}"


def hansen_tiles(
    where: Any,
    *,
    layers: Sequence[str] = HANSEN_LAYERS,
    version: str = DEFAULT_HANSEN_VERSION,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    base_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> HansenTiles:
    """Fetch (or take from the cache) the GFC tiles that bounds or zones touch.

    Only the tiles :func:`hansen_tile_names` gives are fetched, one file per layer and tile,
    into ``<cache_dir>/hansen/<version>/``. A downloaded tile is checked before it is kept
    (a one-band 8-bit lon/lat GeoTIFF within its 10 degrees) and its SHA-256 recorded;
    a cached tile is checked against that record on every call.

    Parameters
    ----------
    where : (west, south, east, north), array of boxes, or GeoDataFrame
        Degrees (west > east for a box across 180), or the zones (any CRS).
    layers : sequence of str
        From :data:`HANSEN_LAYERS`.
    version : str
        E.g. ``"GFC-2025-v1.13"`` (the default) or ``"GFC-2023-v1.11"``.
    cache_dir : path, optional
        The cache folder (default: ``ASM_PACE_DATA_DIR``, else :func:`default_cache_dir`).
    offline : bool, optional
        Use only the cache; missing files are listed with the command that fetches them
        (default: ``ASM_PACE_OFFLINE``).
    base_url : str, optional
        A mirror holding ``<version>/Hansen_<version>_<layer>_<tile>.tif`` (default:
        ``ASM_PACE_HANSEN_URL``, else :data:`HANSEN_URL`).
    progress : callable, optional
        Called with a line before each download.

    Returns
    -------
    HansenTiles
        Layer -> list of local paths, with each file's version, URL and SHA-256.

    Raises
    ------
    InputError
        Bad bounds, version or layer.
    ReadError
        Offline with files missing, a network error, HTTP 404 (no such version or tile), a
        cut download, a cached file that changed.
    RasterError
        A downloaded file that is not a GFC tile.

    Examples
    --------
    >>> tiles = hansen_tiles((-70.6, -13.0, -70.1, -12.5), layers=["lossyear"],
    ...                      cache_dir="no-cache-here", offline=True)
    Traceback (most recent call last):
    asm_pace.errors.ReadError: offline: 1 file(s) missing from the data cache no-cache-here: hansen/...
    """
    layers = _check_layers(layers)
    version = check_version(version)
    folder, offline = _settings(cache_dir, offline)
    base = _base(base_url, ENV_HANSEN_URL, HANSEN_URL)
    names, box = _tile_names(where)
    items = [
        _Item(
            rel=f"hansen/{version}/Hansen_{version}_{layer}_{tile}.tif",
            url=f"{base}/{version}/Hansen_{version}_{layer}_{tile}.tif",
            dataset="hansen",
            version=version,
            layer=layer,
            tile=tile,
            check=_check_hansen_tile,
        )
        for layer in layers
        for tile in names
    ]
    command = f"hansen --bounds {box} --version {version} --layers {','.join(layers)}"
    if base_url is not None:  # a mirror given as an argument (a variable stays set)
        command += f" --base-url {base}"
    hint = _fetch_hint(command, folder, default_cache_dir())
    files = _ensure(items, folder=folder, offline=offline, hint=hint, progress=progress)
    return HansenTiles(version=version, tiles=tuple(names), files=tuple(files))


def fetch_ecoregions(
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DataFile:
    """Fetch (or take from the cache) WWF's Terrestrial Ecoregions of the World zip.

    ``<cache_dir>/ecoregions/official_teow.zip``, which :func:`asm_pace.read_ecoregions`
    reads as it is. See :func:`hansen_tiles` for ``cache_dir``, ``offline`` and
    ``progress``; ``url`` replaces :data:`ECOREGIONS_URL` (or ``ASM_PACE_ECOREGIONS_URL``).

    Returns
    -------
    DataFile
        ``.path`` is the zip.

    Examples
    --------
    >>> fetch_ecoregions(cache_dir="no-cache-here", offline=True)
    Traceback (most recent call last):
    asm_pace.errors.ReadError: offline: 1 file(s) missing from the data cache no-cache-here: ecoregions/official_teow.zip; ...
    """
    folder, offline = _settings(cache_dir, offline)
    address = _base(url, ENV_ECOREGIONS_URL, ECOREGIONS_URL)
    item = _Item(
        rel="ecoregions/official_teow.zip",
        url=address,
        dataset="ecoregions",
        version="official",
        check=_check_zip,
    )
    hint = _fetch_hint("ecoregions", folder, default_cache_dir())
    return _ensure([item], folder=folder, offline=offline, hint=hint, progress=progress)[0]


def wdpa_file_name(month: str, country: str | None = None) -> str:
    """Protected Planet's file name for a monthly release (the whole world, or one country).

    Examples
    --------
    >>> wdpa_file_name("Nov2025")
    'WDPA_Nov2025_Public.zip'
    >>> wdpa_file_name("Jan2026", "PER")
    'WDPA_WDOECM_Jan2026_Public_PER.zip'
    """
    m = _MONTH.match(str(month).strip())
    if not m:
        raise InputError(
            f"{month!r} is not a WDPA release month; they are named like Nov2025 (a three-"
            "letter English month, then the year): --month Nov2025"
        )
    month = m.group(0)
    if country is None:
        return f"WDPA_{month}_Public.zip"
    code = str(country).strip().upper()
    if not _ISO3.match(code):
        raise InputError(f"{country!r} is not an ISO3 country code such as PER (--country)")
    return f"WDPA_WDOECM_{month}_Public_{code}.zip"


def fetch_wdpa(
    month: str,
    *,
    country: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool | None = None,
    base_url: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DataFile:
    """Fetch (or take from the cache) one monthly WDPA release of Protected Planet.

    ``<base_url>/WDPA_<month>_Public.zip`` (the whole world as a File Geodatabase; ``country``
    gives ``WDPA_WDOECM_<month>_Public_<ISO3>.zip``) into ``<cache_dir>/wdpa/<month>/``;
    :func:`asm_pace.read_protected_areas` reads it as it is. Protected Planet's ``current``
    folder holds only the latest month; older ones need a mirror (``base_url``). The WDPA's
    terms of use allow non-commercial use, with attribution. See :func:`hansen_tiles` for
    the other arguments.

    Returns
    -------
    DataFile

    Examples
    --------
    >>> fetch_wdpa("Nov2025", cache_dir="no-cache-here", offline=True)
    Traceback (most recent call last):
    asm_pace.errors.ReadError: offline: 1 file(s) missing from the data cache no-cache-here: wdpa/Nov2025/WDPA_Nov2025_Public.zip; ...
    """
    name = wdpa_file_name(month, country)
    month = str(month).strip()
    folder, offline = _settings(cache_dir, offline)
    base = _base(base_url, ENV_WDPA_URL, WDPA_URL)
    item = _Item(
        rel=f"wdpa/{month}/{name}",
        url=f"{base}/{name}",
        dataset="wdpa",
        version=month,
        check=_check_zip,
    )
    extra = f" --country {country.strip().upper()}" if country else ""
    extra += f" --base-url {base}" if base_url is not None else ""
    hint = _fetch_hint(f"wdpa --month {month}{extra}", folder, default_cache_dir())
    return _ensure([item], folder=folder, offline=offline, hint=hint, progress=progress)[0]


def provenance_rows(files: Sequence[DataFile]) -> list[dict[str, object]]:
    """``run_info`` rows (section ``dataset``) for fetched files: each dataset's version,
    then each file's URL, name, size and SHA-256.

    Examples
    --------
    >>> f = DataFile("hansen", "GFC-2025-v1.13", "http://h/a.tif", Path("a.tif"), "ab" * 32,
    ...              7, "lossyear", "10S_080W")
    >>> [row["key"] for row in provenance_rows([f])]
    ['hansen_version', 'hansen_lossyear_10S_080W']
    """
    rows: list[dict[str, object]] = []
    versions = dict.fromkeys((f.dataset, f.version) for f in files)
    for dataset, version in versions:
        rows.append({"key": f"{dataset}_version", "value": version})
    for f in files:
        rows.append(
            {
                "key": f.key,
                "value": f.url,
                "file_name": f.path.name,
                "size": f.size,
                "sha256": f.sha256,
            }
        )
    return rows
