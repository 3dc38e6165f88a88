"""downstream: hand-worked networks, the samples against an independent walk, properties.

Every expected river-km comes from ``pyproj.Geod`` on the hand-drawn reaches (whose
LENGTH_KM is their Geod length), from a plain Python / networkx walk over NEXT_DOWN, or
from distances measured in UTM zone 19S (an independent projection) on the samples.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

import asm_pace
from asm_pace.errors import ExtentWarning, InputError
from asm_pace.flowpaths import (
    SITE_COLUMNS,
    STATUS_CYCLE,
    STATUS_ENDORHEIC,
    STATUS_MAX_KM,
    STATUS_OUTLET,
    STATUS_TRUNCATED,
    downstream,
)
from asm_pace.rivers import read_rivers

GEOD = Geod(ellps="WGS84")


def gkm(*lonlat: float) -> float:
    """Geodesic length (km) of the polyline through the given lon, lat pairs."""
    xy = np.asarray(lonlat, dtype=float).reshape(-1, 2)
    return GEOD.line_length(xy[:, 0], xy[:, 1]) / 1000.0


def network(reaches, *, discharge=None, endorheic=None) -> gpd.GeoDataFrame:
    """``reaches``: (id, next id, [(lon, lat), ...]); LENGTH_KM is the Geod length."""
    lines = [shapely.LineString(c) for _, _, c in reaches]
    n = len(reaches)
    return read_rivers(
        gpd.GeoDataFrame(
            {
                "HYRIV_ID": [r[0] for r in reaches],
                "NEXT_DOWN": [r[1] for r in reaches],
                "LENGTH_KM": [GEOD.geometry_length(g) / 1000.0 for g in lines],
                "DIS_AV_CMS": discharge if discharge is not None else [np.nan] * n,
                "ENDORHEIC": endorheic if endorheic is not None else [0] * n,
            },
            geometry=lines,
            crs="EPSG:4326",
        )
    )


def sites(**points) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": list(points)},
        geometry=[shapely.Point(p) for p in points.values()],
        crs="EPSG:4326",
    )


def areas(**boxes) -> gpd.GeoDataFrame:
    """Protected areas named by their keyword; a list of boxes is one area's parcels."""
    ids, geoms = [], []
    for name, b in boxes.items():
        for one in b if isinstance(b[0], tuple) else [b]:
            ids.append(name)
            geoms.append(shapely.box(*one))
    return gpd.GeoDataFrame({"pa_id": ids, "name": ids}, geometry=geoms, crs="EPSG:4326")


def row(result, site_id):
    return result.sites.set_index("site_id").loc[site_id]


# main stem along the equator, 0.1 degree reaches: 1 -> 2 -> 3 -> outlet; 4 -> 2
CONFLUENCE = [
    (1, 2, [(0.0, 0.0), (0.1, 0.0)]),
    (2, 3, [(0.1, 0.0), (0.2, 0.0)]),
    (3, 0, [(0.2, 0.0), (0.3, 0.0)]),
    (4, 2, [(0.1, 0.1), (0.1, 0.0)]),
]


