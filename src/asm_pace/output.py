"""Atomic GeoPackage (and CSV) output with provenance and default QGIS styles.

Every output of a run is checked at once, before any work (:func:`plan_outputs`: the
name's ending, the folder, not an input, not another output, not an existing file unless
``overwrite``), and the outputs are replaced together or not at all
(:meth:`OutputPlan.transaction`).

:func:`write_geopackage` writes several layers into one GeoPackage in one go:

- atomically: everything is written to a temporary file in the destination
  folder, which is renamed over the destination only once complete
  (:func:`os.replace`), so an interrupted run never leaves a half-written file
  and a failed run leaves nothing behind;
- with a ``run_info`` table (provenance): the asm_pace version, the UTC time,
  every parameter, and each input file's name, size and SHA-256;
- with default styles in the ``layer_styles`` table that QGIS reads on open:
  a layer with a ``pace_class`` column is drawn by ASM-PACE class, a layer with
  a ``radius_km`` column (buffers, rings) by radius;
- with values and names that GDAL, QGIS and ArcGIS accept (see
  :func:`prepare_frame` for the conversions).

The layout is described in ``docs/geopackage.md``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import sqlite3
import threading
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _styles
from ._geometry import TYPE_NAMES
from .errors import AsmPaceError, InputError, OutputError, OutputExistsError

__all__ = [
    "write_geopackage",
    "write_csv",
    "write_qgis_project",
    "layer_style",
    "Destination",
    "OutputPlan",
    "plan_outputs",
    "clean_stale_temporaries",
    "prepare_frame",
    "safe_name",
    "input_fingerprint",
    "RESERVED_LAYERS",
]

#: Layer names asm_pace writes itself.
RESERVED_LAYERS = ("run_info", "layer_styles")

# GDAL's GeoPackage primary key and geometry column names.
_FID = "fid"
_GEOM = "geom"
_MAX_NAME = 63
_CHUNK = 1 << 20


# --------------------------------------------------------------------------- names
def safe_name(name: object, taken: Iterable[str] = ()) -> str:
    """Turn any column or layer name into a GIS-safe one.

    ASCII letters, digits and ``_`` only (accents dropped, other characters
    become ``_``), not starting with a digit, at most 63 characters, and unique
    case-insensitively among ``taken`` (a ``_2``, ``_3``... suffix is added).

    Parameters
    ----------
    name : object
        The original name (converted with ``str``; tuples are joined with ``_``).
    taken : iterable of str
        Names already used.

    Returns
    -------
    str

    Examples
    --------
    >>> safe_name("Área protegida (km²)")
    'Area_protegida_km2'
    >>> safe_name("2001"), safe_name("pa id", taken=["PA_ID"])
    ('f_2001', 'pa_id_2')
    """
    if isinstance(name, tuple):
        name = "_".join(str(p) for p in name if str(p) != "")
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")
    if not text:
        text = "field"
    if text[0].isdigit():
        text = "f_" + text
    text = text[:_MAX_NAME]
    used = {t.lower() for t in taken}
    candidate, k = text, 1
    while candidate.lower() in used:
        k += 1
        suffix = f"_{k}"
        candidate = text[: _MAX_NAME - len(suffix)] + suffix
    return candidate


# --------------------------------------------------------------------------- values
def _scalar_text(value: object) -> str:
    if isinstance(value, dict | list | tuple | set | frozenset | np.ndarray):
        return json.dumps(_jsonable(value), ensure_ascii=False, default=str)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(value)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, _dt.datetime | _dt.date | pd.Timestamp):
        return value.isoformat()
    return value


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def _to_text(value: object) -> str | None:
    """One cell as text: lists/tuples/sets ``;``-joined (sets sorted), dicts as JSON."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return json.dumps(_jsonable(value), ensure_ascii=False, default=str)
    if isinstance(value, set | frozenset):
        return ";".join(sorted(_scalar_text(v) for v in value))
    if isinstance(value, list | tuple | np.ndarray):
        return ";".join(_scalar_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, _dt.datetime | _dt.date | pd.Timestamp | _dt.time):
        return value.isoformat()
    return str(value)


def _convert_series(s: pd.Series) -> pd.Series:
    dtype = s.dtype
    if isinstance(dtype, gpd.array.GeometryDtype):
        return pd.Series(
            [None if g is None or g.is_empty else g.wkt for g in s], index=s.index, dtype=object
        )
    if isinstance(dtype, pd.CategoricalDtype):
        return _convert_series(s.astype(dtype.categories.dtype))
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            return s.dt.tz_convert("UTC")
        return s
    if pd.api.types.is_timedelta64_dtype(dtype) or isinstance(
        dtype, pd.PeriodDtype | pd.IntervalDtype
    ):
        return pd.Series([_to_text(v) for v in s.astype(object)], index=s.index, dtype=object)
    if pd.api.types.is_unsigned_integer_dtype(dtype) and s.dtype.itemsize == 8:
        return s.astype("float64")
    if pd.api.types.is_complex_dtype(dtype):
        return pd.Series([_to_text(v) for v in s], index=s.index, dtype=object)
    if not pd.api.types.is_object_dtype(dtype):
        return s
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty"):
        return s
    if kind == "boolean":
        return s.astype("boolean")
    if kind == "integer":
        try:
            return s.astype("Int64")
        except (OverflowError, TypeError, ValueError):
            return s.astype("float64")
    if kind in ("floating", "mixed-integer-float", "decimal"):
        return pd.Series(
            [None if _is_missing(v) else float(v) for v in s], index=s.index, dtype="float64"
        )
    if kind == "bytes":
        return s
    return pd.Series([_to_text(v) for v in s], index=s.index, dtype=object)


