"""Maps and charts: legend, class colours, geodesic scale bar, forest-loss bars, folium map."""

from __future__ import annotations

import json
import re
import sys

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import to_hex

from asm_pace import plotting
from asm_pace.errors import InputError, MissingDependencyError, SchemaError
from asm_pace.plotting import (
    explore_sites,
    nice_length,
    plot_forest_loss,
    plot_sites,
)

GEOD = Geod(ellps="WGS84")
# the GeoPackage's QGIS style colours (asm_pace._styles), written out independently
EXPECTED_COLOURS = {
    "protected_area": "#d7301f",
    "priority_landscape": "#fc8d59",
    "critical_ecosystem": "#fdd835",
    "not_eligible": "#9e9e9e",
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def make_sites(classes, *, lon0=-70.0, lat0=-12.0, crs=4326):
    n = len(classes)
    lon = lon0 + 0.05 * np.arange(n)
    lat = lat0 + 0.03 * ((np.arange(n) * 7) % 5)
    gdf = gpd.GeoDataFrame(
        {
            "site_id": [f"S{i + 1:03d}" for i in range(n)],
            "pace_class": classes,
            "reason": [f"Reason for site {i + 1}: class {c}" for i, c in enumerate(classes)],
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    return gdf.to_crs(crs) if crs != 4326 else gdf


def pas():
    return gpd.GeoDataFrame(
        {
            "pa_id": ["900001", "900002"],
            "name": ["Alpha National Park", "Beta Forest Reserve"],
            "designation": ["National Park", "Forest Reserve"],
        },
        geometry=[shapely.box(-70.1, -12.1, -69.9, -11.9), shapely.box(-69.8, -12.0, -69.6, -11.8)],
        crs=4326,
    )


def scatter_colours(ax):
    """(x, y) rounded -> facecolour hex of every scatter marker on the axes."""
    out = {}
    for coll in ax.collections:
        offsets = coll.get_offsets()
        faces = coll.get_facecolors()
        if len(offsets) == 0 or len(faces) == 0 or not hasattr(coll, "get_sizes"):
            continue
        if len(coll.get_sizes()) == 0:
            continue
        for i, (x, y) in enumerate(np.asarray(offsets)):
            out[(round(float(x), 6), round(float(y), 6))] = to_hex(faces[min(i, len(faces) - 1)])
    return out


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_legend_lists_the_classes_present_with_counts():
    classes = ["not_eligible", "protected_area", "not_eligible", "critical_ecosystem"]
    ax = plot_sites(make_sites(classes))
    assert legend_texts(ax) == [
        "Protected area (1)",
        "Critical ecosystem (Global 200 ecoregion) (1)",
        "Not eligible (2)",
    ]


def test_background_layers_appear_in_the_legend_after_the_classes():
    sites = make_sites(["protected_area", "priority_landscape"])
    eco = gpd.GeoDataFrame(
        {"eco_name": ["G", "O"], "is_g200": [True, False]},
        geometry=[shapely.box(-71, -13, -69.95, -11), shapely.box(-69.95, -13, -69, -11)],
        crs=4326,
    )
    pl = gpd.GeoDataFrame(
        {"landscape_name": ["L"]}, geometry=[shapely.box(-70, -12.1, -69.9, -11.9)], crs=4326
    )
    buf = gpd.GeoDataFrame(
        {"site_id": ["S001"], "radius_km": [10.0]},
        geometry=[shapely.Point(-70, -12).buffer(0.09)],
        crs=4326,
    )
    ax = plot_sites(
        sites, protected_areas=pas(), ecoregions=eco, priority_landscapes=pl, buffers=buf
    )
    assert legend_texts(ax) == [
        "Protected area (1)",
        "WWF priority landscape (1)",
        "Global 200 ecoregions",
        "Other ecoregions",
        "WWF priority landscapes",
        "Protected areas",
        "Within 10 km",
    ]


def test_each_site_is_drawn_in_its_class_colour():
    classes = ["protected_area", "priority_landscape", "critical_ecosystem", "not_eligible"] * 3
    sites = make_sites(classes)
    ax = plot_sites(sites, protected_areas=pas())
    drawn = scatter_colours(ax)
    assert len(drawn) == len(sites)
    for geom, cls in zip(sites.geometry, sites["pace_class"], strict=True):
        assert drawn[(round(geom.x, 6), round(geom.y, 6))] == EXPECTED_COLOURS[cls]
    handles = ax.get_legend().legend_handles
    assert [to_hex(h.get_markerfacecolor()) for h in handles[:4]] == list(EXPECTED_COLOURS.values())


def test_sites_in_another_crs_are_drawn_at_their_lonlat_position():
    sites = make_sites(["protected_area", "not_eligible"], crs=32719)
    ax = plot_sites(sites)
    back = sites.to_crs(4326)
    drawn = scatter_colours(ax)
    for geom in back.geometry:
        assert any(abs(x - geom.x) < 1e-6 and abs(y - geom.y) < 1e-6 for x, y in drawn)


def test_footprint_polygons_are_filled_in_their_class_colour():
    sites = gpd.GeoDataFrame(
        {"pace_class": ["protected_area", "not_eligible"]},
        geometry=[shapely.box(-70, -12, -69.9, -11.9), shapely.box(-69.5, -12, -69.4, -11.9)],
        crs=4326,
    )
    ax = plot_sites(sites)
    fills = {
        to_hex(c.get_facecolor()[0])
        for c in ax.collections
        if "PolyCollection" in type(c).__name__ and len(c.get_facecolor())
    }
    assert {EXPECTED_COLOURS["protected_area"], EXPECTED_COLOURS["not_eligible"]} <= fills


def test_draws_on_a_given_axes_and_returns_it():
    fig, ax = plt.subplots()
    assert plot_sites(make_sites(["not_eligible"]), ax=ax) is ax
    assert ax.figure is fig


def _scale_bar(ax):
    (line,) = [a for a in ax.lines if a.get_gid() == "asm_pace-scale-bar"]
    (label,) = [t for t in ax.texts if t.get_gid() == "asm_pace-scale-bar-label"]
    value, unit = label.get_text().split()
    metres = float(value) * (1000.0 if unit == "km" else 1.0)
    return line, metres


@pytest.mark.parametrize("lat", [0.0, -12.0, 35.0, 60.0, -72.0])
def test_scale_bar_length_is_geodesically_exact_at_its_latitude(lat):
    ax = plot_sites(make_sites(["not_eligible", "protected_area"], lon0=20.0, lat0=lat))
    line, metres = _scale_bar(ax)
    (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
    assert y0 == y1  # drawn along a parallel
    _, _, dist = GEOD.inv(x0, y0, x1, y1)
    assert dist == pytest.approx(metres, rel=1e-6)
    # a 1, 2 or 5 x 10^n length, 5-25 % of the map's width along the bar's parallel
    mant = metres / 10 ** np.floor(np.log10(metres))
    assert round(mant, 9) in (1.0, 2.0, 5.0)
    xmin, xmax = ax.get_xlim()
    width = GEOD.inv(xmin, y0, (xmin + xmax) / 2, y0)[2] * 2
    assert 0.05 < metres / width < 0.25


def test_scale_bar_on_a_large_map_is_in_km_and_small_map_in_m():
    wide = gpd.GeoDataFrame(
        {"pace_class": ["not_eligible"] * 2},
        geometry=[shapely.Point(-80, -20), shapely.Point(-40, 5)],
        crs=4326,
    )
    _, metres = _scale_bar(plot_sites(wide))
    assert metres >= 500_000
    tiny = gpd.GeoDataFrame(
        {"pace_class": ["not_eligible"] * 2},
        geometry=[shapely.Point(-70, -12), shapely.Point(-70.001, -12.001)],
        crs=4326,
    )
    _, metres = _scale_bar(plot_sites(tiny))
    assert metres < 5_000


def test_nice_length():
    assert [nice_length(v) for v in (1.0, 3.0, 7.5, 19.9, 20.0, 49_999.0, 123_456.0)] == [
        1.0,
        2.0,
        5.0,
        10.0,
        20.0,
        20_000.0,
        100_000.0,
    ]
    with pytest.raises(InputError):
        nice_length(0.0)


def test_north_arrow_is_optional():
    sites = make_sites(["not_eligible"])
    gids = [t.get_gid() for t in plot_sites(sites).texts]
    assert "asm_pace-north-arrow" not in gids
    gids = [t.get_gid() for t in plot_sites(sites, north_arrow=True).texts]
    assert "asm_pace-north-arrow" in gids


def test_plot_sites_errors_name_the_problem():
    sites = make_sites(["not_eligible"]).drop(columns="pace_class")
    with pytest.raises(SchemaError, match="pace_class"):
        plot_sites(sites)
    bad = make_sites(["inside"])
    with pytest.raises(InputError, match="inside"):
        plot_sites(bad)
    with pytest.raises(InputError, match="GeoDataFrame"):
        plot_sites(pd.DataFrame({"pace_class": ["not_eligible"]}))


def loss_table():
    return pd.DataFrame(
        {
            "site_id": ["A", "B", "C", "A"],
            "zone_area_ha": [10.0, 10.0, 10.0, 10.0],
            "loss_2001_ha": [1.0, 2.0, 0.5, 3.0],
            "loss_2002_ha": [0.0, 4.0, 1.5, np.nan],
            "loss_2003_ha": [2.0, 0.0, 0.0, 1.0],
        }
    )


def test_forest_loss_total_bars_are_the_column_sums():
    ax = plot_forest_loss(loss_table())
    (bars,) = ax.containers
    assert [b.get_x() + b.get_width() / 2 for b in bars] == [2001, 2002, 2003]
    assert [b.get_height() for b in bars] == [6.5, 5.5, 3.0]


def test_forest_loss_by_group_stacks_largest_first():
    ax = plot_forest_loss(loss_table(), by="site_id")
    heights = [[b.get_height() for b in c] for c in ax.containers]
    # totals: A 7.0, B 6.0, C 2.0
    assert heights == [[4.0, 0.0, 3.0], [2.0, 4.0, 0.0], [0.5, 1.5, 0.0]]
    assert legend_texts(ax) == ["C", "B", "A"]  # legend top to bottom as stacked
    ax = plot_forest_loss(loss_table(), by="site_id", top=2)
    heights = [[b.get_height() for b in c] for c in ax.containers]
    assert heights == [[4.0, 0.0, 3.0], [2.5, 5.5, 0.0]]
    assert legend_texts(ax) == ["other (2)", "A"]


def test_forest_loss_by_an_aligned_series():
    table = loss_table().drop(columns="site_id").set_index(pd.Index([10, 11, 12, 13]))
    groups = pd.Series(["x", "y", "y", "x"], index=[13, 12, 11, 10])  # reversed order
    ax = plot_forest_loss(table, by=groups)
    heights = [[b.get_height() for b in c] for c in ax.containers]
    # x = rows 10 and 13 (A,A) = [4, 0, 3]; y = rows 11, 12 = [2.5, 5.5, 0]
    assert heights == [[2.5, 5.5, 0.0], [4.0, 0.0, 3.0]]


def test_forest_loss_errors():
    with pytest.raises(SchemaError, match="loss_YYYY_ha"):
        plot_forest_loss(pd.DataFrame({"forest_2000_ha": [1.0]}))
    with pytest.raises(SchemaError, match="nope"):
        plot_forest_loss(loss_table(), by="nope")
    with pytest.raises(InputError, match="3 values"):
        plot_forest_loss(loss_table(), by=["a", "b", "c"])


def test_explore_sites_pop_ups_hold_each_reason():
    classes = ["protected_area", "not_eligible", "critical_ecosystem"]
    sites = make_sites(classes)
    sites.loc[0, "reason"] = "Inside Alpha National Park (WDPA 900001, IUCN II), designated 1990"
    sites["when"] = pd.Timestamp("2024-01-01")  # a column folium cannot serialise is left out
    buf = gpd.GeoDataFrame(
        {"site_id": ["S001"], "radius_km": [10.0]},
        geometry=[shapely.Point(-70, -12).buffer(0.09)],
        crs=4326,
    )
    m = explore_sites(sites, protected_areas=pas(), buffers=buf, offline=False)  # offline: below
    html = m.get_root().render()
    for reason in sites["reason"]:
        assert json.dumps(reason)[1:-1] in html
    assert "Alpha National Park" in html and "National Park" in html
    assert "Beta Forest Reserve" not in html  # outside the map's extent
    for label in ("Protected area", "Critical ecosystem (Global 200 ecoregion)", "Not eligible"):
        assert label in html
    assert "WWF priority landscape" not in html  # only the classes present
    for colour in (EXPECTED_COLOURS[c] for c in classes):
        assert colour in html
    assert re.search(r'"name":\s*"Buffers"|Buffers', html)


def test_missing_plot_extra_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "folium", None)  # what an absent package looks like
    with pytest.raises(MissingDependencyError, match=r"asm-pace\[plot\]") as info:
        explore_sites(make_sites(["not_eligible"]))
    assert isinstance(info.value, ImportError)
    assert plotting.PACE_COLOURS == EXPECTED_COLOURS


def test_map_layers_in_a_projected_crs_across_the_antimeridian_keep_their_shape():
    """A plain ``to_crs`` drew a 3832 park across +-180 as a band round the rest of the world."""
    from pyproj import Transformer

    from asm_pace.plotting import _to_wgs84

    park = shapely.segmentize(shapely.box(177.0, -19.0, 183.0, -16.0), 0.05)
    to_3832 = Transformer.from_crs(4326, 3832, always_xy=True)
    projected = shapely.transform(park, lambda c: np.c_[to_3832.transform(c[:, 0], c[:, 1])])
    layer = gpd.GeoDataFrame(geometry=[projected], crs="EPSG:3832")
    drawn = _to_wgs84(layer, "protected_areas").geometry.iloc[0]
    geod = Geod(ellps="WGS84")
    expected = abs(geod.geometry_area_perimeter(park)[0])
    assert abs(geod.geometry_area_perimeter(drawn)[0]) == pytest.approx(expected, rel=1e-6)
    assert drawn.contains(shapely.Point(179.5, -17)) and drawn.contains(shapely.Point(-179.5, -17))
    assert not drawn.contains(shapely.Point(0, -17))


def test_offline_map_holds_its_scripts_and_an_online_one_links_them():
    import folium

    sites = make_sites(["protected_area", "not_eligible"])
    offline = explore_sites(sites).get_root().render()
    online = explore_sites(sites, offline=False).get_root().render()
    tag = r"<script[^>]+src=|<link[^>]+stylesheet"
    assert not re.search(tag, offline)
    # every script and stylesheet folium links online is in the offline page, by its name
    links = re.findall(r'(?:src|href)="(https://[^"]+\.(?:js|css))"', online)
    assert any(u.endswith("/leaflet.js") for u in links)
    from offlinefolium.elements import _res

    for url in links:
        assert _res[url][:2000] in offline, url
    assert len(offline) > len(online) + 1_000_000  # measured: ~1.5 MB against ~25 kB
    # the legend is plain HTML (geopandas' fetched jQuery UI), the note says tiles need a network
    assert "asm-pace-legend" in offline and plotting.OFFLINE_TILES_NOTE in offline
    assert plotting.OFFLINE_TILES_NOTE not in online
    assert plotting.OFFLINE_TILES_NOTE not in explore_sites(sites, tiles=None).get_root().render()
    # a link without a local copy is refused, not left to fail in the browser
    m = folium.Map(tiles=None)
    extra = folium.MacroElement()
    extra.default_js = [("thing", "https://example.org/thing.js")]
    m.add_child(extra)
    with pytest.raises(MissingDependencyError, match=r"thing\.js.*offline=False"):
        plotting._inline_assets(m)


def test_offline_map_without_folium_offline_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "offlinefolium.elements", None)
    with pytest.raises(MissingDependencyError, match=r"pip install folium-offline.*offline=False"):
        explore_sites(make_sites(["not_eligible"]))
    assert (
        "<script" in explore_sites(make_sites(["not_eligible"]), offline=False).get_root().render()
    )