def test_confluence():
    rivers = network(CONFLUENCE, discharge=[10.0, 30.0, 40.0, 5.0])
    pas = areas(P=(0.25, -0.5, 0.35, 0.5))
    out = downstream(sites(A=(0.05, 0.001), B=(0.1, 0.05)), rivers, pas)
    a, b = row(out, "A"), row(out, "B")
    assert a["downstream_reach_id"] == 1 and b["downstream_reach_id"] == 4
    assert a["downstream_snap_km"] == pytest.approx(gkm(0.05, 0.001, 0.05, 0.0), abs=1e-6)
    assert a["downstream_first_pa_km"] == pytest.approx(gkm(0.05, 0, 0.25, 0), abs=1e-6)
    assert b["downstream_first_pa_km"] == pytest.approx(gkm(0.1, 0.05, 0.1, 0, 0.25, 0), abs=1e-6)
    assert a["downstream_status"] == b["downstream_status"] == STATUS_OUTLET
    assert a["downstream_km"] == pytest.approx(gkm(0.05, 0, 0.3, 0), abs=1e-6)
    # dilution proxy: discharge at the site's reach over discharge at the entry reach (3)
    assert a["downstream_first_pa_dilution"] == pytest.approx(10.0 / 40.0)
    assert b["downstream_first_pa_dilution"] == pytest.approx(5.0 / 40.0)
    assert a["downstream_discharge_cms"] == 10.0
    assert a["downstream_pas"] == f"P ({gkm(0.05, 0, 0.25, 0):.1f} km)"
    # the path drawn: from the snap point to the outlet, its geodesic length by Geod
    path = out.paths.set_index("site_id").loc["A"]
    assert path.geometry.coords[0] == pytest.approx((0.05, 0.0))
    assert path.geometry.coords[-1] == pytest.approx((0.3, 0.0))
    assert path["geodesic_km"] == pytest.approx(gkm(0.05, 0, 0.3, 0), abs=1e-6)
    assert path["river_km"] == pytest.approx(a["downstream_km"])


def test_reaches_drawn_upstream_are_followed_downstream():
    """Reach 2 and the outlet reach 3 drawn the wrong way: the same answers."""
    flipped = [(i, n, c[::-1]) if i in (2, 3) else (i, n, c) for i, n, c in CONFLUENCE]
    pas = areas(P=(0.25, -0.5, 0.35, 0.5))
    out = downstream(sites(A=(0.05, 0.001)), network(flipped), pas)
    assert row(out, "A")["downstream_first_pa_km"] == pytest.approx(gkm(0.05, 0, 0.25, 0))
    assert out.paths.geometry.iloc[0].coords[-1] == pytest.approx((0.3, 0.0))


def test_braid():
    """X -> A -> Y and a side channel B from X's end to Y: B is walked only from B."""
    braid = [
        (10, 11, [(0.0, 0.0), (0.1, 0.0)]),
        (11, 13, [(0.1, 0.0), (0.2, 0.0)]),
        (12, 13, [(0.1, 0.0), (0.15, 0.05), (0.2, 0.0)]),
        (13, 0, [(0.2, 0.0), (0.3, 0.0)]),
    ]
    pas = areas(SIDE=(0.14, 0.04, 0.16, 0.06), LOW=(0.28, -1, 0.4, 1))
    out = downstream(sites(X=(0.05, 0.0), B=(0.15, 0.0502)), network(braid), pas)
    table = out.areas.set_index(["site_id", "area_id"])["river_km"]
    assert ("X", "SIDE") not in table.index  # the main channel never meets the side area
    assert table["X", "LOW"] == pytest.approx(gkm(0.05, 0, 0.28, 0), abs=1e-6)
    # B snaps inside SIDE: 0 km; then down the rest of B and Y
    assert table["B", "SIDE"] == 0.0
    assert table["B", "LOW"] == pytest.approx(gkm(0.15, 0.05, 0.2, 0, 0.28, 0), abs=1e-6)


def test_leave_and_reenter_reports_the_first_entry():
    """One area in two parcels (two rows, one pa_id) and a hole in between."""
    line = [(1, 0, [(0.0, 0.0), (0.5, 0.0)])]
    pas = areas(P=((0.1, -1, 0.15, 1), (0.3, -1, 0.35, 1)), Q=(0.2, -1, 0.25, 1))
    out = downstream(sites(S=(0.0, 0.0)), network(line), pas)
    got = out.areas.set_index("area_id")["river_km"]
    assert list(out.areas["area_id"]) == ["P", "Q"]  # each area once, by river-km
    assert got["P"] == pytest.approx(gkm(0, 0, 0.1, 0), abs=1e-6)
    assert got["Q"] == pytest.approx(gkm(0, 0, 0.2, 0), abs=1e-6)


