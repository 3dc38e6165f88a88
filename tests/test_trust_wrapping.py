"""Geometry that wraps the globe (issue 9, class 2): every layer comes back from
``_vector.to_wgs84`` in -180..180, split at the antimeridian, with its true shape.

Expected values are independent of asm_pace: areas by :meth:`pyproj.Geod.geometry_area_perimeter`
on the polygon written with continuous longitudes (Geod does not care about +-180), and
containment of hand-picked points.
"""

from __future__ import annotations

import time
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from asm_pace._vector import to_wgs84
from asm_pace.errors import CoverageWarning, CRSError, InputError, NoCRSWarning
from asm_pace.geodesy import geodesic_area, split_antimeridian

GEOD = Geod(ellps="WGS84")


def geod_area(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def fiji_box(west=177.0, east=183.0, south=-19.0, north=-16.0):
    """A box with continuous longitudes, densified so its edges follow the parallels."""
    return shapely.segmentize(shapely.box(west, south, east, north), 0.05)


def wrap_lon(geom):
    """The same polygon written naively: every longitude folded into -180..180."""
    return shapely.transform(geom, lambda c: np.c_[(c[:, 0] + 180.0) % 360.0 - 180.0, c[:, 1]])


def layer(geom, crs="EPSG:4326", name="pas.gpkg"):
    g = gpd.GeoDataFrame({"n": range(np.size(geom))}, geometry=list(np.atleast_1d(geom)), crs=crs)
    g.attrs["source"] = name
    return g


def project(geom, crs):
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return shapely.transform(geom, lambda c: np.c_[tr.transform(c[:, 0], c[:, 1])])


def one(gdf):
    out = to_wgs84(gdf)
    assert out.crs.to_epsg() == 4326
    return out.geometry.iloc[0]


def assert_whole_fiji(geom, truth):
    minx, _, maxx, _ = geom.bounds
    assert minx >= -180.0 and maxx <= 180.0 and geom.is_valid
    assert geod_area(geom) == pytest.approx(geod_area(truth), rel=1e-6)
    assert geom.contains(shapely.Point(179.5, -17.0))
    assert geom.contains(shapely.Point(-178.0, -17.0))  # 182 E, the far side of the line
    assert not geom.contains(shapely.Point(-70.0, -12.0))  # Peru, inside the inverted band
    assert not geom.contains(shapely.Point(0.0, -17.5))


# --------------------------------------------------------------------------- polygons


@pytest.mark.parametrize("crs", ["EPSG:3832", "EPSG:3460", "EPSG:32601", "EPSG:3857"])
def test_projected_polygon_across_the_antimeridian(crs):
    # PDC Mercator (lon_0 150), Fiji Map Grid (178.75), UTM 1N (-177), Web Mercator (0): in
    # every projection the box is one piece; back in lon/lat it must be split, not inverted
    truth = fiji_box()
    projected = project(truth, crs)
    if crs == "EPSG:3857":  # past the frame of the map: x runs on beyond 20,037,508 m
        projected = shapely.transform(
            projected,
            lambda c: np.c_[
                np.where(c[:, 0] < 0, c[:, 0] + 2 * 20037508.342789244, c[:, 0]), c[:, 1]
            ],
        )
    assert_whole_fiji(one(layer(projected, crs)), truth)


def test_naively_wrapped_lonlat_polygon_and_the_0_360_convention():
    truth = fiji_box()
    assert_whole_fiji(one(layer(wrap_lon(truth))), truth)  # 177 ... 180, -180 ... -177
    assert_whole_fiji(one(layer(truth)), truth)  # 177 ... 183 (continuous)
    peru = one(layer(shapely.box(289.0, -13.0, 291.0, -11.0)))  # 0..360: -71..-69
    assert peru.equals(shapely.box(-71.0, -13.0, -69.0, -11.0))


def test_a_hole_on_the_other_side_of_the_line_stays_a_hole():
    shell = fiji_box()
    hole = shapely.box(-179.5, -18.0, -178.5, -17.0)  # east of the line, like its shell's end
    naive = shapely.Polygon(wrap_lon(shell).exterior, [hole.exterior])
    truth = shapely.Polygon(shell.exterior, [shapely.affinity.translate(hole, 360.0).exterior])
    truth = shapely.geometry.polygon.orient(truth)  # Geod subtracts a hole only if clockwise
    out = one(layer(naive))
    assert out.is_valid
    assert geod_area(out) == pytest.approx(geod_area(truth), rel=1e-6)
    assert not out.contains(shapely.Point(-179.0, -17.5))  # in the hole
    assert out.contains(shapely.Point(-177.5, -17.5)) and out.contains(shapely.Point(178.0, -17.5))


def test_the_projection_decides_long_edges():
    # a Pacific box 100 E .. 60 W drawn in PDC Mercator: its edges span 200 degrees of
    # longitude; the short-way rule would invert it, the projection says it is the Pacific
    pacific = project(shapely.box(100.0, -10.0, 300.0, 10.0), "EPSG:3832")  # corners only
    out = one(layer(pacific, "EPSG:3832"))
    assert out.contains(shapely.Point(-170.0, 0.0)) and out.contains(shapely.Point(120.0, 0.0))
    assert not out.contains(shapely.Point(0.0, 0.0))
    # the Mercator frame's edge (150 - 180 = -30 degrees) is one longitude for both sides
    world = one(layer(shapely.box(-20037508.342789244, -2e7, 20037508.342789244, 2e7), "EPSG:3832"))
    assert world.bounds == pytest.approx((-180.0, -85.0551, 180.0, 85.0551), abs=1e-4)
    for lon in (-179.9, -30.5, -29.5, 0.0, 150.0, 179.9):
        assert world.contains(shapely.Point(lon, 0.0)), lon
    web = one(layer(shapely.box(-20037508.342789244, -2e7, 20037508.342789244, 2e7), "EPSG:3857"))
    assert web.contains(shapely.Point(0.0, 0.0)) and web.bounds[2] - web.bounds[0] == 360.0


def test_frame_edges_and_split_layers_are_left_as_they_are():
    antarctica = shapely.Polygon([(-180, -90), (-180, -70), (0, -65), (180, -70), (180, -90)])
    world = shapely.box(-180.0, -90.0, 180.0, 90.0)
    fiji = shapely.MultiPolygon(
        [shapely.box(177, -19, 180, -16), shapely.box(-180, -19, -177, -16)]
    )
    g = layer([antarctica, world, fiji])
    out = to_wgs84(g)
    assert all(a.equals_exact(b, 0) for a, b in zip(out.geometry, g.geometry, strict=True))


def test_no_crs_0_360_layer_is_read_as_lonlat_and_shifted():
    g = gpd.GeoDataFrame(geometry=[shapely.box(289.0, -13.0, 291.0, -11.0)])
    with pytest.warns(NoCRSWarning, match="read as EPSG:4326"):
        out = to_wgs84(g, source="x.shp")
    assert out.geometry.iloc[0].equals(shapely.box(-71.0, -13.0, -69.0, -11.0))


@settings(max_examples=50, deadline=None)
@given(
    west=st.floats(170.0, 179.95),
    width=st.floats(0.1, 9.0),
    south=st.floats(-70.0, 60.0, allow_subnormal=False),
    height=st.floats(0.1, 10.0),
    written=st.sampled_from(["naive", "continuous", "minus 360", "EPSG:3832", "EPSG:32601"]),
    clockwise=st.booleans(),
)
# found by hypothesis: a latitude of 2.2e-308 (the smallest normal float) made GEOS cut the
# ring 0.125 degrees past the line
@example(
    west=171.875,
    width=9.0,
    south=2.2250738585072014e-308,
    height=1.0,
    written="EPSG:3832",
    clockwise=False,
)
def test_boxes_straddling_the_antimeridian(west, width, south, height, written, clockwise):
    truth = shapely.segmentize(shapely.box(west, south, west + width, south + height), 0.25)
    if clockwise:
        truth = truth.reverse()
    crs = "EPSG:4326"
    if written == "naive":
        geom = wrap_lon(truth)
    elif written == "continuous":
        geom = truth
    elif written == "minus 360":  # -190 .. -181: continuous from the west
        geom = shapely.affinity.translate(truth, -360.0)
    else:
        geom, crs = project(truth, written), written
    out = one(layer(geom, crs))
    minx, _, maxx, _ = out.bounds
    assert minx >= -180.0 and maxx <= 180.0 and out.is_valid
    assert geod_area(out) == pytest.approx(geod_area(truth), rel=1e-6)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "geom, error, words",
    [
        (shapely.Point(190.0, -17.0), CRSError, "row 2 .*point longitude outside -180..180.*360"),
        (shapely.box(-70.0, 85.0, -69.0, 95.0), CRSError, "row 2 .*latitude outside -90..90"),
        (shapely.box(400.0, 0.0, 401.0, 1.0), CRSError, "row 2 .*longitude outside -360..360"),
        (
            shapely.Polygon([(-90, 0), (100, 0), (100, 10), (-90, 10)]),
            InputError,
            "row 2 .*from longitude -90 to 100.*190 or 170 degrees.*add vertices",
        ),
        (
            shapely.Polygon([(-170, 80), (-90, 80), (0, 80), (90, 80), (170, 80)]),
            InputError,
            "row 2 .*goes round a pole.*cut it",
        ),
    ],
)
def test_refused_with_the_file_and_row(geom, error, words):
    with pytest.raises(error, match=r"^pas\.gpkg: " + words):
        to_wgs84(layer([shapely.box(0, 0, 1, 1), geom]))