def prepare_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Make a (Geo)DataFrame safe to write to a GeoPackage.

    The conversions (a round trip gives the converted values back):

    - a named or non-default index becomes ordinary columns (a plain
      ``RangeIndex`` is dropped, as GDAL numbers features itself);
    - names: see :func:`safe_name`; ``fid`` and ``geom`` (GDAL's own columns)
      become ``fid_2`` / ``geom_2``; MultiIndex columns are joined with ``_``;
    - lists, tuples and sets become ``;``-joined text (sets sorted), dicts JSON
      text, dates and times ISO 8601 text, ``Decimal`` float; object columns of
      Python bools or ints become nullable ``boolean`` / ``Int64``;
    - categoricals are written as their categories' type; timezone-aware
      datetimes in UTC; timedeltas, periods and intervals as text;
    - geometry columns other than the active one become WKT text.

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame

    Returns
    -------
    frame : DataFrame or GeoDataFrame
        A converted copy (the input is not modified).
    renamed : dict
        ``{new_name: original_name}`` for every column whose name changed.

    Examples
    --------
    >>> df = pd.DataFrame({"pa ids": [["1", "2"], []], "info": [{"a": 1}, None]})
    >>> out, renamed = prepare_frame(df)
    >>> out["pa_ids"].tolist(), out["info"].tolist(), renamed
    (['1;2', ''], ['{"a": 1}', None], {'pa_ids': 'pa ids'})
    """
    is_geo = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame
    geom_name = frame.geometry.name if is_geo else None
    data = pd.DataFrame(frame, copy=False)
    index = data.index
    default_index = (
        isinstance(index, pd.RangeIndex)
        and index.name is None
        and index.start == 0
        and index.step == 1
    )
    if not default_index:
        names = [
            n if n is not None else ("index" if index.nlevels == 1 else f"level_{i}")
            for i, n in enumerate(index.names)
        ]
        data = data.copy()
        data.index = index.set_names(names)
        data = data.reset_index()
    data = data.reset_index(drop=True)

    columns: dict[str, pd.Series] = {}
    renamed: dict[str, str] = {}
    taken: list[str] = [_FID, _GEOM]
    geometry = None
    for pos, original in enumerate(data.columns):
        series = data.iloc[:, pos]
        if geom_name is not None and original == geom_name and geometry is None:
            geometry = gpd.GeoSeries(series, crs=frame.crs)
            continue
        new = safe_name(original, taken)
        taken.append(new)
        if new != original:
            renamed[new] = str(original)
        columns[new] = _convert_series(series)
    out = pd.DataFrame(columns, index=data.index)
    if geometry is not None:
        out = gpd.GeoDataFrame(out, geometry=geometry.values, crs=frame.crs)
    return out, renamed


# --------------------------------------------------------------------------- provenance
def _hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def input_fingerprint(path: str | os.PathLike[str]) -> tuple[int | None, str | None]:
    """Size in bytes and SHA-256 (hex) of an input file or folder.

    A file is hashed as it is. A folder (a File Geodatabase ``.gdb``, a folder
    of raster tiles) and a shapefile (``.shp`` with its ``.shx``, ``.dbf``,
    ``.prj``... sidecars) are hashed by their files: the SHA-256 of the text
    made of one line ``<relative path>  <file SHA-256>\\n`` per file, sorted by
    relative path (``/`` separators); the size is the sum of the files' sizes.
    ``(None, None)`` for a path that does not exist (a URL, a database).

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> size, sha = input_fingerprint(sample_path("sites.csv"))
    >>> size > 0 and len(sha)
    64
    """
    p = Path(path)
    if p.is_file() and p.suffix.lower() != ".shp":
        return _hash_file(p)
    if p.is_file():
        files = [
            f
            for f in p.parent.iterdir()
            if f.is_file() and f.stem == p.stem and f.suffix.lower() in _SHAPEFILE_PARTS
        ]
        base = p.parent
    elif p.is_dir():
        files = [f for f in p.rglob("*") if f.is_file()]
        base = p
    else:
        return None, None
    lines = []
    total = 0
    for f in sorted(files, key=lambda f: f.relative_to(base).as_posix()):
        size, sha = _hash_file(f)
        total += size
        lines.append(f"{f.relative_to(base).as_posix()}  {sha}\n")
    return total, hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _param_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return json.dumps(_jsonable(value), ensure_ascii=False, default=str)


def _run_info_table(
    run_info: Mapping[str, object],
    inputs: Mapping[str, object],
    layers: Mapping[str, int],
    renamed: Mapping[str, Mapping[str, str]],
    counts: Mapping[str, Mapping[str, object]] | None = None,
    datasets: Sequence[Mapping[str, object]] | None = None,
) -> pd.DataFrame:
    from . import __version__

    rows: list[dict[str, object]] = []

    def add(section, key, value, file_name=None, size=None, sha=None):
        rows.append(
            {
                "section": section,
                "key": key,
                "value": value,
                "file_name": file_name,
                "size_bytes": size,
                "sha256": sha,
            }
        )

    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    add("software", "asm_pace_version", __version__)
    add("software", "python_version", platform.python_version())
    import pyogrio
    import pyproj
    import shapely

    add("software", "gdal_version", pyogrio.__gdal_version_string__)
    add("software", "geopandas_version", gpd.__version__)
    add("software", "shapely_version", shapely.__version__)
    add("software", "pyproj_version", pyproj.__version__)
    add("software", "proj_version", pyproj.proj_version_str)
    add("run", "created_utc", now.isoformat().replace("+00:00", "Z"))
    for key, value in run_info.items():
        add("parameter", str(key), _param_text(value))
    for role, value in inputs.items():
        if value is None:
            continue
        paths = _as_list(value)
        for i, item in enumerate(paths):
            key = str(role) if len(paths) == 1 else f"{role}_{i + 1}"
            p = Path(os.fspath(item))  # type: ignore[arg-type]
            size, sha = input_fingerprint(p)
            add("input", key, os.fspath(item), p.name, size, sha)  # type: ignore[arg-type]
    for role, numbers in (counts or {}).items():
        if numbers:
            add("counts", f"counts_{role}", _param_text(dict(numbers)))
    for row in datasets or ():  # public data fetched by version (asm_pace.data)
        add(
            "dataset",
            str(row["key"]),
            row.get("value"),
            row.get("file_name"),
            row.get("size"),
            row.get("sha256"),
        )
    for name, n in layers.items():  # the rows of each layer written
        add("layer", name, str(n))
        for new, old in renamed.get(name, {}).items():
            add("renamed_column", f"{name}.{new}", old)
    table = pd.DataFrame(rows)
    table["size_bytes"] = table["size_bytes"].astype("Int64")
    return table


# --------------------------------------------------------------------------- styles
def _geometry_kind(frame: gpd.GeoDataFrame) -> str:
    types = frame.geometry.geom_type.dropna()
    if types.empty:
        return "point"
    top = types.value_counts().index[0]
    if "Point" in top:
        return "point"
    if "LineString" in top:
        return "line"
    return "polygon"


def layer_style(frame: pd.DataFrame, name: str) -> _styles.Style | None:
    """The default style of a layer asm_pace writes, chosen by its columns (``None``: none).

    ``pace_class``: the sites, by class (footprints with a centre marker when zoomed out);
    ``radius_km``: buffers (outlines, a dash per radius), or clusters (with ``cluster_id``
    and no ``zone_id``: hatched); ``pa_id`` with ``designation_type``: protected areas;
    ``is_g200``: ecoregions; ``landscape_name``: priority landscapes; ``kba_id`` with
    ``aze``: Key Biodiversity Areas; lines with ``downstream_status``: the paths downstream.

    Examples
    --------
    >>> g = gpd.GeoDataFrame({"landscape_name": ["A"]}, geometry=[shapely.box(0, 0, 1, 1)],
    ...                      crs=4326)
    >>> layer_style(g, "priority_landscapes").description
    'asm_pace default style: priority landscapes'
    """
    if not isinstance(frame, gpd.GeoDataFrame) or frame.active_geometry_name is None:
        return None
    kind = _geometry_kind(frame)
    columns = set(frame.columns)
    if "pace_class" in columns:
        return _styles.style_sites(kind, name, certainty="pa_certainty" in columns)
    if "downstream_status" in columns and kind == "line":
        return _styles.style_downstream(name)
    if "radius_km" in columns:
        radii = pd.to_numeric(frame["radius_km"], errors="coerce")
        inner = None
        if "inner_km" in columns:
            pairs = (
                pd.DataFrame({"r": radii, "i": pd.to_numeric(frame["inner_km"], errors="coerce")})
                .dropna()
                .drop_duplicates("r")
            )
            radii, inner = pairs["r"], pairs["i"].tolist()
        else:
            radii = pd.Series(sorted(radii.dropna().unique().tolist()), dtype=float)
        if radii.empty:
            return None
        hatched = "cluster_id" in columns and "zone_id" not in columns
        return _styles.style_zones(name, radii.tolist(), inner, hatched=hatched, geometry=kind)
    if kind != "polygon":
        return None
    if {"pa_id", "designation_type"} <= columns:
        return _styles.style_protected_areas(name)
    if "is_g200" in columns:
        return _styles.style_ecoregions(name)
    if "landscape_name" in columns:
        return _styles.style_landscapes(name)
    if {"kba_id", "aze"} <= columns:
        return _styles.style_kbas(name)
    return None


def _styles_table(layers: Mapping[str, pd.DataFrame], now: _dt.datetime) -> pd.DataFrame | None:
    rows = []
    for name, frame in layers.items():
        style = layer_style(frame, name)
        if style is None:
            continue
        rows.append(
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": name,
                "f_geometry_column": _GEOM,
                "styleName": name,
                "styleQML": style.qml,
                "styleSLD": style.sld,
                "useAsDefault": True,
                "description": style.description,
                "owner": "",
                "ui": None,
                "update_time": pd.Timestamp(now),
            }
        )
    if not rows:
        return None
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- destinations
#: The file-name endings each kind of output must have.
OUTPUT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "gpkg": (".gpkg",),
    "csv": (".csv",),
    "html": (".html", ".htm"),
    "qgz": (".qgz",),
}
_KIND_NAMES = {
    "gpkg": "a GeoPackage",
    "csv": "a CSV table",
    "html": "an HTML report",
    "qgz": "a QGIS project",
}

_OVERWRITE_HINT = "overwrite=True (--overwrite on the command line)"

#: Temporaries are named ``.<destination name>.<pid>-<8 hex>.tmp<suffix>`` (older versions:
#: no pid), plus the SQLite journals GDAL may leave beside a GeoPackage.
_TEMP_NAME = re.compile(
    r"^\.(?P<dest>.+)\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.tmp(?:\.[A-Za-z0-9]+)?(?:-journal|-wal|-shm)?$"
)
#: A temporary whose process is alive is left alone unless untouched this long (seconds).
STALE_AFTER = 3600.0


@dataclass(frozen=True)
class Destination:
    """One output of a run: the file, what it holds and how the user named it.

    Attributes
    ----------
    path : pathlib.Path
        The file to write.
    kind : str or None
        ``"gpkg"``, ``"csv"``, ``"html"`` or ``"qgz"`` (the name must end as
        :data:`OUTPUT_SUFFIXES` says), or ``None`` for no check of the ending.
    option : str or None
        How messages name it (e.g. ``"--csv"``).
    """

    path: Path
    kind: str | None = None
    option: str | None = None

    def label(self) -> str:
        return f"{self.path} ({self.option})" if self.option else str(self.path)


def _as_list(value: object) -> list[object]:
    """A list of inputs as it is; anything else (a path, a frame) as a list of one."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    return [value]


def _input_paths(inputs: Mapping[str, object] | Iterable[object]) -> list[tuple[str, Path]]:
    """``(role, path)`` for every path among the inputs (lists flattened, frames skipped)."""
    pairs = inputs.items() if isinstance(inputs, Mapping) else ((None, v) for v in inputs)
    out: list[tuple[str, Path]] = []
    for role, value in pairs:
        for item in _as_list(value):
            if isinstance(item, str | os.PathLike):
                out.append((str(role or "input"), Path(os.fspath(item))))
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _resolved(path: Path) -> Path:
    return Path(os.path.normcase(path.resolve()))


class OutputPlan:
    """Every output of one run, checked together before any work and written together.

    Made by :func:`plan_outputs`. :meth:`transaction` gives each destination a temporary
    file beside it and moves them all into place only when all are written; on any
    failure (or interrupt) every temporary is removed and every existing file is left as
    it was. :func:`atomic_output` (used by :func:`write_geopackage`, :func:`write_csv`
    and :func:`asm_pace.write_report`) writes into the open transaction's temporary when
    its path is one of the plan's, so library writers join the run's transaction.
    """

    def __init__(self, destinations: Sequence[Destination], *, overwrite: bool, hint: str) -> None:
        self.destinations = tuple(destinations)
        self.overwrite = overwrite
        self.hint = hint
        #: True once every output has been moved into place.
        self.committed = False
        self._temps: dict[Path, Path] = {}

    def __repr__(self) -> str:
        names = ", ".join(str(d.path) for d in self.destinations)
        return f"OutputPlan([{names}], overwrite={self.overwrite})"

    @property
    def paths(self) -> list[Path]:
        """The destinations' paths, in order."""
        return [d.path for d in self.destinations]

    def temp_for(self, path: Path) -> Path | None:
        """The temporary of ``path`` while the transaction is open (else ``None``)."""
        return self._temps.get(_resolved(Path(path)))

    def check_existing(self) -> None:
        """Refuse a destination that exists (unless ``overwrite``), is a folder, or is open.

        A link counts as existing even when broken. A file with an SQLite ``-wal`` or
        ``-journal`` beside it is open in another program (QGIS) or was left mid-write:
        replaced, the old journal would be applied to the new file and damage it.
        """
        for dest in self.destinations:
            if dest.path.is_dir():
                raise OutputError(f"{dest.label()} is a folder; give a file name for the output")
            if not os.path.lexists(dest.path):
                continue
            if not self.overwrite:
                raise OutputExistsError(
                    f"{dest.label()} already exists; choose another name, or pass "
                    f"{self.hint} to replace it"
                )
            for end in ("-wal", "-journal"):
                journal = Path(f"{dest.path}{end}")
                if journal.exists():
                    raise OutputError(
                        f"{dest.label()} is open in another program or was left mid-write "
                        f"({journal.name} is beside it): close it (e.g. in QGIS) and run "
                        "again, or choose another name"
                    )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[Path, Path]]:
        """Yield destination -> temporary; commit them all when the block succeeds.

        Stale temporaries of earlier killed runs in the destinations' folders are removed
        first (:func:`clean_stale_temporaries`). Errors other than asm_pace's become
        :class:`~asm_pace.errors.OutputError` naming the file.
        """
        if self._temps:
            raise RuntimeError("this plan's transaction is already open")
        for folder in {d.path.parent for d in self.destinations}:
            clean_stale_temporaries(folder)
        temps = {d.path: _temp_sibling(d.path, _temp_suffix(d)) for d in self.destinations}
        self._temps = {_resolved(p): t for p, t in temps.items()}
        token = _ACTIVE.set(self)
        try:
            yield dict(temps)
            self._commit(temps)
        except AsmPaceError:
            raise
        except Exception as err:
            raise OutputError(
                f"could not write {', '.join(str(p) for p in temps)}: {err}. Nothing was "
                "written; check the folder is writable and has space"
            ) from err
        finally:
            _ACTIVE.reset(token)
            self._temps = {}
            for temp in temps.values():
                _remove_quietly(temp)

    def _commit(self, temps: Mapping[Path, Path]) -> None:
        """Move every temporary into place, or (on failure) put every old file back."""
        for dest, temp in temps.items():
            if not temp.exists():
                raise OutputError(f"{dest}: nothing was written to it; nothing was replaced")
        for dest in temps:
            if os.path.lexists(dest) and not self.overwrite:
                raise OutputExistsError(
                    f"{dest} appeared while the outputs were being written; nothing was replaced"
                )
        self.check_existing()  # e.g. opened in QGIS meanwhile
        with _signals_deferred():
            backups: dict[Path, Path] = {}
            done: list[Path] = []
            try:
                if len(temps) > 1:
                    for dest in temps:
                        if dest.exists():
                            backups[dest] = _keep_copy(dest)
                for dest, temp in temps.items():
                    os.replace(temp, dest)
                    done.append(dest)
                self.committed = True
            except BaseException:
                for dest in done:
                    if dest in backups:
                        os.replace(backups.pop(dest), dest)
                    else:
                        dest.unlink(missing_ok=True)
                raise
            finally:
                for backup in backups.values():
                    _remove_quietly(backup)


