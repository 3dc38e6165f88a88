"""Uncertain locations (``pa_certainty``, the nearest-distance range) and ``protected_since``.

Expected values are worked out by hand (a point a known geodesic distance from a meridian edge,
found with pyproj.Geod.fwd at azimuth 270: the geodesic meets the meridian at right angles, so
that point is the nearest) or by brute force (pyproj.Geod.inv to every point of a boundary
densified to about 2 m).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from asm_pace import classify, validate_sites
from asm_pace.classification import parse_uncertainty
from asm_pace.errors import InputError
from test_qgis import qgis  # noqa: F401  (the fixture running the system QGIS)

GEOD = Geod(ellps="WGS84")
PARK = shapely.box(0.0, 10.0, 0.1, 10.1)  # west edge: the meridian lon 0


def _pas(geoms, years=None, names=None) -> gpd.GeoDataFrame:
    n = len(geoms)
    return gpd.GeoDataFrame(
        {
            "pa_id": [str(i + 1) for i in range(n)],
            "name": names or [f"Park {i + 1}" for i in range(n)],
            "designation": ["National Park"] * n,
            "iucn_category": ["II"] * n,
            "status_year": pd.array(years or [1990] * n, dtype="Int64"),
            "world_heritage": [False] * n,
            "ramsar": [False] * n,
        },
        geometry=list(geoms),
        crs=4326,
    )


ECO = gpd.GeoDataFrame(
    {
        "eco_id": pd.array([1], dtype="Int64"),
        "eco_name": ["Dry forest"],
        "biome": pd.array([2], dtype="Int64"),
        "g200_region": [""],
        "is_g200": [False],
    },
    geometry=[shapely.box(-10, -80, 10, 80)],
    crs=4326,
)


def _sites(geoms, **columns) -> gpd.GeoDataFrame:
    ids = [f"S{i + 1}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"site_id": ids, **columns}, geometry=list(geoms), crs=4326)


def _west(metres: float, lat: float = 10.05) -> shapely.Point:
    """The point ``metres`` west of the park's west edge (negative: east, inside)."""
    lon, lat2, _ = GEOD.fwd(0.0, lat, 270.0 if metres >= 0 else 90.0, abs(metres))
    return shapely.Point(lon, lat2)


