"""Overlaps of zones (buffers, rings, footprints) with protected areas and Global 200 ecoregions.

Intersections are computed with shapely in longitude/latitude; every area is
then measured on the WGS84 ellipsoid with :func:`asm_pace.geodesy.geodesic_area`
(never in degrees). Protected areas that overlap each other are counted once
per zone: the zone's protected area is the area of the *union* of its
intersections with every protected area.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._nearest import box_text, layer_box
from ._vector import check_ids, repair_polygons, row_list, to_wgs84
from .errors import ExtentWarning, InputError, SchemaError
from .geodesy import geodesic_area

__all__ = ["overlaps", "OverlapResult", "PAIR_COLUMNS"]

#: Descriptive protected-area columns copied into the pairs table (``<NA>`` when absent).
PAIR_COLUMNS = ("name", "designation", "iucn_category")


class OverlapResult(NamedTuple):
    """What :func:`overlaps` returns (a named tuple: ``zones, pairs, clusters = ...``).

    Attributes
    ----------
    zones : geopandas.GeoDataFrame
        The input zones (same index, order and columns) plus ``zone_area_km2``,
        ``pa_area_km2``, ``pa_share``, ``n_pas``, ``pa_beyond_extent`` and, with
        ecoregions, ``g200_area_km2``, ``g200_share`` and ``g200_beyond_extent``;
        with ``dissolve=True`` also ``cluster_id``. This is the ``buffers`` layer
        of the GeoPackage. ``*_beyond_extent`` is True for a zone that reaches
        outside the box the layer was read for (``attrs["bbox"]``, set by
        ``read_protected_areas(bbox=...)``): its overlap is then a lower bound.
    pairs : pandas.DataFrame
        One row per zone and protected area with a positive overlap: the zone
        id column (``zone_id`` or ``site_id``, as in ``zones``), ``pa_id``,
        ``name``, ``designation``, ``iucn_category``, ``overlap_km2`` and
        ``overlap_share`` (of the zone's area). Ordered by zone then
        decreasing overlap. This is the ``overlaps`` table of the GeoPackage.
    clusters : geopandas.GeoDataFrame or None
        With ``dissolve=True``: one row per cluster of touching zones of the
        same radius (``cluster_id``, ``radius_km`` / ``inner_km`` when the
        zones have them, ``n_zones``, ``zone_ids``, ``cluster_area_km2``,
        ``pa_area_km2``, ``pa_share``, ``n_pas``, ``pa_beyond_extent``, ``g200_*``,
        geometry = the dissolved zones). ``None`` otherwise.
    """

    zones: gpd.GeoDataFrame
    pairs: pd.DataFrame
    clusters: gpd.GeoDataFrame | None


def overlaps(
    zones: gpd.GeoDataFrame,
    protected_areas: gpd.GeoDataFrame,
    *,
    ecoregions: gpd.GeoDataFrame | None = None,
    dissolve: bool = False,
) -> OverlapResult:
    """Protected-area (and Global 200) overlap of each zone, on the WGS84 ellipsoid.

    For each zone ``Z`` and the protected areas ``P_1 .. P_m`` it intersects,
    ``pa_area_km2 = area(union_i (Z & P_i))``: a place covered by two
    overlapping protected areas counts once. ``pa_share = pa_area_km2 /
    zone_area_km2``. In the pairs table each protected area is measured on its
    own (``area(Z & P_i)``), so the pairs of one zone may add up to more than
    ``pa_area_km2``. WDPA parcels sharing one ``pa_id`` are merged; in a layer of
    several sources (:func:`asm_pace.pa_sources.combine_protected_areas`) the
    records of one area (``pa_group``) are merged too, counted once in ``n_pas``
    and listed once in the pairs, by the first source's record (a ``source``
    column is added).

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Polygon zones in any CRS (e.g. from :func:`asm_pace.buffers`, or
        footprint sites), with a unique id column: ``zone_id`` if present,
        else ``site_id``.
    protected_areas : geopandas.GeoDataFrame
        Protected areas in the normalised schema (:func:`asm_pace.read_protected_areas`):
        ``pa_id`` is required; ``name``, ``designation`` and ``iucn_category``
        are copied into the pairs table when present.
    ecoregions : geopandas.GeoDataFrame, optional
        Ecoregions with a boolean ``is_g200`` column
        (:func:`asm_pace.read_ecoregions`): adds ``g200_area_km2`` and
        ``g200_share`` (union of the Global 200 ecoregions in the zone).
    dissolve : bool, default False
        Also group zones of the same ``radius_km`` (and ``inner_km``) whose
        polygons touch or overlap into clusters, and report each cluster's
        dissolved area once (``cluster_id`` on zones, and ``clusters``), so a
        dense group of pits is not counted many times over.

    Returns
    -------
    OverlapResult
        Named tuple ``(zones, pairs, clusters)``; see :class:`OverlapResult`.

    Raises
    ------
    SchemaError
        If a required column (zone id, ``pa_id``, ``is_g200``) is missing.
    InputError
        For null or duplicated zone ids, or zones that are not polygons.

    Warns
    -----
    ExtentWarning
        When zones reach outside the box a layer was read for (``attrs["bbox"]``):
        a protected area or ecoregion outside the box was not read, so their
        overlaps may be too small (flagged in ``pa_beyond_extent`` /
        ``g200_beyond_extent``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> zones = gpd.GeoDataFrame(
    ...     {"zone_id": ["Z1"]}, geometry=[shapely.box(0.0, 0.0, 0.2, 0.2)], crs="EPSG:4326"
    ... )
    >>> pas = gpd.GeoDataFrame(
    ...     {"pa_id": ["900001"], "name": ["Alpha"]},
    ...     geometry=[shapely.box(0.1, 0.0, 0.3, 0.2)],
    ...     crs="EPSG:4326",
    ... )
    >>> res = overlaps(zones, pas)
    >>> round(float(res.zones["pa_share"].iloc[0]), 3), int(res.zones["n_pas"].iloc[0])
    (0.5, 1)
    >>> res.pairs[["zone_id", "pa_id", "name"]].values.tolist()
    [['Z1', '900001', 'Alpha']]
    """
    zones_4326, id_col = _check_zones(zones)
    pas = _check_layer(protected_areas, "protected_areas", "pa_id", "asm_pace.read_protected_areas")
    zgeoms = np.asarray(zones_4326.geometry.values, dtype=object)
    zone_ids = zones_4326[id_col].astype(str).to_numpy(dtype=object)

    pa_box = layer_box(protected_areas, "protected areas")
    eco_box = None if ecoregions is None else layer_box(ecoregions, "ecoregions")
    stats, pairs = _pa_stats(zgeoms, pas)
    out = zones.copy()
    for col, values in stats.items():
        out[col] = values
    out["pa_beyond_extent"] = _beyond(zgeoms, pa_box)
    eco = None
    if ecoregions is not None:
        eco = _check_layer(ecoregions, "ecoregions", "is_g200", "asm_pace.read_ecoregions")
        eco = eco[eco["is_g200"].fillna(False).astype(bool).to_numpy()]
        g200 = _union_area(zgeoms, np.asarray(eco.geometry.values, dtype=object))
        out["g200_area_km2"] = g200
        out["g200_share"] = _share(g200, stats["zone_area_km2"])
        out["g200_beyond_extent"] = _beyond(zgeoms, eco_box)
    _warn_beyond(zones, protected_areas, pa_box, out["pa_beyond_extent"].to_numpy(), "pa")
    if ecoregions is not None:
        _warn_beyond(zones, ecoregions, eco_box, out["g200_beyond_extent"].to_numpy(), "g200")

    table = _pairs_table(pairs, zone_ids, pas, stats["zone_area_km2"], id_col)

    clusters = None
    if dissolve:
        labels, cgeoms, cmeta = _clusters(zones_4326, zgeoms, zone_ids)
        out["cluster_id"] = labels
        cstats, _ = _pa_stats(cgeoms, pas)
        clusters = gpd.GeoDataFrame(cmeta, geometry=cgeoms, crs="EPSG:4326")
        clusters["cluster_area_km2"] = cstats.pop("zone_area_km2")
        for col, values in cstats.items():
            clusters[col] = values
        clusters["pa_beyond_extent"] = _beyond(cgeoms, pa_box)
        if eco is not None:
            g200 = _union_area(cgeoms, np.asarray(eco.geometry.values, dtype=object))
            clusters["g200_area_km2"] = g200
            clusters["g200_share"] = _share(g200, clusters["cluster_area_km2"].to_numpy())
            clusters["g200_beyond_extent"] = _beyond(cgeoms, eco_box)
        clusters = clusters.set_geometry("geometry")
    return OverlapResult(out, table, clusters)


# -- input checks -----------------------------------------------------------------------------


def _check_zones(zones: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    if not isinstance(zones, gpd.GeoDataFrame):
        raise InputError(
            f"zones must be a GeoDataFrame (e.g. from asm_pace.buffers), got {type(zones).__name__}"
        )
    name = zones.attrs.get("source", "<zones>")
    id_col = "zone_id" if "zone_id" in zones.columns else "site_id"
    if id_col not in zones.columns:
        raise SchemaError(
            f"{name}: zones need an id column, 'zone_id' (as made by asm_pace.buffers) or "
            f"'site_id'; columns are {list(zones.columns)}"
        )
    check_ids(zones[id_col], source=name, column=id_col, what="zone")
    geoms = np.asarray(zones.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, (3, 6))  # Polygon, MultiPolygon
    if bad.any():
        raise InputError(
            f"{name}: zones must be polygons; rows {row_list(bad)} are not (points need a buffer "
            "first: asm_pace.buffers)"
        )
    out = to_wgs84(zones, source=name)
    invalid = ~shapely.is_valid(np.asarray(out.geometry.values, dtype=object))
    if invalid.any():
        out = repair_polygons(out, source=name)
        if len(out) != len(zones):
            raise InputError(
                f"{name}: zones in rows {row_list(invalid)} have no area once repaired"
            )
    return out, id_col


def _check_layer(layer: gpd.GeoDataFrame, what: str, column: str, loader: str) -> gpd.GeoDataFrame:
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(
            f"{what} must be a GeoDataFrame (from {loader}), got {type(layer).__name__}"
        )
    name = layer.attrs.get("source", f"<{what}>")
    if column not in layer.columns:
        raise SchemaError(
            f"{name}: {what} need a {column!r} column (the normalised schema made by {loader}); "
            f"columns are {list(layer.columns)}"
        )
    # repair_polygons repairs only the invalid ones and drops missing and empty geometries
    out = repair_polygons(to_wgs84(layer, source=name), source=name)
    return out.reset_index(drop=True)


# -- extents --------------------------------------------------------------------------------


def _beyond(geoms: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
    """Zones not inside the box a layer was read for (all False without a box)."""
    if box is None or geoms.size == 0:
        return np.zeros(geoms.size, dtype=bool)
    return ~shapely.covered_by(geoms, shapely.box(*box))


def _warn_beyond(
    zones: gpd.GeoDataFrame,
    layer: gpd.GeoDataFrame,
    box: tuple[float, float, float, float] | None,
    beyond: np.ndarray,
    what: str,
) -> None:
    """One ExtentWarning counting the zones whose overlap with ``layer`` (read for ``box``)
    may be incomplete."""
    if box is None or not beyond.any():
        return
    noun = "protected areas" if what == "pa" else "ecoregions"
    warnings.warn(
        f"{zones.attrs.get('source', 'the zones')}: {int(beyond.sum())} of {beyond.size} "
        f"zone(s) reach outside the box {box_text(box)} the {noun} of "
        f"{layer.attrs.get('source', 'the ' + noun + ' layer')} were read for, so {noun} outside it "
        f"are missing and {what}_area_km2 is a lower bound for them (column "
        f"{what}_beyond_extent); read the layer with a box wider than the buffers, or "
        "without bbox= (a Python option: the command line reads whole files)",
        ExtentWarning,
        stacklevel=3,
    )


# -- computation ------------------------------------------------------------------------------


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    whole = np.asarray(whole, dtype="float64")
    return np.divide(part, whole, out=np.full(whole.shape, np.nan), where=whole > 0)


def _grouped_union(geoms: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Union of ``geoms`` per group (``None`` for groups with no member), vectorised.

    Groups with one member take it as it is; larger groups are padded into 2-D
    arrays (bucketed by size) and unioned with ``shapely.union_all(axis=1)``.
    """
    out = np.full(n_groups, None, dtype=object)
    if geoms.size == 0:
        return out
    counts = np.bincount(groups, minlength=n_groups)
    order = np.argsort(groups, kind="stable")
    sorted_geoms = geoms[order]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    one = np.flatnonzero(counts == 1)
    out[one] = sorted_geoms[starts[one]]
    many = np.flatnonzero(counts > 1)
    if many.size == 0:
        return out
    # bucket by size (powers of two) so padding stays small
    bucket = np.ceil(np.log2(counts[many])).astype(int)
    for b in np.unique(bucket):
        grp = many[bucket == b]
        width = int(counts[grp].max())
        pos = starts[grp][:, None] + np.arange(width)
        valid = np.arange(width) < counts[grp][:, None]
        block = np.full((grp.size, width), None, dtype=object)
        block[valid] = sorted_geoms[pos[valid]]
        out[grp] = shapely.union_all(block, axis=1)
    return out


def _intersections(
    zgeoms: np.ndarray, geoms: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (zone index, layer index) with their intersection geometry."""
    if zgeoms.size == 0 or geoms.size == 0:
        empty = np.zeros(0, dtype=int)
        return empty, empty, np.zeros(0, dtype=object)
    tree = shapely.STRtree(geoms)
    zi, li = tree.query(zgeoms, predicate="intersects")
    pieces = shapely.intersection(zgeoms[zi], geoms[li])
    return zi, li, pieces


def _union_area(zgeoms: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """Area (km2) of the union of ``geoms`` inside each zone."""
    zi, _, pieces = _intersections(zgeoms, geoms)
    union = _grouped_union(pieces, zi, zgeoms.size)
    return np.minimum(geodesic_area(union), geodesic_area(zgeoms)) / 1e6


def _pa_stats(zgeoms: np.ndarray, pas: gpd.GeoDataFrame) -> tuple[dict[str, np.ndarray], dict]:
    """Per-zone protected-area statistics, and the per-(zone, pa_id) overlaps."""
    pgeoms = np.asarray(pas.geometry.values, dtype=object)
    zone_area = geodesic_area(zgeoms) / 1e6
    zi, pi, pieces = _intersections(zgeoms, pgeoms)
    # merge WDPA parcels sharing one pa_id, per zone; in a layer of several sources
    # (pa_sources.combine_protected_areas) the records of one area (pa_group) too
    area_key = pas["pa_group"] if "pa_group" in pas.columns else pas["pa_id"].astype(str)
    codes = pd.factorize(area_key)[0]
    n_codes = int(codes.max()) + 1 if codes.size else 1
    key = zi.astype(np.int64) * n_codes + codes[pi]
    ukey, inverse = np.unique(key, return_inverse=True)
    merged = _grouped_union(pieces, inverse, ukey.size)
    pair_area = geodesic_area(merged) / 1e6
    pair_zone = ukey // n_codes
    pair_code = ukey % n_codes
    positive = pair_area > 0
    n_pas = np.bincount(pair_zone[positive], minlength=zgeoms.size)
    union = _grouped_union(merged, pair_zone, zgeoms.size)
    # the union lies inside the zone; clip the last-digit noise of the intersections
    pa_area = np.minimum(geodesic_area(union) / 1e6, zone_area)
    # the first row of each pa_id gives its descriptive columns
    _, first = np.unique(codes, return_index=True)
    stats = {
        "zone_area_km2": zone_area,
        "pa_area_km2": pa_area,
        "pa_share": _share(pa_area, zone_area),
        "n_pas": n_pas.astype("int64"),
    }
    pairs = {
        "zone": pair_zone[positive],
        "pa_row": first[pair_code[positive]],
        "area": pair_area[positive],
    }
    return stats, pairs


def _pairs_table(
    pairs: dict,
    zone_ids: np.ndarray,
    pas: gpd.GeoDataFrame,
    zone_area: np.ndarray,
    id_col: str,
) -> pd.DataFrame:
    rows = pairs["pa_row"]
    data: dict[str, object] = {
        id_col: zone_ids[pairs["zone"]],
        "pa_id": pas["pa_id"].astype(str).to_numpy(dtype=object)[rows],
    }
    if "source" in pas.columns:  # several sources: the area's first source's record
        data["source"] = pas["source"].to_numpy(dtype=object)[rows]
    for col in PAIR_COLUMNS:
        if col in pas.columns:
            data[col] = pas[col].to_numpy(dtype=object)[rows]
        else:
            data[col] = pd.array([pd.NA] * rows.size, dtype="string")
    data["overlap_km2"] = pairs["area"]
    data["overlap_share"] = _share(pairs["area"], zone_area[pairs["zone"]])
    table = pd.DataFrame(data)
    table["_zone"] = pairs["zone"]
    table = table.sort_values(["_zone", "overlap_km2"], ascending=[True, False], kind="stable")
    return table.drop(columns="_zone").reset_index(drop=True)


def _clusters(
    zones: gpd.GeoDataFrame, zgeoms: np.ndarray, zone_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """Connected groups of touching zones, per radius (and inner radius).

    The zones of one radius are unioned; each zone is linked to every part of
    that union it intersects (a buffer split at the antimeridian links two
    parts), and connected zones/parts form a cluster.
    """
    group_cols = [c for c in ("radius_km", "inner_km") if c in zones.columns]
    if group_cols:
        group_codes = pd.MultiIndex.from_frame(zones[group_cols]).factorize()[0]
    else:
        group_codes = np.zeros(len(zones), dtype=int)
    labels = np.empty(len(zones), dtype=object)
    geoms_out: list[object] = []
    meta: dict[str, list] = {"cluster_id": [], **{c: [] for c in group_cols}}
    meta["n_zones"] = []
    meta["zone_ids"] = []
    for g in range(int(group_codes.max()) + 1 if len(zones) else 0):
        members = np.flatnonzero(group_codes == g)
        parts = shapely.get_parts(shapely.union_all(zgeoms[members]))
        tree = shapely.STRtree(parts)
        zi, pi = tree.query(zgeoms[members], predicate="intersects")
        # a component's label is its first zone, so clusters are numbered in zone order
        labels_g, comp = np.unique(
            _components(zi, pi, members.size, parts.size), return_inverse=True
        )
        n_clusters = labels_g.size
        suffix = _suffix(zones, members[0], group_cols)
        ids = np.array([f"C{c + 1:04d}{suffix}" for c in range(n_clusters)], dtype=object)
        labels[members] = ids[comp]
        dissolved = _grouped_union(zgeoms[members], comp, n_clusters)
        geoms_out.extend(dissolved)
        meta["cluster_id"].extend(ids)
        for c in group_cols:
            meta[c].extend([zones[c].iloc[members[0]]] * n_clusters)
        counts = np.bincount(comp, minlength=n_clusters)
        meta["n_zones"].extend(counts.tolist())
        by = pd.Series(zone_ids[members]).groupby(comp).agg(";".join)
        meta["zone_ids"].extend(by.reindex(range(n_clusters)).tolist())
    return labels, np.array(geoms_out, dtype=object), meta


def _suffix(zones: gpd.GeoDataFrame, row: int, group_cols: list[str]) -> str:
    if "radius_km" not in group_cols:
        return ""
    r = float(zones["radius_km"].iloc[row])
    if r == 0.0:  # footprint zones (buffers(footprint_zone=True)): C0001_footprint
        return "_footprint"
    if "inner_km" in group_cols:
        return f"_{float(zones['inner_km'].iloc[row]):g}-{r:g}km"
    return f"_{r:g}km"


def _components(zi: np.ndarray, pi: np.ndarray, n_zones: int, n_parts: int) -> np.ndarray:
    """Connected component of each zone in the bipartite zone/part graph (label propagation)."""
    zone_label = np.arange(n_zones)
    part_label = np.full(n_parts, n_zones, dtype=int)
    while True:
        new_part = part_label.copy()
        np.minimum.at(new_part, pi, zone_label[zi])
        new_zone = zone_label.copy()
        np.minimum.at(new_zone, zi, new_part[pi])
        if np.array_equal(new_zone, zone_label) and np.array_equal(new_part, part_label):
            return zone_label
        zone_label, part_label = new_zone, new_part