_ACTIVE: contextvars.ContextVar[OutputPlan | None] = contextvars.ContextVar(
    "asm_pace_output_plan", default=None
)


def plan_outputs(
    destinations: Iterable[Destination | None],
    *,
    inputs: Mapping[str, object] | Iterable[object] = (),
    overwrite: bool = False,
    hint: str = _OVERWRITE_HINT,
) -> OutputPlan:
    """Check every output of a run at once, before any work; return the plan to write them.

    Each destination must: end as its kind requires (:data:`OUTPUT_SUFFIXES`); not
    be a folder; be in a folder that exists and can be written to; not be an input
    (same path after resolving links, the same file by :func:`os.path.samefile`, or a file
    inside an input folder); not be another output of the same run; and not exist unless
    ``overwrite`` is true.

    Parameters
    ----------
    destinations : iterable of Destination
        The outputs (``None`` entries are skipped).
    inputs : mapping of role to path (or list of paths), or iterable of paths
        The run's input files and folders; frames and other non-paths are ignored.
    overwrite : bool
        Replace existing outputs.
    hint : str
        How messages name the overwrite option.

    Returns
    -------
    OutputPlan

    Raises
    ------
    OutputExistsError
        A destination exists and ``overwrite`` is false.
    OutputError
        Any other check fails; the message names the file and what to do.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "sites.csv").write_text("site_id,lat,lon")
    15
    >>> plan_outputs([Destination(folder / "sites.csv", "csv", "--csv")],
    ...              inputs={"sites": folder / "sites.csv"}, overwrite=True)
    Traceback (most recent call last):
    asm_pace.errors.OutputError: .../sites.csv (--csv) is an input of this run (sites); ...
    >>> plan = plan_outputs([Destination(folder / "out.csv", "csv")])
    >>> with plan.transaction() as temps:
    ...     _ = temps[folder / "out.csv"].write_text("a,b")
    >>> sorted(p.name for p in folder.iterdir())
    ['out.csv', 'sites.csv']
    """
    dests = [Destination(Path(os.fspath(d.path)), d.kind, d.option) for d in destinations if d]
    sources = [(role, path, _resolved(path)) for role, path in _input_paths(inputs)]
    for role, path, _ in sources:
        _check_name(path, f"{path} ({role})", InputError, "rename the file or its folder")
    seen: dict[Path, Destination] = {}
    for dest in dests:
        _check_one(dest, sources)
        where = _resolved(dest.path)
        other = seen.get(where) or next(
            (d for d in seen.values() if _same_file(d.path, dest.path)), None
        )
        if other is not None:
            raise OutputError(
                f"{dest.label()} is the same file as {other.label()}; give each output its "
                "own file name"
            )
        seen[where] = dest
    plan = OutputPlan(dests, overwrite=overwrite, hint=hint)
    plan.check_existing()
    return plan