def test_entry_upstream_of_the_snap_point_is_not_downstream():
    line = [(1, 0, [(0.0, 0.0), (0.5, 0.0)])]
    pas = areas(UP=(0.05, -1, 0.1, 1), DOWN=(0.4, -1, 0.45, 1))
    out = downstream(sites(S=(0.2, 0.0)), network(line), pas)
    assert list(out.areas["area_id"]) == ["DOWN"]
    assert row(out, "S")["downstream_first_pa_km"] == pytest.approx(gkm(0.2, 0, 0.4, 0))


def test_cycle_stops_with_its_status():
    looped = [
        (1, 2, [(0.0, 0.0), (0.1, 0.0)]),
        (2, 3, [(0.1, 0.0), (0.2, 0.0)]),
        (3, 2, [(0.2, 0.0), (0.15, 0.05), (0.1, 0.0)]),
    ]
    out = downstream(sites(S=(0.0, 0.0), C=(0.15, 0.05)), network(looped), None)
    s, c = row(out, "S"), row(out, "C")
    assert s["downstream_status"] == c["downstream_status"] == STATUS_CYCLE
    # S: reaches 1, 2, 3 once each; C (on 3, at its middle vertex): the rest of 3, then 2
    assert s["downstream_km"] == pytest.approx(gkm(0, 0, 0.2, 0, 0.15, 0.05, 0.1, 0))
    assert c["downstream_km"] == pytest.approx(gkm(0.15, 0.05, 0.1, 0, 0.2, 0))


def test_self_loop_and_long_cycle_never_hang():
    ring = [(i, i % 50 + 1, [(i * 0.01, 0.0), (i * 0.01 + 0.01, 0.0)]) for i in range(1, 51)]
    ring.append((99, 99, [(0.0, 1.0), (0.01, 1.0)]))
    out = downstream(sites(R=(0.2, 0.0), L=(0.0, 1.0)), network(ring), None, max_km=10_000)
    assert set(out.sites["downstream_status"]) == {STATUS_CYCLE}
    assert row(out, "L")["downstream_km"] == pytest.approx(gkm(0, 1, 0.01, 1))


def test_endorheic_sink_and_truncated_network():
    reaches = [
        (1, 0, [(0.0, 0.0), (0.1, 0.0)]),  # ends in an endorheic sink
        (2, 77, [(0.0, 1.0), (0.1, 1.0)]),  # flows into reach 77, not in the file
    ]
    out = downstream(sites(E=(0.0, 0.0), T=(0.0, 1.0)), network(reaches, endorheic=[1, 0]), None)
    assert row(out, "E")["downstream_status"] == STATUS_ENDORHEIC
    assert row(out, "T")["downstream_status"] == STATUS_TRUNCATED
    assert row(out, "T")["downstream_km"] == pytest.approx(gkm(0, 1, 0.1, 1))


def test_max_km_cuts_mid_reach():
    line = [(1, 0, [(0.0, 0.0), (1.0, 0.0)])]  # 111 km
    pas = areas(NEAR=(0.3, -1, 0.35, 1), FAR=(0.5, -1, 0.6, 1))
    out = downstream(sites(S=(0.0, 0.0)), network(line), pas, max_km=50)
    s = row(out, "S")
    assert s["downstream_status"] == STATUS_MAX_KM and s["downstream_km"] == 50.0
    assert list(out.areas["area_id"]) == ["NEAR"]  # FAR is 55.7 km down
    path = out.paths.geometry.iloc[0]
    end_lon = GEOD.fwd(0.0, 0.0, 90.0, 50_000.0)[0]
    assert path.coords[-1] == pytest.approx((end_lon, 0.0), abs=1e-9)
    assert out.paths["geodesic_km"].iloc[0] == pytest.approx(50.0, abs=1e-6)


