"""Ecoregions (WWF TEOW with its Global 200 fields) and WWF priority landscapes.

The Global 200 rule (Olson & Dinerstein 2002), one per layer, by the fields it has:

1. ``G200_NUM`` (TEOW): Global 200 when ``G200_NUM > 0``;
2. else ``G200_BIOME`` (TEOW copies without ``G200_NUM``): when ``G200_BIOME > 0``;
3. else ``G200_REGIO`` in a Global 200 layer (no ``ECO_ID``): when the region is not empty;
4. else (also a TEOW layer, with ``ECO_ID``, that has only ``G200_REGIO``): a
   :class:`~asm_pace.errors.SchemaError` naming the fields expected. Some distributed copies of
   TEOW fill ``G200_REGIO`` on polygons whose ``G200_NUM`` is 0, so in TEOW the region name
   alone is not trusted.

A ``G200_NUM`` / ``G200_BIOME`` value that is not a number of that field (``"n/a"``, ``-1``,
``3.5``, beyond the largest) is an :class:`~asm_pace.errors.InputError` naming the file, the
feature, the field and the value. TEOW's ``-9999`` / ``-9998`` (rock and ice, lakes) are not
Global 200. Missing values count as not Global 200 with an
:class:`~asm_pace.errors.UnreadableValueWarning` naming the rows; a field missing in every
feature is refused.

Examples
--------
>>> from asm_pace import read_ecoregions
>>> from asm_pace.datasets import sample_path
>>> eco = read_ecoregions(sample_path("ecoregions.gpkg"))
>>> eco.crs.to_epsg(), eco["is_g200"].dtype
(4326, dtype('bool'))
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._geometry import TYPE_NAMES
from ._vector import (
    LayerRef,
    carry_mark,
    choose_layer,
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
    InputError,
    ReadError,
    SchemaError,
    UnreadableValueWarning,
)
from .protected_areas import _ECOREGION_MARKERS, _col, _Layer, _layer_info, _looks_wdpa, _text

__all__ = [
    "read_ecoregions",
    "read_priority_landscapes",
    "TEOW_BIOMES",
    "ECOREGION_COLUMNS",
    "LANDSCAPE_NAME_COLUMNS",
]

#: The 14 biomes of the WWF Terrestrial Ecoregions of the World (Olson et al. 2001,
#: BioScience 51:933-938), by TEOW ``BIOME`` number; 98 and 99 are TEOW's lake and
#: rock-and-ice polygons.
TEOW_BIOMES: dict[int, str] = {
    1: "Tropical & Subtropical Moist Broadleaf Forests",
    2: "Tropical & Subtropical Dry Broadleaf Forests",
    3: "Tropical & Subtropical Coniferous Forests",
    4: "Temperate Broadleaf & Mixed Forests",
    5: "Temperate Conifer Forests",
    6: "Boreal Forests/Taiga",
    7: "Tropical & Subtropical Grasslands, Savannas & Shrublands",
    8: "Temperate Grasslands, Savannas & Shrublands",
    9: "Flooded Grasslands & Savannas",
    10: "Montane Grasslands & Shrublands",
    11: "Tundra",
    12: "Mediterranean Forests, Woodlands & Scrub",
    13: "Deserts & Xeric Shrublands",
    14: "Mangroves",
    98: "Lake",
    99: "Rock and Ice",
}

#: The output columns of :func:`read_ecoregions`, in order (docs/design.md).
ECOREGION_COLUMNS: tuple[str, ...] = (
    "eco_id",
    "eco_name",
    "biome",
    "biome_name",
    "realm",
    "g200_region",
    "g200_num",
    "g200_biome",
    "g200_status",
    "is_g200",
    "geometry",
)

#: Column names taken as a priority landscape's name, in order, ignoring case.
LANDSCAPE_NAME_COLUMNS: tuple[str, ...] = (
    "landscape_name",
    "landscape",
    "LANDSCAPE",
    "pl_name",
    "name",
    "NAME",
    "name_eng",
    "nombre",
    "nome",
    "nom",
    "title",
    "label",
)

_G200_FIELDS = (
    "G200_NUM (TEOW), G200_BIOME (TEOW), or G200_REGIO without ECO_ID (a Global 200 layer)"
)
# The largest valid value of each Global 200 number field: 238 Global 200 ecoregions
# (terrestrial, freshwater and marine), 14 TEOW biomes.
_G200_MAX = {"G200_NUM": 238, "G200_BIOME": 14}
# TEOW's codes for its rock-and-ice and lake polygons (also in G200_NUM): not Global 200.
_TEOW_NODATA = (-9999, -9998)


def read_ecoregions(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | None = None,
    engine: str | None = None,
) -> gpd.GeoDataFrame:
    """Read WWF ecoregions (TEOW) or a Global 200 layer into the normalised schema.

    - a TEOW layer (``ECO_ID``, ``ECO_NAME``, ``BIOME``, ``REALM``, ``G200_REGIO``,
      ``G200_NUM``, ``G200_BIOME``, ``G200_STAT``): Global 200 membership is
      ``G200_NUM > 0`` (``G200_BIOME > 0`` when a copy lacks ``G200_NUM``);
      ``g200_region`` is emptied where the polygon is not Global 200, because some copies fill
      ``G200_REGIO`` there; a TEOW layer with ``G200_REGIO`` only is refused for that reason;
    - a Global 200 layer (``G200_REGIO`` and no ``ECO_ID``): the features whose region is not
      empty are Global 200.

    Values that are not numbers of their field are refused (module docstring). A layer left
    with no polygon (empty, all points or lines, all empty after repair) is refused.

    Parameters
    ----------
    source : path or GeoDataFrame
        Any vector format asm_pace reads (shapefile, zip, GeoPackage, .gdb, GeoJSON...).
    layer : str, optional
        The layer; by default the only polygon layer, or the only one with Global 200 fields
        (several: a :class:`~asm_pace.errors.LayerChoiceError` listing them).
    engine : {"pyogrio", "fiona"}, optional

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`ECOREGION_COLUMNS`, EPSG:4326, valid (Multi)Polygons, a fresh
        RangeIndex. ``attrs``: ``source``, ``layer`` and ``counts`` (``read``, ``removed`` by
        step, ``repaired``, ``used``).

    Raises
    ------
    SchemaError
        A layer with no way to tell Global 200 membership (the message lists the fields
        expected and the fields found).
    InputError
        A Global 200 number that cannot be read; a layer with no polygon left.

    References
    ----------
    Olson DM et al. (2001) Terrestrial ecoregions of the world: a new map of life on Earth.
    BioScience 51:933-938. Olson DM & Dinerstein E (2002) The Global 200: priority ecoregions
    for global conservation. Ann. Missouri Bot. Gard. 89:199-224.

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> eco = read_ecoregions(sample_path("ecoregions.gpkg"))
    >>> bool(((eco["g200_num"] > 0) == eco["is_g200"]).all())
    True
    """
    gdf, name = _read_polygons(
        source, layer=layer, engine=engine, what="ecoregions", prefer=_has_g200_fields
    )
    cols = {str(c).casefold() for c in gdf.columns}
    num_col = _col(gdf, "G200_NUM")
    biome200_col = _col(gdf, "G200_BIOME")
    region_col = _col(gdf, "G200_REGIO", "G200_REGION")
    out = pd.DataFrame(index=gdf.index)
    out["eco_id"] = _int(gdf, _col(gdf, "ECO_ID"))
    out["eco_name"] = _text(gdf, _col(gdf, "ECO_NAME"))
    out["biome"] = _int(gdf, _col(gdf, "BIOME"))
    out["biome_name"] = out["biome"].map(TEOW_BIOMES).astype("object").fillna("")
    out["realm"] = _text(gdf, _col(gdf, "REALM")).str.strip()
    g200_num = _g200_numbers(gdf, num_col, name)
    g200_biome = _g200_numbers(gdf, biome200_col, name)
    region = _text(gdf, region_col).str.strip()
    if num_col is not None:
        is_g200 = (g200_num > 0).fillna(False)
    elif biome200_col is not None:
        is_g200 = (g200_biome > 0).fillna(False)
    elif region_col is not None and "eco_id" not in cols:
        is_g200 = region != ""
        if not is_g200.any():
            raise InputError(
                f"{name}: {region_col} is empty in every feature, so no ecoregion can be told "
                "Global 200; use the Global 200 layer as distributed, or WWF's TEOW"
            )
    else:
        found = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        teow = (
            " (G200_REGIO alone is not trusted in TEOW: some copies fill it where the "
            "ecoregion is not Global 200)"
            if region_col is not None
            else ""
        )
        raise SchemaError(
            f"{name}: cannot tell which features are Global 200 ecoregions; expected "
            f"{_G200_FIELDS}{teow}. The layer has: "
            f"{', '.join(found) or 'no attribute fields'}. "
            "Use WWF's TEOW (wwf_terr_ecos) or the Global 200 layer."
        )
    is_g200 = is_g200.astype(bool)
    out["g200_region"] = region.where(is_g200, "")
    out["g200_num"] = g200_num
    out["g200_biome"] = g200_biome
    out["g200_status"] = _int(gdf, _col(gdf, "G200_STAT"))
    out["is_g200"] = is_g200
    out["geometry"] = gdf.geometry.values
    res = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326").reset_index(drop=True)
    res.attrs = {"source": name, "layer": gdf.attrs.get("layer", ""), **_counts(gdf)}
    return carry_mark(res, gdf)  # repaired: no check again in classify or overlaps


def read_priority_landscapes(
    source: str | Path | gpd.GeoDataFrame,
    *,
    name_column: str | None = None,
    layer: str | None = None,
    engine: str | None = None,
) -> gpd.GeoDataFrame:
    """Read WWF priority landscapes (any polygon layer) as ``landscape_name`` and geometry.

    Parameters
    ----------
    source : path or GeoDataFrame
    name_column : str, optional
        The column holding the landscape names; detected by name when not given (see
        :data:`LANDSCAPE_NAME_COLUMNS`).
    layer : str, optional
        The layer; by default the only polygon layer (several: a
        :class:`~asm_pace.errors.LayerChoiceError` listing them).
    engine : {"pyogrio", "fiona"}, optional

    Returns
    -------
    geopandas.GeoDataFrame
        ``landscape_name`` (str), ``geometry`` (valid (Multi)Polygons), EPSG:4326.
        ``attrs``: ``source``, ``layer`` and ``counts``.

    Raises
    ------
    SchemaError
        No name column found, or ``name_column`` not in the layer (the message lists the
        columns).
    InputError
        A layer with no polygon left (empty, all points or lines, all empty after repair).

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> pl = read_priority_landscapes(sample_path("priority_landscapes.gpkg"))
    >>> list(pl.columns)
    ['landscape_name', 'geometry']
    """
    gdf, name = _read_polygons(source, layer=layer, engine=engine, what="priority landscapes")
    found = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    cols = {c.casefold() for c in found}
    if _looks_wdpa(cols) or cols & _ECOREGION_MARKERS:
        kind, option = (
            ("the WDPA's fields", "--protected-areas (-p)")
            if _looks_wdpa(cols)
            else ("WWF's ecoregion fields", "--ecoregions (-e)")
        )
        raise SchemaError(
            f"{name}: the layer has {kind} ({', '.join(found)}), so it "
            "is not a priority-landscape layer (every site in it would count as in a priority "
            f"landscape); give it to {option} and WWF's priority landscapes to "
            "--priority-landscapes (-l)"
        )
    if name_column is not None:
        col = _col(gdf, name_column)
        if col is None:
            raise SchemaError(
                f"{name}: no column {name_column!r}; the layer has: {', '.join(found)}"
            )
    else:
        col = _col(gdf, *LANDSCAPE_NAME_COLUMNS)
        if col is None:
            text = [c for c in gdf.columns if c != gdf.geometry.name and gdf[c].dtype == object]
            col = text[0] if len(text) == 1 else None
        if col is None:
            raise SchemaError(
                f"{name}: cannot tell which column holds the landscape names (looked for "
                f"{', '.join(LANDSCAPE_NAME_COLUMNS[:6])} ...); the layer has: "
                f"{', '.join(found) or 'no attribute fields'}. Pass name_column= in Python, or "
                "rename the column of names to landscape_name (e.g. in QGIS)"
            )
    out = gpd.GeoDataFrame(
        {"landscape_name": _text(gdf, col).str.strip().values},
        geometry=gdf.geometry.values,
        crs="EPSG:4326",
    )
    out.attrs = {"source": name, "layer": gdf.attrs.get("layer", ""), **_counts(gdf)}
    return carry_mark(out, gdf)  # repaired: no check again in classify


def _int(df: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    num = pd.to_numeric(df[column], errors="coerce")
    return num.round().astype("Int64")


def _g200_numbers(df: pd.DataFrame, column: str | None, name: str) -> pd.Series:
    """A Global 200 number field (G200_NUM, G200_BIOME) as Int64, refusing unreadable values.

    Missing values stay ``<NA>`` (not Global 200); valid values are 0, 1 to the field's
    largest, and TEOW's -9999 / -9998.
    """
    if column is None:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    raw = _text(df, column).str.strip()
    num = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    top = _G200_MAX.get(str(column).upper(), 238)
    ok = (num.between(0, top) & (num == num.round())) | num.isin(_TEOW_NODATA)
    bad = ((raw != "") & ~ok).to_numpy()
    missing = (raw == "").to_numpy()
    if missing.all():
        raise InputError(
            f"{name}: {column} is empty in every feature, so no ecoregion can be told Global "
            "200; use a complete copy of WWF's TEOW"
        )
    if missing.any():
        warnings.warn(
            f"{name}: {column} is empty in {int(missing.sum())} feature(s) (rows "
            f"{row_list(missing)}): counted as not Global 200",
            UnreadableValueWarning,
            stacklevel=4,
        )
    if bad.any():
        eco = _col(df, "ECO_ID")
        where = f"rows {row_list(bad)}"
        if eco is not None:
            where += f", ECO_ID {', '.join(_text(df, eco)[bad].iloc[:5])}"
        raise InputError(
            f"{name}: {column} of {int(bad.sum())} feature(s) ({where}) is not a Global 200 "
            f"number: {', '.join(map(repr, list(dict.fromkeys(raw[bad]))[:5]))}; expected 0 "
            f"(not Global 200), 1 to {top}, or TEOW's -9999 / -9998. Correct the values "
            "(or use WWF's TEOW as distributed)"
        )
    return num.round().astype("Int64")


def _has_g200_fields(fields: list[str]) -> bool:
    folded = {f.casefold() for f in fields}
    return bool(folded & {"g200_num", "g200_biome", "g200_regio", "g200_region"})


def _counts(gdf: gpd.GeoDataFrame) -> dict[str, dict[str, Any]]:
    """The ``counts`` attrs entry :func:`_read_polygons` left on the layer."""
    return {"counts": dict(gdf.attrs.get("counts", {}))}


def _read_polygons(
    source: str | Path | gpd.GeoDataFrame,
    *,
    layer: str | None,
    engine: str | None,
    what: str,
    prefer: Callable[[list[str]], bool] | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """Read one polygon layer, in EPSG:4326, repaired, polygons only.

    The layer: ``layer``; else the only polygon layer; else, of several, the only one whose
    fields ``prefer`` accepts (Global 200 fields beside an admin layer); else a
    :class:`~asm_pace.errors.LayerChoiceError` listing the candidates. Refuses a layer left
    with no polygon. ``attrs["counts"]`` holds what was read, removed and repaired.
    """
    name = source_name(source)
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source  # to_wgs84 copies it (attrs included)
    else:
        refs = layer_refs(source)
        if not refs:
            raise ReadError(f"{name}: the file holds no vector layer")
        refuse_tables(refs, source=name, what=what, option=_FILE_OPTIONS[what])
        if layer is not None:
            ref = named_refs(refs, layer, source=name)[0]
        else:
            polys = [r for r in refs if "polygon" in r.geometry_type.lower()]
            if len(polys) > 1 and prefer is not None:
                liked = [r for r in polys if prefer(_fields(r))]
                polys = liked or polys
            ref = choose_layer(
                polys or refs,
                source=name,
                usable=lambda r: (
                    r.geometry_type.lower() in ("unknown", "geometry")
                    or "polygon" in r.geometry_type.lower()
                ),
                what=what,
                option=_LAYER_OPTIONS[what],
            )
        gdf = read_layer(ref, engine=engine)
    gdf = to_wgs84(gdf, source=name)
    n_read = len(gdf)
    if not n_read:
        label = f" layer {gdf.attrs['layer']!r}" if gdf.attrs.get("layer") else ""
        raise ReadError(
            f"{name}:{label} holds no features; check that it is the {what} file and export "
            "it again"
        )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    if not polygonal.any():
        kinds = pd.Series(shapely.get_type_id(geoms)).map(_TYPE_NAMES).fillna("other")
        raise InputError(
            f"{name}: none of its {n_read} feature(s) is a polygon "
            f"({', '.join(f'{k} {n}' for k, n in kinds.value_counts().items())}); the "
            f"{what} must be areas: check the file{_choose_hint(what)}"
        )
    if not polygonal.all():
        warnings.warn(
            f"{name}: {int((~polygonal).sum())} feature(s) that are not polygons (missing, "
            "empty, points or lines) dropped",
            DroppedRecordsWarning,
            stacklevel=3,
        )
        gdf = gdf[polygonal]
    out, repaired, _ = repair_polygons_counted(gdf, source=name)
    emptied = len(gdf) - len(out)
    if not len(out):
        raise InputError(
            f"{name}: none of its {len(gdf)} polygon(s) has an area once repaired (degenerate "
            "rings, every vertex on a line): nothing usable is left; fix the geometries in "
            "QGIS (Fix Geometries) or use a complete copy"
        )
    if emptied:
        warnings.warn(
            f"{name}: {emptied} polygon(s) dropped: they have no area once repaired "
            "(degenerate rings, every vertex on a line)",
            DroppedRecordsWarning,
            stacklevel=3,
        )
    removed = {"not_polygon": int((~polygonal).sum()), "empty_after_repair": emptied}
    out.attrs["counts"] = {
        "read": n_read,
        "removed": removed,
        "repaired": repaired,
        "used": len(out),
    }
    return out, name


# The command-line option that names each reader's layer (cli.py).
_LAYER_OPTIONS = {
    "ecoregions": "layer= (--ecoregions-layer on the command line)",
    "priority landscapes": "layer= (--landscapes-layer on the command line)",
}
_FILE_OPTIONS = {
    "ecoregions": "--ecoregions (-e)",
    "priority landscapes": "--priority-landscapes (-l)",
}
#: The kinds a layer of no polygon holds (its polygons are empty ones: "other").
_TYPE_NAMES = {-1: "missing", **{k: v for k, v in TYPE_NAMES.items() if k not in (3, 6)}}


def _choose_hint(what: str) -> str:
    return f" or choose its polygon layer with {_LAYER_OPTIONS[what]}"


def _fields(ref: LayerRef) -> list[str]:
    """A layer's field names (empty for GeoParquet, read whole)."""
    lyr = _Layer(ref)
    _layer_info(lyr)
    return lyr.fields