def _check_name(path: Path, label: str, error: type[AsmPaceError], fix: str) -> None:
    """Refuse a name GDAL cannot take (not UTF-8) or the file system cannot hold (too long).

    GDAL opens and writes files by UTF-8 names, and a run records its inputs' names in the
    GeoPackage; a name with bytes that are not UTF-8 (``sites\\xff.csv``) would fail there.
    """
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        raise error(
            f"{label}: the file name is not valid UTF-8 text, which GDAL and the "
            f"GeoPackage's run_info need; {fix}"
        ) from None
    try:
        path.exists()
    except OSError as err:
        raise error(f"{label}: the file system refuses the name ({err.strerror}); {fix}") from None


def _check_one(dest: Destination, sources: list[tuple[str, Path, Path]]) -> None:
    path = dest.path
    _check_name(
        path, dest.label(), OutputError, "choose a shorter name in plain letters or another folder"
    )
    if dest.kind is not None:
        allowed = OUTPUT_SUFFIXES[dest.kind]
        if path.suffix.lower() not in allowed:
            raise OutputError(
                f"{dest.label()}: {_KIND_NAMES[dest.kind]} file name must end in "
                f"{' or '.join(allowed)}; e.g. {path.stem or 'out'}{allowed[0]}"
            )
    if path.is_dir():
        raise OutputError(f"{dest.label()} is a folder; give a file name for the output")
    folder = path.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise OutputError(
            f"cannot write {dest.label()}: the folder {folder} {what}; create it first or "
            "choose another folder"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"cannot write {dest.label()}: no permission to write in the folder {folder}; "
            "choose a folder you can write to"
        )
    where = _resolved(path)
    for role, source, resolved in sources:
        inside = source.is_dir() and where.is_relative_to(resolved)
        if where == resolved or inside or _same_file(path, source):
            what = f"inside the input folder {source}" if inside else "an input of this run"
            raise OutputError(
                f"{dest.label()} is {what} ({role}); writing it would damage the input: "
                f"choose another file name{f' for {dest.option}' if dest.option else ''}"
            )


def check_destination(
    path: str | os.PathLike[str],
    overwrite: bool,
    option: str = _OVERWRITE_HINT,
    *,
    kind: str | None = None,
    inputs: Mapping[str, object] | Iterable[object] = (),
) -> None:
    """Refuse a destination that is a folder, in a missing folder, or exists without overwrite.

    The checks of :func:`plan_outputs` for one output (``kind`` as in :class:`Destination`,
    ``inputs`` the files it must not be); nothing is checked again for a path of the open
    transaction (:meth:`OutputPlan.transaction`), which its plan checked.
    """
    path = Path(os.fspath(path))
    if _joined(path, kind) is not None:
        return
    plan_outputs([Destination(path, kind)], inputs=inputs, overwrite=overwrite, hint=option)


def _joined(path: Path, kind: str | None) -> Path | None:
    """The open transaction's temporary for ``path`` (``None`` when it has none).

    A writer of another kind than the plan's for that path (a CSV into the GeoPackage's
    temporary) is refused.
    """
    active = _ACTIVE.get()
    temp = active.temp_for(path) if active is not None else None
    if temp is None or active is None:
        return None
    where = _resolved(path)
    planned = next(d for d in active.destinations if _resolved(d.path) == where)
    if kind is not None and planned.kind is not None and kind != planned.kind:
        raise OutputError(
            f"{planned.label()} is planned as {_KIND_NAMES[planned.kind]}; "
            f"{_KIND_NAMES[kind]} cannot be written to it: give it its own file name"
        )
    return temp


@contextlib.contextmanager
def atomic_output(path: Path, *, overwrite: bool, suffix: str) -> Iterator[Path]:
    """Yield a temporary file beside ``path``; move it into place when the block succeeds.

    The destination is checked first (:func:`plan_outputs`, with the kind that ``suffix``
    names). On any error, or an interrupt, the temporary file (and any SQLite journal
    beside it) is removed and the destination is left as it was; errors other than
    asm_pace's become :class:`~asm_pace.errors.OutputError` naming the file. Inside an
    open :meth:`OutputPlan.transaction` whose plan holds ``path``, the block writes that
    plan's temporary and the transaction moves it into place with the run's other outputs.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_output(out, overwrite=False, suffix=".csv") as temp:
    ...     _ = temp.write_text("a,b")
    >>> out.read_text()
    'a,b'
    >>> with atomic_output(out, overwrite=False, suffix=".csv") as temp:
    ...     pass
    Traceback (most recent call last):
    asm_pace.errors.OutputExistsError: ... already exists; choose another name, or pass overwrite=True ...
    >>> sorted(p.name for p in out.parent.iterdir())  # no temporary file left behind
    ['table.csv']
    """
    path = Path(os.fspath(path))
    kind = next((k for k, ends in OUTPUT_SUFFIXES.items() if suffix.lower() in ends), None)
    temp = _joined(path, kind)
    if temp is not None:
        yield temp
        return
    plan = plan_outputs([Destination(path, kind)], overwrite=overwrite)
    with plan.transaction() as temps:
        yield temps[path]


def _temp_suffix(dest: Destination) -> str:
    if dest.kind is not None:
        return OUTPUT_SUFFIXES[dest.kind][0]
    return dest.path.suffix


def _temp_sibling(path: Path, suffix: str) -> Path:
    # the name is cut so a destination name near the 255-byte limit still has a temporary
    return path.with_name(f".{path.name[:80]}.{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")


def _remove_quietly(path: Path) -> None:
    for p in (path, *(Path(f"{path}{s}") for s in ("-journal", "-wal", "-shm"))):
        with contextlib.suppress(OSError):
            p.unlink()


def _keep_copy(dest: Path) -> Path:
    """A second name for ``dest``'s current content (a hard link, else a copy), to restore."""
    backup = _temp_sibling(dest, dest.suffix)
    try:
        os.link(dest, backup)
    except OSError:
        shutil.copy2(dest, backup)
    return backup


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP (main thread, POSIX) so a commit is never cut in half."""
    held = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}
    usable = hasattr(signal, "pthread_sigmask") and (
        threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def clean_stale_temporaries(
    folder: str | os.PathLike[str], *, older_than: float = STALE_AFTER
) -> list[Path]:
    """Remove asm_pace's temporaries left in ``folder`` by runs that were killed.

    A temporary (``.<name>.<pid>-<hex>.tmp<suffix>``, with any ``-journal``/``-wal``/``-shm``)
    is stale when the process that made it is gone, or when it has not changed for
    ``older_than`` seconds (also for names without a pid). Other files are never touched.

    Returns
    -------
    list of pathlib.Path
        The files removed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / ".out.gpkg.999999999-0123abcd.tmp.gpkg").write_text("half")
    >>> _ = (folder / "out.gpkg").write_text("kept")
    >>> [p.name for p in clean_stale_temporaries(folder)]
    ['.out.gpkg.999999999-0123abcd.tmp.gpkg']
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        pid = match.group("pid")
        if pid is not None and int(pid) == os.getpid():
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if (pid is not None and not _pid_alive(int(pid))) or age > older_than:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


# --------------------------------------------------------------------------- writing
@dataclass
class WkbPart:
    """A part of a streamed layer whose geometries are still WKB (a streamed run's, read
    back from its scratch file), written as they are, never decoded: ``frame`` holds the
    layer's other columns, ``wkb`` the geometries (column ``geometry``; ``None`` where
    missing), ``types`` their shapely type ids (-1: missing), ``bounds`` their bounds
    (NaN: missing or empty)."""

    frame: pd.DataFrame
    wkb: np.ndarray
    geometry: str
    crs: Any
    types: np.ndarray
    bounds: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    def with_frame(self, frame: pd.DataFrame, geometry: str | None = None) -> WkbPart:
        """The same geometries beside ``frame`` (its rows those of :attr:`frame`), named
        ``geometry`` if given."""
        name = self.geometry if geometry is None else geometry
        return WkbPart(frame, self.wkb, name, self.crs, self.types, self.bounds)

    def multi_wkb(self) -> np.ndarray:
        """The WKB with each single part (point, line, polygon) made a multi-part of one,
        on the bytes: the byte order, the multi type (single + 3, flags kept), a count of
        1, then the part (as :func:`shapely.to_wkb` writes a multi-part)."""
        out = self.wkb.copy()
        for i in np.flatnonzero(np.isin(self.types, (0, 1, 3))).tolist():
            wkb = out[i]
            order = "little" if wkb[0] == 1 else "big"
            kind = int.from_bytes(wkb[1:5], order) + 3
            out[i] = wkb[:1] + kind.to_bytes(4, order) + (1).to_bytes(4, order) + wkb
        return out


