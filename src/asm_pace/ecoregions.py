"""Ecoregions (WWF TEOW with its Global 200 fields) and WWF priority landscapes.

Global 200 membership follows the TEOW attribute ``G200_NUM > 0`` (Olson & Dinerstein 2002):
some distributed copies of TEOW fill ``G200_REGIO`` on polygons whose ``G200_NUM`` is 0, so the
region name alone is not trusted.

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
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._vector import list_layers, read_vector, repair_polygons, source_name, to_wgs84
from .errors import DroppedRecordsWarning, InputError, LayerNotFoundError, SchemaError
from .protected_areas import _col, _text

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
      ``G200_REGIO`` there;
    - a Global 200 layer (``G200_REGIO`` and no ``ECO_ID``): every feature is Global 200.

    Parameters
    ----------
    source : path or GeoDataFrame
        Any vector format asm_pace reads (shapefile, zip, GeoPackage, .gdb, GeoJSON...).
    layer : str, optional
        The layer; by default the only polygon layer.
    engine : {"pyogrio", "fiona"}, optional

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`ECOREGION_COLUMNS`, EPSG:4326, valid (Multi)Polygons, a fresh
        RangeIndex.

    Raises
    ------
    SchemaError
        A layer with no way to tell Global 200 membership (the message lists the fields
        expected and the fields found).

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
    gdf, name = _read_polygons(source, layer=layer, engine=engine)
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
    g200_num = _int(gdf, num_col)
    g200_biome = _int(gdf, biome200_col)
    region = _text(gdf, region_col).str.strip()
    if num_col is not None:
        is_g200 = (g200_num > 0).fillna(False)
    elif biome200_col is not None:
        is_g200 = (g200_biome > 0).fillna(False)
    elif region_col is not None and "eco_id" not in cols:
        is_g200 = pd.Series(True, index=gdf.index)
    else:
        found = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        raise SchemaError(
            f"{name}: cannot tell which features are Global 200 ecoregions; expected "
            f"{_G200_FIELDS}. The layer has: {', '.join(found) or 'no attribute fields'}. "
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
    res.attrs = {"source": name, "layer": gdf.attrs.get("layer", "")}
    return res


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
        The layer; by default the only polygon layer.
    engine : {"pyogrio", "fiona"}, optional

    Returns
    -------
    geopandas.GeoDataFrame
        ``landscape_name`` (str), ``geometry`` (valid (Multi)Polygons), EPSG:4326.

    Raises
    ------
    SchemaError
        No name column found, or ``name_column`` not in the layer (the message lists the
        columns).

    Examples
    --------
    >>> from asm_pace.datasets import sample_path
    >>> pl = read_priority_landscapes(sample_path("priority_landscapes.gpkg"))
    >>> list(pl.columns)
    ['landscape_name', 'geometry']
    """
    gdf, name = _read_polygons(source, layer=layer, engine=engine)
    found = [str(c) for c in gdf.columns if c != gdf.geometry.name]
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
                f"{', '.join(found) or 'no attribute fields'}. Pass name_column=."
            )
    out = gpd.GeoDataFrame(
        {"landscape_name": _text(gdf, col).str.strip().values},
        geometry=gdf.geometry.values,
        crs="EPSG:4326",
    )
    out.attrs = {"source": name, "layer": gdf.attrs.get("layer", "")}
    return out


def _int(df: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    num = pd.to_numeric(df[column], errors="coerce")
    return num.round().astype("Int64")


def _read_polygons(
    source: str | Path | gpd.GeoDataFrame, *, layer: str | None, engine: str | None
) -> tuple[gpd.GeoDataFrame, str]:
    """Read one polygon layer, in EPSG:4326, repaired, polygons only."""
    name = source_name(source)
    if isinstance(source, gpd.GeoDataFrame):
        gdf = source  # to_wgs84 copies it (attrs included)
    else:
        if layer is None:
            layers = list_layers(source)
            polys = [n for n, t in layers if "polygon" in t.lower()]
            if len(polys) > 1:
                raise InputError(
                    f"{name}: several polygon layers ({', '.join(polys)}); pass layer="
                )
            if not polys:
                unknown = [n for n, t in layers if t.lower() in ("unknown", "geometry")]
                if not unknown:
                    described = ", ".join(f"{n} ({t})" for n, t in layers) or "none"
                    raise LayerNotFoundError(
                        f"{name}: no polygon layer; its layers are: {described}. Pass layer="
                    )
                polys = unknown[:1]
            layer = polys[0]
        gdf = read_vector(source, layer=layer, engine=engine)
    gdf = to_wgs84(gdf, source=name)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygonal.all():
        warnings.warn(
            f"{name}: {int((~polygonal).sum())} feature(s) that are not polygons (missing, "
            "points or lines) dropped",
            DroppedRecordsWarning,
            stacklevel=3,
        )
        gdf = gdf[polygonal]
    return repair_polygons(gdf, source=name), name
