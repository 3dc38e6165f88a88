"""overlaps' fast paths (chunks, zones inside areas, areas inside zones, large areas cut per
grid cell, clusters from box chains) against a brute-force loop: per zone, the shapely union
of the protected areas it meets, clipped to the zone, measured by pyproj.Geod."""

from __future__ import annotations

from unittest import mock

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

import asm_pace
from asm_pace import overlap

GEOD = Geod(ellps="WGS84")


#: Tolerances: 1e-5 relative, 1 m2 absolute. Both sides measure edges as geodesics between
#: vertices, so the same lon/lat region with other vertices on an edge along a parallel has
#: another area (a great circle bulges poleward of the parallel: ~36 m2 for 0.02 degrees at
#: latitude 56). asm_pace unions the pieces clipped to each zone, the brute force clips the
#: union: where boxes share an edge's latitude (hypothesis puts sites on -180.0 and boxes at
#: their latitude), the two keep different vertices there. Worst found: 5.4e-6 (390 m2 of
#: 73 km2, a 0.08-degree edge at -56.4); densified to 0.001 degree the two regions agree to
#: 2e-10. Elsewhere they agree to 1e-6.
REL = 1e-5
ABS_KM2 = 1e-6


def geod_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6 if geom is not None else 0.0


def world_shape(x0: float, y0: float, w: float, disc: bool) -> shapely.Geometry:
    """A box or a disc (in degrees) of width ``w``, with edges of at most 0.02 degrees (Geod
    and asm_pace then agree), cut to -180..180."""
    x0 = (x0 + 180.0) % 360.0 - 180.0
    if disc:
        shape = shapely.Point(x0 + w / 2, y0 + w / 2).buffer(w / 2, quad_segs=16)
        shape = shapely.intersection(shape, shapely.box(-180.0, -90.0, 180.0, 90.0))
    else:
        shape = shapely.box(x0, y0, min(x0 + w, 180.0), y0 + w)
    return shapely.segmentize(shape, 0.02)


@st.composite
def small_world(draw):
    """Sites in a 1-degree block (by the antimeridian or not) buffered at 1-30 km, and
    overlapping boxes and discs: some large enough to hold zones, some small enough to lie in them,
    parcels sharing a pa_id, and an area recorded by two sources (one pa_group)."""
    x = draw(st.sampled_from([179.4, -180.0, 20.0]))
    y = draw(st.floats(-60.0, 60.0))
    n_sites = draw(st.integers(1, 6))
    lon = [draw(st.floats(0.0, 0.8)) + x for _ in range(n_sites)]
    lon = [v - 360.0 if v > 180.0 else v for v in lon]
    lat = [draw(st.floats(0.0, 0.8)) + y for _ in range(n_sites)]
    radii = draw(st.lists(st.sampled_from([1, 5, 10, 30]), min_size=1, max_size=2, unique=True))
    n_pas = draw(st.integers(0, 7))
    rows = []
    for _ in range(n_pas):
        w = draw(st.sampled_from([0.01, 0.05, 0.3, 1.2]))
        x0, y0 = x + draw(st.floats(-0.5, 1.0)), y + draw(st.floats(-0.5, 1.0))
        shape = world_shape(x0, y0, w, draw(st.booleans()))
        if shapely.area(shape) > 1e-8:  # not a sliver cut to nothing at 180 (readers drop them)
            rows.append((f"P{len(rows)}", shape))
    groups = list(range(len(rows)))
    if len(rows) >= 2 and draw(st.booleans()):  # a parcel of the first area
        rows[1] = (rows[0][0], rows[1][1])
        groups[1] = groups[0]
    if len(rows) >= 3 and draw(st.booleans()):  # the third area as recorded by a second source
        groups[2] = groups[0]
    return lon, lat, radii, rows, groups