@dataclass
class LayerStream:
    """A layer :func:`write_geopackage` writes batch by batch, never whole in memory (a
    chunked run's zone layers read back from its scratch file,
    :func:`asm_pace.pipeline.run_pipeline` ``stream_to``).

    ``batches()`` gives the layer's frames in order (at least one; the first's columns
    and types are the layer's); ``rows`` is their total. ``geometry_types`` and ``has_z``
    are the whole layer's, so the GeoPackage's geometry type (and the promotion of
    polygons to multipolygons) is the one a write of the whole frame chooses. Once
    written, :meth:`stand_in` is a small frame with the layer's columns, geometry types,
    extent and radii: its style and its QGIS project entry are the whole layer's.
    """

    rows: int
    batches: Callable[[], Iterable[pd.DataFrame]]
    geometry_types: frozenset[str] = frozenset()
    has_z: bool = False

    def __post_init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def geometry_type(self) -> tuple[str, bool]:
        """The layer's geometry type and whether to promote single parts to multi (as
        pyogrio chooses them for a GeoPackage written in one go)."""
        types = set(self.geometry_types)
        kind, promote = "Unknown", False
        if self.rows and len(types) == 1:
            kind = types.pop()
        elif self.rows and len(types) == 2:
            for single in ("Polygon", "LineString", "Point"):
                if types == {single, f"Multi{single}"}:
                    kind, promote = f"Multi{single}", True
        if self.has_z and kind != "Unknown":
            kind = f"{kind} Z"
        return kind, promote

    def observe(self, batch: pd.DataFrame) -> None:
        """Note a batch written: columns, geometry types, extent, radii (first come)."""
        seen = self._seen
        part = batch if isinstance(batch, WkbPart) else None
        if part is not None:
            batch = part.frame
        if not seen:
            seen["columns"] = list(batch.columns)
            geo = isinstance(batch, gpd.GeoDataFrame) and batch.active_geometry_name is not None
            seen["geometry"] = part.geometry if part else batch.geometry.name if geo else None
            seen["crs"] = part.crs if part else batch.crs if geo else None
            seen["types"] = {}
            seen["bounds"] = None
            seen["radii"] = []
        if seen["geometry"] is not None and len(batch):
            if part is not None:
                ids, counts = np.unique(part.types[part.types >= 0], return_counts=True)
                kinds = {TYPE_NAMES[i]: n for i, n in zip(ids, counts, strict=True)}
                live = part.bounds[~np.isnan(part.bounds).any(axis=1)]
                b = np.r_[live[:, :2].min(axis=0), live[:, 2:].max(axis=0)] if len(live) else None
            else:
                kinds = batch.geometry.geom_type.dropna().value_counts().to_dict()
                geoms = batch.geometry[~(batch.geometry.isna() | batch.geometry.is_empty)]
                b = geoms.total_bounds if len(geoms) else None
            for kind, n in kinds.items():
                seen["types"][kind] = seen["types"].get(kind, 0) + int(n)
            if b is not None:
                old = seen["bounds"]
                seen["bounds"] = (
                    b
                    if old is None
                    else np.r_[np.minimum(old[:2], b[:2]), np.maximum(old[2:], b[2:])]
                )
        keys = [c for c in ("radius_km", "inner_km") if c in batch.columns]
        if "radius_km" in keys and len(batch):
            pairs = pd.DataFrame(batch[keys]).drop_duplicates()
            seen["radii"].append(pairs)

    def stand_in(self) -> pd.DataFrame:
        """A few rows standing for the written layer (:func:`layer_style`, the QGIS project)."""
        seen = self._seen
        if not seen:
            raise RuntimeError("stand_in(): the layer has not been written yet")
        columns = seen["columns"]
        radii = (
            pd.concat(seen["radii"], ignore_index=True).drop_duplicates().reset_index(drop=True)
            if seen["radii"]
            else pd.DataFrame()
        )
        kinds = sorted(seen["types"].items(), key=lambda kv: -kv[1])
        others = [k for k, _ in kinds[1:]]
        n = max(len(radii), len(others) + 2) if kinds else len(radii)
        data = {c: [None] * n for c in columns if c != seen["geometry"]}
        for c in radii.columns:
            values = radii[c].tolist()
            data[c] = [values[min(i, len(values) - 1)] for i in range(n)] if values else data[c]
        frame = pd.DataFrame(data, columns=[c for c in columns if c != seen["geometry"]])
        if seen["geometry"] is None:
            return frame
        geoms: list[Any] = [None] * n
        if kinds and seen["bounds"] is not None:
            top = [_spanning(kinds[0][0], seen["bounds"], i) for i in range(n - len(others))]
            geoms = top + [_spanning(k, seen["bounds"], 0) for k in others]
        out = gpd.GeoDataFrame(frame, geometry=geoms, crs=seen["crs"])
        return out.rename_geometry(seen["geometry"]) if seen["geometry"] != "geometry" else out


class SideWriter:
    """Layers written by one other process, each to a GeoPackage of its own, while this
    process writes the others; :func:`write_geopackage` copies each
    into its file at its turn (:meth:`SideLayer.copy_into`), so a streamed run's zone layers
    take the second core instead of adding to the write (docs/scale.md).

    ``layers`` maps each layer's name to something picklable whose ``stream()`` gives the
    :class:`LayerStream` to write, in order (a streamed run's spool layer, read in the
    other process); their files are temporaries beside ``near``. :attr:`layers` holds the
    :class:`SideLayer` to give :func:`write_geopackage` in their place. :meth:`close` stops
    the process and removes the files, written or not.
    """

    def __init__(self, near: str | os.PathLike[str], layers: Mapping[str, Any]):
        from .parallel import _context

        near = Path(os.fspath(near))
        self._paths = {name: _temp_sibling(near, ".gpkg") for name in layers}
        items = [(name, str(self._paths[name]), item) for name, item in layers.items()]
        context = _context()
        self._conn, child = context.Pipe(duplex=False)
        self._process = context.Process(target=_side_main, args=(child, items), daemon=True)
        self._process.start()
        child.close()
        self._done: dict[str, tuple[str, Any]] = {}
        self.layers = {name: SideLayer(self, name) for name in layers}
        #: each layer written: the other process's wall and CPU seconds on it
        self.seconds: dict[str, tuple[float, float]] = {}

    def wait(self, name: str) -> tuple[Path, tuple[pd.DataFrame, int]]:
        """The file of layer ``name`` once written, the layer's stand-in
        (:meth:`LayerStream.stand_in`) and its rows; the other process's error if it failed."""
        while name not in self._done:
            try:
                got, status, value = self._conn.recv()
            except (EOFError, OSError) as err:
                self._process.join(timeout=10)  # its exit code (negative: a signal's)
                raise OutputError(
                    f"the process writing layer {name!r} ended before it was written (exit "
                    f"code {self._process.exitcode}); nothing was written. If it ran out of "
                    "memory, run again with --jobs 1 (jobs=1)"
                ) from err
            if status == "ok":
                *value, wall, cpu = value
                self.seconds[got] = (round(wall, 1), round(cpu, 1))
            self._done[got] = (status, value)
        status, value = self._done[name]
        if status != "ok":
            raise value
        return self._paths[name], tuple(value)

    def close(self) -> None:
        """Stop the process (if still writing) and remove its files."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._conn.close()
        for path in self._paths.values():
            _remove_quietly(path)
            # and the temporary of a write stopped midway (named by the other process)
            for temp in path.parent.glob(f".{path.name[:80]}.*.tmp.gpkg"):
                _remove_quietly(temp)


def _side_main(conn: Any, items: list[tuple[str, str, Any]]) -> None:
    """The other process of a :class:`SideWriter`: each layer written, then said (its
    name, ``"ok"`` and its stand-in, or ``"error"`` and the error); stops at an error."""
    import pickle

    for name, path, item in items:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            stream = item.stream()
            write_geopackage(path, {name: stream}, styles=False)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            message = (name, "ok", (stream.stand_in(), stream.rows, wall, cpu))
        except BaseException as err:  # said to the writer, which raises it
            try:
                pickle.dumps(err)
                message = (name, "error", err)
            except Exception:
                message = (name, "error", OutputError(f"could not write layer {name!r}: {err}"))
        conn.send(message)
        if message[1] != "ok":
            break
    conn.close()


@dataclass
class SideLayer:
    """A layer a :class:`SideWriter` writes in its own process (given to
    :func:`write_geopackage` as a layer; it cannot be the first)."""

    writer: SideWriter
    name: str

    def __post_init__(self) -> None:
        self._stand_in: pd.DataFrame | None = None
        self.rows = 0  # once written

    def copy_into(self, path: Path, name: str) -> None:
        """Copy the layer, once written, into the GeoPackage ``path`` as ``name``."""
        if name != self.name:
            raise InputError(f"layer {self.name!r} written aside cannot be renamed to {name!r}")
        side, (self._stand_in, self.rows) = self.writer.wait(self.name)
        copy_table(side, path, name)

    def stand_in(self) -> pd.DataFrame:
        """The written layer's stand-in (:meth:`LayerStream.stand_in`)."""
        if self._stand_in is None:
            raise RuntimeError("stand_in(): the layer has not been written yet")
        return self._stand_in


