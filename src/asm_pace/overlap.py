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

#: Zone vertices per chunk: one chunk's pairs and pieces are made, measured and dropped
#: before the next, so memory stays bounded at any number of zones (150-250 MB measured).
_CHUNK_VERTICES = 2_000_000
#: Layer polygons with more vertices are first cut to a box round the zones of a grid cell.
_CLIP_VERTICES = 500
#: Geometries whose box pairs are found at a time when dissolving (bounds the pairs' memory).
_BOX_BATCH = 20_000
#: Size of the grid cells (degrees) that order the chunks and share one cut of a polygon.
_CELL_DEG = 1.0
#: Margin (degrees) of those boxes round the zones, so their edges stay outside every zone.
_MARGIN_DEG = 1e-3

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
        egeoms = np.asarray(eco.geometry.values, dtype=object)
        g200 = _overlay(zgeoms, egeoms, stats["zone_area_km2"]).union_km2
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
            g200 = _overlay(cgeoms, egeoms, clusters["cluster_area_km2"].to_numpy()).union_km2
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


class _Overlay(NamedTuple):
    """A layer's overlap with each zone: the union's area, and each group's area."""

    union_km2: np.ndarray  # per zone: area of the union of the layer inside it
    pair_zone: np.ndarray  # per (zone, group) meeting: the zone's index
    pair_code: np.ndarray  # the group's code
    pair_km2: np.ndarray  # area of the union of the group's polygons inside the zone


