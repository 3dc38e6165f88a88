"""Key Biodiversity Areas (KBAs) and Alliance for Zero Extinction (AZE) sites.

:func:`read_kbas` reads the World Database of Key Biodiversity Areas as BirdLife International
ships it (a polygon shapefile and a point shapefile, often zipped together) with its field names
(``SitRecID``, ``Country``, ``ISO3``, ``NatName``, ``IntName``, ``SitArea``, ``IbaStatus``,
``KbaStatus``, ``AzeStatus``, ``AddedDate``, ``ChangeDate``), and normalises it to
:data:`KBA_COLUMNS`. :func:`aze_protected_areas` turns the AZE sites into a layer in the
protected-area schema (under the ASM-PACE definition an AZE site is a protected area), and
:func:`join_kbas` gives each site the KBAs holding it. ``classify(kbas=...)`` uses both.

What the fields hold (docs/kba.md, "The schema"): ``SitArea`` is in **hectares** (IBAT's
description of the WDKBA, ``site_area``: "Units: ha"); it becomes ``site_area_km2``.
``KbaStatus`` is ``confirmed`` for a recognised global KBA (other values seen in published
copies: ``de-listed``, ``does not qualify``, ``nominated``/``proposed``); ``AzeStatus`` is
``confirmed`` for an AZE site.

Examples
--------
>>> from asm_pace.kba import read_kbas
>>> from asm_pace.datasets import sample_path
>>> kbas = read_kbas(sample_path("kbas.zip"))
>>> sorted(kbas["origin"].unique()), int(kbas["aze"].sum())
(['point_circle', 'polygon'], 1)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._vector import (
    LayerRef,
    carry_mark,
    geometry_family,
    layer_refs,
    named_refs,
    read_layer,
    refuse_tables,
    repair_polygons_counted,
    row_list,
    source_name,
    to_wgs84,
)
from .errors import (
    DroppedRecordsWarning,
    ExtentWarning,
    InputError,
    LayerChoiceError,
    LayerNotFoundError,
    ReadError,
    SchemaError,
    UnreadableValueWarning,
)
from .protected_areas import (
    _ECOREGION_MARKERS,
    _POINT_BBOX_MARGIN_DEG,
    _WDPA_MARKERS,
    MAX_POINT_AREA_KM2,
    PA_COLUMNS,
    _box_in_crs,
    _check_bbox,
    _check_countries,
    _code_sets,
    _col,
    _Layer,
    _layer_info,
    _point_circles,
    _split_kinds,
    _text,
)

__all__ = [
    "read_kbas",
    "aze_protected_areas",
    "join_kbas",
    "with_aze_source",
    "KBA_COLUMNS",
    "KBA_STATUSES",
    "AZE_STATUSES",
    "AZE_DESIGNATION",
]

#: The columns of :func:`read_kbas`, in order (docs/kba.md).
KBA_COLUMNS: tuple[str, ...] = (
    "kba_id",
    "kba_name",
    "iso3",
    "country",
    "kba_status",
    "aze",
    "ibastatus",
    "added_date",
    "site_area_km2",
    "origin",
    "geometry",
)

#: ``KbaStatus`` values asm_pace knows (ignoring case); ``confirmed`` is a recognised KBA.
#: Empty is allowed (a record of the shared IBA/KBA table never assessed as a KBA).
KBA_STATUSES: tuple[str, ...] = (
    "confirmed",
    "proposed",
    "nominated",
    "candidate",
    "de-listed",
    "delisted",
    "does not qualify",
    "not assessed",
    "former",
)

#: ``AzeStatus`` values asm_pace knows (ignoring case). ``confirmed`` (also a true boolean,
#: as IBAT's exports write it) makes the KBA an AZE site; the others, and empty, do not.
AZE_STATUSES: tuple[str, ...] = (
    "confirmed",
    "former",
    "candidate",
    "proposed",
    "not assessed",
    "not applicable",
    "no",
    "none",
)
_AZE_TRUE = {"confirmed", "true", "yes", "1"}
_AZE_FALSE = {"", "false", "0", *(s for s in AZE_STATUSES if s != "confirmed")}

#: The ``designation`` of an AZE site in :func:`aze_protected_areas`.
AZE_DESIGNATION = "Alliance for Zero Extinction site"

#: ``attrs["source_label"]`` of :func:`aze_protected_areas`.
AZE_LABEL = "AZE"

_HA_PER_KM2 = 100.0
#: A SitArea (ha) above this is not a site's area (more than any protected area on Earth).
MAX_SITE_AREA_HA = MAX_POINT_AREA_KM2 * _HA_PER_KM2
_KBA_MARKERS = ("sitrecid", "kbastatus")
_FIRST_YEAR = 1900  # KBAs (IBAs) are recorded since the 1980s; an earlier date is not one


# --------------------------------------------------------------------------- reading


def read_kbas(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | Sequence[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    countries: str | Iterable[str] | None = None,
    statuses: Iterable[str] | None = ("confirmed",),
    engine: str | None = None,
) -> gpd.GeoDataFrame:
    """Read Key Biodiversity Areas (BirdLife's WDKBA distribution) into :data:`KBA_COLUMNS`.

    The steps, each a count in ``attrs["counts"]["removed"]``:

    1. ``countries`` / ``bbox``: only the KBAs of some countries (``ISO3``) or meeting a
       lon/lat box, filtered by GDAL while reading; a code matching nothing is refused.
    2. ``statuses``: keep ``KbaStatus`` ``confirmed`` (``None`` keeps all, values outside
       the vocabulary included). A value outside :data:`KBA_STATUSES` is otherwise refused.
    3. Point records (KBAs without a boundary) become geodesic circles of their ``SitArea``
       (hectares) as WDPA points do (``origin`` "point_circle"); a point without an area is
       dropped with a :class:`~asm_pace.errors.DroppedRecordsWarning`.
    4. Invalid polygons are repaired; polygons left without area are dropped.

    Parameters
    ----------
    source : path or GeoDataFrame
        A folder or zip holding the polygon and point shapefiles, one shapefile, a
        GeoPackage, or a GeoDataFrame with the WDKBA fields.
    layer : str or list of str, optional
        The layer(s) to read; by default every polygon and point layer (each must have the
        KBA fields ``SitRecID`` and ``KbaStatus``).
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
    countries : str or list of str, optional
        ISO 3166-1 alpha-3 codes.
    statuses : list of str or None, default ("confirmed",)
        ``KbaStatus`` values to keep.
    engine : {"pyogrio", "fiona"}, optional

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`KBA_COLUMNS`: ``kba_id`` (SitRecID as text), ``kba_name`` (IntName, else
        NatName), ``iso3``, ``country``, ``kba_status``, ``aze`` (bool: AzeStatus
        ``confirmed``), ``ibastatus``, ``added_date`` (``YYYY-MM-DD``, empty when unknown),
        ``site_area_km2`` (SitArea / 100), ``origin`` (``polygon`` / ``point_circle``),
        geometry (valid (Multi)Polygons, EPSG:4326, split at +-180). ``attrs``: ``source``,
        ``layers``, ``counts`` (read, removed by step, repaired, used), ``bbox`` and
        ``countries`` when given.

    Raises
    ------
    SchemaError
        A layer without ``SitRecID`` and ``KbaStatus`` (a WDPA, ecoregions, another file).
    InputError
        A missing or repeated SitRecID, a KbaStatus/AzeStatus outside its vocabulary, a
        SitArea that is not an area; a country code matching nothing; no KBA left.
    ReadError, LayerNotFoundError, LayerChoiceError
        As the other readers.

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> kbas = read_kbas(sample_path("kbas.zip"), countries="PER")
    >>> kbas[["kba_id", "aze", "origin"]].to_string(index=False)
    'kba_id   aze       origin\\n 90101  True      polygon\\n 90102 False      polygon\\n 90103 False point_circle'
    """
    keep_status = _check_statuses(statuses)
    box = _check_bbox(bbox)
    codes = _check_countries(countries)
    if engine is not None and engine not in ("pyogrio", "fiona"):
        raise InputError(f"engine must be one of pyogrio, fiona; got {engine!r}")
    name = source_name(source)
    frames: list[pd.DataFrame] = []
    labels: list[str] = []
    for label, gdf in _read(source, layer=layer, box=box, codes=codes, engine=engine):
        labels.append(label)
        frames.append(_normalise(gdf, source=name, layer=label))
    data = pd.concat(frames, ignore_index=True)
    n_read = len(data)
    if not n_read:
        where = " in the box / countries asked for" if (box is not None or codes) else ""
        raise InputError(
            f"{name}: layer(s) {', '.join(labels)} hold no KBA{where}; check the file (and "
            "the bbox / countries keywords in Python) and that it is BirdLife's KBA distribution"
        )
    _check_values(data, name, statuses=keep_status is not None)
    log: dict[str, int] = {}

    if codes is not None:
        found = _code_sets(data["iso3"])
        keep = found.map(lambda cs: bool(cs & codes)).to_numpy(dtype=bool)
        missing = codes - set().union(set(), *found[keep])
        if missing and box is None:
            present = sorted(set().union(set(), *found))
            raise InputError(
                f"{name}: no KBA has ISO3 {', '.join(sorted(missing))} (asked for with "
                f"the countries keyword, in Python); the file's ISO3 codes are: "
                f"{', '.join(present[:40]) or 'none'}. Correct or remove the code(s)"
            )
        log["countries"] = int((~keep).sum())
        data = data[keep]
        if not len(data):
            raise InputError(
                f"{name}: no KBA of {', '.join(sorted(codes))} meets bbox "
                f"{tuple(box.bounds) if box is not None else ''}; check the box covers the sites"
            )

    folded = data["kba_status"].str.strip().str.casefold()
    if keep_status is not None:
        keep = folded.isin(keep_status).to_numpy()
        log["statuses"] = int((~keep).sum())
        if not keep.any():
            tally = folded.replace("", "(empty)").value_counts()
            raise InputError(
                f"{name}: none of its {len(data)} KBA(s) has KbaStatus "
                f"{', '.join(sorted(keep_status))} (found: "
                f"{', '.join(f'{v} {n}' for v, n in tally.items())}); pass statuses=None "
                "(--kba-all-statuses on the command line) to keep every status"
            )
        data = data[keep]

    polys, pts = _split_kinds(data, name, "KBA record(s)", log)
    circles = pts.iloc[0:0]
    if len(pts):
        area = pts["site_area_km2"].to_numpy(dtype="float64")
        with_area = np.isfinite(area) & (area > 0)
        n_without = int((~with_area).sum())
        if n_without:
            warnings.warn(
                f"{name}: {n_without} point KBA(s) without a site area (SitArea) dropped "
                f"(SitRecID {_ids(pts[~with_area])}): a point marks no extent",
                DroppedRecordsWarning,
                stacklevel=2,
            )
        log["points_without_area"] = n_without
        frame = pts[with_area].rename(columns={"site_area_km2": "rep_area_km2"})
        circles, n_polar = _point_circles(frame)
        circles = circles.rename(columns={"rep_area_km2": "site_area_km2"})
        log["points_polar"] = n_polar
    polys = gpd.GeoDataFrame(polys, geometry="geometry", crs="EPSG:4326")
    polys, n_repaired, log["empty_after_repair"] = repair_polygons_counted(polys, source=name)
    out = pd.concat([polys, circles], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    if box is not None and len(out):
        keep = shapely.intersects(np.asarray(out.geometry.values, dtype=object), box)
        log["bbox"] = int((~keep).sum())
        out = out[keep]
    if not len(out):
        said = "; ".join(f"{k} {v}" for k, v in log.items() if v)
        raise InputError(
            f"{name}: no KBA is left after the filters (records removed by step: {said}); "
            "check the bbox / countries keywords (in Python) and the point records' SitArea"
        )
    out = gpd.GeoDataFrame(out[list(KBA_COLUMNS)].reset_index(drop=True), crs="EPSG:4326")
    out.attrs = {
        "source": name,
        "layers": labels,
        "counts": {
            "read": n_read,
            "removed": dict(log),
            "repaired": n_repaired,
            "used": len(out),
        },
    }
    # the repaired polygons (and valid circles) need no check in classify
    carry_mark(out, polys, circles["geometry"].to_numpy(dtype=object))
    if box is not None:
        out.attrs["bbox"] = tuple(float(v) for v in box.bounds)
    if codes is not None:
        out.attrs["countries"] = sorted(codes)
    return out


def _check_statuses(statuses: Iterable[str] | None) -> set[str] | None:
    if statuses is None:
        return None
    chosen = [statuses] if isinstance(statuses, str) else list(statuses)
    folded = {str(s).strip().casefold() for s in chosen}
    bad = sorted(folded - set(KBA_STATUSES))
    if bad or not folded:
        raise InputError(
            f"the statuses keyword must be KbaStatus values among {', '.join(KBA_STATUSES)} "
            f"(or None for all); got {', '.join(map(repr, bad)) or 'none'}"
        )
    return folded


def _read(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | Sequence[str] | None,
    box: shapely.Polygon | None,
    codes: set[str] | None,
    engine: str | None,
) -> Iterable[tuple[str, gpd.GeoDataFrame]]:
    """``(layer label, GeoDataFrame in EPSG:4326)`` for each layer to read."""
    if isinstance(source, gpd.GeoDataFrame):
        name = source_name(source)
        _check_identity([str(c) for c in source.columns], f"{name}")
        if codes is not None:
            _iso3(list(source.columns), name)
        yield "<GeoDataFrame>", to_wgs84(source, source=name)
        return
    path = Path(source)
    folder = path.is_dir() and path.suffix.lower() != ".gdb"  # a File Geodatabase is one
    refs = _folder_refs(path) if folder else layer_refs(path)
    refuse_tables(refs, source=path, what="KBAs", option="--kbas")
    if layer is not None:
        wanted = [layer] if isinstance(layer, str) else list(layer)
        chosen = list(dict.fromkeys(r for w in wanted for r in named_refs(refs, w, source=path)))
    else:
        chosen = [
            r for r in refs if geometry_family(r.geometry_type).lower().endswith(_SHAPES)
        ] or [r for r in refs if geometry_family(r.geometry_type) in ("Unknown", "Geometry")]
        if not chosen:
            listed = ", ".join(f"{r.name} ({r.geometry_type})" for r in refs)
            raise LayerNotFoundError(
                f"{path}: no polygon or point layer found; its layers are: {listed or 'none'}"
            )
    infos = []
    for ref in chosen:
        lyr = _Layer(ref)
        _layer_info(lyr)
        infos.append(lyr)
    if layer is None and len(infos) > 1:
        kba = [_has_kba_fields(lyr.fields) for lyr in infos]
        if not all(kba):
            described = ", ".join(
                f"{lyr.name} ({lyr.geometry_type}{', KBA fields' if k else ''})"
                for lyr, k in zip(infos, kba, strict=True)
            )
            raise LayerChoiceError(
                f"{path}: several layers could hold the KBAs ({described}) and not all have "
                "the KBA fields (SitRecID, KbaStatus); choose with --kba-layer NAME (layer= "
                "in Python)"
            )
    for lyr in infos:
        where_name = f"{lyr.display} layer {lyr.name!r}"
        if lyr.fields:
            _check_identity(lyr.fields, where_name)
        where = None
        if codes is not None and lyr.fields:
            iso = _iso3(lyr.fields, where_name)
            where = " OR ".join(f"{iso} LIKE '%{c}%'" for c in sorted(codes))
        native = None
        if box is not None and lyr.fields:
            margin = _POINT_BBOX_MARGIN_DEG if "point" in lyr.geometry_type.lower() else 0.0
            native = _box_in_crs(box, lyr.crs, margin)
        gdf = read_layer(lyr.ref, bbox=native, where=where, engine=engine)
        if not lyr.fields:  # GeoParquet: the fields are known once read
            _check_identity([str(c) for c in gdf.columns], where_name)
        label = lyr.name if lyr.display == str(source) else f"{lyr.display}:{lyr.name}"
        yield label, to_wgs84(gdf, source=where_name)


_SHAPES = ("polygon", "point")


def _folder_refs(path: Path) -> list[LayerRef]:
    """The layers of every vector file in a folder (BirdLife's unzipped download)."""
    files = sorted(
        p
        for p in path.iterdir()
        if p.suffix.lower() in (".shp", ".gpkg", ".geojson", ".fgb", ".parquet")
    )
    if not files:
        raise ReadError(
            f"{path}: a folder without a vector file (.shp, .gpkg, .geojson, .fgb); give "
            "--kbas (kbas= in Python) the KBA shapefiles' folder, zip or file"
        )
    return [ref for f in files for ref in layer_refs(f)]


def _has_kba_fields(fields: Iterable[str]) -> bool:
    cols = {str(f).casefold() for f in fields}
    return all(m in cols for m in _KBA_MARKERS)


def _check_identity(fields: list[str], where: str) -> None:
    """Refuse a layer that is not the WDKBA's (no SitRecID / KbaStatus), saying what it is."""
    cols = {f.casefold() for f in fields}
    if _has_kba_fields(cols):
        return
    missing = [m for m in ("SitRecID", "KbaStatus") if m.casefold() not in cols]
    if cols & _WDPA_MARKERS:
        what = (
            "it has the WDPA's fields (WDPAID / SITE_ID ...), so it is a protected-area "
            "file: give it to --protected-areas (-p), and BirdLife's KBA file to --kbas"
        )
    elif cols & _ECOREGION_MARKERS:
        what = "it has WWF's ecoregion fields (ECO_ID, G200_*): give it to --ecoregions (-e)"
    else:
        shown = ", ".join(fields[:12]) + (" ..." if len(fields) > 12 else "")
        what = f"its fields are: {shown or 'none'}"
    raise SchemaError(
        f"{where}: not a Key Biodiversity Area layer (no {' or '.join(missing)} field, which "
        f"BirdLife's WDKBA has); {what}"
    )


def _iso3(fields: list[str], where: str) -> str:
    for f in fields:
        if str(f).casefold() == "iso3":
            return str(f)
    raise SchemaError(
        f"{where}: the countries keyword of read_kbas needs an ISO3 field, and the KBA layer "
        "has none; leave it out (a Python option: the command line reads every KBA)"
    )


# --------------------------------------------------------------------------- normalising


def _normalise(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> pd.DataFrame:
    """One layer's records in :data:`KBA_COLUMNS`, plus ``_kind`` (polygon/point/other)."""
    out = pd.DataFrame(index=gdf.index)
    out["kba_id"] = _text(gdf, _col(gdf, "SitRecID")).str.strip()
    intl = _text(gdf, _col(gdf, "IntName")).str.strip()
    nat = _text(gdf, _col(gdf, "NatName")).str.strip()
    out["kba_name"] = intl.where(intl != "", nat)
    out["iso3"] = _text(gdf, _col(gdf, "ISO3")).str.strip()
    out["country"] = _text(gdf, _col(gdf, "Country")).str.strip()
    out["kba_status"] = _text(gdf, _col(gdf, "KbaStatus")).str.strip()
    bad: dict[str, pd.Series] = {}
    out["aze"] = _aze(gdf, _col(gdf, "AzeStatus"), bad)
    out["ibastatus"] = _text(gdf, _col(gdf, "IbaStatus")).str.strip()
    out["added_date"] = _dates(gdf, _col(gdf, "AddedDate"), out["kba_id"], source, layer)
    out["site_area_km2"] = _areas(gdf, _col(gdf, "SitArea"), bad)
    out["_aze_bad"] = bad.get("aze", pd.Series(False, index=gdf.index)).astype(bool)
    out["_aze_raw"] = bad.get("aze_raw", pd.Series("", index=gdf.index))
    out["_area_bad"] = bad.get("area", pd.Series(False, index=gdf.index)).astype(bool)
    out["_area_raw"] = bad.get("area_raw", pd.Series("", index=gdf.index))
    out["origin"] = "polygon"
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    gtype = shapely.get_type_id(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kind = np.where(
        np.isin(gtype, (3, 6)), "polygon", np.where(np.isin(gtype, (0, 4)), "point", "other")
    )
    out["_kind"] = np.where(empty, "other", kind)
    out["geometry"] = geoms
    return out


def _aze(gdf: pd.DataFrame, column: str | None, bad: dict[str, pd.Series]) -> pd.Series:
    """AzeStatus as bool: ``confirmed`` (or a true boolean) is an AZE site; a value outside
    the vocabulary is False here and marked in ``bad`` (refused by :func:`_check_values`)."""
    if column is None:
        return pd.Series(False, index=gdf.index, dtype=bool)
    raw = gdf[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.fillna(False).astype(bool)
    text = _text(gdf, column).str.strip()
    folded = text.str.casefold()
    bad["aze"] = ~folded.isin(_AZE_TRUE | _AZE_FALSE)
    bad["aze_raw"] = text
    return folded.isin(_AZE_TRUE).astype(bool)


def _areas(gdf: pd.DataFrame, column: str | None, bad: dict[str, pd.Series]) -> pd.Series:
    """SitArea (hectares) as km2; text, negative, infinite or huge values are marked in
    ``bad`` (refused by :func:`_check_values`)."""
    if column is None:
        return pd.Series(np.nan, index=gdf.index, dtype="float64")
    raw = _text(gdf, column).str.strip()
    ha = pd.to_numeric(raw.where(raw != ""), errors="coerce").astype("float64")
    bad["area"] = (raw != "") & ~(np.isfinite(ha) & (ha >= 0) & (ha <= MAX_SITE_AREA_HA))
    bad["area_raw"] = raw
    return ha / _HA_PER_KM2


def _dates(
    gdf: pd.DataFrame, column: str | None, ids: pd.Series, source: str, layer: str
) -> pd.Series:
    """AddedDate as ``YYYY-MM-DD`` text; a value that is not a date is left empty, warned."""
    import datetime

    if column is None:
        return pd.Series("", index=gdf.index, dtype="object")
    raw = gdf[column]
    if pd.api.types.is_datetime64_any_dtype(raw):
        when = pd.to_datetime(raw)
        text = pd.Series("", index=gdf.index, dtype="object")
    else:
        text = _text(gdf, column).str.strip()
        only_year = text.str.fullmatch(r"\d{4}")
        norm = text.where(~only_year, text + "-01-01").str.replace("/", "-", regex=False)
        when = pd.to_datetime(norm.where(norm != ""), errors="coerce", format="ISO8601")
    year = when.dt.year
    ok = when.notna() & year.between(_FIRST_YEAR, datetime.date.today().year)
    bad = (~ok & ((text != "") | (when.notna()))).to_numpy()
    if bad.any():
        warnings.warn(
            f"{source}: AddedDate of {int(bad.sum())} KBA(s) of layer {layer} is not a date "
            f"(rows {row_list(bad)}, SitRecID {', '.join(ids[bad].head(5))}); left empty",
            UnreadableValueWarning,
            stacklevel=4,
        )
    out = when.dt.strftime("%Y-%m-%d").astype("object")
    return out.where(ok, "").astype("object")


def _check_values(data: pd.DataFrame, name: str, *, statuses: bool) -> None:
    """Every value problem of the records read, refused at once (one InputError listing each
    problem: the SitRecIDs, the values, what was expected and the fix).

    A missing or repeated SitRecID (a site's records would be joined wrongly), an AzeStatus or
    (with ``statuses``) a KbaStatus outside its vocabulary, a SitArea that is not an area.
    """
    problems = []
    missing = (data["kba_id"] == "").to_numpy()
    if missing.any():
        problems.append(
            f"{int(missing.sum())} KBA record(s) have no SitRecID (rows {row_list(missing)}): "
            "every KBA needs its id, use BirdLife's file as shipped"
        )
    dup = (data["kba_id"].duplicated(keep=False) & ~missing).to_numpy()
    if dup.any():
        ids = sorted(set(data.loc[dup, "kba_id"]))
        problems.append(
            f"SitRecID {', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''} is repeated "
            f"({int(dup.sum())} records; a KBA is one record, in the polygon or the point file): "
            "remove the duplicates (e.g. a point kept beside its polygon)"
        )
    bad = data["_aze_bad"].to_numpy(dtype=bool)
    if bad.any():
        problems.append(
            f"AzeStatus of {int(bad.sum())} KBA(s) is not an AZE status "
            f"({_examples(data[bad], '_aze_raw')}): asm_pace knows {', '.join(AZE_STATUSES)} "
            "(or empty), and 'confirmed' marks an AZE site; correct the values"
        )
    if statuses:
        folded = data["kba_status"].str.strip().str.casefold()
        unknown = ~folded.isin({*KBA_STATUSES, ""}).to_numpy()
        if unknown.any():
            problems.append(
                f"KbaStatus of {int(unknown.sum())} KBA(s) is not a KBA status "
                f"({_examples(data[unknown], 'kba_status')}): asm_pace knows "
                f"{', '.join(KBA_STATUSES)} (or empty); correct the values, or pass "
                "statuses=None (--kba-all-statuses on the command line) to keep every KBA "
                "whatever its status"
            )
    bad = data["_area_bad"].to_numpy(dtype=bool)
    if bad.any():
        problems.append(
            f"SitArea of {int(bad.sum())} KBA(s) is not an area in hectares "
            f"({_examples(data[bad], '_area_raw')}; at most {MAX_SITE_AREA_HA:,.0f} ha, and a "
            "point KBA becomes a circle of that area): correct the values"
        )
    if problems:
        head = f"{len(problems)} problems: " if len(problems) > 1 else ""
        raise InputError(f"{name}: {head}" + "; ".join(problems))


def _ids(frame: pd.DataFrame, limit: int = 5) -> str:
    ids = list(frame["kba_id"])
    return ", ".join(ids[:limit]) + (f" ... ({len(ids)} in all)" if len(ids) > limit else "")


def _examples(frame: pd.DataFrame, column: str, limit: int = 5) -> str:
    pairs = [f"SitRecID {i} {v!r}" for i, v in zip(frame["kba_id"], frame[column], strict=True)]
    return ", ".join(pairs[:limit]) + (f" ... ({len(pairs)} in all)" if len(pairs) > limit else "")


# --------------------------------------------------------------------------- AZE as protected


def aze_protected_areas(kbas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The AZE sites of a KBA layer as protected areas (:data:`~asm_pace.protected_areas.PA_COLUMNS`).

    Under the ASM-PACE definition an Alliance for Zero Extinction site is a protected area:
    this layer can be given as one more protected source. ``pa_id`` is the SitRecID,
    ``name`` the KBA's name, ``designation`` :data:`AZE_DESIGNATION`, ``designation_type``
    "International", ``status`` "confirmed", ``status_year`` the year of AddedDate,
    ``rep_area_km2`` the site area; ``attrs["source_label"]`` is "AZE". It may be empty.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> kbas = gpd.GeoDataFrame({"kba_id": ["1", "2"], "kba_name": ["A", "B"],
    ...     "iso3": ["PER", "PER"], "aze": [True, False], "added_date": ["2005-03-01", ""],
    ...     "site_area_km2": [10.0, 5.0], "origin": ["polygon", "polygon"]},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)], crs=4326)
    >>> aze = aze_protected_areas(kbas)
    >>> aze[["pa_id", "name", "status_year"]].to_dict("records")
    [{'pa_id': '1', 'name': 'A', 'status_year': 2005}]
    >>> aze.attrs["source_label"]
    'AZE'
    """
    _require(kbas, ("kba_id", "kba_name", "aze"), "kbas")
    k = kbas[kbas["aze"].fillna(False).to_numpy(dtype=bool)]
    n = len(k)
    dates = k["added_date"] if "added_date" in k.columns else pd.Series("", index=k.index)
    year = pd.to_numeric(dates.astype("string").str[:4], errors="coerce").astype("Int64")

    def col(name: str, default: Any) -> Any:
        return k[name].to_numpy() if name in k.columns else np.full(n, default, dtype=object)

    out = gpd.GeoDataFrame(
        {
            "pa_id": k["kba_id"].astype(str).to_numpy(dtype=object),
            "wdpa_pid": np.full(n, "", dtype=object),
            "name": k["kba_name"].astype(str).to_numpy(dtype=object),
            "orig_name": np.full(n, "", dtype=object),
            "designation": np.full(n, AZE_DESIGNATION, dtype=object),
            "designation_type": np.full(n, "International", dtype=object),
            "iucn_category": np.full(n, "", dtype=object),
            "status": np.full(n, "confirmed", dtype=object),
            "status_year": year.to_numpy(),
            "rep_area_km2": np.asarray(col("site_area_km2", np.nan), dtype="float64"),
            "marine": np.full(n, "", dtype=object),
            "iso3": col("iso3", ""),
            "world_heritage": np.zeros(n, dtype=bool),
            "ramsar": np.zeros(n, dtype=bool),
            "origin": col("origin", "polygon"),
        },
        geometry=np.asarray(k.geometry.values, dtype=object),
        crs=kbas.crs,
    )
    out["status_year"] = pd.array(year.to_numpy(), dtype="Int64")
    out = out[list(PA_COLUMNS)]
    out.attrs = {
        "source": kbas.attrs.get("source", "<KBAs>"),
        "source_label": AZE_LABEL,
        "counts": {"read": len(kbas), "removed": {"not_aze": len(kbas) - n}, "used": n},
    }
    carry_mark(out, kbas)
    for key in ("bbox", "countries"):
        if key in kbas.attrs:
            out.attrs[key] = kbas.attrs[key]
    return out


def with_aze_source(
    protected_areas: gpd.GeoDataFrame | Sequence[gpd.GeoDataFrame] | Mapping[str, gpd.GeoDataFrame],
    kbas: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame | list[gpd.GeoDataFrame] | dict[str, gpd.GeoDataFrame]:
    """The protected-area sources with the AZE sites of ``kbas`` as one more (the last).

    ``classify(kbas=...)`` gives the result to
    :func:`asm_pace.pa_sources.combine_protected_areas` (the same area in two sources counted
    once). Without AZE sites the sources are returned as they are; an empty single layer is
    replaced by the AZE layer.

    Parameters
    ----------
    protected_areas : GeoDataFrame, list or dict of GeoDataFrames
        One protected-area layer, several sources, or a layer already combined by
        :func:`asm_pace.pa_sources.combine_protected_areas` (the AZE sites are then
        appended as its last source, matched against its areas by the same rule:
        :func:`asm_pace.pa_sources.append_source`).
    kbas : GeoDataFrame
        Key Biodiversity Areas from :func:`read_kbas`.

    Returns
    -------
    list or dict of GeoDataFrames, or GeoDataFrame
        ``[protected_areas, aze]`` (a dict gains the key ``"AZE"``; a list the AZE layer
        last); a combined layer with the AZE rows appended.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> kbas = gpd.GeoDataFrame({"kba_id": ["7"], "kba_name": ["Alto"], "aze": [True]},
    ...     geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> [layer.attrs["source_label"] for layer in with_aze_source([], kbas)]
    ['AZE']
    """
    aze = aze_protected_areas(kbas)
    if not len(aze):
        return protected_areas  # type: ignore[return-value]
    if isinstance(protected_areas, Mapping):
        return {**protected_areas, AZE_LABEL: aze}
    if isinstance(protected_areas, list | tuple):
        return [*protected_areas, aze]
    if isinstance(protected_areas, gpd.GeoDataFrame) and "pa_group" in protected_areas.columns:
        return _append_combined(protected_areas, aze)
    if isinstance(protected_areas, gpd.GeoDataFrame) and not len(protected_areas):
        return [aze]
    return [protected_areas, aze]


def _append_combined(combined: gpd.GeoDataFrame, aze: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A combined layer (``pa_sources.combine_protected_areas``) with the AZE sites appended
    as its last source, matched against its areas by the same-area rule
    (:func:`asm_pace.pa_sources.append_source`)."""
    from .pa_sources import append_source

    return append_source(combined, AZE_LABEL, aze)


def _reason_names(
    designation: np.ndarray, pa_id: np.ndarray, names: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How reasons name AZE sites: "an Alliance for Zero Extinction site X (KBA id)".

    The other protected areas keep their names and labels; an AZE site's label "AZE 7"
    (its source and SitRecID) reads "KBA 7", since the id is the KBA's.

    >>> n, lab = _reason_names(np.array([AZE_DESIGNATION, "National Park"], dtype=object),
    ...     np.array(["7", "1"], dtype=object), np.array(["Alto", "Alpha"], dtype=object),
    ...     np.array(["AZE 7", "WDPA 1"], dtype=object))
    >>> list(n), list(lab)
    (['an Alliance for Zero Extinction site Alto', 'Alpha'], ['KBA 7', 'WDPA 1'])
    """
    aze = np.asarray(designation == AZE_DESIGNATION, dtype=bool)
    if not aze.any():
        return names, labels
    names, labels = names.copy(), labels.copy()
    for i in np.flatnonzero(aze):
        own = str(names[i]).strip()
        names[i] = (
            f"an Alliance for Zero Extinction site {own}"
            if own
            else "an unnamed Alliance for Zero Extinction site"
        )
        label = str(labels[i])
        if label.startswith(f"{AZE_LABEL} ") or label.startswith("id "):
            labels[i] = f"KBA {pa_id[i]}" + label[len(label.split(",")[0]) :]
    return names, labels


# --------------------------------------------------------------------------- sites in KBAs


def join_kbas(sites: gpd.GeoDataFrame, kbas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The sites with the KBAs holding them: ``kba_ids``, ``kba_names``, ``aze``.

    A point inside (or on the edge of) a KBA, a footprint overlapping it, is held by it.
    ``kba_ids`` and ``kba_names`` are ``;``-joined in id order (empty when none); ``aze``
    (bool) says whether one of them is an AZE site. Sites in a layer read for a box must lie
    in the box; KBAs all farther than 500 km from every site give an
    :class:`~asm_pace.errors.ExtentWarning` (a layer of another region).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> kbas = gpd.GeoDataFrame({"kba_id": ["12", "3"], "kba_name": ["Alto", "Bajo"],
    ...     "aze": [True, False]}, geometry=[shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)],
    ...     crs=4326)
    >>> sites = gpd.GeoDataFrame({"site_id": ["S1", "S2", "S3"]}, geometry=[
    ...     shapely.Point(1.5, 1.5), shapely.Point(2.5, 2.5), shapely.Point(2.5, 0.5)], crs=4326)
    >>> join_kbas(sites, kbas)[["kba_ids", "kba_names", "aze"]].to_dict("list")
    {'kba_ids': ['3;12', '3', ''], 'kba_names': ['Bajo;Alto', 'Bajo', ''], 'aze': [True, False, False]}
    """
    cols, _ = _kba_columns(sites, kbas)
    out = sites.copy()
    for name, values in cols.items():
        out[name] = pd.Series(values, index=out.index)
    return out


def _kba_columns(
    sites: gpd.GeoDataFrame, kbas: gpd.GeoDataFrame
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The three KBA columns and, per site, the reason's sentence on non-AZE KBAs."""
    from ._nearest import layer_box
    from .classification import (
        _and_list,
        _natural_rank,
        _prepare,
        _refuse_outside_box,
        _site_geometries,
    )
    from .geodesy import box_around

    _require(kbas, ("kba_id", "kba_name", "aze"), "kbas")
    k = _prepare(kbas, "kbas", ())  # the CRS policy: a layer without a CRS is refused
    geoms = _site_geometries(_prepare(sites, "sites", ()))
    n = len(geoms)
    _refuse_outside_box(sites, geoms, layer_box(kbas, "KBAs"), kbas, "KBAs")
    kgeoms = np.asarray(k.geometry.values, dtype=object)
    ids = k["kba_id"].astype(str).to_numpy(dtype=object)
    names = k["kba_name"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    aze_k = k["aze"].fillna(False).to_numpy(dtype=bool)
    if n and len(k):
        near = box_around(tuple(shapely.total_bounds(geoms)), 500.0)
        if not shapely.intersects(shapely.box(*near), kgeoms).any():
            warnings.warn(
                f"{source_name(kbas)}: none of its {len(k)} KBA(s) lies within 500 km of a "
                "site: KBAs of another region? (no site is in a KBA)",
                ExtentWarning,
                stacklevel=4,
            )
    tree = shapely.STRtree(geoms)
    ki, si = tree.query(kgeoms, predicate="intersects")
    rank = _natural_rank(ids)
    order = np.lexsort((rank[ki], si))
    ki, si = ki[order], si[order]
    if si.size:  # several parts of one KBA count once
        dup = np.r_[False, (si[1:] == si[:-1]) & (ids[ki[1:]] == ids[ki[:-1]])]
        ki, si = ki[~dup], si[~dup]
    kba_ids = np.full(n, "", dtype=object)
    kba_names = np.full(n, "", dtype=object)
    aze = np.zeros(n, dtype=bool)
    np.logical_or.at(aze, si, aze_k[ki])
    sentence = np.full(n, "", dtype=object)
    if si.size:
        starts = np.flatnonzero(np.r_[True, si[1:] != si[:-1]])
        for s, group in zip(si[starts], np.split(ki, starts[1:]), strict=True):
            kba_ids[s] = ";".join(ids[group])
            kba_names[s] = ";".join(names[group])
            plain = [g for g in group if not aze_k[g]]
            if len(plain) == 1 and not names[plain[0]]:
                sentence[s] = (
                    f"; also inside an unnamed Key Biodiversity Area (KBA {ids[plain[0]]})"
                )
            elif plain:
                named = [f"{names[g] or 'an unnamed one'} (KBA {ids[g]})" for g in plain]
                noun = "Key Biodiversity Areas" if len(plain) > 1 else "Key Biodiversity Area"
                sentence[s] = f"; also inside {noun} {_and_list(named)}"
    return {"kba_ids": kba_ids, "kba_names": kba_names, "aze": aze}, sentence


def _add_kba_columns(result: gpd.GeoDataFrame, kbas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``classify``'s result with ``kba_ids``, ``kba_names``, ``aze`` (before ``reason``) and
    the reason's sentence on the non-AZE KBAs holding each site."""
    cols, sentence = _kba_columns(result, kbas)
    # a site column named like one of these (also in another case: a GeoPackage's field
    # names ignore case) is replaced, as classify replaces its own
    folded = {c.casefold() for c in cols}
    out = result.drop(
        columns=[c for c in result.columns if isinstance(c, str) and c.casefold() in folded]
    )
    at = list(out.columns).index("reason") if "reason" in out.columns else len(out.columns)
    for offset, (name, values) in enumerate(cols.items()):
        out.insert(at + offset, name, pd.Series(values, index=out.index))
    if "reason" in out.columns:
        out["reason"] = out["reason"].astype(str).to_numpy(dtype=object) + sentence
    return out


def _require(layer: object, columns: Sequence[str], what: str) -> None:
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(
            f"{what} must be a GeoDataFrame from asm_pace.read_kbas; got {type(layer).__name__}"
        )
    missing = [c for c in columns if c not in layer.columns]
    if missing:
        raise SchemaError(
            f"{source_name(layer)}: {what} lacks the column(s) {', '.join(missing)}; read the "
            "KBA file with asm_pace.read_kbas (kbas= / --kbas)"
        )
    if not len(layer):
        raise InputError(
            f"{source_name(layer)}: {what} holds no KBA: an empty layer would flag no site and "
            "may hide a filter that emptied it; check it, or leave out kbas= (--kbas)"
        )