def test_no_river_within_snap_km():
    line = [(1, 0, [(0.0, 0.0), (0.1, 0.0)])]
    far = (0.05, 0.09)  # about 10 km north of the reach
    d = gkm(0.05, 0.09, 0.05, 0.0)
    with pytest.warns(ExtentWarning, match="outside the network's extent"):
        out = downstream(sites(F=far), network(line), None, snap_km=5)
    f = row(out, "F")
    assert f["downstream_status"] == "no river within 5 km"
    assert pd.isna(f["downstream_reach_id"]) and np.isnan(f["downstream_km"])
    assert out.paths.empty
    near = downstream(sites(F=far), network(line), None, snap_km=20)
    assert row(near, "F")["downstream_snap_km"] == pytest.approx(d, abs=1e-6)


def test_unknown_discharge_gives_no_dilution():
    rivers = network(CONFLUENCE, discharge=[np.nan, 30.0, 0.0, 5.0])
    out = downstream(sites(A=(0.05, 0.0)), rivers, areas(P=(0.25, -0.5, 0.35, 0.5)))
    assert np.isnan(row(out, "A")["downstream_first_pa_dilution"])


def test_kbas_are_reported_apart():
    kbas = gpd.GeoDataFrame(
        {"kba_id": ["K1"], "kba_name": ["Cocha"]},
        geometry=[shapely.box(0.15, -0.1, 0.16, 0.1)],
        crs="EPSG:4326",
    )
    out = downstream(sites(A=(0.05, 0.0)), network(CONFLUENCE), None, kbas=kbas)
    a = row(out, "A")
    assert a["downstream_first_kba_id"] == "K1" and a["downstream_first_kba_name"] == "Cocha"
    assert a["downstream_first_kba_km"] == pytest.approx(gkm(0.05, 0, 0.15, 0))
    assert set(out.areas["area"]) == {"kba"}


def test_footprints_use_a_point_inside():
    poly = gpd.GeoDataFrame(
        {"site_id": ["F"]}, geometry=[shapely.box(0.04, 0.001, 0.06, 0.003)], crs=4326
    )
    out = downstream(poly, network(CONFLUENCE), None)
    assert row(out, "F")["downstream_reach_id"] == 1


def test_columns_and_index_are_kept():
    s = sites(A=(0.05, 0.0), B=(9.0, 9.0)).set_index(pd.Index([7, 3]))
    with pytest.warns(ExtentWarning):
        out = downstream(s, network(CONFLUENCE), areas(P=(0.25, -0.5, 0.35, 0.5)))
    assert list(out.sites.index) == [7, 3]
    assert set(SITE_COLUMNS) <= set(out.sites.columns)


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"max_km": 0}, "max_km must be a finite number of km above 0"),
        ({"max_km": float("inf")}, "max_km must be"),
        ({"snap_km": -1}, "snap_km must be"),
        ({"snap_km": "five"}, "snap_km 'five' is not a number"),
    ],
)
def test_refuses_bad_distances(kw, words):
    with pytest.raises(InputError, match=words):
        downstream(sites(A=(0.05, 0.0)), network(CONFLUENCE), None, **kw)


# --------------------------------------------------------------------------- samples
@pytest.fixture(scope="module")
def sample_run(samples):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        site_gdf = asm_pace.read_sites(samples / "sites.csv")
        pas = asm_pace.read_protected_areas(samples / "protected_areas.gpkg")
    rivers = read_rivers(samples / "rivers.gpkg")
    return site_gdf, pas, rivers, downstream(site_gdf, rivers, pas, max_km=80)