def _overlay(
    zgeoms: np.ndarray,
    lgeoms: np.ndarray,
    zone_km2: np.ndarray,
    codes: np.ndarray | None = None,
) -> _Overlay:
    """Overlap of the layer ``lgeoms`` (grouped by ``codes``, else each polygon alone) with
    each zone, in chunks of zones whose size follows :data:`_CHUNK_VERTICES`.

    Equal, to floating-point rounding, to intersecting every zone with every polygon it
    meets and measuring the unions; but a zone inside a polygon is taken as it is (no
    intersection), so is a polygon inside a zone, a polygon of many vertices is first cut
    to the box round the zones of one grid cell (once per cell, not once per zone) and a
    zone meeting one group needs no union.
    """
    n = zgeoms.size
    if codes is None:
        codes = np.arange(lgeoms.size)
    n_codes = int(codes.max()) + 1 if codes.size else 1
    union = np.zeros(n)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0 or lgeoms.size == 0:
        return _Overlay(union, empty, empty, np.zeros(0))
    ltree = shapely.STRtree(lgeoms)
    lverts = shapely.get_num_coordinates(lgeoms)
    layer_km2 = np.full(lgeoms.size, np.nan)  # measured when first needed
    keys, areas = [], []
    for chunk in _chunks(zgeoms):
        u, key, area = _overlay_chunk(
            zgeoms[chunk], zone_km2[chunk], lgeoms, ltree, lverts, layer_km2, codes, n_codes
        )
        union[chunk] = u
        keys.append(chunk[key // n_codes] * n_codes + key % n_codes)
        areas.append(area)
    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")  # by zone, then group
    key = key[order]
    return _Overlay(union, key // n_codes, key % n_codes, np.concatenate(areas)[order])


def _chunks(zgeoms: np.ndarray) -> list[np.ndarray]:
    """Zone indices in chunks of about :data:`_CHUNK_VERTICES` vertices, each a band of
    grid cells (so that one chunk meets few layer polygons)."""
    verts = shapely.get_num_coordinates(zgeoms)
    if verts.sum() <= _CHUNK_VERTICES:
        return [np.arange(zgeoms.size)]
    cx, cy = _cells(shapely.bounds(zgeoms))
    order = np.lexsort((cx, cy))
    ends = np.cumsum(verts[order])
    cuts = np.searchsorted(ends, np.arange(_CHUNK_VERTICES, ends[-1], _CHUNK_VERTICES))
    return [c for c in np.split(order, np.unique(cuts)) if c.size]


def _cells(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid cell (column, row) of each box's centre (cells of :data:`_CELL_DEG` degrees)."""
    centre = np.nan_to_num((bounds[:, :2] + bounds[:, 2:]) / 2.0)
    cell = np.floor(centre / _CELL_DEG).astype(np.int64)
    return cell[:, 0], cell[:, 1]


def _overlay_chunk(
    zg: np.ndarray,
    zone_km2: np.ndarray,
    lgeoms: np.ndarray,
    ltree: shapely.STRtree,
    lverts: np.ndarray,
    layer_km2: np.ndarray,
    codes: np.ndarray,
    n_codes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_overlay` for one chunk: union area per zone, (zone, group) keys and areas."""
    n = zg.size
    union = np.zeros(n)
    cand = np.unique(ltree.query(zg)[1])  # layer polygons whose box meets a zone's box
    if cand.size == 0:
        return union, np.zeros(0, dtype=np.int64), np.zeros(0)
    lg = lgeoms[cand]
    zb, lb = shapely.bounds(zg), shapely.bounds(lg)
    # each layer polygon is prepared once, and tests all the zones near it
    lprep = ~shapely.is_prepared(lg)
    shapely.prepare(lg[lprep])
    try:
        lj, zi = shapely.STRtree(zg).query(lg, predicate="intersects")
        # the zone lies inside the polygon: the piece is the zone
        zin = _box_within(zb[zi], lb[lj])
        zin[zin] = shapely.contains(lg[lj[zin]], zg[zi[zin]])
    finally:
        shapely.destroy_prepared(lg[lprep])
    # the polygon lies inside the zone: the piece is the polygon
    lin = ~zin & _box_within(lb[lj], zb[zi])
    if lin.any():
        zprep = ~shapely.is_prepared(zg)
        shapely.prepare(zg[zprep])
        try:
            lin[lin] = shapely.contains(zg[zi[lin]], lg[lj[lin]])
        finally:
            shapely.destroy_prepared(zg[zprep])
    part = ~(zin | lin)
    pieces = np.where(zin, zg[zi], lg[lj])
    pieces[part] = _cut(zg, zb, zi[part], lg, lb, lj[part], lverts[cand])
    # areas: the zone's, the polygon's (measured once), or the piece's
    piece_km2 = np.empty(zi.size)
    piece_km2[zin] = zone_km2[zi[zin]]
    todo = np.unique(cand[lj[lin]])
    todo = todo[np.isnan(layer_km2[todo])]
    layer_km2[todo] = geodesic_area(lgeoms[todo]) / 1e6
    piece_km2[lin] = layer_km2[cand[lj[lin]]]
    piece_km2[part] = geodesic_area(pieces[part]) / 1e6
    # per (zone, group): one piece as it is, the zone if a piece is the zone, else the union
    key = zi.astype(np.int64) * n_codes + codes[cand[lj]]
    ukey, inv = np.unique(key, return_inverse=True)
    gzone = ukey // n_codes
    group, gin, gkm2 = _merge(pieces, piece_km2, zin, inv, zg[gzone], zone_km2[gzone])
    # per zone: a zone inside one polygon is covered; one group is its own union
    covered = np.bincount(gzone, weights=gin, minlength=n) > 0
    zone_groups = np.bincount(gzone, minlength=n)
    one = (zone_groups == 1) & ~covered
    union[gzone[one[gzone]]] = gkm2[one[gzone]]
    union[covered] = zone_km2[covered]
    many = (zone_groups > 1) & ~covered
    if many.any():
        # a group none of whose polygons meets another group's in the zone adds its area;
        # the others are unioned
        meets = _pieces_meet(zi, lj, lg, codes[cand], many)
        gmeet = np.bincount(inv, weights=meets, minlength=ukey.size) > 0
        alone = many[gzone] & ~gmeet
        union[many] = np.bincount(gzone[alone], weights=gkm2[alone], minlength=n)[many]
        sel = many[gzone] & gmeet
        if sel.any():
            whole = _grouped_union(group[sel], gzone[sel], n)
            met = np.unique(gzone[sel])
            union[met] += geodesic_area(whole[met]) / 1e6
    # the union lies inside the zone; clip the last-digit noise of the intersections
    return np.minimum(union, zone_km2), ukey, gkm2


def _pieces_meet(
    zi: np.ndarray, lj: np.ndarray, lg: np.ndarray, codes: np.ndarray, zones: np.ndarray
) -> np.ndarray:
    """For each piece (zone ``zi``, polygon ``lj``) of the zones of the mask ``zones``:
    whether its polygon intersects a polygon of another group met by the same zone (their
    pieces may overlap, so they need a union, not a sum)."""
    out = np.zeros(zi.size, dtype=bool)
    sel = zones[zi]
    used = np.unique(lj[sel])
    a, b = shapely.STRtree(lg[used]).query(lg[used], predicate="intersects")
    a, b = used[a], used[b]
    keep = (a < b) & (codes[a] != codes[b])
    a, b = a[keep], b[keep]
    if a.size == 0:
        return out
    # the zones of each polygon a, then whether polygon b is in the same zone
    m = lg.size
    order = np.argsort(lj[sel], kind="stable")
    by_layer = zi[sel][order]
    count = np.bincount(lj[sel], minlength=m)
    start = np.r_[0, np.cumsum(count)[:-1]]
    reps = count[a]
    pair = np.repeat(np.arange(a.size), reps)
    zone = by_layer[
        start[a][pair] + np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    ]
    key = zi.astype(np.int64) * m + lj
    pieces = np.unique(key[sel])
    want = zone.astype(np.int64) * m + b[pair]
    pos = np.searchsorted(pieces, want).clip(0, max(pieces.size - 1, 0))
    hit = pieces[pos] == want
    both = np.concatenate([want[hit], zone[hit].astype(np.int64) * m + a[pair[hit]]])
    out[sel] = np.isin(key[sel], both)
    return out


def _box_within(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Boxes (xmin, ymin, xmax, ymax rows) ``inner`` inside ``outer``, row by row."""
    return (
        (inner[:, 0] >= outer[:, 0])
        & (inner[:, 1] >= outer[:, 1])
        & (inner[:, 2] <= outer[:, 2])
        & (inner[:, 3] <= outer[:, 3])
    )


def _cut(
    zg: np.ndarray,
    zb: np.ndarray,
    zi: np.ndarray,
    lg: np.ndarray,
    lb: np.ndarray,
    lj: np.ndarray,
    lverts: np.ndarray,
) -> np.ndarray:
    """Intersections of the zones ``zg[zi]`` with the polygons ``lg[lj]``.

    A polygon of more than :data:`_CLIP_VERTICES` vertices is first cut to the box round
    all the zones of a grid cell that meet it (plus a margin), once per cell: the box holds
    these zones whole, so the cut adds no vertex inside them and their intersections are
    those with the whole polygon, to rounding.
    """
    out = np.empty(zi.size, dtype=object)
    big = lverts[lj] > _CLIP_VERTICES
    small = ~big
    out[small] = shapely.intersection(zg[zi[small]], lg[lj[small]])
    if big.any():
        cx, cy = _cells(zb[zi[big]])
        cell = np.unique(np.column_stack([cx, cy, lj[big]]), axis=0, return_inverse=True)[1]
        cell = cell.ravel()
        n_cells = int(cell.max()) + 1
        b = zb[zi[big]]
        x0 = np.full(n_cells, np.inf)
        y0 = np.full(n_cells, np.inf)
        x1 = np.full(n_cells, -np.inf)
        y1 = np.full(n_cells, -np.inf)
        np.minimum.at(x0, cell, b[:, 0])
        np.minimum.at(y0, cell, b[:, 1])
        np.maximum.at(x1, cell, b[:, 2])
        np.maximum.at(y1, cell, b[:, 3])
        poly = np.zeros(n_cells, dtype=np.int64)
        poly[cell] = lj[big]
        m = _MARGIN_DEG
        boxes = shapely.box(x0 - m, y0 - m, x1 + m, y1 + m)
        # the box may hold the polygon already
        inside = _box_within(lb[poly], np.column_stack([x0 - m, y0 - m, x1 + m, y1 + m]))
        clipped = lg[poly]
        clipped[~inside] = shapely.intersection(lg[poly[~inside]], boxes[~inside])
        out[big] = shapely.intersection(zg[zi[big]], clipped[cell])
    return out


def _merge(
    pieces: np.ndarray,
    piece_km2: np.ndarray,
    zin: np.ndarray,
    inv: np.ndarray,
    zones: np.ndarray,
    zones_km2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces merged per group (``inv``: each piece's group; ``zones``, ``zones_km2``: each
    group's zone): geometry, whether it is the whole zone, area (km2)."""
    n_groups = zones.size
    count = np.bincount(inv, minlength=n_groups)
    gin = np.bincount(inv, weights=zin, minlength=n_groups) > 0
    geom = np.empty(n_groups, dtype=object)
    km2 = np.zeros(n_groups)
    single = count[inv] == 1
    geom[inv[single]] = pieces[single]
    km2[inv[single]] = piece_km2[single]
    geom[gin] = zones[gin]
    km2[gin] = zones_km2[gin]
    several = (count > 1) & ~gin
    sel = several[inv]
    if sel.any():
        merged = _grouped_union(pieces[sel], inv[sel], n_groups)
        geom[several] = merged[several]
        km2[several] = geodesic_area(merged[several]) / 1e6
    return geom, gin, km2


def _pa_stats(zgeoms: np.ndarray, pas: gpd.GeoDataFrame) -> tuple[dict[str, np.ndarray], dict]:
    """Per-zone protected-area statistics, and the per-(zone, pa_id) overlaps."""
    pgeoms = np.asarray(pas.geometry.values, dtype=object)
    zone_area = geodesic_area(zgeoms) / 1e6
    # merge WDPA parcels sharing one pa_id, per zone; in a layer of several sources
    # (pa_sources.combine_protected_areas) the records of one area (pa_group) too
    area_key = pas["pa_group"] if "pa_group" in pas.columns else pas["pa_id"].astype(str)
    codes = pd.factorize(area_key)[0]
    ov = _overlay(zgeoms, pgeoms, zone_area, codes)
    positive = ov.pair_km2 > 0
    n_pas = np.bincount(ov.pair_zone[positive], minlength=zgeoms.size)
    pa_area = ov.union_km2
    # the first row of each pa_id gives its descriptive columns
    _, first = np.unique(codes, return_index=True)
    stats = {
        "zone_area_km2": zone_area,
        "pa_area_km2": pa_area,
        "pa_share": _share(pa_area, zone_area),
        "n_pas": n_pas.astype("int64"),
    }
    pairs = {
        "zone": ov.pair_zone[positive],
        "pa_row": first[ov.pair_code[positive]],
        "area": ov.pair_km2[positive],
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

    Two zones of one radius are linked when they intersect (touching included); the
    connected components of these links are the clusters (a buffer split at the
    antimeridian is one zone, so its two parts are linked), numbered in the order of
    their first zone, and each is dissolved once.
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
        comp, n_clusters, dissolved = _dissolve(zgeoms[members])
        suffix = _suffix(zones, members[0], group_cols)
        ids = (np.char.mod("C%04d", np.arange(1, n_clusters + 1)).astype(object)) + suffix
        labels[members] = ids[comp]
        geoms_out.extend(dissolved)
        meta["cluster_id"].extend(ids)
        for c in group_cols:
            meta[c].extend([zones[c].iloc[members[0]]] * n_clusters)
        counts = np.bincount(comp, minlength=n_clusters)
        meta["n_zones"].extend(counts.tolist())
        meta["zone_ids"].extend(_joined(zone_ids[members], comp, counts))
    return labels, np.array(geoms_out, dtype=object), meta


def _dissolve(geoms: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Connected groups of intersecting geometries, and each group's union.

    Geometries whose boxes chain together are unioned (one union per chain, not one of
    all); each geometry is linked to the parts of its chain's union it intersects, and
    the connected geometries and parts form a group, whose union is its parts. Returns
    each geometry's group (numbered in the order of each group's first geometry), the
    number of groups and their unions.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = geoms.size
    n_chain, chain = _box_chains(geoms)
    parts = shapely.get_parts(_grouped_union(geoms, chain, n_chain))
    zi, pj = shapely.STRtree(parts).query(geoms, predicate="intersects")
    m = parts.size
    links = coo_matrix((np.ones(zi.size, dtype=np.int8), (zi, n + pj)), shape=(n + m, n + m))
    n_comp, comp = connected_components(links, directed=False)
    first = np.full(n_comp, n + m)
    np.minimum.at(first, comp, np.arange(n + m))
    rank = np.empty(n_comp, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(n_comp)
    comp = rank[comp]
    n_groups = int(comp[:n].max()) + 1 if n else 0
    # a group's union is its part, or its parts (touching at points) as one multi-polygon
    part_group = comp[n:]
    linked = part_group < n_groups  # a part of an empty zone meets no zone
    parts, part_group = parts[linked], part_group[linked]
    counts = np.bincount(part_group, minlength=n_groups)
    dissolved = np.full(n_groups, None, dtype=object)
    one = counts[part_group] == 1
    dissolved[part_group[one]] = parts[one]
    if (~one).any():
        groups, index = np.unique(part_group[~one], return_inverse=True)
        order = np.argsort(index, kind="stable")
        dissolved[groups] = shapely.multipolygons(parts[~one][order], indices=index[order])
    return comp[:n], n_groups, dissolved


def _box_chains(geoms: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected groups of geometries whose boxes intersect (chains of boxes): their number,
    and each geometry's group. The box pairs are found :data:`_BOX_BATCH` geometries at a
    time and folded into the groups found so far, so memory stays bounded however dense."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = geoms.size
    tree = shapely.STRtree(geoms)
    label = np.arange(n)
    for start in range(0, n, _BOX_BATCH):
        a, b = tree.query(geoms[start : start + _BOX_BATCH])
        a, b = label[a + start], label[b]
        keep = a != b
        if keep.any():
            edges = (np.ones(int(keep.sum()), dtype=np.int8), (a[keep], b[keep]))
            label = connected_components(coo_matrix(edges, shape=(n, n)), directed=False)[1][label]
    groups, chain = np.unique(label, return_inverse=True)
    return groups.size, chain.ravel()


def _joined(ids: np.ndarray, comp: np.ndarray, counts: np.ndarray) -> list[str]:
    """The ids of each component joined by ';', in their order."""
    if ids.size == 0:
        return []
    order = np.argsort(comp, kind="stable")
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    joined = np.add.reduceat(ids[order].astype(object) + ";", starts)
    return pd.Series(joined, dtype=object).str[:-1].tolist()


def _suffix(zones: gpd.GeoDataFrame, row: int, group_cols: list[str]) -> str:
    if "radius_km" not in group_cols:
        return ""
    r = float(zones["radius_km"].iloc[row])
    if r == 0.0:  # footprint zones (buffers(footprint_zone=True)): C0001_footprint
        return "_footprint"
    if "inner_km" in group_cols:
        return f"_{float(zones['inner_km'].iloc[row]):g}-{r:g}km"
    return f"_{r:g}km"