def test_polygon_that_cannot_be_reprojected_is_refused():
    g = layer([shapely.box(500000, 8600000, 501000, 8601000), shapely.box(0, 0, 1e30, 1e30)])
    g = g.set_crs("EPSG:32719", allow_override=True)
    with pytest.raises(CRSError, match=r"pas\.gpkg: row 2 .*cannot be reprojected.*CRS"):
        to_wgs84(g)


# --------------------------------------------------------------------------- split_antimeridian


def test_split_antimeridian_shifts_repairs_and_refuses():
    east = shapely.box(190.0, 0.0, 191.0, 1.0)
    bowtie = shapely.Polygon([(179, 0), (181, 1), (181, 0), (179, 1)])  # invalid across 180
    out = split_antimeridian(np.array([east, bowtie]))
    assert out[0].equals(shapely.box(-170.0, 0.0, -169.0, 1.0))
    assert out[1].is_valid
    assert geod_area(out[1]) == pytest.approx(
        2 * geod_area(shapely.Polygon([(179, 0), (180, 0.5), (179, 1)])), rel=1e-3
    )
    with pytest.raises(InputError, match="beyond"):
        split_antimeridian(np.array([shapely.box(600.0, 0.0, 601.0, 1.0)]))


# --------------------------------------------------------------------------- real data, cost