def test_samples_against_networkx_and_utm(sample_run):
    """Each site's path (networkx successors), its snap point and the first protected area
    it enters, measured in UTM 19S on the sample reaches (drawn downstream)."""
    site_gdf, pas, rivers, out = sample_run
    graph = nx.DiGraph()
    graph.add_edges_from(zip(rivers["reach_id"], rivers["next_id"], strict=True))
    utm = "EPSG:32719"
    reach_m = rivers.to_crs(utm).set_index("reach_id").geometry
    length = rivers.set_index("reach_id")["length_km"]
    pas_m = pas.to_crs(utm)
    pts_m = site_gdf.to_crs(utm).geometry
    checked = 0
    for i, got in out.sites.iterrows():
        if pd.isna(got["downstream_reach_id"]):
            d = reach_m.distance(pts_m[i]).min()
            assert d > 4_990  # no reach within 5 km (UTM scale < 0.1 %)
            continue
        dist = reach_m.distance(pts_m[i])
        r0 = int(dist.idxmin())
        if dist.nsmallest(2).diff().abs().iloc[-1] < 1.0:
            continue  # two reaches equally near (a confluence): either is right
        assert int(got["downstream_reach_id"]) == r0
        assert got["downstream_snap_km"] == pytest.approx(dist.min() / 1000, rel=2e-3, abs=2e-3)
        # the walk by networkx: successors until no reach of the file follows
        walk = [r0]
        while True:
            nxt = [n for n in graph.successors(walk[-1]) if n in length.index]
            if not nxt:
                break
            walk.append(nxt[0])
        first = reach_m[r0]
        pos = first.project(pts_m[i])
        share_left = 1.0 - pos / first.length
        km_left = [share_left * length[r0]]
        for r in walk[1:]:
            km_left.append(km_left[-1] + length[r])
        total = km_left[-1]
        assert got["downstream_km"] == pytest.approx(min(total, 80.0), abs=0.05)
        # first protected area: along the path line in UTM
        line = shapely.line_merge(
            shapely.MultiLineString(
                [shapely.ops.substring(first, pos, first.length)] + [reach_m[r] for r in walk[1:]]
            )
        )
        hits = pas_m[pas_m.intersects(line)]
        entries = []
        for geom in hits.geometry:
            inter = line.intersection(geom)
            at = min(line.project(shapely.Point(c)) for c in shapely.get_coordinates(inter))
            entries.append(at / 1000.0)
        expected = min(entries) if entries else np.nan
        if expected > 80.0:
            expected = np.nan
        if np.isnan(expected):
            assert np.isnan(got["downstream_first_pa_km"])
        else:
            assert got["downstream_first_pa_km"] == pytest.approx(expected, rel=2e-3, abs=0.1)
        checked += 1
    assert checked > 150


def test_samples_statuses(sample_run):
    _, _, _, out = sample_run
    statuses = out.sites["downstream_status"].value_counts()
    assert set(statuses.index) <= {STATUS_MAX_KM, STATUS_TRUNCATED, "no river within 5 km"}
    assert statuses[STATUS_TRUNCATED] > 0  # Rio Alfa runs on past the sample extent


# --------------------------------------------------------------------------- properties
def brute_walk(ids, nxt, length, start, max_km, share=1.0):
    """A plain Python walk from ``share`` of reach ``start`` above its end: status, km, reaches."""
    where = {r: k for k, r in enumerate(ids)}
    seen, km, r = [], 0.0, start
    while True:
        seen.append(r)
        km += length[where[r]] * (share if len(seen) == 1 else 1.0)
        n = nxt[where[r]]
        if km >= max_km:
            return STATUS_MAX_KM, max_km, seen
        if n == 0:
            return STATUS_OUTLET, km, seen
        if n not in where:
            return STATUS_TRUNCATED, km, seen
        if n in seen:
            return STATUS_CYCLE, km, seen
        r = n