def brute(zgeoms, rows, groups):
    """Per zone: union area, and area per group (pyproj.Geod on shapely unions)."""
    union, per_group = [], []
    for z in zgeoms:
        hits = [(g, p) for (_, p), g in zip(rows, groups, strict=True) if p.intersects(z)]
        inside = shapely.intersection(shapely.union_all([p for _, p in hits]), z) if hits else None
        union.append(geod_km2(inside))
        areas = {}
        for g in sorted({g for g, _ in hits}):
            merged = shapely.union_all([p for h, p in hits if h == g])
            areas[g] = geod_km2(shapely.intersection(merged, z))
        per_group.append(areas)
    return np.array(union), per_group


@settings(max_examples=60, deadline=None)
@given(world=small_world(), chunk=st.sampled_from([200, 10**9]), clip=st.sampled_from([8, 500]))
def test_overlaps_equal_a_brute_force_union_per_zone_and_cluster(world, chunk, clip) -> None:
    lon, lat, radii, rows, groups = world
    sites = gpd.GeoDataFrame(
        {"site_id": [f"S{i}" for i in range(len(lon))]},
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
    zones = asm_pace.buffers(sites, radii)
    pas = gpd.GeoDataFrame(
        {"pa_id": [r[0] for r in rows], "pa_group": groups, "name": [r[0] for r in rows]},
        geometry=[r[1] for r in rows],
        crs="EPSG:4326",
    )
    # small chunks and batches, a low vertex threshold: every zone through the chunked, cut path
    with (
        mock.patch.object(overlap, "_CHUNK_VERTICES", chunk),
        mock.patch.object(overlap, "_CLIP_VERTICES", clip),
        mock.patch.object(overlap, "_BOX_BATCH", 2 if chunk == 200 else 20_000),
    ):
        res = asm_pace.overlaps(zones, pas, dissolve=True)
    zg = list(zones.geometry)
    union, per_group = brute(zg, rows, groups)
    got = res.zones
    assert got["pa_area_km2"].to_numpy() == pytest.approx(union, rel=REL, abs=ABS_KM2)
    n_pas = [sum(a > 1e-9 for a in areas.values()) for areas in per_group]
    assert got["n_pas"].tolist() == n_pas
    # pairs: one row per zone and area (its first record's pa_id), the area's own overlap
    first_id = {g: rows[groups.index(g)][0] for g in set(groups)}
    expected = {
        (zones["zone_id"].iloc[i], first_id[g]): a
        for i, areas in enumerate(per_group)
        for g, a in areas.items()
        if a > 1e-9
    }
    keys = zip(res.pairs["zone_id"], res.pairs["pa_id"], strict=True)
    pairs = dict(zip(keys, res.pairs["overlap_km2"], strict=True))
    assert pairs.keys() == expected.keys()
    for key, a in expected.items():
        assert pairs[key] == pytest.approx(a, rel=REL, abs=ABS_KM2)
    # clusters: connected components of intersecting zones of one radius, by a plain loop
    label = list(range(len(zg)))

    def root(a: int) -> int:
        while label[a] != a:
            a = label[a]
        return a

    radius = zones["radius_km"].tolist()
    for a in range(len(zg)):
        for b in range(a + 1, len(zg)):
            if radius[a] == radius[b] and zg[a].intersects(zg[b]):
                label[root(b)] = root(a)
    comps: dict[int, list[int]] = {}
    for a in range(len(zg)):
        comps.setdefault(root(a), []).append(a)
    by_cluster = got.groupby("cluster_id").indices
    assert sorted(map(sorted, by_cluster.values())) == sorted(comps.values())
    cl = res.clusters.set_index("cluster_id")
    for cid, members in by_cluster.items():
        shape = shapely.union_all([zg[i] for i in members])
        assert cl.loc[cid, "cluster_area_km2"] == pytest.approx(geod_km2(shape), rel=1e-6)
        assert cl.loc[cid, "pa_area_km2"] == pytest.approx(
            brute([shape], rows, groups)[0][0], rel=REL, abs=ABS_KM2
        )
    # clusters are numbered in the order of their first zone
    firsts = [min(by_cluster[c]) for c in cl.index if c.endswith(f"_{radius[0]:g}km")]
    assert firsts == sorted(firsts)