def copy_table(source: Path, dest: Path, name: str) -> None:
    """Copy the layer ``name`` of GeoPackage ``source`` into GeoPackage ``dest``, by SQLite
    alone (a third to a quarter of the time GDAL takes to write it again): its rows with
    their fids, its spatial index as it is (the R-tree's own tables copied; SQLite's
    ``rtreecheck`` passes), its indexes and triggers, and its rows in ``gpkg_contents``,
    ``gpkg_geometry_columns``, ``gpkg_extensions``, ``gpkg_ogr_contents`` and, when
    ``dest`` lacks it, ``gpkg_spatial_ref_sys``."""

    def quoted(table: str) -> str:
        return '"' + table.replace('"', '""') + '"'

    with contextlib.closing(sqlite3.connect(dest)) as con, con:
        con.execute("ATTACH DATABASE ? AS side", (os.fspath(source),))

        def master(db: str, where: str, *args: object) -> list[tuple]:
            return con.execute(
                f"SELECT type, name, sql FROM {db}.sqlite_master WHERE sql IS NOT NULL AND "
                + where,
                args,
            ).fetchall()

        def has(db: str, table: str) -> bool:
            return bool(master(db, "type = 'table' AND name = ?", table))

        own = master("side", "tbl_name = ?", name)
        rtrees = []  # the layer's spatial index: a virtual table, and the tables it keeps
        if has("side", "gpkg_extensions"):
            rtrees = [
                f"rtree_{table}_{column}"
                for table, column in con.execute(
                    "SELECT table_name, column_name FROM side.gpkg_extensions WHERE "
                    "table_name = ? AND extension_name = 'gpkg_rtree_index'",
                    (name,),
                ).fetchall()
            ]
        for _, _, sql in (e for e in own if e[0] == "table"):
            con.execute(sql)
        con.execute(f"INSERT INTO main.{quoted(name)} SELECT * FROM side.{quoted(name)}")
        if has("main", "sqlite_sequence"):  # the fids' sequence as the source has it (an
            # empty table has none; SQLite's insert of no rows would add one at 0)
            con.execute("DELETE FROM main.sqlite_sequence WHERE name = ?", (name,))
            if has("side", "sqlite_sequence"):
                con.execute(
                    "INSERT INTO main.sqlite_sequence SELECT * FROM side.sqlite_sequence "
                    "WHERE name = ?",
                    (name,),
                )
        for rtree in rtrees:
            con.execute(master("side", "name = ?", rtree)[0][2])
            for shadow in (f"{rtree}_node", f"{rtree}_rowid", f"{rtree}_parent"):
                con.execute(f"DELETE FROM main.{quoted(shadow)}")
                con.execute(
                    f"INSERT INTO main.{quoted(shadow)} SELECT * FROM side.{quoted(shadow)}"
                )
        for kind in ("index", "trigger"):  # triggers after the rows: not run by them
            for _, _, sql in (e for e in own if e[0] == kind):
                con.execute(sql)
        srs = "SELECT * FROM {}.gpkg_spatial_ref_sys WHERE srs_id IN (SELECT srs_id FROM " \
              "side.gpkg_contents WHERE table_name = ?)"  # fmt: skip
        theirs, ours = (con.execute(srs.format(db), (name,)).fetchall() for db in ("side", "main"))
        if ours and ours != theirs:
            raise OutputError(
                f"layer {name!r} cannot be copied: its CRS id means another CRS in {dest}"
            )
        if not ours:
            con.execute(f"INSERT INTO main.gpkg_spatial_ref_sys {srs.format('side')}", (name,))
        for meta in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions",
                     "gpkg_ogr_contents"):  # fmt: skip
            if not has("side", meta):
                continue
            if not has("main", meta):
                con.execute(master("side", "type = 'table' AND name = ?", meta)[0][2])
            con.execute(
                f"INSERT INTO main.{meta} SELECT * FROM side.{meta} WHERE table_name = ?", (name,)
            )


#: Rows of a feature layer written at a time (pyogrio converts a whole frame's
#: geometries to WKB at once).
WRITE_BATCH = 200_000


def _sliced(frame: gpd.GeoDataFrame) -> LayerStream:
    """A frame as a :class:`LayerStream` of :data:`WRITE_BATCH` rows a slice."""
    geoms = frame.geometry
    live = np.asarray(geoms.values, dtype=object)
    live = live[~(shapely.is_missing(live) | shapely.is_empty(live))]

    def batches() -> Iterator[pd.DataFrame]:
        for start in range(0, len(frame), WRITE_BATCH):
            yield frame.iloc[start : start + WRITE_BATCH]

    return LayerStream(
        rows=len(frame),
        batches=batches,
        geometry_types=frozenset(str(t) for t in geoms.geom_type.dropna().unique()),
        has_z=bool(shapely.has_z(live).any()),
    )


def _spanning(kind: str, bounds: Sequence[float], i: int) -> Any:
    """A geometry of type ``kind`` whose bounds are ``bounds`` (a point: a corner, by ``i``)."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    box = shapely.box(x0, y0, x1, y1)
    line = shapely.LineString([(x0, y0), (x1, y1)])
    made = {
        "Polygon": box,
        "MultiPolygon": shapely.MultiPolygon([box]),
        "LineString": line,
        "MultiLineString": shapely.MultiLineString([line]),
        "Point": shapely.Point((x0, y0) if i % 2 == 0 else (x1, y1)),
        "MultiPoint": shapely.MultiPoint([(x0, y0), (x1, y1)]),
    }
    return made.get(kind, shapely.GeometryCollection([box]))


def _prepared(
    stream: Any, renamed: dict[str, dict[str, str]], name: str, *, sliced: bool
) -> Iterator[pd.DataFrame]:
    """The parts of a layer written in parts: a streamed layer's prepared
    (:func:`prepare_frame`, its renamed columns noted in ``renamed``) and observed
    (:meth:`LayerStream.observe`) as they come; a large frame's slices as they are."""
    for batch in stream.batches():
        if not sliced:
            stream.observe(batch)
            if isinstance(batch, WkbPart):  # the columns prepared, the geometry as it is
                frame, renamed[name] = prepare_frame(batch.frame)  # (named as it names it)
                batch = batch.with_frame(frame, geometry="geometry")
            else:
                batch, renamed[name] = prepare_frame(batch)
        yield batch


def _arrow_batch(frame: pd.DataFrame, promote: bool, schema: Any = None) -> Any:
    """A prepared part as an Arrow record batch: the geometries as WKB (single parts made
    multi when the layer's type is), other columns as pyogrio's Arrow writer takes them;
    with ``schema`` (the first part's), in its types."""
    import pyarrow as pa

    if isinstance(frame, WkbPart):  # the prepared columns, then the WKB (as prepare_frame)
        wkb = frame.multi_wkb() if promote else frame.wkb
        data = pd.DataFrame(frame.frame, copy=False).assign(**{frame.geometry: wkb})
        return pa.RecordBatch.from_pandas(data, schema=schema, preserve_index=False)
    data = pd.DataFrame(frame, copy=False)
    if isinstance(frame, gpd.GeoDataFrame):
        gname = frame.geometry.name
        geoms = np.asarray(frame.geometry.values, dtype=object)
        if promote:  # each single part as a multi-part of one (as pyogrio promotes them)
            kinds = shapely.get_type_id(geoms)
            geoms = geoms.copy()  # not the frame's own array
            for single, make in ((0, shapely.multipoints), (1, shapely.multilinestrings),
                                 (3, shapely.multipolygons)):  # fmt: skip
                at = kinds == single
                if at.any():
                    geoms[at] = make(np.atleast_2d(geoms[at]), axis=0)
        data = data.assign(**{gname: shapely.to_wkb(geoms)})
    return pa.RecordBatch.from_pandas(data, schema=schema, preserve_index=False)


