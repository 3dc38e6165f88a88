"""Protected areas: the WDPA (and national or OSM layers), read and cleaned to one schema.

:func:`read_protected_areas` reads the World Database on Protected Areas exactly as Protected
Planet distributes it (File Geodatabase, the shapefile zips with their zips inside, GeoPackage),
both the polygon and the point layers, with the legacy field names (``WDPAID``, ``WDPA_PID``,
``NAME``, ``ORIG_NAME``, ``MARINE``, ``PA_DEF`` ...) and the WDPCA names used since the
November 2025 release (``SITE_ID``, ``SITE_PID``, ``NAME_ENG``, ``NAME``, ``REALM``,
``SITE_TYPE`` ...), and applies the cleaning policy of ``docs/wdpa.md`` (after the R package
wdpar, Hanson 2022, and Protected Planet's coverage method).

Examples
--------
>>> import warnings
>>> from asm_pace import read_protected_areas
>>> from asm_pace.datasets import sample_path
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")  # the samples hold an invalid polygon on purpose
...     pas = read_protected_areas(sample_path("protected_areas.gpkg"))
>>> pas.crs.to_epsg(), "pa_id" in pas.columns
(4326, True)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from ._vector import (
    _PARQUET,
    ENGINES,
    LayerRef,
    carry_mark,
    layer_refs,
    named_refs,
    read_layer,
    refuse_tables,
    repair_polygons_counted,
    row_list,
    short_error,
    source_name,
    to_wgs84,
)
from .errors import (
    DroppedRecordsWarning,
    EmptyBoxError,
    InputError,
    LayerChoiceError,
    LayerNotFoundError,
    NoStatusFilterWarning,
    ReadError,
    SchemaError,
    UnreadableValueWarning,
)
from .geodesy import WGS84, circle_radius_for_area, geodesic_circles

__all__ = [
    "read_protected_areas",
    "DEFAULT_STATUSES",
    "WDPA_STATUSES",
    "PA_COLUMNS",
    "POINT_POLICIES",
]

#: STATUS values kept by default: areas in force (wdpar's ``retain_status``; Protected
#: Planet's coverage statistics).
DEFAULT_STATUSES: tuple[str, ...] = ("Designated", "Inscribed", "Established")

#: Every STATUS value the WDPA uses (WDPA User Manual 1.6, table 4).
WDPA_STATUSES: tuple[str, ...] = (
    "Proposed",
    "Inscribed",
    "Adopted",
    "Designated",
    "Established",
    "Not Reported",
)

#: What to do with WDPA point records (sites reported without a boundary).
POINT_POLICIES: tuple[str, ...] = ("circles", "drop")

#: The output columns, in order (docs/design.md, "Protected areas").
PA_COLUMNS: tuple[str, ...] = (
    "pa_id",
    "wdpa_pid",
    "name",
    "orig_name",
    "designation",
    "designation_type",
    "iucn_category",
    "status",
    "status_year",
    "rep_area_km2",
    "marine",
    "iso3",
    "world_heritage",
    "ramsar",
    "origin",
    "geometry",
)

#: The largest area (km2) a point record's circle may have: more than any protected area on
#: Earth (the largest, Marae Moana, reports about 1.98 million km2). A larger REP_AREA is an
#: error in the data (or a unit mix-up), not a circle to draw.
MAX_POINT_AREA_KM2 = 3_000_000.0

# STATUS_YR values from before this year, or after the current one, are not status years
# (text, negative, 99999, a date to come...): left empty with a warning. 0 means "not
# reported" in the WDPA and is left empty silently.
_FIRST_YEAR = 1000

# Point records are pre-filtered with the bbox widened by this many degrees, so a point just
# outside the box whose circle reaches into it is still read (a 2-degree margin covers circles
# of up to ~150,000 km2 at the equator).
_POINT_BBOX_MARGIN_DEG = 2.0

# Field names, legacy WDPA first, then the WDPCA (November 2025) name. Matched ignoring case.
_ID_FIELDS = ("WDPAID", "SITE_ID")
_PID_FIELDS = ("WDPA_PID", "SITE_PID")
_WDPA_MARKERS = {"wdpaid", "site_id", "wdpa_pid", "site_pid", "iucn_cat", "pa_def", "site_type"}
# WDPCA marks its new schema by these fields; NAME then holds the original-language name.
_WDPCA_MARKERS = {"site_id", "site_pid", "name_eng", "realm", "site_type"}
# WWF's ecoregion layers (TEOW, Global 200): given as protected areas, every site inside an
# ecoregion would count as protected.
_ECOREGION_MARKERS = {"g200_num", "g200_biome", "g200_regio", "g200_stat", "eco_id"}
# REALM (WDPCA) and the words some cleaned copies (wdpar) write into MARINE, as MARINE codes
_REALM_CODES = {
    "0": "0",
    "1": "1",
    "2": "2",
    "terrestrial": "0",
    "coastal": "1",
    "partial": "1",
    "marine": "2",
}

# Name-like and id-like columns of non-WDPA layers (national agencies, OSM), matched ignoring
# case, in order of preference.
_NAME_LIKE = (
    "name",
    "name_eng",
    "nombre",
    "nome",
    "nom",
    "nombre_anp",
    "nomb_anp",
    "anp_nomb",
    "anp_nombre",
    "nom_anp",
    "pa_name",
    "area_name",
    "site_name",
    "sitename",
    "label",
)
_ID_LIKE = (
    "wdpaid",
    "site_id",
    "pa_id",
    "id",
    "code",
    "codigo",
    "cod",
    "anp_codi",
    "anp_cod",
    "uid",
    "gid",
)
_DESIGNATION_LIKE = ("desig_eng", "designation", "desig", "categoria", "category", "anp_cate")


@dataclass
class _Layer:
    """One layer to read, with its fields and CRS."""

    ref: LayerRef
    fields: list[str] = field(default_factory=list)
    crs: Any = None

    @property
    def name(self) -> str:
        return self.ref.name

    @property
    def display(self) -> str:
        return self.ref.display

    @property
    def geometry_type(self) -> str:
        return self.ref.geometry_type


# --------------------------------------------------------------------------- public API


def read_protected_areas(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | Sequence[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    countries: str | Iterable[str] | None = None,
    statuses: Iterable[str] | None = DEFAULT_STATUSES,
    exclude_mab: bool = True,
    exclude_oecm: bool = True,
    exclude_marine: bool = False,
    points: str = "circles",
    engine: str | None = None,
    source_label: str | None = None,
) -> gpd.GeoDataFrame:
    """Read protected areas (WDPA or any polygon layer) into the normalised schema.

    The WDPA cleaning policy (docs/wdpa.md), each step a keyword:

    1. ``bbox`` / ``countries``: only the areas in a lon/lat box or in some countries, filtered
       by GDAL while reading (a country out of the 300,000-feature global file in seconds);
       ``ISO3`` may hold several codes (``"BRA;PER"``, ``"BRA, PER"``), any of them matches,
       ignoring case. A code that matches no record is refused (the message lists the
       file's codes): a typo would otherwise leave its sites outside every protected area.
    2. ``statuses``: keep STATUS Designated, Inscribed, Established (areas in force;
       ``None`` keeps all). A layer without a STATUS field cannot be filtered: every polygon
       counts as protected, with a :class:`~asm_pace.errors.NoStatusFilterWarning`. A STATUS
       outside :data:`WDPA_STATUSES` (ignoring case) is refused unless ``statuses=None``.
    3. ``exclude_mab``: drop UNESCO-MAB Biosphere Reserves, whose buffer and transition zones
       are not protected (Coetzer et al. 2014; wdpar): ``DESIG_ENG`` naming UNESCO or MAB and
       a biosphere reserve, or a "Biosphere Reserve" whose ``DESIG_TYPE`` is International.
       A WDPA layer without ``DESIG_ENG`` gets a warning (they cannot be told).
    4. ``exclude_oecm``: drop OECMs (``PA_DEF`` 0, or WDPCA ``SITE_TYPE`` "OECM"): they do not
       meet the IUCN protected-area definition. A ``PA_DEF`` other than 0 or 1 is refused.
    5. ``exclude_marine``: drop wholly marine areas (``MARINE`` "2" / ``REALM`` "Marine");
       kept by default, as Protected Planet and wdpar keep them. A ``MARINE`` other than 0,
       1, 2 (or no such field) is refused.
    6. ``points``: ``"circles"`` turns each point record with a reported area (``REP_AREA`` >
       0 km2) into a geodesic circle of that area (``origin`` "point_circle"; as wdpar does,
       Visconti et al. 2013) and drops point records without one, with a
       :class:`~asm_pace.errors.DroppedRecordsWarning` that says how many; ``"drop"`` drops
       every point record. A REP_AREA that is not an area (text, negative, more than
       :data:`MAX_POINT_AREA_KM2`) is refused.
    7. Invalid polygons are repaired (``shapely.make_valid``, a
       :class:`~asm_pace.errors.RepairedGeometryWarning` with the count); polygons with no
       area once repaired are dropped with a warning; multipolygons split at the antimeridian
       keep all their parts.

    Whenever a step leaves no protected area, the reader refuses (an
    :class:`~asm_pace.errors.InputError` naming the step, what the file holds and the option
    to change) rather than return an empty layer that would make every site "not eligible".
    ``STATUS_YR`` is only reported: a value that is not a year is left empty with an
    :class:`~asm_pace.errors.UnreadableValueWarning`.

    Parameters
    ----------
    source : path or GeoDataFrame
        A GeoPackage, File Geodatabase (``.gdb`` folder or zipped), shapefile (or a zip of
        shapefiles, or Protected Planet's zip of zips), GeoJSON, TopoJSON, KML, FlatGeobuf,
        GeoParquet, or a GeoDataFrame.
    layer : str or list of str, optional
        The layer(s) to read; by default the only polygon or point layer, or every polygon and
        point layer when each has WDPA fields (the WDPA's polygons and points). Several layers
        that are not all WDPA (``parks`` beside ``admin_boundaries``) raise a
        :class:`~asm_pace.errors.LayerChoiceError` listing them.
    bbox : (min_lon, min_lat, max_lon, max_lat), optional
        Keep areas intersecting this box (EPSG:4326 degrees, whatever the file's CRS).
    countries : str or list of str, optional
        ISO 3166-1 alpha-3 codes (``"PER"``, ``["BRA", "PER"]``).
    statuses : list of str or None, default ("Designated", "Inscribed", "Established")
        STATUS values to keep, from :data:`WDPA_STATUSES`; ``None`` keeps every status.
    exclude_mab : bool, default True
    exclude_oecm : bool, default True
    exclude_marine : bool, default False
    points : {"circles", "drop"}, default "circles"
    engine : {"pyogrio", "fiona"}, optional
        The I/O engine (default pyogrio).
    source_label : str, optional
        What the source is called in reasons and reports (``--pa-source-name`` on the
        command line): by default ``"WDPA"`` when every layer read has the WDPA's id field
        (``WDPAID`` / ``SITE_ID``), else the file's own name without its extensions
        (``ANP_Definitivas`` for ``ANP_Definitivas.shp``): a national layer's ``Code`` 100
        is "ANP_Definitivas 100", never "WDPA 100".

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`PA_COLUMNS` (docs/design.md), EPSG:4326, valid
        (Multi)Polygons, a fresh RangeIndex. ``attrs`` holds ``source``, ``layers``,
        ``cleaning`` (records removed by each step), ``counts`` (``read``: features read,
        after GDAL's filters; ``removed``: by step; ``repaired``: repaired and kept;
        ``used``: rows returned; read = sum(removed) + used), ``source_label`` (what the
        source is called, see ``source_label``) and, with ``bbox``, ``bbox`` (the lon/lat
        box within which the layer is complete).

    Raises
    ------
    ReadError, LayerNotFoundError
        Missing, empty or corrupt file; a layer that is not there (the message lists them).
    LayerChoiceError
        Several candidate layers that are not all WDPA (the message lists them).
    InputError
        An option outside its vocabulary (the message lists the valid values); a country
        code that matches nothing; a rule field value that cannot be read; no protected area
        left after a step.
    SchemaError
        ``countries=`` on a layer without an ISO3 field.

    References
    ----------
    Hanson JO (2022) wdpar: Interface to the World Database on Protected Areas. JOSS 7:4594.
    UNEP-WCMC (2019) User Manual for the WDPA and WD-OECM 1.6.

    Examples
    --------
    >>> import warnings
    >>> from asm_pace.datasets import sample_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     pas = read_protected_areas(sample_path("protected_areas.gpkg"), statuses=None)
    >>> sorted(set(pas["origin"]))
    ['point_circle', 'polygon']
    """
    status_keep = _check_statuses(statuses)
    if points not in POINT_POLICIES:
        raise InputError(f"points must be one of {', '.join(POINT_POLICIES)}; got {points!r}")
    if engine is not None and engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    box = _check_bbox(bbox)
    codes = _check_countries(countries)
    pa_label = _check_source_label(source_label)
    name = source_name(source)

    frames: list[pd.DataFrame] = []
    read_layers: list[str] = []
    sources: list[_Layer] = []
    for label, gdf, lyr in _read_layers(source, layer=layer, box=box, codes=codes, engine=engine):
        read_layers.append(label)
        frames.append(_normalise(gdf, source=name, layer=label))
        if lyr is not None:
            sources.append(lyr)
    data = pd.concat(frames, ignore_index=True)
    wdpa_ids = all(f["_wdpa_ids"].all() for f in frames)
    if pa_label is None:
        pa_label = "WDPA" if wdpa_ids else _file_label(source)
    n_read = len(data)
    log: dict[str, int] = {}

    def drop(
        frame: pd.DataFrame, keep: Any, step: str, why: Any, error: type = InputError
    ) -> pd.DataFrame:
        """Remove the records ``keep`` leaves out; refuse when none would be left."""
        keep = np.asarray(keep, dtype=bool)
        log[step] = int((~keep).sum())
        if len(frame) and not keep.any():
            raise error(f"{name}: {why(frame)}")
        return frame[keep]

    # 1. countries (exact: GDAL's LIKE filter may match a code inside another word); a code
    # that matches nothing is refused: a typo would otherwise leave its sites unprotected
    if codes is not None:
        found = _code_sets(data["iso3"])  # data's iso3 is text, never missing: same index
        keep = found.map(lambda cs: bool(cs & codes)).to_numpy(dtype=bool)
        unmatched = codes - set().union(set(), *found[keep])
        if unmatched:
            # in the file but outside the bbox is fine (a box around sites near a border)
            present = _codes_in_file(sources) if sources else set().union(set(), *found)
            if unmatched - present or box is None:
                missing = (unmatched - present) or unmatched
                raise _unmatched_countries(name, missing, codes, box, present)
        empty = InputError if box is None else EmptyBoxError
        data = drop(data, keep, "countries", lambda d: _in_box(codes, box), empty)
    if not n_read:
        if box is not None:
            raise EmptyBoxError(f"{name}: {_in_box(codes, box)}")
        raise ReadError(
            f"{name}: layer(s) {', '.join(read_layers)} hold no features; check that it is "
            "the protected-area file and export it again"
        )

    # 2. status: values outside the WDPA's vocabulary make the rule undefined, so refused
    unfiltered = sorted(set(data.loc[~data["_has_status"], "_layer"]))
    if status_keep is not None:
        has = data["_has_status"].to_numpy(dtype=bool)
        folded = data["status"].str.strip().str.casefold()
        unknown = has & ~folded.isin({s.casefold() for s in WDPA_STATUSES}).to_numpy()
        if unknown.any():
            raise InputError(
                f"{name}: STATUS of {int(unknown.sum())} feature(s) is not a WDPA status "
                f"({_examples(data[unknown], 'status')}); the WDPA uses "
                f"{', '.join(WDPA_STATUSES)}. Correct the values, or pass statuses=None "
                "(--all-statuses) to count every feature as protected"
            )
        wanted = [s for s in WDPA_STATUSES if s.casefold() in status_keep]
        data = drop(
            data,
            ~has | folded.isin(status_keep).to_numpy(),
            "statuses",
            lambda d: (
                f"none of its {len(d)} protected area(s) has STATUS {', '.join(wanted)} "
                f"(found: {_tally(d['status'])}), so none would count as protected; pass "
                "statuses=None (--all-statuses) to keep every status, or use a file with "
                "areas in force"
            ),
        )
    if unfiltered:
        warnings.warn(
            f"{name}: layer(s) {', '.join(unfiltered)} have no STATUS field, so no status "
            "filtering was possible: every feature counts as protected (proposed and "
            "degazetted areas included). Use the WDPA for status-aware results.",
            NoStatusFilterWarning,
            stacklevel=2,
        )

    # 3. UNESCO-MAB Biosphere Reserves
    if exclude_mab:
        blind = sorted(set(data.loc[data["_has_status"] & ~data["_has_desig"], "_layer"]))
        if blind:
            warnings.warn(
                f"{name}: layer(s) {', '.join(blind)} have no DESIG_ENG field, so UNESCO-MAB "
                "Biosphere Reserves cannot be recognised and left out: any there count as "
                "protected. Use a complete WDPA copy.",
                NoStatusFilterWarning,
                stacklevel=2,
            )
        data = drop(
            data,
            ~_is_mab(data["designation"], data["designation_type"]),
            "exclude_mab",
            lambda d: (
                f"all {len(d)} protected area(s) left are UNESCO-MAB Biosphere Reserves, "
                "which are left out (their buffer and transition zones are not protected); "
                "pass exclude_mab=False to keep them (--keep-biosphere-reserves on the command "
                "line)"
            ),
        )

    # 4. OECMs: a PA_DEF that is neither 1 nor 0 cannot be judged
    if exclude_oecm:
        bad = data["_pa_def_bad"].to_numpy(dtype=bool)
        if bad.any():
            raise InputError(
                f"{name}: PA_DEF of {int(bad.sum())} feature(s) is not 1 (protected area) or 0 "
                f"(OECM) ({_examples(data[bad], '_pa_def')}), so OECMs cannot be left out; "
                "correct the values, or pass exclude_oecm=False (--keep-oecms on the command "
                "line)"
            )
        data = drop(
            data,
            ~data["_oecm"],
            "exclude_oecm",
            lambda d: (
                f"all {len(d)} area(s) left are OECMs (PA_DEF 0 / SITE_TYPE OECM), which are "
                "not protected areas; pass exclude_oecm=False to keep them (--keep-oecms on "
                "the command line)"
            ),
        )

    # 5. marine: a MARINE value that is not 0, 1 or 2 cannot be judged
    if exclude_marine:
        bad = ~data["marine"].isin(["0", "1", "2"]).to_numpy()
        if bad.any():
            raise InputError(
                f"{name}: MARINE of {int(bad.sum())} feature(s) is not 0 (terrestrial), 1 "
                f"(coastal) or 2 (marine) ({_examples(data[bad], 'marine')}), so marine areas "
                "cannot be left out; correct the values (or the MARINE / REALM field), or pass "
                "exclude_marine=False (leave out --exclude-marine on the command line)"
            )
        data = drop(
            data,
            (data["marine"] != "2").to_numpy(),
            "exclude_marine",
            lambda d: (
                f"all {len(d)} protected area(s) left are marine (MARINE 2); pass "
                "exclude_marine=False to keep them (leave out --exclude-marine on the command line)"
            ),
        )

    # 6. point records
    polys, pts = _split_kinds(data, name, "feature(s)", log)
    n_outside = 0
    if box is not None and len(pts):
        # points were read with a widened box; judge area-less ones by their own location
        inside = shapely.intersects(np.asarray(pts["geometry"].values, dtype=object), box)
        has_area = pts["rep_area_km2"].to_numpy(dtype="float64") > 0
        n_outside = int((~(inside | has_area)).sum())
        pts = pts[inside | has_area]
    circles = pts.iloc[0:0]
    if len(pts):
        if points == "drop":
            log["points"] = len(pts)
        else:
            _check_point_areas(pts, name)
            area = pts["rep_area_km2"].to_numpy(dtype="float64")
            with_area = np.isfinite(area) & (area > 0)
            n_without = int((~with_area).sum())
            if n_without:
                warnings.warn(
                    f"{name}: {n_without} point record(s) without a reported area (REP_AREA) "
                    "dropped: a point marks no extent. Pass points='drop' (--pa-points drop "
                    "on the command line) to leave out every point record.",
                    DroppedRecordsWarning,
                    stacklevel=2,
                )
            log["points_without_area"] = n_without
            circles, n_polar = _point_circles(pts[with_area])
            if n_polar:
                warnings.warn(
                    f"{name}: {n_polar} point record(s) dropped because a circle of their "
                    "reported area would contain a pole",
                    DroppedRecordsWarning,
                    stacklevel=2,
                )
                log["points_polar"] = n_polar
    # 7. repairs
    polys = gpd.GeoDataFrame(polys, geometry="geometry", crs="EPSG:4326")
    polys, n_repaired, log["empty_after_repair"] = repair_polygons_counted(polys, source=name)
    out = pd.concat([polys, circles], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    if box is not None and len(out):
        keep = shapely.intersects(np.asarray(out.geometry.values, dtype=object), box)
        n_outside += int((~keep).sum())
        out = out[keep]
    if box is not None:
        log["bbox"] = n_outside
    if not len(out):
        raise InputError(f"{name}: no protected area is left: {_nothing_left(log, len(data))}")
    if log["empty_after_repair"]:
        warnings.warn(
            f"{name}: {log['empty_after_repair']} polygon(s) dropped: they have no area once "
            "repaired (degenerate rings, every vertex on a line)",
            DroppedRecordsWarning,
            stacklevel=2,
        )
    out = gpd.GeoDataFrame(out[list(PA_COLUMNS)].reset_index(drop=True), crs="EPSG:4326")
    counts = {"read": n_read, "removed": dict(log), "repaired": n_repaired, "used": len(out)}
    out.attrs = {
        "source": name,
        "layers": read_layers,
        "cleaning": log,
        "counts": counts,
        "source_label": pa_label,
        "wdpa_ids": wdpa_ids,  # pa_id holds WDPAIDs (pa_sources: the same area in two sources)
    }
    # the repaired polygons (and valid circles) need no check in classify or overlaps
    carry_mark(out, polys, circles["geometry"].to_numpy(dtype=object))
    if box is not None:
        out.attrs["bbox"] = tuple(float(v) for v in box.bounds)
    if codes is not None:  # reasons then say "nearest PER protected area"
        out.attrs["countries"] = sorted(codes)
    return out


def _split_kinds(
    data: pd.DataFrame, name: str, what: str, log: dict[str, int]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The polygon and point records of ``data`` (by its ``_kind`` column); the others
    (lines, missing or empty geometry) are dropped with a warning and counted in ``log``."""
    kind = data["_kind"].to_numpy()
    n_other = int((kind == "other").sum())
    if n_other:
        warnings.warn(
            f"{name}: {n_other} {what} dropped because their geometry is missing, empty or "
            "neither polygonal nor a point (lines)",
            DroppedRecordsWarning,
            stacklevel=3,
        )
        log["not_polygon_or_point"] = n_other
    return data[kind == "polygon"], data[kind == "point"]


def _examples(frame: pd.DataFrame, column: str, limit: int = 5) -> str:
    """``pa_id 'value'`` pairs for messages: the first few, and how many in all."""
    pairs = [f"{i} {v!r}" for i, v in zip(frame["pa_id"], frame[column], strict=True)]
    more = f" ... ({len(pairs)} in all)" if len(pairs) > limit else ""
    return "id " + ", ".join(pairs[:limit]) + more


def _tally(values: pd.Series) -> str:
    """``Proposed 3, Adopted 1``: each value and its count, most frequent first."""
    counts = values.replace("", "(empty)").value_counts()
    return ", ".join(f"{v} {n}" for v, n in counts.items())


def _nothing_left(log: dict[str, int], n: int) -> str:
    """Why the records left after the filters all went, step by step, with the fixes."""
    hints = {
        "not_polygon_or_point": "{} feature(s) are lines or have no geometry (choose the "
        "polygon layer with layer= / --pa-layer)",
        "points": "{} point record(s) left out by points='drop' (--pa-points drop); use "
        "--pa-points circles for circles of their reported area",
        "points_without_area": "{} point record(s) have no reported area (REP_AREA), so "
        "they mark no extent; use the file's polygon layer",
        "points_polar": "{} point record(s) would be circles containing a pole",
        "empty_after_repair": "{} polygon(s) have no area once repaired (degenerate rings); "
        "fix them in QGIS (Fix Geometries) or use a complete copy",
        "bbox": "{} record(s) lie outside the bbox",
    }
    said = [h.format(log[k]) for k, h in hints.items() if log.get(k)]
    return f"of the {n} record(s) left after the filters, " + "; ".join(said)


def _check_point_areas(pts: pd.DataFrame, name: str) -> None:
    """Refuse REP_AREA values that are not an area: text, negative, infinite, too large."""
    area = pts["rep_area_km2"].to_numpy(dtype="float64")
    bad = pts["_rep_bad"].to_numpy(dtype=bool) | (area > MAX_POINT_AREA_KM2)
    if bad.any():
        raise InputError(
            f"{name}: REP_AREA of {int(bad.sum())} point record(s) is not an area in km2 "
            f"({_examples(pts[bad], '_rep_raw')}; at most {MAX_POINT_AREA_KM2:,.0f}, more "
            "than any protected area), and a point record becomes a circle of that area. "
            "Correct the values, or pass points='drop' (--pa-points drop) to leave out every "
            "point record"
        )


def _in_box(codes: set[str] | None, box: shapely.Polygon | None) -> str:
    """The message for a bbox (and countries) that nothing meets."""
    of = f" of {', '.join(sorted(codes))}" if codes else ""
    return (
        f"no protected area{of} intersects bbox {tuple(box.bounds) if box else ''}; check the "
        "box (min_lon, min_lat, max_lon, max_lat) covers your sites"
    )


def _unmatched_countries(
    name: str, unmatched: set[str], codes: set[str], box: Any, present: set[str]
) -> InputError:
    """The error for ``countries=`` codes that match no record, listing the file's codes."""
    shown = sorted(present)
    listed = ", ".join(shown[:40]) + (f" ... ({len(shown)} in all)" if len(shown) > 40 else "")
    return InputError(
        f"{name}: no protected area has ISO3 {', '.join(sorted(unmatched))} "
        f"(asked for with countries= / --countries {','.join(sorted(codes))}); the file's "
        f"ISO3 codes are: {listed or 'none'}. Correct or remove the code(s) in --countries"
    )


def _code_sets(iso3: pd.Series) -> pd.Series:
    """Each record's ISO3 codes (``;``- or otherwise separated), upper case, as a set."""
    return iso3.dropna().astype(str).str.upper().str.findall(r"[A-Z]+").map(set)


def _codes_in(iso3: pd.Series) -> set[str]:
    """The ISO3 codes in a column of ``;``- (or otherwise) separated codes, upper case."""
    return set().union(set(), *_code_sets(iso3))


def _codes_in_file(layers: list[_Layer]) -> set[str]:
    """Every ISO3 code in the layers (their ISO3 column only, no filter)."""
    found: set[str] = set()
    for lyr in layers:
        iso = next((f for f in lyr.fields if f.casefold() == "iso3"), None)
        if iso is None:
            continue
        try:
            table = pyogrio.read_dataframe(
                lyr.ref.target, layer=lyr.name, columns=[iso], read_geometry=False
            )
        except Exception:  # the list only helps the message; the error stands without it
            continue
        found |= _codes_in(table[iso])
    return found


# --------------------------------------------------------------------------- options


def _check_statuses(statuses: Iterable[str] | None) -> set[str] | None:
    if statuses is None:
        return None
    if isinstance(statuses, str):
        statuses = [statuses]
    valid = {s.casefold(): s for s in WDPA_STATUSES}
    chosen = [str(s).strip() for s in statuses]
    if not chosen:
        raise InputError(
            "statuses= is empty, which would keep no protected area; pass the STATUS values "
            f"to keep ({', '.join(WDPA_STATUSES)}), or None to keep every status "
            "(--all-statuses on the command line)"
        )
    bad = [s for s in chosen if s.casefold() not in valid]
    if bad:
        raise InputError(
            f"unknown STATUS value(s) {bad}; the WDPA uses: {', '.join(WDPA_STATUSES)} "
            "(or pass statuses=None, --all-statuses on the command line, to keep all)"
        )
    return {s.casefold() for s in chosen}


def _check_source_label(label: str | None) -> str | None:
    """The stripped label, or None; an empty or multi-line label is refused."""
    if label is None:
        return None
    text = label.strip() if isinstance(label, str) else ""
    if not text or "\n" in text or "\r" in text:
        raise InputError(
            f"source_label= (--pa-source-name on the command line) must be a short one-line "
            f"name such as 'WDPA' or 'SERNANP'; got {label!r}"
        )
    return text


def _file_label(source: str | Path | gpd.GeoDataFrame) -> str:
    """A file's own name without its extensions (``ANP_Definitivas.shp.zip`` ->
    ``ANP_Definitivas``); a GeoDataFrame's ``attrs["source"]`` likewise, else ``"id"``."""
    name = source_name(source)
    if name.startswith("<"):
        return "id"
    path = Path(name.split("!")[0].rstrip("/\\"))
    stem = path.name
    while (suffix := Path(stem).suffix) and suffix[1:].isalpha() and Path(stem).stem:
        stem = Path(stem).stem
    return stem or "id"


def _check_bbox(bbox: Sequence[float] | None) -> shapely.Polygon | None:
    if bbox is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"bbox must be (min_lon, min_lat, max_lon, max_lat) in degrees; got {bbox!r}"
        ) from err
    if not (
        -180.0 <= minx < maxx <= 180.0
        and -90.0 <= miny < maxy <= 90.0
        and np.isfinite([minx, miny, maxx, maxy]).all()
    ):
        raise InputError(
            f"bbox {bbox!r} is not (min_lon, min_lat, max_lon, max_lat) in degrees with "
            "min < max, longitudes in [-180, 180] and latitudes in [-90, 90]"
        )
    return shapely.box(minx, miny, maxx, maxy)


def _check_countries(countries: str | Iterable[str] | None) -> set[str] | None:
    if countries is None:
        return None
    if isinstance(countries, str):
        countries = [countries]
    codes = [str(c).strip().upper() for c in countries]
    bad = [c for c in codes if not re.fullmatch(r"[A-Z]{3}", c)]
    if bad or not codes:
        raise InputError(
            f"countries= must be ISO 3166-1 alpha-3 codes such as 'PER' or ['BRA', 'PER'] "
            f"(--countries PER,BRA); got {', '.join(map(repr, bad)) or 'none'}"
        )
    return set(codes)


# --------------------------------------------------------------------------- reading


def _read_layers(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | Sequence[str] | None,
    box: shapely.Polygon | None,
    codes: set[str] | None,
    engine: str | None,
) -> Iterable[tuple[str, gpd.GeoDataFrame, _Layer | None]]:
    """Yield ``(layer label, GeoDataFrame in EPSG:4326, layer)`` for every layer to read.

    The layer is None for a GeoDataFrame or GeoParquet source (read whole, no field list).
    """
    if isinstance(source, gpd.GeoDataFrame):
        if codes is not None:
            _iso3_field(list(source.columns), source_name(source))
        yield "<GeoDataFrame>", to_wgs84(source, source=source_name(source)), None  # a copy
        return
    layers = _find_layers(Path(source), layer)
    for lyr in layers:
        where = None
        columns = _columns_to_read(lyr.fields)
        if codes is not None:
            iso = _iso3_field(lyr.fields, f"{lyr.display} layer {lyr.name!r}")
            # ignoring case ("per", "Bra;Per"): ILIKE in OGR SQL (whose LIKE minds case),
            # LIKE where SQLite reads the filter (GeoPackage), which has no ILIKE
            where = " OR ".join(f"{iso} ILIKE '%{c}%'" for c in sorted(codes))
        native_box = None
        if box is not None and lyr.fields:  # GeoParquet (no field list): filtered afterwards
            margin = _POINT_BBOX_MARGIN_DEG if "point" in lyr.geometry_type.lower() else 0.0
            native_box = _box_in_crs(box, lyr.crs, margin)
        try:
            gdf = read_layer(lyr.ref, bbox=native_box, where=where, columns=columns, engine=engine)
        except ReadError:
            if where is None:
                raise
            where = where.replace(" ILIKE ", " LIKE ")
            gdf = read_layer(lyr.ref, bbox=native_box, where=where, columns=columns, engine=engine)
        label = lyr.name if lyr.display == str(source) else f"{lyr.display}:{lyr.name}"
        yield (
            label,
            to_wgs84(gdf, source=f"{lyr.display} layer {lyr.name!r}"),
            lyr if lyr.fields else None,
        )


def _find_layers(path: Path, layer: str | Sequence[str] | None) -> list[_Layer]:
    """The layers to read, with their fields and CRS.

    The ones asked for; else the only polygon or point layer; else every polygon and point
    layer when each looks like the WDPA (its fields: :func:`_looks_wdpa`), as the WDPA's
    polygons and points do. Several layers that do not all look like the WDPA (``parks``
    beside ``admin_boundaries``) are refused with their names: unioning an unrelated layer
    into the protected areas would be a wrong answer.
    """
    refs = layer_refs(path)
    refuse_tables(refs, source=path, what="protected areas", option="--protected-areas (-p)")
    if layer is not None:
        wanted = [layer] if isinstance(layer, str) else list(layer)
        # a layer named twice (polygons, POLYGONS) is read once: twice would count its areas twice
        picked = dict.fromkeys(ref for w in wanted for ref in named_refs(refs, w, source=path))
        chosen = [_Layer(ref) for ref in picked]
    else:
        found = [_Layer(ref) for ref in refs]
        chosen = [lyr for lyr in found if _polygon_or_point(lyr.geometry_type)]
        if not chosen:
            described = ", ".join(f"{lyr.name} ({lyr.geometry_type})" for lyr in found)
            raise LayerNotFoundError(
                f"{path}: no polygon or point layer found; its layers are: "
                f"{described or 'none'}. Choose one with layer= (--pa-layer)."
            )
    for lyr in chosen:
        _layer_info(lyr)
    if layer is None and len(chosen) > 1 and not all(_looks_wdpa(c.fields) for c in chosen):
        described = ", ".join(
            f"{c.name} ({c.geometry_type}{', WDPA fields' if _looks_wdpa(c.fields) else ''})"
            for c in chosen
        )
        raise LayerChoiceError(
            f"{path}: several layers could hold the protected areas ({described}) and not "
            "all have WDPA fields, so which to read is unclear; choose with --pa-layer NAME "
            "(repeat it for several; layer= in Python)"
        )
    return chosen


def _looks_wdpa(fields: Iterable[str]) -> bool:
    """Whether a layer's fields are the WDPA's (legacy or WDPCA), ignoring case."""
    cols = {str(f).casefold() for f in fields}
    return bool(cols & _WDPA_MARKERS) or {"status", "desig_eng"} <= cols


def _polygon_or_point(gtype: str) -> bool:
    g = gtype.lower()
    return "polygon" in g or "point" in g or g in ("unknown", "geometry", "geometrycollection")


def _layer_info(lyr: _Layer) -> None:
    """Fill in the layer's fields and CRS (GeoParquet: left empty, read whole)."""
    if Path(lyr.ref.target).suffix.lower() in _PARQUET:
        return
    target = lyr.ref.target
    try:
        info = pyogrio.read_info(target, layer=lyr.name)
    except Exception as err:
        raise ReadError(
            f"{lyr.display}: cannot read layer {lyr.name!r} ({short_error(err)}); "
            "check the file is complete and opens in QGIS"
        ) from err
    lyr.fields = [str(f) for f in info["fields"]]
    lyr.crs = info["crs"]


def _columns_to_read(fields: list[str]) -> list[str] | None:
    """Only the WDPA fields asm_pace uses (faster on the global file); all for other layers."""
    if not fields:
        return None
    if not _looks_wdpa(fields):
        return None
    wanted = {
        "wdpaid",
        "site_id",
        "wdpa_pid",
        "site_pid",
        "pa_def",
        "site_type",
        "name",
        "name_eng",
        "orig_name",
        "desig_eng",
        "desig_type",
        "iucn_cat",
        "status",
        "status_yr",
        "rep_area",
        "marine",
        "realm",
        "iso3",
    }
    return [f for f in fields if f.casefold() in wanted]


def _iso3_field(fields: list[str], where: str) -> str:
    for f in fields:
        if f.casefold() == "iso3":
            return f
    raise SchemaError(
        f"{where}: countries= (--countries) needs an ISO3 field, and the layer has only: "
        f"{', '.join(fields) or 'no attribute fields'}. Leave out --countries (in Python, "
        "bbox= keeps the areas in a box instead)"
    )


def _box_in_crs(
    box: shapely.Polygon, crs: Any, margin: float
) -> tuple[float, float, float, float] | None:
    """The lon/lat box (widened by ``margin`` degrees) in the layer's CRS, for GDAL's filter."""
    minx, miny, maxx, maxy = box.bounds
    minx, miny = max(minx - margin, -180.0), max(miny - margin, -90.0)
    maxx, maxy = min(maxx + margin, 180.0), min(maxy + margin, 90.0)
    if crs is None:
        return (minx, miny, maxx, maxy)
    try:
        target = CRS.from_user_input(crs)
        if target.is_geographic and target.to_epsg() in (4326, 4979, None) and _is_wgs84(target):
            return (minx, miny, maxx, maxy)
        tr = Transformer.from_crs("EPSG:4326", target, always_xy=True)
        out = tr.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
    except Exception:  # an unusual CRS: read everything, filter after reprojecting
        return None
    if not np.isfinite(out).all():
        return None
    return tuple(float(v) for v in out)  # type: ignore[return-value]


def _is_wgs84(crs: CRS) -> bool:
    try:
        return crs.ellipsoid is not None and crs.ellipsoid.name == "WGS 84"
    except Exception:  # pragma: no cover
        return False


# --------------------------------------------------------------------------- normalising


def _col(df: pd.DataFrame, *names: str) -> str | None:
    """The first column of ``df`` matching one of ``names``, ignoring case."""
    geometry = df.geometry.name  # once: each .geometry access costs a lookup
    lookup = {str(c).casefold(): c for c in df.columns if c != geometry}
    for n in names:
        if n.casefold() in lookup:
            return lookup[n.casefold()]
    return None


def _text(df: pd.DataFrame, column: str | None) -> pd.Series:
    """A column as clean text ("" for missing); numbers without a spurious ``.0``."""
    if column is None:
        return pd.Series("", index=df.index, dtype="object")
    s = df[column]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        num = pd.to_numeric(s, errors="coerce")
        integral = num.notna() & np.isfinite(num) & (num == np.round(num))
        out = num.astype("object").map(lambda v: "" if pd.isna(v) else repr(float(v)))
        out[integral] = num[integral].astype("int64").astype(str)
        return out.astype("object")
    return s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))


def _ids(df: pd.DataFrame, column: str | None) -> pd.Series:
    text = _text(df, column).str.strip()
    return text.astype("object")


def _find_like(df: pd.DataFrame, names: Sequence[str], *, text_only: bool = True) -> str | None:
    col = _col(df, *names)
    if col is not None:
        return col
    if not text_only:
        return None
    for c in df.columns:
        if c == df.geometry.name:
            continue
        low = str(c).casefold()
        if ("name" in low or "nomb" in low or "nome" in low) and df[c].dtype == object:
            return c
    return None


def _normalise(gdf: gpd.GeoDataFrame, *, source: str, layer: str) -> pd.DataFrame:
    """One layer's records in the output schema, plus private helper columns."""
    cols = {str(c).casefold() for c in gdf.columns}
    wdpa = _looks_wdpa(cols)
    wdpca = bool(cols & _WDPCA_MARKERS)
    eco = sorted(c.upper() for c in cols & _ECOREGION_MARKERS)
    if eco and not wdpa:
        raise SchemaError(
            f"{source}: layer {layer!r} has the fields of WWF's ecoregions ({', '.join(eco)}) "
            "and none of the WDPA's, so it is not a protected-area layer (every site in an "
            "ecoregion would count as protected); give it to --ecoregions (-e) and the "
            "protected areas to --protected-areas (-p)"
        )
    out = pd.DataFrame(index=gdf.index)

    id_col = _col(gdf, *_ID_FIELDS)
    if id_col is None and not wdpa:
        cand = _col(gdf, *_ID_LIKE)
        if cand is not None and gdf[cand].notna().all() and gdf[cand].is_unique:
            id_col = cand
    ids = _ids(gdf, id_col)
    # ids are WDPA ids when read from WDPAID, or from SITE_ID beside other WDPCA fields
    # (a national layer may call its own ids site_id)
    out["_wdpa_ids"] = id_col is not None and (
        str(id_col).casefold() == "wdpaid"
        or (str(id_col).casefold() == "site_id" and bool(cols & _WDPCA_MARKERS - {"site_id"}))
    )
    missing = ids == ""
    if missing.any():
        gen = pd.Series([f"PA{i + 1}" for i in range(len(gdf))], index=gdf.index)
        ids = ids.where(~missing, gen)
    out["pa_id"] = ids
    out["wdpa_pid"] = _ids(gdf, _col(gdf, *_PID_FIELDS))
    if wdpca and _col(gdf, "NAME_ENG") is not None:
        out["name"] = _text(gdf, _col(gdf, "NAME_ENG"))
        out["orig_name"] = _text(gdf, _col(gdf, "NAME"))
    else:
        out["name"] = _text(gdf, _find_like(gdf, ("NAME",) if wdpa else _NAME_LIKE))
        out["orig_name"] = _text(gdf, _col(gdf, "ORIG_NAME"))
    desig = _col(gdf, "DESIG_ENG") if wdpa else _col(gdf, *_DESIGNATION_LIKE)
    out["designation"] = _text(gdf, desig)
    out["_has_desig"] = desig is not None
    out["designation_type"] = _text(gdf, _col(gdf, "DESIG_TYPE"))
    out["iucn_category"] = _text(gdf, _col(gdf, "IUCN_CAT"))
    status_col = _col(gdf, "STATUS")
    out["status"] = _text(gdf, status_col)
    out["status_year"] = _status_years(gdf, _col(gdf, "STATUS_YR"), source=source, layer=layer)
    area_raw = _text(gdf, _col(gdf, "REP_AREA")).str.strip()
    area = pd.to_numeric(area_raw.where(area_raw != ""), errors="coerce").astype("float64")
    out["rep_area_km2"] = area
    out["_rep_raw"] = area_raw
    # written but not a finite, non-negative number ("n/a", -5, inf): not an area
    out["_rep_bad"] = ((area_raw != "") & ~(np.isfinite(area) & (area >= 0))).astype(bool)
    marine_col = _col(gdf, "MARINE")
    realm_col = _col(gdf, "REALM") if wdpca else None
    marine = marine_col if marine_col is not None else realm_col
    raw = _text(gdf, marine).str.strip()
    out["marine"] = raw.str.casefold().map(_REALM_CODES).fillna(raw)
    out["iso3"] = _text(gdf, _col(gdf, "ISO3")).str.strip()
    d = out["designation"].str.casefold()
    out["world_heritage"] = d.str.contains("world heritage", regex=False).astype(bool)
    out["ramsar"] = d.str.contains("ramsar", regex=False).astype(bool)

    geoms = np.asarray(gdf.geometry.values, dtype=object)
    gtype = shapely.get_type_id(geoms)  # -1 missing, 0/4 point/multipoint, 3/6 polygons
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kind = np.where(
        np.isin(gtype, (3, 6)), "polygon", np.where(np.isin(gtype, (0, 4)), "point", "other")
    )
    kind = np.where(empty, "other", kind)
    out["origin"] = "polygon"
    out["_kind"] = kind
    out["_has_status"] = status_col is not None
    out["_layer"] = layer
    pa_def = _col(gdf, "PA_DEF")
    site_type = _col(gdf, "SITE_TYPE")
    oecm = pd.Series(False, index=gdf.index)
    out["_pa_def"] = ""
    out["_pa_def_bad"] = False  # PA_DEF written but neither 1 (PA) nor 0 (OECM)
    if pa_def is not None:
        flag = _text(gdf, pa_def).str.strip()
        oecm |= flag == "0"
        out["_pa_def"] = flag
        out["_pa_def_bad"] = ~flag.isin(["0", "1"])
    if site_type is not None:
        oecm |= _text(gdf, site_type).str.strip().str.casefold() == "oecm"
    out["_oecm"] = oecm.astype(bool)
    out["geometry"] = geoms
    return out


def _status_years(gdf: pd.DataFrame, column: str | None, *, source: str, layer: str) -> pd.Series:
    """STATUS_YR as Int64: 0 or missing is ``<NA>`` (the WDPA's "not reported").

    A value that is not a past year (text, a fraction, before 1000 or after this year) is left
    ``<NA>`` too, with an :class:`~asm_pace.errors.UnreadableValueWarning` naming the features:
    :func:`asm_pace.forest_loss` then counts the area's loss apart, as of unknown year.
    """
    import datetime

    if column is None:
        return pd.Series(pd.NA, index=gdf.index, dtype="Int64")
    raw = _text(gdf, column).str.strip()
    year = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    ok = year.between(_FIRST_YEAR, datetime.date.today().year) & (year == year.round())
    bad = ((raw != "") & (year != 0) & ~ok).to_numpy()
    if bad.any():
        warnings.warn(
            f"{source}: STATUS_YR of {int(bad.sum())} feature(s) of layer {layer} is not a "
            f"year (rows {row_list(bad)}: {', '.join(map(repr, sorted(set(raw[bad]))[:5]))}); "
            "left empty",
            UnreadableValueWarning,
            stacklevel=4,
        )
    return year.where(ok).round().astype("Int64")


def _is_mab(designation: pd.Series, designation_type: pd.Series) -> pd.Series:
    """UNESCO-MAB Biosphere Reserves: DESIG_ENG naming UNESCO or MAB and a biosphere reserve,
    or a "Biosphere Reserve" whose DESIG_TYPE is International (national biosphere reserves,
    e.g. Mexico's, are protected areas and kept)."""
    d = designation.str.strip().str.casefold()
    biosphere = d.str.contains("biosphere", regex=False)
    international = designation_type.str.strip().str.casefold() == "international"
    return (d == "unesco-mab biosphere reserve") | (
        biosphere
        & (
            d.str.contains("unesco", regex=False)
            | d.str.contains("mab", regex=False)
            | international
        )
    )


def _point_circles(pts: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Geodesic circles of each point record's reported area (MultiPoints: shared equally).

    Returns the records with circle geometries and ``origin`` "point_circle", and how many
    were dropped because their circle would contain a pole.
    """
    if not len(pts):
        return pts.copy(), 0
    geoms = np.asarray(pts["geometry"].values, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    counts = np.bincount(owner, minlength=len(geoms))
    area_m2 = pts["rep_area_km2"].to_numpy(dtype="float64")[owner] * 1e6 / counts[owner]
    radius = circle_radius_for_area(area_m2)
    lon, lat = shapely.get_x(parts), shapely.get_y(parts)
    _, _, to_pole = WGS84.inv(lon, lat, lon, np.where(lat >= 0, 90.0, -90.0))
    polar_part = radius >= to_pole
    polar = np.zeros(len(geoms), dtype=bool)
    polar[owner[polar_part]] = True
    ok_part = ~polar[owner]
    circles = np.empty(len(geoms), dtype=object)
    if ok_part.any():
        made = geodesic_circles(lon[ok_part], lat[ok_part], radius[ok_part])
        own = owner[ok_part]
        single = counts[own] == 1
        circles[own[single]] = made[single]
        for i in np.unique(own[~single]):
            circles[i] = shapely.union_all(made[own == i])
    out = pts[~polar].copy()
    out["geometry"] = circles[~polar]
    out["origin"] = "point_circle"
    return out, int(polar.sum())