@st.composite
def random_networks(draw):
    n = draw(st.integers(2, 25))
    cyclic = draw(st.booleans())
    nxt = []
    for i in range(n):
        choices = st.integers(-1, n - 1) if cyclic else st.integers(-1, i - 1)
        nxt.append(draw(choices))
    micro = st.integers(0, 10**6).map(lambda v: v / 1e6)  # coordinates to 6 decimals
    lon = draw(st.lists(micro, min_size=n, max_size=n, unique=True))
    lat = draw(st.lists(micro, min_size=n, max_size=n, unique=True))
    length = draw(st.lists(st.floats(0.5, 60), min_size=n, max_size=n))
    start = draw(st.integers(0, n - 1))
    max_km = draw(st.floats(1, 400))
    return nxt, lon, lat, length, start, max_km


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks())
def test_property_walk_equals_a_plain_walk(case):
    """On random trees (and random graphs with cycles): the km followed is the sum of the
    reach lengths walked (cut at max_km), the status is the plain walk's, and the areas
    reached come in walk order with non-decreasing river-km."""
    nxt_pos, lon, lat, length, start, max_km = case
    n = len(nxt_pos)
    ids = list(range(1, n + 1))
    nxt = [0 if p < 0 else p + 1 for p in nxt_pos]
    lines = []
    for i in range(n):
        if nxt_pos[i] < 0 or nxt_pos[i] == i:
            end = (lon[i] + 0.05, lat[i] + 0.05)
        else:
            end = (lon[nxt_pos[i]], lat[nxt_pos[i]])
        lines.append(shapely.LineString([(lon[i], lat[i]), end]))
    rivers = gpd.GeoDataFrame(
        {
            "reach_id": ids,
            "next_id": nxt,
            "length_km": length,
            "dist_dn_km": np.nan,
            "discharge_cms": np.nan,
            "endorheic": False,
            "truncated": False,
        },
        geometry=lines,
        crs="EPSG:4326",
    )
    site = sites(S=(lon[start], lat[start]))
    pas = areas(P=(0.2, 0.2, 0.4, 0.4), Q=(0.6, 0.0, 0.7, 1.0), R=(0.0, 0.7, 1.0, 0.8))
    out = downstream(site, rivers, pas, max_km=max_km)
    got = row(out, "S")
    snapped = int(got["downstream_reach_id"])
    assert got["downstream_snap_km"] < 1e-6  # the site is a reach's upper end
    line = lines[snapped - 1]
    share = 1.0 - line.project(site.geometry.iloc[0], normalized=True)
    status, km, walked = brute_walk(ids, nxt, length, snapped, max_km, share)
    assert got["downstream_km"] == pytest.approx(km, rel=1e-6, abs=1e-6)  # 1 mm
    if got["downstream_status"] != status:  # a path ending exactly at max_km: either word
        assert STATUS_MAX_KM in (status, got["downstream_status"])
        assert km == pytest.approx(max_km, rel=1e-6)
    table = out.areas
    assert (table["river_km"] >= 0).all() and (table["river_km"] <= max_km + 1e-9).all()
    order = [walked.index(r) for r in table["entry_reach_id"]]
    assert order == sorted(order)
    assert table["river_km"].is_monotonic_increasing