def test_hand_worked_points():
    sites = _sites([_west(300), _west(700), _west(-300), _west(-700), shapely.Point(0.05, 10.05)])
    out = classify(sites, _pas([PARK]), ECO, uncertainty_m=500)
    assert list(out["pa_certainty"]) == [
        "possible",
        "certain_outside",
        "possible",
        "certain_inside",
        "certain_inside",
    ]
    # the class stays the one at the given point
    assert list(out["pace_class"])[:4] == ["not_eligible", "not_eligible"] + ["protected_area"] * 2
    # d - u clipped at 0, d + u; inside [0, u - b]
    np.testing.assert_allclose(out["nearest_pa_km_min"], [0.0, 0.2, 0.0, 0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(out["nearest_pa_km_max"], [0.8, 1.2, 0.2, 0.0, 0.0], atol=1e-5)
    assert out["reason"][0].endswith(
        "; within its 500 m location uncertainty it may lie in a protected area"
    )
    assert out["reason"][2].endswith("; within its 500 m location uncertainty it may lie outside")
    assert "uncertainty" not in out["reason"][1] + out["reason"][3]
    assert (out["location_uncertainty_m"] == 500).all()


def test_adjacent_parks_are_one_protected_region():
    """300 m from a boundary shared with another park: wholly inside protected areas."""
    east = shapely.box(-0.1, 10.0, 0.0, 10.1)
    sites = _sites([_west(-300), _west(300)])
    out = classify(sites, _pas([PARK, east]), ECO, uncertainty_m=500)
    assert list(out["pa_certainty"]) == ["certain_inside", "certain_inside"]
    # without the neighbour the first is possible
    alone = classify(sites.iloc[:1], _pas([PARK]), ECO, uncertainty_m=500)
    assert alone["pa_certainty"].tolist() == ["possible"]


def test_footprints_grow_by_the_uncertainty():
    """A 100 m square whose east side is 300 m west of the park; one in the park's middle."""
    e = _west(300)
    w = _west(400)
    near = shapely.box(w.x, 10.05 - 0.0005, e.x, 10.05 + 0.0005)
    middle = shapely.box(0.045, 10.045, 0.055, 10.055)
    straddle = shapely.box(-0.001, 10.05, 0.001, 10.051)
    sites = _sites([near, middle, straddle])
    out = classify(sites, _pas([PARK]), ECO, uncertainty_m=500)
    assert list(out["pa_certainty"]) == ["possible", "certain_inside", "possible"]
    assert out["reason"][0].endswith("it may overlap a protected area")
    assert out["reason"][2].endswith("its protected share may differ")
    out = classify(sites, _pas([PARK]), ECO, uncertainty_m=200)
    assert list(out["pa_certainty"]) == ["certain_outside", "certain_inside", "possible"]
    # a radius of 0 is a certain location: certain by the class
    out = classify(sites, _pas([PARK]), ECO, uncertainty_m=0)
    assert list(out["pa_certainty"]) == ["certain_outside", "certain_inside", "certain_inside"]


def _brute_distance(lon: float, lat: float, ring: shapely.LinearRing) -> float:
    bx, by = np.asarray(shapely.segmentize(ring, 0.00002).coords).T
    return float(GEOD.inv(np.full(bx.size, lon), np.full(bx.size, lat), bx, by)[2].min())


@settings(max_examples=40, deadline=None)
@given(
    lat=st.floats(-70, 70),
    w=st.floats(0.005, 0.03),
    h=st.floats(0.005, 0.03),
    skew=st.floats(-0.004, 0.004),
    px=st.floats(-0.5, 1.5),
    py=st.floats(-0.5, 1.5),
    u=st.floats(1.0, 3000.0),
)
def test_possible_iff_the_boundary_is_within_u(lat, w, h, skew, px, py, u):
    """possible iff the Geod distance from the point to the boundary is below u (brute force)."""
    park = shapely.Polygon([(0, lat), (w, lat + skew), (w, lat + h), (0, lat + h)])
    x, y = px * w, lat + py * h
    d = _brute_distance(x, y, park.exterior)
    if abs(d - u) < 5.0 or d < 5.0:  # the brute force is good to ~1 m
        return
    out = classify(_sites([shapely.Point(x, y)]), _pas([park]), ECO, uncertainty_m=u)
    inside = park.contains(shapely.Point(x, y))
    expected = "possible" if d < u else ("certain_inside" if inside else "certain_outside")
    assert out["pa_certainty"][0] == expected
    lo, hi = (0.0, max(0.0, u - d)) if inside else (max(0.0, d - u), d + u)
    assert abs(out["nearest_pa_km_min"][0] * 1000 - lo) < 2.0
    assert abs(out["nearest_pa_km_max"][0] * 1000 - hi) < 2.0


def test_protected_since_is_the_earliest_year_holding_the_site():
    pas = _pas(
        [
            shapely.box(0, 0, 1, 1),
            shapely.box(0.5, 0, 1.5, 1),
            shapely.box(0, 0, 0.3, 0.3),
            shapely.box(3, 3, 4, 4),
        ],
        years=[1990, 1975, None, None],
    )
    sites = _sites(
        [
            shapely.Point(0.7, 0.5),  # parks 1 and 2: 1975
            shapely.Point(0.1, 0.1),  # parks 1 and 3 (no year): 1990
            shapely.Point(3.5, 3.5),  # park 4 only, no year
            shapely.Point(2.0, 2.0),  # outside
            shapely.box(1.2, 0.2, 1.3, 0.3),  # a footprint in park 2
        ]
    )
    out = classify(sites, pas, ECO)
    assert out["protected_since"].dtype == "Int64"
    assert out["protected_since"][[0, 1, 4]].tolist() == [1975, 1990, 1975]
    assert out["protected_since"][2:4].isna().all()
    # without any uncertainty, no uncertainty columns
    assert "pa_certainty" not in out.columns and "nearest_pa_km_min" not in out.columns


def test_the_site_column_and_the_keyword():
    """A Darwin Core column gives per-site radii; its empty cells take uncertainty_m."""
    sites = _sites(
        [_west(300), _west(300), _west(300)],
        coordinateUncertaintyInMeters=[100.0, np.nan, 1000.0],
    )
    out = classify(sites, _pas([PARK]), ECO)
    assert out["location_uncertainty_m"][[0, 2]].tolist() == [100.0, 1000.0]
    assert out["pa_certainty"].tolist() == ["certain_outside", "", "possible"]
    assert np.isnan(out["nearest_pa_km_min"][1])
    out = classify(sites, _pas([PARK]), ECO, uncertainty_m=400)
    assert out["location_uncertainty_m"].tolist() == [100.0, 400.0, 1000.0]
    assert out["pa_certainty"].tolist() == ["certain_outside", "possible", "possible"]


@pytest.mark.parametrize("value", [-1.0, np.inf, 200_000.0, "500 feet"])
def test_bad_values_are_refused(value):
    sites = _sites([_west(300), _west(700)], uncertainty_m=[100, value])
    sites.attrs["source"] = "mines.gpkg"
    with pytest.raises(
        InputError, match=r"mines\.gpkg: 1 value\(s\) of the column 'uncertainty_m'.*site_id S2"
    ):
        classify(sites, _pas([PARK]), ECO)
    with pytest.raises(InputError, match=r"uncertainty_m=.*0 to 100 km"):
        classify(
            sites.iloc[:1].drop(columns="uncertainty_m"),
            _pas([PARK]),
            ECO,
            uncertainty_m=value if not isinstance(value, str) else float("nan"),
        )


def test_validate_lists_every_bad_value(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(
        "id,lat,lon,Accuracy (m)\na,1,1,10\nb,1,2,-1\nc,1,3,abc\nd,1,4,\ne,1,5,1e6\n",
        encoding="utf-8",
    )
    problems = validate_sites(path)
    assert [(p.line, p.column, p.value) for p in problems] == [
        (3, "Accuracy (m)", "-1"),
        (4, "Accuracy (m)", "abc"),
        (6, "Accuracy (m)", "1e6"),
    ]
    assert "not a radius" in problems[0].problem and "metres" in problems[0].fix


def test_parse_uncertainty():
    assert parse_uncertainty("500m") == 500.0
    assert parse_uncertainty(" 0.5 KM ") == 500.0
    assert parse_uncertainty("250") == 250.0
    for bad in ("500 feet", "-1m", "101km", "", "nan"):
        with pytest.raises(InputError, match="--uncertainty"):
            parse_uncertainty(bad)


@pytest.mark.parametrize(
    ("geometry", "style_prop"), [("point", "outline_style"), ("polygon", "outline_style")]
)
def test_the_style_dashes_possible_sites(geometry, style_prop):
    """The QML rule for pa_certainty = 'possible' draws a dashed outline, within its class."""
    import xml.etree.ElementTree as ET

    from asm_pace._styles import style_sites

    style = style_sites(geometry, certainty=True)
    root = ET.fromstring(style.qml.split("\n", 1)[1])
    symbols = {s.get("name"): s for s in root.iter("symbol")}
    possible = [r for r in root.iter("rule") if r.get("filter") == "\"pa_certainty\" = 'possible'"]
    assert len(possible) == 4  # one per class, each inside its class's rule
    parents = {c: p for p in root.iter("rule") for c in p}
    assert {parents[r].get("filter").split(" = ")[0] for r in possible} == {'"pace_class"'}
    for rule in possible:
        props = {p.get("k"): p.get("v") for p in symbols[rule.get("symbol")].iter("prop")}
        assert props[style_prop] == "dash" and props["outline_color"].startswith("0,0,0")
    sld = ET.fromstring(style.sld.split("\n", 1)[1])
    ogc = "{http://www.opengis.net/ogc}"
    ands = list(sld.iter(f"{ogc}And"))
    assert len(ands) == 4 and all(len(list(a)) == 2 for a in ands)
    # the default style (no certainty) is the class style it always was
    assert "pa_certainty" not in style_sites(geometry).qml


@pytest.mark.realdata
def test_realdata_sernanp_boundaries(realdata):
    """Points up to 3 km from real SERNANP park boundaries (adjacent parks included), 1.5 km.

    Brute force: pyproj.Geod.inv to every vertex, within 0.05 degrees, of the union of the parks
    densified to 0.0001 degrees (about 11 m, so within 6 m of the true distance).
    """
    from asm_pace import read_protected_areas
    from asm_pace.errors import NoStatusFilterWarning

    with pytest.warns(NoStatusFilterWarning):  # a national layer has no STATUS
        pas = read_protected_areas(realdata / "peru_sernanp_anp" / "peru_anp_sernanp.gpkg")
    rng = np.random.default_rng(1)
    rings = shapely.boundary(pas.geometry.values)
    points = []
    for i in rng.choice(len(pas), 30):
        p = shapely.line_interpolate_point(rings[i], rng.uniform(0, 1), normalized=True)
        lon, lat, _ = GEOD.fwd(p.x, p.y, rng.uniform(0, 360), rng.uniform(0, 3000))
        points.append(shapely.Point(lon, lat))
    u = 1500.0
    eco = ECO.set_geometry([shapely.box(-90, -30, -60, 5)], crs=4326)
    out = classify(_sites(points), pas, eco, uncertainty_m=u)
    xy = shapely.get_coordinates(points)
    windows = shapely.box(*np.c_[xy - 0.05, xy + 0.05].T)
    near = np.unique(shapely.STRtree(pas.geometry.values).query(windows)[1])
    union = shapely.union_all(pas.geometry.values[near])  # every park within 0.05 degrees
    edges = shapely.boundary(union)
    shapely.prepare(union)
    checked = 0
    for p, got in zip(points, out["pa_certainty"], strict=True):
        window = shapely.box(p.x - 0.05, p.y - 0.05, p.x + 0.05, p.y + 0.05)
        edge = shapely.segmentize(shapely.intersection(edges, window), 0.0001)
        bx, by = shapely.get_coordinates(edge).T
        # no union edge within 0.05 degrees (a park inside another): farther than 5 km
        d = GEOD.inv(np.full(bx.size, p.x), np.full(bx.size, p.y), bx, by)[2].min(initial=np.inf)
        if abs(d - u) < 20.0:
            continue
        inside = union.covers(p)
        expected = "possible" if d < u else ("certain_inside" if inside else "certain_outside")
        assert got == expected, (p, d)
        checked += 1
    assert checked >= 25 and set(out["pa_certainty"]) == set(
        ["possible", "certain_inside", "certain_outside"]
    )


_QGIS_SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsRenderContext, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
result = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    message, ok = layer.loadNamedStyle(sys.argv[1][:-5] + f"_{name}.qml")
    renderer = layer.renderer()
    ctx = QgsRenderContext()
    ctx.setRendererScale(10000)
    renderer.startRender(ctx, layer.fields())
    result[name] = {"ok": bool(ok), "renderer": renderer.type()}
    for feature in layer.getFeatures():
        result[name][feature.attribute("site_id")] = [
            s.symbolLayer(0).properties().get("outline_style")
            for s in renderer.symbolsForFeature(feature, ctx)
        ]
    renderer.stopRender(ctx)
print("RESULT " + json.dumps(result))
"""


@pytest.mark.qgis
def test_qgis_draws_possible_sites_dashed(tmp_path, qgis):  # noqa: F811 (the fixture)
    """QGIS reads the certainty style: a dashed outline over the class symbol, possible only."""
    from asm_pace._styles import style_sites

    gpkg = tmp_path / "sites.gpkg"
    values = {"site_id": ["a", "b"], "pace_class": ["protected_area", "not_eligible"]}
    values["pa_certainty"] = ["possible", "certain_outside"]
    shapes = {"points": [_west(-300), _west(700)], "feet": [PARK, shapely.box(1, 1, 1.1, 1.1)]}
    for layer, geoms in shapes.items():
        gpd.GeoDataFrame(values, geometry=geoms, crs=4326).to_file(gpkg, layer=layer)
        kind = "point" if layer == "points" else "polygon"
        (tmp_path / f"sites_{layer}.qml").write_text(style_sites(kind, certainty=True).qml)
    got = qgis(gpkg, "points", "feet", script_text=_QGIS_SCRIPT)
    for layer in shapes:
        assert got[layer]["ok"] and got[layer]["renderer"] == "RuleRenderer"
        assert got[layer]["a"] == ["solid", "dash"] and got[layer]["b"] == ["solid"]
