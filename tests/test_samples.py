"""The bundled sample set (data/samples) and its generator (data/make_samples.py).

The PACE classes of the sample sites are computed here INDEPENDENTLY of asm_pace: plain
shapely point-in-polygon on the raw layers and pyproj.Geod circles for WDPA point records.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Geod

from asm_pace.datasets import SAMPLE_FILES

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "data" / "make_samples.py"
SAMPLES = ROOT / "data" / "samples"
VECTOR_LAYERS = {
    "sites.geojson": [None],
    "protected_areas.gpkg": ["polygons", "points"],
    "ecoregions.gpkg": ["ecoregions"],
    "priority_landscapes.gpkg": ["priority_landscapes"],
    "rivers.gpkg": ["rivers"],
}
RASTERS = ["treecover2000.tif", "lossyear.tif"]
WDPA_COLUMNS = [
    "WDPAID",
    "WDPA_PID",
    "PA_DEF",
    "NAME",
    "ORIG_NAME",
    "DESIG",
    "DESIG_ENG",
    "DESIG_TYPE",
    "IUCN_CAT",
    "INT_CRIT",
    "MARINE",
    "REP_M_AREA",
    "GIS_M_AREA",
    "REP_AREA",
    "GIS_AREA",
    "NO_TAKE",
    "NO_TK_AREA",
    "STATUS",
    "STATUS_YR",
    "GOV_TYPE",
    "OWN_TYPE",
    "MANG_AUTH",
    "MANG_PLAN",
    "VERIF",
    "METADATAID",
    "SUB_LOC",
    "PARENT_ISO",
    "ISO3",
]
TEOW_COLUMNS = [
    "OBJECTID",
    "AREA",
    "PERIMETER",
    "ECO_NAME",
    "REALM",
    "BIOME",
    "ECO_NUM",
    "ECO_ID",
    "ECO_SYM",
    "GBL_STAT",
    "G200_REGIO",
    "G200_NUM",
    "G200_BIOME",
    "G200_STAT",
]
MAB = "UNESCO-MAB Biosphere Reserve"
GEOD = Geod(ellps="WGS84")


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, Path]:
    """Two independent runs of the generator into two fresh folders."""
    gen = _load_generator()
    a = gen.main(tmp_path_factory.mktemp("gen_a"))
    b = gen.main(tmp_path_factory.mktemp("gen_b"))
    return Path(a), Path(b)


def _read(folder: Path, name: str, layer: str | None):
    return pyogrio.read_dataframe(folder / name, layer=layer)


def _assert_same_vector(left, right, what: str) -> None:
    assert list(left.columns) == list(right.columns), what
    pd.testing.assert_frame_equal(
        pd.DataFrame(left.drop(columns="geometry")),
        pd.DataFrame(right.drop(columns="geometry")),
        obj=what,
    )
    assert left.crs == right.crs, what
    same = shapely.equals_exact(left.geometry.values, right.geometry.values, tolerance=0.0)
    assert bool(np.all(same)), f"{what}: geometries differ at rows {np.flatnonzero(~same)}"


def _assert_same_folders(a: Path, b: Path) -> None:
    assert (a / "sites.csv").read_text(encoding="utf-8") == (b / "sites.csv").read_text(
        encoding="utf-8"
    )
    for name, layers in VECTOR_LAYERS.items():
        for layer in layers:
            _assert_same_vector(_read(a, name, layer), _read(b, name, layer), f"{name}:{layer}")
    for name in RASTERS:
        with rasterio.open(a / name) as ra, rasterio.open(b / name) as rb:
            assert ra.profile == rb.profile, name
            np.testing.assert_array_equal(ra.read(1), rb.read(1), err_msg=name)


# ---------------------------------------------------------------------------------------
# generator
# ---------------------------------------------------------------------------------------
def test_generator_is_deterministic(generated):
    a, b = generated
    assert sorted(p.name for p in a.iterdir()) == sorted(SAMPLE_FILES)
    _assert_same_folders(a, b)


def test_generator_output_is_byte_identical(generated):
    """Fixed seed, fixed GeoPackage timestamp, no TIFF time tags: same bytes twice."""
    a, b = generated
    for name in SAMPLE_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_committed_samples_equal_a_fresh_generation(generated):
    a, _ = generated
    _assert_same_folders(SAMPLES, a)


def test_sample_folder_holds_the_declared_files_under_5_mb():
    names = {p.name for p in SAMPLES.iterdir()}
    assert names == set(SAMPLE_FILES) | {"README.md"}
    total = sum(p.stat().st_size for p in SAMPLES.iterdir())
    assert total < 5 * 1024 * 1024, f"{total} bytes"


def test_readme_mentions_every_file_and_the_regeneration_command():
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for name in SAMPLE_FILES:
        assert f"`{name}`" in text, name
    assert "data/make_samples.py" in text
    assert "synthetic" in text.lower()


# ---------------------------------------------------------------------------------------
# raw layers
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sites() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "sites.csv", dtype={"date_observed": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def pa_polygons():
    return _read(SAMPLES, "protected_areas.gpkg", "polygons")


@pytest.fixture(scope="module")
def pa_points():
    return _read(SAMPLES, "protected_areas.gpkg", "points")


@pytest.fixture(scope="module")
def ecoregions():
    return _read(SAMPLES, "ecoregions.gpkg", "ecoregions")


@pytest.fixture(scope="module")
def landscapes():
    return _read(SAMPLES, "priority_landscapes.gpkg", "priority_landscapes")


def test_sites_csv_schema_and_values(sites):
    assert list(sites.columns) == [
        "site_id",
        "name",
        "latitude",
        "longitude",
        "mineral",
        "status",
        "date_observed",
        "source",
    ]
    assert 180 <= len(sites) <= 230
    assert sites["site_id"].is_unique
    assert sites["site_id"].str.fullmatch(r"MDD-\d{4}").all()
    assert sites["longitude"].between(-70.7, -69.9).all()
    assert sites["latitude"].between(-13.1, -12.4).all()
    assert set(sites["status"]) == {"active", "inactive", "abandoned"}
    assert (sites["mineral"] == "gold").mean() > 0.6
    dated = sites["date_observed"][sites["date_observed"] != ""]
    assert pd.to_datetime(dated, format="%Y-%m-%d").between("2000-01-01", "2024-12-31").all()
    # six decimals in the text, as written by GPS exports
    text = (SAMPLES / "sites.csv").read_text(encoding="utf-8").splitlines()
    assert re.search(r",-12\.\d{6},-70\.\d{6},", text[1])


def test_sites_geojson_matches_the_csv(sites):
    gj = _read(SAMPLES, "sites.geojson", None)
    assert gj.crs.to_epsg() == 4326
    assert (gj.geom_type == "Point").all()
    assert list(gj["site_id"]) == list(sites["site_id"])
    for col in ("name", "mineral", "status", "source"):
        assert list(gj[col]) == list(sites[col]), col
    np.testing.assert_allclose(gj.geometry.x, sites["longitude"], atol=5e-7)
    np.testing.assert_allclose(gj.geometry.y, sites["latitude"], atol=5e-7)


def test_protected_areas_use_the_raw_wdpa_schema(pa_polygons, pa_points):
    assert pyogrio.list_layers(SAMPLES / "protected_areas.gpkg")[:, 0].tolist() == [
        "polygons",
        "points",
    ]
    assert list(pa_polygons.columns) == [*WDPA_COLUMNS, "geometry"]
    # the WDPA point layer has no GIS_* areas (as Protected Planet distributes it)
    assert list(pa_points.columns) == [
        *[c for c in WDPA_COLUMNS if c not in ("GIS_AREA", "GIS_M_AREA")],
        "geometry",
    ]
    assert (pa_polygons.geom_type == "MultiPolygon").all()
    assert (pa_points.geom_type == "Point").all()
    for df in (pa_polygons, pa_points):
        assert df.crs.to_epsg() == 4326
        assert df["WDPAID"].dtype == np.float64
        assert df["WDPAID"].between(900000, 999999).all()
        assert set(df["MARINE"]) <= {"0", "1", "2"}
    assert (pa_points["REP_AREA"] > 0).sum() >= 1
    assert (pa_points["REP_AREA"] == 0).sum() >= 1


def test_protected_areas_hold_every_required_case(pa_polygons):
    by_id = pa_polygons.set_index("WDPA_PID")
    park = by_id.loc["900001"]
    assert (park["NAME"], park["IUCN_CAT"], park["STATUS"], park["STATUS_YR"]) == (
        "Alpha National Park",
        "II",
        "Designated",
        1990,
    )
    reserve = pa_polygons[pa_polygons["IUCN_CAT"] == "VI"]
    park_geom = park["geometry"]
    assert shapely.intersects(reserve.geometry.values, park_geom).any()
    assert not shapely.covers(reserve.geometry.values, park_geom).any()

    def one(**conds):
        mask = np.ones(len(pa_polygons), bool)
        for col, val in conds.items():
            mask &= pa_polygons[col] == val
        assert mask.any(), conds
        return pa_polygons[mask]

    one(
        DESIG_ENG="Ramsar Site, Wetland of International Importance",
        DESIG_TYPE="International",
        IUCN_CAT="Not Reported",
    )
    one(DESIG_ENG="World Heritage Site (natural or mixed)", STATUS="Inscribed")
    one(STATUS="Proposed")
    one(DESIG_ENG=MAB, DESIG_TYPE="International")
    one(STATUS="Established")


def test_holed_polygon_has_an_interior_ring(pa_polygons):
    rings = shapely.get_num_interior_rings(shapely.get_parts(pa_polygons.geometry.values))
    assert (rings >= 1).sum() >= 1


def test_bowtie_polygon_is_invalid(pa_polygons):
    valid = shapely.is_valid(pa_polygons.geometry.values)
    assert (~valid).sum() == 1
    reason = shapely.is_valid_reason(pa_polygons.geometry.values[~valid][0])
    assert "Self-intersection" in reason


def test_ecoregions_use_the_teow_schema_and_form_a_coverage(ecoregions, sites):
    assert pyogrio.list_layers(SAMPLES / "ecoregions.gpkg")[:, 0].tolist() == ["ecoregions"]
    assert list(ecoregions.columns) == [*TEOW_COLUMNS, "geometry"]
    assert ecoregions.crs.to_epsg() == 4326
    assert 3 <= len(ecoregions) <= 4
    assert set(ecoregions["REALM"]) == {"NT"}
    assert ecoregions["BIOME"].between(1, 14).all()
    for col in ("ECO_ID", "BIOME", "G200_NUM"):
        assert np.issubdtype(ecoregions[col].dtype, np.integer), col
    geoms = ecoregions.geometry.values
    assert shapely.is_valid(geoms).all()
    # no overlaps: pairwise intersections have no area
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            assert shapely.intersection(geoms[i], geoms[j]).area < 1e-12
    # no gaps: the union is one polygon without holes that covers every site
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon"
    assert len(union.interiors) == 0
    assert shapely.covers(union, shapely.points(sites["longitude"], sites["latitude"])).all()
    g200 = ecoregions["G200_NUM"] > 0
    assert g200.sum() >= 1
    assert (~g200).sum() >= 1
    quirk = (~g200) & ecoregions["G200_REGIO"].fillna("").ne("")
    assert quirk.sum() >= 1


def test_priority_landscapes_layer(landscapes):
    assert pyogrio.list_layers(SAMPLES / "priority_landscapes.gpkg")[:, 0].tolist() == [
        "priority_landscapes"
    ]
    assert "LANDSCAPE" in landscapes.columns
    assert 1 <= len(landscapes) <= 2
    assert landscapes["LANDSCAPE"].str.len().gt(0).all()
    assert shapely.is_valid(landscapes.geometry.values).all()


# ---------------------------------------------------------------------------------------
# rasters
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", RASTERS)
def test_raster_is_hansen_like(name):
    with rasterio.open(SAMPLES / name) as src:
        assert src.count == 1
        assert src.dtypes == ("uint8",)
        assert src.nodata == 255
        assert src.crs.to_epsg() == 4326
        assert src.res == pytest.approx((0.00025, 0.00025), abs=1e-15)
        assert src.block_shapes == [(256, 256)]
        assert src.profile["tiled"]
        assert src.compression == rasterio.enums.Compression.lzw
        for origin in (src.transform.c, src.transform.f):
            assert abs(origin / 0.00025 - round(origin / 0.00025)) < 1e-6
        assert not src.tags().get("TIFFTAG_DATETIME")
        data = src.read(1)
    upper = 100 if name == "treecover2000.tif" else 23
    assert ((data <= upper) | (data == 255)).all()
    assert (data == 255).sum() > 0  # a small nodata patch
    assert (data == 255).mean() < 0.01


def test_rasters_share_grid_and_nodata_patch():
    with rasterio.open(SAMPLES / RASTERS[0]) as a, rasterio.open(SAMPLES / RASTERS[1]) as b:
        assert a.transform == b.transform
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.read(1) == 255, b.read(1) == 255)


def test_forest_values_are_realistic(sites):
    with rasterio.open(SAMPLES / "treecover2000.tif") as src:
        tc = src.read(1)
        transform = src.transform
    with rasterio.open(SAMPLES / "lossyear.tif") as src:
        loss = src.read(1)
    valid = tc != 255
    assert np.median(tc[valid]) >= 80  # dense forest
    assert (tc[valid] < 10).mean() > 0.005  # rivers and clearings
    lossy = (loss > 0) & (loss != 255)
    assert 0.002 < lossy.mean() < 0.2
    years = loss[lossy]
    assert len(np.unique(years)) >= 15
    assert (years >= 12).sum() > (years < 12).sum()  # loss increases in later years
    # loss is concentrated near the sites: distance from loss pixels to the nearest site
    rows, cols = np.nonzero(lossy)
    xs, ys = rasterio.transform.xy(transform, rows, cols)
    tree = shapely.STRtree(shapely.points(sites["longitude"], sites["latitude"]))
    _, dist = tree.query_nearest(shapely.points(xs, ys), return_distance=True, all_matches=False)
    assert np.mean(dist < 0.01) > 0.75  # within about 1 km


# ---------------------------------------------------------------------------------------
# PACE classes, computed independently with plain shapely
# ---------------------------------------------------------------------------------------
def _geodesic_circle(lon: float, lat: float, area_km2: float) -> shapely.Polygon:
    radius = np.sqrt(area_km2 * 1e6 / np.pi)
    az = np.linspace(0.0, 360.0, 256, endpoint=False)
    lons, lats, _ = GEOD.fwd(np.full(256, lon), np.full(256, lat), az, np.full(256, radius))
    return shapely.Polygon(np.column_stack([lons, lats]))


@pytest.fixture(scope="module")
def pace(sites, pa_polygons, pa_points, ecoregions, landscapes) -> pd.DataFrame:
    """Per-site flags and the PACE class under the default policy."""
    pts = shapely.points(sites["longitude"], sites["latitude"])
    default = pa_polygons["STATUS"].isin(["Designated", "Inscribed", "Established"]) & (
        pa_polygons["DESIG_ENG"] != MAB
    )
    repaired = shapely.make_valid(pa_polygons.geometry.values)
    kept_points = pa_points[
        (pa_points["REP_AREA"] > 0)
        & pa_points["STATUS"].isin(["Designated", "Inscribed", "Established"])
    ]
    circles = [
        _geodesic_circle(p.x, p.y, a)
        for p, a in zip(kept_points.geometry, kept_points["REP_AREA"], strict=True)
    ]
    protected_polys = shapely.union_all(repaired[default.to_numpy()])
    in_polygon = shapely.intersects(protected_polys, pts)
    in_circle = shapely.intersects(shapely.union_all(circles), pts)
    protected = in_polygon | in_circle
    in_landscape = shapely.intersects(shapely.union_all(landscapes.geometry.values), pts)
    g200 = ecoregions["G200_NUM"].to_numpy() > 0
    in_g200 = shapely.intersects(shapely.union_all(ecoregions.geometry.values[g200]), pts)
    quirk = (~g200) & ecoregions["G200_REGIO"].fillna("").ne("").to_numpy()
    in_quirk = shapely.intersects(shapely.union_all(ecoregions.geometry.values[quirk]), pts)
    klass = np.select(
        [protected, in_landscape, in_g200],
        ["protected", "landscape", "g200"],
        "not_eligible",
    )

    def inside(mask):
        return shapely.intersects(shapely.union_all(repaired[mask.to_numpy()]), pts)

    holed = np.array(
        [any(len(p.interiors) for p in shapely.get_parts(g)) for g in pa_polygons.geometry]
    )
    holed_geom = pa_polygons.geometry.values[holed][0]
    filled = shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(holed_geom)])
    invalid = ~shapely.is_valid(pa_polygons.geometry.values)
    touching = shapely.touches(protected_polys, pts)
    zero_points = pa_points[pa_points["REP_AREA"] == 0].geometry.values
    near_zero_point = np.zeros(len(pts), bool)
    for p in zero_points:
        _, _, dist = GEOD.inv(
            np.full(len(pts), p.x), np.full(len(pts), p.y), sites["longitude"], sites["latitude"]
        )
        near_zero_point |= dist < 500.0
    pa_and_landscape_union = shapely.union_all([*repaired, *circles, *landscapes.geometry.values])
    with rasterio.open(SAMPLES / "treecover2000.tif") as src:
        left, bottom, right, top = src.bounds
    on_raster = (
        sites["longitude"].between(left, right) & sites["latitude"].between(bottom, top)
    ).to_numpy()
    return pd.DataFrame(
        {
            "klass": klass,
            "protected": protected,
            "in_landscape": in_landscape,
            "in_g200": in_g200,
            "in_quirk": in_quirk,
            "in_hole": shapely.intersects(filled, pts) & ~shapely.intersects(holed_geom, pts),
            "in_proposed": inside(pa_polygons["STATUS"] == "Proposed"),
            "in_mab": inside(pa_polygons["DESIG_ENG"] == MAB),
            "in_bowtie": shapely.intersects(shapely.union_all(repaired[invalid]), pts),
            "touching": touching,
            "circle_only": in_circle & ~in_polygon,
            "near_zero_point": near_zero_point,
            "far": shapely.distance(pa_and_landscape_union, pts) > 0.05,
            "on_raster": on_raster,
        },
        index=sites["site_id"],
    )


def test_every_pace_class_has_sites(pace):
    counts = pace["klass"].value_counts()
    assert counts.get("protected", 0) >= 20
    assert counts.get("landscape", 0) >= 10
    assert counts.get("g200", 0) >= 20
    assert counts.get("not_eligible", 0) >= 20


def test_awkward_site_cases_are_present(pace):
    # inside the hole (inholding) of the holed polygon: not protected
    hole = pace[pace["in_hole"]]
    assert len(hole) >= 3
    assert not hole["protected"].any()
    # only in the Proposed area / only in the MAB reserve: not protected by default
    assert (pace["in_proposed"] & ~pace["protected"]).sum() >= 3
    assert (pace["in_mab"] & ~pace["protected"]).sum() >= 3
    # inside the invalid bow-tie (after repair): protected
    bowtie = pace[pace["in_bowtie"]]
    assert len(bowtie) >= 1
    assert bowtie["protected"].all()
    # exactly on a protected-area boundary: touching counts as protected
    assert pace["touching"].sum() >= 1
    # protected only through a point record's geodesic circle
    assert pace["circle_only"].sum() >= 1
    # by a point record without a reported area: that record is dropped
    assert (pace["near_zero_point"] & ~pace["protected"]).sum() >= 1
    # precedence: inside both a protected area and a landscape
    assert (pace["protected"] & pace["in_landscape"]).sum() >= 1
    assert (pace["in_landscape"] & ~pace["protected"] & pace["in_g200"]).sum() >= 1
    # the G200_REGIO-but-G200_NUM-0 ecoregion holds sites that are NOT eligible
    assert ((pace["klass"] == "not_eligible") & pace["in_quirk"]).sum() >= 3
    # far from every protected area and landscape
    assert pace["far"].sum() >= 2
    # a few sites off the raster extent, most on it
    off = (~pace["on_raster"]).sum()
    assert 2 <= off <= 0.15 * len(pace)


def test_readme_class_table_matches_the_independent_counts(pace):
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    labels = {
        "protected": "protected",
        "priority landscape": "landscape",
        "Global 200 ecoregion": "g200",
        "not eligible": "not_eligible",
    }
    counts = pace["klass"].value_counts()
    for label, klass in labels.items():
        match = re.search(rf"^\| {label} \| (\d+) \|$", text, flags=re.MULTILINE)
        assert match, label
        assert int(match.group(1)) == counts.get(klass, 0), label
    assert sum(counts) == len(pace)


def test_nodata_patch_lies_near_a_site_but_under_none(sites):
    with rasterio.open(SAMPLES / "treecover2000.tif") as src:
        data = src.read(1)
        rows, cols = np.nonzero(data == 255)
        xs, ys = rasterio.transform.xy(src.transform, rows, cols)
        pts = shapely.points(sites["longitude"], sites["latitude"])
        inside = np.array([src.bounds.left < p.x < src.bounds.right for p in pts]) & np.array(
            [src.bounds.bottom < p.y < src.bounds.top for p in pts]
        )
        r, c = rasterio.transform.rowcol(
            src.transform, sites["longitude"][inside], sites["latitude"][inside]
        )
    assert not (data[np.asarray(r), np.asarray(c)] == 255).any()
    tree = shapely.STRtree(shapely.points(xs, ys))
    _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    # a 1 km buffer around at least one site is partly nodata
    assert (np.asarray(dist) < 0.009).any()