@pytest.mark.realdata
def test_south_american_wdpa_unchanged_and_cheap(realdata):
    path = (
        realdata / "wdpa_south_america_2019" / "wdpa_feb2019_south_america_polygons_simplified.gpkg"
    )
    g = gpd.read_file(path)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = to_wgs84(g)
    took = time.perf_counter() - start
    assert all(a is b for a, b in zip(out.geometry.values, g.geometry.values, strict=True))
    assert took < 0.5, took  # 3,440 polygons; the check is a bounds test on all of them


def test_points_on_the_line_in_a_naive_ring_and_a_world_box_to_85_degrees():
    # a naive ring with vertices on the line itself (180 then -180 at the same latitude)
    slit = shapely.Polygon(
        [
            (179, -18),
            (180, -18),
            (-180, -18),
            (-179, -18),
            (-179, -16),
            (-180, -16),
            (180, -16),
            (179, -16),
        ]
    )
    out = one(layer(slit))
    truth = shapely.Polygon(
        [(179, -18), (180, -18), (181, -18), (181, -16), (180, -16), (179, -16)]
    )
    assert geod_area(out) == pytest.approx(geod_area(truth), rel=1e-9)
    assert not out.contains(shapely.Point(0.0, -17.0))
    # drawn on the frame: read as drawn, the whole world between +-85, the cap south of 60 S
    world = shapely.box(-180.0, -85.0, 180.0, 85.0)
    cap = shapely.box(-180.0, -90.0, 180.0, -60.0)
    out = to_wgs84(layer([world, cap]))
    assert out.geometry.iloc[0].equals(world) and out.geometry.iloc[1].equals(cap)