def _arrow_schema(batch: Any, geometry: str | None) -> Any:
    """The first part's schema, with its columns of no type (all missing) as text and the
    geometries as binary (GDAL takes no null type), as pyogrio's Arrow writer makes them."""
    import pyarrow as pa

    fields = [
        field.with_type(pa.binary())
        if field.name == geometry
        else field.with_type(pa.string())
        if pa.types.is_null(field.type)
        else field
        for field in batch.schema
    ]
    return pa.schema(fields, metadata=batch.schema.metadata)


def write_geopackage(
    path: str | os.PathLike[str],
    layers: Mapping[str, pd.DataFrame],
    *,
    overwrite: bool = False,
    run_info: Mapping[str, object] | None = None,
    inputs: Mapping[str, object] | None = None,
    counts: Mapping[str, Mapping[str, object]] | None = None,
    styles: bool = True,
    datasets: Sequence[Mapping[str, object]] | None = None,
) -> Path:
    """Write layers (and provenance, and QGIS styles) to one GeoPackage, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.gpkg`` file to write.
    layers : mapping of str to GeoDataFrame or DataFrame
        Layer name -> table, written in this order. GeoDataFrames become
        feature layers (one geometry column, named ``geom``, in the frame's
        CRS); DataFrames become attribute tables (GeoPackage data type
        ``attributes``). Names and values are converted as
        :func:`prepare_frame` describes; layer names with :func:`safe_name`.
        A :class:`LayerStream` is written batch by batch; a :class:`SideLayer` (a
        table another process writes, :class:`SideWriter`) is copied in at its turn.
    overwrite : bool
        Replace an existing file. Without it an existing file is left
        untouched and :class:`~asm_pace.errors.OutputExistsError` is raised
        before anything is written.
    run_info : mapping, optional
        The run's parameters (name -> value), stored in the ``run_info`` table
        (values as text, JSON for non-strings).
    inputs : mapping, optional
        Input role -> path (or list of paths) of each input file; each is
        recorded in ``run_info`` with its name, size and SHA-256
        (:func:`input_fingerprint`).
    counts : mapping, optional
        Input role -> the reader's record counts (``attrs["counts"]``: read, removed by
        step, repaired, used), stored in ``run_info`` as section ``counts``, key
        ``counts_<role>``, value JSON.
    datasets : sequence of mapping, optional
        Public data fetched by version (:func:`asm_pace.data.provenance_rows`): rows of
        section ``dataset`` with ``key``, ``value`` (a URL, or the version for
        ``<dataset>_version``), ``file_name``, ``size`` and ``sha256``.
    styles : bool
        Store default styles in ``layer_styles`` (QGIS opens the layers
        styled): by ``pace_class`` for layers that have it, by ``radius_km``
        for buffer layers.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    OutputError
        ``path`` does not end in ``.gpkg`` or is one of ``inputs``, the folder does not
        exist, a layer cannot be written, or the file cannot be moved into place. Nothing
        is left behind.
    InputError
        ``layers`` is empty, holds something other than a DataFrame or a GeoDataFrame
        without CRS, or uses a reserved name (``run_info``, ``layer_styles``).

    Examples
    --------
    >>> import tempfile, shapely, pyogrio
    >>> sites = gpd.GeoDataFrame(
    ...     {"site_id": ["S1"], "pace_class": ["protected_area"]},
    ...     geometry=[shapely.Point(-60, -3)], crs="EPSG:4326")
    >>> out = Path(tempfile.mkdtemp()) / "out.gpkg"
    >>> _ = write_geopackage(out, {"sites": sites}, run_info={"radii_km": [1, 10]})
    >>> [str(n) for n in pyogrio.list_layers(out)[:, 0]]
    ['sites', 'run_info', 'layer_styles']
    """
    import pyogrio

    path = Path(os.fspath(path))
    check_destination(path, overwrite, kind="gpkg", inputs=inputs or {})
    if not isinstance(layers, Mapping) or not layers:
        raise InputError("write_geopackage needs at least one layer: {'sites': sites, ...}")

    prepared: dict[str, Any] = {}  # a frame, or a LayerStream (written batch by batch)
    renamed: dict[str, dict[str, str]] = {}
    for name, frame in layers.items():
        if not isinstance(frame, pd.DataFrame | LayerStream | SideLayer):
            raise InputError(
                f"layer {name!r} is a {type(frame).__name__}; give a GeoDataFrame or DataFrame"
            )
        lname = safe_name(name, prepared)
        if lname.lower() in RESERVED_LAYERS:
            raise InputError(
                f"layer name {name!r} is reserved for asm_pace's own table; rename the layer"
            )
        if isinstance(frame, LayerStream | SideLayer):
            if isinstance(frame, SideLayer) and not prepared:
                raise InputError(f"layer {name!r} written aside cannot be the first layer")
            prepared[lname] = frame
            continue
        geo = isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name is not None
        if geo and frame.crs is None and len(frame):
            raise InputError(
                f"layer {name!r} has no coordinate reference system, so the GeoPackage could "
                "not say where its geometries are; set it with .set_crs(...) (asm_pace's "
                "readers return EPSG:4326)"
            )
        prepared[lname], renamed[lname] = prepare_frame(frame)

    now = _dt.datetime.now(_dt.UTC)

    def new_file(temp: Path) -> dict[str, Any]:
        """The options of the file's first layer: GeoPackage 1.2, read without warnings by
        older GDAL, QGIS and ArcGIS."""
        return {} if temp.exists() else {"dataset_options": {"VERSION": "1.2"}}

    def refused(name: str, cause: BaseException) -> OutputError:
        return OutputError(
            f"could not write layer {name!r} to {path}: {cause}. Nothing was written; check "
            "the layer's columns, and that the folder is writable and has space"
        )

    def write(name: str, frame: pd.DataFrame, temp: Path, **options: Any) -> None:
        options.update(new_file(temp))
        if name == "layer_styles":
            options["layer_options"] = {"FID": "id"}
        geo = isinstance(frame, gpd.GeoDataFrame)
        try:
            pyogrio.write_dataframe(
                frame if geo else pd.DataFrame(frame),
                temp,
                layer=name,
                driver="GPKG",
                # a table through Arrow: the same columns and values, 2.3x faster (1 M
                # rows of the long forest_loss table: 1.17 against 2.66 CPU s); one without
                # columns refused as before (GDAL makes no table without fields)
                use_arrow=not geo and len(frame.columns) > 0,
                **options,
            )
        except Exception as err:
            raise refused(name, err) from err

    def write_stream(
        name: str, parts: Iterator[pd.DataFrame], temp: Path, kind: str, promote: bool
    ) -> None:
        """A layer in parts, in one GDAL call: its spatial index is built once, at the
        end (appending part by part updated it row by row: 1.4 times the time)."""
        import pyarrow as pa
        from pyogrio.raw import write_arrow

        first = next(parts)
        geo = isinstance(first, gpd.GeoDataFrame | WkbPart)
        gname = None
        if geo:  # the column of the geometries: a part's name for them, a frame's active one
            gname = first.geometry if isinstance(first, WkbPart) else first.geometry.name
        crs = None
        if geo and first.crs is not None:
            epsg = first.crs.to_epsg()
            crs = f"EPSG:{epsg}" if epsg else first.crs.to_wkt("WKT1_GDAL")
        batch = _arrow_batch(first, promote)
        schema = _arrow_schema(batch, gname)
        failed: list[BaseException] = []  # GDAL reports a part's failure as its own

        def rest() -> Iterator[Any]:
            try:
                for part in parts:
                    if len(part):
                        yield _arrow_batch(part, promote, schema)
            except BaseException as err:
                failed.append(err)
                raise

        try:
            write_arrow(
                pa.RecordBatchReader.from_batches(schema, chain([batch.cast(schema)], rest())),
                temp,
                layer=name,
                driver="GPKG",
                geometry_name=gname,
                geometry_type=kind if geo else None,
                crs=crs,
                **new_file(temp),
            )
        except Exception as err:
            if failed and isinstance(failed[0], AsmPaceError):
                raise failed[0] from None
            cause = failed[0] if failed else err
            raise refused(name, cause) from cause

    with atomic_output(path, overwrite=overwrite, suffix=".gpkg") as temp:
        with warnings.catch_warnings():
            # pyogrio warns when it promotes mixed Polygon/MultiPolygon; that is intended
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="pyogrio")
            for name, frame in prepared.items():
                if isinstance(frame, SideLayer):  # written by another process: copied
                    try:
                        frame.copy_into(temp, name)
                    except sqlite3.Error as err:
                        raise refused(name, err) from err
                    renamed[name] = prepare_frame(frame.stand_in())[1]
                    continue
                # a large frame in slices (the WKB of one slice at a time, not of the whole
                # layer), a streamed layer batch by batch (each prepared as it comes)
                big = isinstance(frame, gpd.GeoDataFrame) and len(frame) > WRITE_BATCH
                if not (big or isinstance(frame, LayerStream)):
                    write(name, frame, temp)
                    continue
                stream = _sliced(frame) if big else frame
                kind, promote = stream.geometry_type()
                parts = _prepared(stream, renamed, name, sliced=big)
                try:
                    write_stream(name, parts, temp, kind, promote)
                finally:
                    parts.close()
            summary = {
                name: prepare_frame(f.stand_in())[0]
                if isinstance(f, LayerStream | SideLayer)
                else f
                for name, f in prepared.items()
            }
            rows = {
                name: f.rows if isinstance(f, LayerStream | SideLayer) else len(f)
                for name, f in prepared.items()
            }
            extra: dict[str, pd.DataFrame] = {
                "run_info": _run_info_table(
                    run_info or {}, inputs or {}, rows, renamed, counts, datasets
                )
            }
            if styles:
                table = _styles_table(summary, now)
                if table is not None:
                    extra["layer_styles"] = table
            for name, frame in extra.items():
                write(name, frame, temp)
        _finish_contents(temp, now)
    return path