# --------------------------------------------------------------------------- the command line
def test_cli_writes_the_downstream_layers(samples, tmp_path):
    from click.testing import CliRunner

    from asm_pace.cli import cli

    out = tmp_path / "out.gpkg"
    args = ["classify", str(samples / "sites.csv"), "-p", str(samples / "protected_areas.gpkg")]
    args += ["-e", str(samples / "ecoregions.gpkg"), "--rivers", str(samples / "rivers.gpkg")]
    args += ["--downstream-km", "80", "-o", str(out), "--qgis-project"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    layers = dict(pyogrio.list_layers(out))
    assert layers["downstream"] == "LineString" and layers["downstream_areas"] is None
    written = gpd.read_file(out, layer="sites")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = downstream(
            asm_pace.read_sites(samples / "sites.csv"),
            read_rivers(samples / "rivers.gpkg"),
            asm_pace.read_protected_areas(samples / "protected_areas.gpkg"),
            max_km=80,
        ).sites
    assert written["downstream_status"].tolist() == expected["downstream_status"].tolist()
    np.testing.assert_allclose(
        written["downstream_first_pa_km"], expected["downstream_first_pa_km"], rtol=1e-12
    )
    styles = gpd.read_file(out, layer="layer_styles")
    qml = styles.set_index("f_table_name").loc["downstream", "styleQML"]
    assert "downstream_status" in qml and 'type="line"' in qml
    info = gpd.read_file(out, layer="run_info")
    assert "downstream_km" in set(info["key"]) and "rivers" in " ".join(info["key"])


def test_multilinestring_reaches_are_followed_as_lines():
    """A reach stored as a MultiLineString of contiguous parts (as shapefiles give)."""
    reaches = [(i, n, c) for i, n, c in CONFLUENCE]
    rivers = network(reaches)
    rivers.loc[1, "geometry"] = shapely.MultiLineString(
        [[(0.1, 0.0), (0.15, 0.0)], [(0.15, 0.0), (0.2, 0.0)]]
    )
    pas = areas(P=(0.25, -0.5, 0.35, 0.5))
    out = downstream(sites(A=(0.05, 0.0), M=(0.12, 0.0)), rivers, pas)
    assert row(out, "A")["downstream_first_pa_km"] == pytest.approx(gkm(0.05, 0, 0.25, 0))
    assert row(out, "M")["downstream_first_pa_km"] == pytest.approx(gkm(0.12, 0, 0.25, 0))


def test_samples_km_to_the_end_is_dist_dn_km(samples):
    """Followed to the file's end, the river-km are the snapped reach's share below the site
    plus its DIST_DN_KM (the generator's own sum along NEXT_DOWN); the share in UTM 19S."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        site_gdf = asm_pace.read_sites(samples / "sites.csv")
    raw = gpd.read_file(samples / "rivers.gpkg").set_index("HYRIV_ID")
    out = downstream(site_gdf, read_rivers(samples / "rivers.gpkg"), None, max_km=1000)
    utm = raw.to_crs("EPSG:32719").geometry
    pts = site_gdf.to_crs("EPSG:32719").geometry
    on = out.sites["downstream_reach_id"].notna()
    assert on.sum() > 150
    assert set(out.sites.loc[on, "downstream_status"]) == {STATUS_TRUNCATED}
    for i in np.flatnonzero(on):
        r = int(out.sites["downstream_reach_id"].iloc[i])
        line = utm[r]
        share = 1.0 - line.project(pts.iloc[i]) / line.length
        expected = share * raw.loc[r, "LENGTH_KM"] + raw.loc[r, "DIST_DN_KM"]
        assert out.sites["downstream_km"].iloc[i] == pytest.approx(expected, abs=0.05)


def test_an_area_in_two_sources_is_one_area():
    """Combined sources (pa_sources): rows of one pa_group are one area, named SOURCE:ID."""
    pas = areas(A=(0.25, -0.5, 0.35, 0.5), B=(0.24, -0.5, 0.36, 0.5), C=(0.15, -1, 0.16, 1))
    pas["source"] = ["WDPA", "SERNANP", "WDPA"]
    pas["pa_group"] = [0, 0, 1]
    out = downstream(sites(S=(0.05, 0.0)), network(CONFLUENCE), pas)
    assert out.areas["area_id"].tolist() == ["WDPA:C", "WDPA:A"]
    # the area is entered where any of its records first meets the river (B, at lon 0.24)
    assert out.areas["river_km"].iloc[1] == pytest.approx(gkm(0.05, 0, 0.24, 0))


def test_sites_beyond_the_reaches_of_a_box_warn(tmp_path):
    """Read for a box holding every site, the network still stops short of one of them."""
    path = tmp_path / "rivers.gpkg"
    network(CONFLUENCE).rename(columns={"reach_id": "HYRIV_ID", "next_id": "NEXT_DOWN"})[
        ["HYRIV_ID", "NEXT_DOWN", "geometry"]
    ].to_file(path, layer="rivers")
    rivers = read_rivers(path, bbox=(-1.0, -1.0, 3.0, 1.0))
    with pytest.warns(ExtentWarning, match="1 site\\(s\\) lie outside the network's extent"):
        out = downstream(sites(A=(0.05, 0.0), FAR=(2.5, 0.5)), rivers, None)
    assert row(out, "FAR")["downstream_status"] == "no river within 5 km"