def _zone_area(lat: float) -> float:
    """Ellipsoid area between the equator and ``lat`` all round (closed form, Snyder 1987)."""
    a, f = 6378137.0, 1 / 298.257223563
    b, e = a * (1 - f), np.sqrt(f * (2 - f))
    s = np.sin(np.radians(lat))
    return np.pi * b * b * (s / (1 - e * e * s * s) + np.log((1 + e * s) / (1 - e * s)) / (2 * e))


def test_geodesic_area_of_rings_drawn_on_the_frame_and_along_a_pole():
    world = shapely.box(-180.0, -90.0, 180.0, 90.0)
    band = shapely.box(-180.0, -85.0, 180.0, 85.0)
    coast = shapely.segmentize(shapely.LineString([(-180, -70), (180, -70)]), 0.05).coords
    cap = shapely.Polygon([(-180, -90), *coast, (180, -90)])  # Antarctica-like, to the pole
    areas = geodesic_area(np.array([world, band, cap]))
    assert areas[0] == pytest.approx(2 * _zone_area(90.0), rel=1e-12)  # 510,065,621.7 km2
    assert areas[1] == pytest.approx(2 * _zone_area(85.0), rel=1e-6)
    assert areas[2] == pytest.approx(_zone_area(90.0) - _zone_area(70.0), rel=1e-6)


def test_rounding_past_the_line_is_moved_onto_it_not_split_off():
    edge = shapely.box(179.0, -18.0, 180.0 + 1e-12, -17.0)
    out = one(layer(edge))
    assert out.geom_type == "Polygon" and out.bounds == (179.0, -18.0, 180.0, -17.0)


def test_forest_zone_in_a_projected_crs_across_the_antimeridian(tmp_path):
    """A 3832 zone across +-180 over a raster on 179..180: forest = the western half's Geod area.

    Before zones went through ``to_wgs84``, forest reprojected them itself and the zone came
    back inverted (84.5 M ha, coverage 0 instead of about 94,000 ha and coverage 0.5).
    """
    import rasterio
    from rasterio.transform import from_origin

    from asm_pace.forest import forest_loss

    profile = {
        "driver": "GTiff",
        "width": 100,
        "height": 100,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": from_origin(179.0, -16.5, 0.01, 0.01),
        "compress": "lzw",
    }
    paths = {}
    for name, value in (("treecover2000", 100), ("lossyear", 0)):
        paths[name] = tmp_path / f"{name}.tif"
        with rasterio.open(paths[name], "w", **profile) as dst:
            dst.write(np.full((1, 100, 100), value, dtype="uint8"))
    zone = shapely.segmentize(shapely.box(179.8, -17.05, 180.2, -16.95), 0.01)
    to_3832 = Transformer.from_crs(4326, 3832, always_xy=True)
    projected = shapely.transform(zone, lambda c: np.c_[to_3832.transform(c[:, 0], c[:, 1])])
    zones = gpd.GeoDataFrame({"zone_id": ["Z"]}, geometry=[projected], crs="EPSG:3832")
    with pytest.warns(CoverageWarning, match="1 zone"):
        out = forest_loss(zones, treecover=paths["treecover2000"], lossyear=paths["lossyear"])
    west = geod_area(shapely.box(179.8, -17.05, 180.0, -16.95)) / 1e4
    whole = geod_area(zone) / 1e4
    assert out["forest_2000_ha"].iloc[0] == pytest.approx(west, rel=1e-5)
    assert out["zone_area_ha"].iloc[0] == pytest.approx(whole, rel=1e-4)
    assert out["data_coverage"].iloc[0] == pytest.approx(west / whole, rel=1e-4)