def _finish_contents(temp: Path, now: _dt.datetime) -> None:
    """Describe asm_pace's own tables in gpkg_contents (identifier and description)."""
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    with contextlib.closing(sqlite3.connect(temp)) as con, con:
        for table, text in (
            ("run_info", "asm_pace provenance: version, time, parameters, input files"),
            ("layer_styles", "QGIS default styles written by asm_pace"),
        ):
            con.execute(
                "UPDATE gpkg_contents SET description = ?, last_change = ? WHERE table_name = ?",
                (text, stamp, table),
            )


def write_csv(
    path: str | os.PathLike[str], frame: pd.DataFrame, *, overwrite: bool = False
) -> Path:
    """Write a layer's attributes to CSV (UTF-8), atomically.

    Geometry becomes ``geometry_wkt``; for point layers ``longitude`` and
    ``latitude`` (in the layer's CRS) are added unless columns of those names
    exist. Lists and dicts become text as in :func:`prepare_frame`.

    Examples
    --------
    >>> import tempfile, shapely
    >>> g = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[shapely.Point(1, 2)], crs=4326)
    >>> out = write_csv(Path(tempfile.mkdtemp()) / "s.csv", g)
    >>> out.read_text().splitlines()[1]
    'S1,POINT (1 2),1.0,2.0'
    """
    path = Path(os.fspath(path))
    check_destination(path, overwrite, kind="csv")
    data = pd.DataFrame(frame, copy=True)
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame:
        geom = frame.geometry
        data = data.drop(columns=[geom.name])
        wkt = shapely.to_wkt(geom.values, rounding_precision=-1)  # full precision, as .wkt
        data["geometry_wkt"] = np.where(geom.is_empty.to_numpy(), None, wkt)
        points = len(geom) > 0 and bool(geom.geom_type.eq("Point").all())
        if points and "longitude" not in data and "latitude" not in data:
            data["longitude"] = geom.x.to_numpy()
            data["latitude"] = geom.y.to_numpy()
    for col in data.columns:
        if data[col].dtype == object:
            data[col] = [_to_text(v) for v in data[col]]
    with atomic_output(path, overwrite=overwrite, suffix=".csv") as temp:
        data.to_csv(temp, index=False, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- QGIS project
def _wkb_type(frame: gpd.GeoDataFrame) -> str:
    """The geometry type QGIS reads from the GeoPackage layer (mixed single/multi: multi)."""
    types = set(frame.geometry.geom_type.dropna())
    if len(types) == 1:
        return types.pop()
    kind = _geometry_kind(frame)
    return {"point": "MultiPoint", "line": "MultiLineString"}.get(kind, "MultiPolygon")


def _view_extent(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    """``bounds`` with a margin: a tenth of the span on each side, at least 0.05 degrees."""
    west, south, east, north = (float(v) for v in bounds)
    dx = max((east - west) / 10, 0.05)
    dy = max((north - south) / 10, 0.05)
    return (
        max(west - dx, -180.0),
        max(south - dy, -90.0),
        min(east + dx, 180.0),
        min(north + dy, 90.0),
    )


def write_qgis_project(
    path: str | os.PathLike[str],
    geopackage: str | os.PathLike[str],
    layers: Mapping[str, pd.DataFrame],
    *,
    extent: Sequence[float] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a QGIS project (``.qgz``) that opens the GeoPackage's layers, styled.

    Written without QGIS: a zip holding one ``.qgs`` XML document. Each layer is read
    from the GeoPackage by a path relative to the project (``./out.gpkg|layername=sites``),
    so the project must sit in the GeoPackage's folder and the two can be moved together.
    Every feature layer carries its default style (:func:`layer_style`, the one in the
    GeoPackage's ``layer_styles``); tables without geometry are listed too. The first layer
    of ``layers`` is drawn on top; the project's CRS is the first layer's, and it opens at
    ``extent`` (by default the first layer's extent with a margin).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.qgz`` file to write.
    geopackage : str or os.PathLike
        The GeoPackage the layers are in (written by :func:`write_geopackage`, in the
        same folder as ``path``).
    layers : mapping of str to GeoDataFrame or DataFrame
        The layers as given to :func:`write_geopackage` (names are made GIS-safe the same
        way), top first.
    extent : (west, south, east, north), optional
        Where the project opens, in the first layer's CRS.
    overwrite : bool
        Replace an existing file.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, zipfile
    >>> sites = gpd.GeoDataFrame({"site_id": ["S1"], "pace_class": ["not_eligible"]},
    ...                          geometry=[shapely.Point(-60, -3)], crs="EPSG:4326")
    >>> folder = Path(tempfile.mkdtemp())
    >>> gpkg = write_geopackage(folder / "out.gpkg", {"sites": sites})
    >>> qgz = write_qgis_project(folder / "out.qgz", gpkg, {"sites": sites})
    >>> zipfile.ZipFile(qgz).namelist()
    ['out.qgs']
    """
    import zipfile

    path = Path(os.fspath(path))
    geopackage = Path(os.fspath(geopackage))
    check_destination(path, overwrite, kind="qgz")
    if _resolved(path.parent) != _resolved(geopackage.parent):
        raise OutputError(
            f"{path}: the QGIS project reads {geopackage.name} by a path relative to itself, "
            f"so it must be in the same folder ({geopackage.parent}); write it there"
        )
    if "|" in geopackage.name:
        raise OutputError(
            f"{geopackage}: QGIS cannot read a layer from a file whose name holds '|'; "
            "rename the GeoPackage (-o/--output) without it"
        )
    entries: list[_styles.ProjectLayer] = []
    taken: list[str] = []
    first_crs = None
    first_bounds = None
    for name, frame in layers.items():
        lname = safe_name(name, taken)
        taken.append(lname)
        geo = isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name is not None
        if not geo:
            entries.append(_styles.ProjectLayer(lname, None, "NoGeometry", None, "", "", None))
            continue
        crs = frame.crs
        if crs is None:
            raise InputError(
                f"layer {name!r} has no coordinate reference system; set it with .set_crs(...)"
            )
        auth = crs.to_authority()
        bounds = None
        if len(frame) and not frame.geometry.is_empty.all():
            bounds = tuple(float(v) for v in frame.total_bounds)
        entries.append(
            _styles.ProjectLayer(
                lname,
                _geometry_kind(frame),
                _wkb_type(frame),
                layer_style(frame, lname),
                crs.to_wkt(),
                f"{auth[0]}:{auth[1]}" if auth else "",
                bounds,  # type: ignore[arg-type]
            )
        )
        if first_crs is None:
            first_crs, first_bounds = entries[-1], bounds
    if first_crs is None:
        raise InputError("write_qgis_project needs at least one layer with geometries (the sites)")
    if extent is None:
        extent = _view_extent(first_bounds or (-180.0, -90.0, 180.0, 90.0))
    xml = _styles.qgs_project(
        entries,
        gpkg_name=geopackage.name,
        extent=tuple(float(v) for v in extent),  # type: ignore[arg-type]
        crs_wkt=first_crs.crs_wkt,
        crs_authid=first_crs.crs_authid,
        title=geopackage.stem,
    )
    with (
        atomic_output(path, overwrite=overwrite, suffix=".qgz") as temp,
        zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        archive.writestr(f"{path.stem}.qgs", xml.encode("utf-8"))
    return path
