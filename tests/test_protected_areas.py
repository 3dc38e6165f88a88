"""read_protected_areas on real files written here with GDAL's own drivers.

Expected values come from the construction of the test data (which records the policy keeps)
and from pyproj.Geod (circle areas), never from the code under test.
"""

from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS, Geod, Transformer

from asm_pace import read_protected_areas
from asm_pace.errors import (
    AsmPaceError,
    DroppedRecordsWarning,
    InputError,
    LayerNotFoundError,
    NoCRSWarning,
    NoStatusFilterWarning,
    ReadError,
    RepairedGeometryWarning,
    SchemaError,
)

GEOD = Geod(ellps="WGS84")

BOWTIE = shapely.Polygon([(-60.0, -10.0), (-59.8, -9.8), (-59.8, -10.0), (-60.0, -9.8)])
ANTIMERIDIAN = shapely.MultiPolygon(
    [shapely.box(179.5, -17.0, 180.0, -16.5), shapely.box(-180.0, -17.0, -179.5, -16.5)]
)

# id, name, orig name, designation, status, status year, iso3, marine, oecm, geometry
POLYGONS = [
    (1, "Alpha National Park", "Parque Alfa", "National Park", "Designated", 1990, "PER", "0",
     False, shapely.box(-70.0, -12.0, -69.9, -11.9)),
    (2, "Beta Proposed", "Beta", "Reserved Zone", "Proposed", 0, "PER", "0",
     False, shapely.box(-70.5, -12.5, -70.4, -12.4)),
    (3, "Gamma Biosphere", "Gamma", "UNESCO-MAB Biosphere Reserve", "Designated", 2001, "PER",
     "0", False, shapely.box(-71.0, -13.0, -70.0, -12.0)),
    (4, "Delta Bowtie", "Delta", "Ramsar Site, Wetland of International Importance",
     "Designated", 2005, "BRA;PER", "1", False, BOWTIE),
    (5, "Epsilon Fiji", "Epsilon", "World Heritage Site (natural or mixed)", "Inscribed", 2010,
     "FJI", "0", False, ANTIMERIDIAN),
    (6, "Zeta OECM", "Zeta", "Indigenous Territory", "Established", 2015, "COL", "0",
     True, shapely.box(-74.0, 4.0, -73.9, 4.1)),
    (7, "Eta Marine", "Eta", "Marine Reserve", "Established", 2018, "COL", "2",
     False, shapely.box(-80.0, 2.0, -79.8, 2.2)),
]  # fmt: skip
# id, name, status, iso3, REP_AREA km2 (None = missing), geometry
POINTS = [
    (11, "Iota Point", "Designated", "PER", 50.0, shapely.MultiPoint([(-69.5, -11.5)])),
    (12, "Kappa No Area", "Designated", "PER", 0.0, shapely.MultiPoint([(-69.4, -11.4)])),
    (13, "Lambda Null Area", "Designated", "COL", None, shapely.MultiPoint([(-74.5, 4.5)])),
    (14, "Mu Two Parts", "Designated", "PER", 10.0,
     shapely.MultiPoint([(-69.0, -11.0), (-68.0, -11.0)])),
]  # fmt: skip
KEPT = {"1", "4", "5", "7", "11", "14"}  # the default policy's survivors, by construction


def wdpa_frames(schema: str = "legacy") -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """WDPA-like polygons and points, with the legacy or the WDPCA (Nov 2025) field names."""
    realm = {"0": "Terrestrial", "1": "Coastal", "2": "Marine"}
    prow, pgeom = [], []
    for pid, name, orig, desig, status, yr, iso, marine, oecm, geom in POLYGONS:
        common = {
            "DESIG_ENG": desig,
            "DESIG_TYPE": "International" if "Site" in desig else "National",
            "IUCN_CAT": "II",
            "STATUS": status,
            "STATUS_YR": yr,
            "REP_AREA": 100.0,
            "ISO3": iso,
        }
        if schema == "legacy":
            rec = {"WDPAID": float(pid), "WDPA_PID": str(pid), "PA_DEF": "0" if oecm else "1",
                   "NAME": name, "ORIG_NAME": orig, "MARINE": marine}  # fmt: skip
        else:
            rec = {"SITE_ID": pid, "SITE_PID": str(pid), "SITE_TYPE": "OECM" if oecm else "PA",
                   "NAME_ENG": name, "NAME": orig, "REALM": realm[marine]}  # fmt: skip
        prow.append({**rec, **common})
        pgeom.append(shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom)
    qrow, qgeom = [], []
    for pid, name, status, iso, area, geom in POINTS:
        common = {"DESIG_ENG": "Private Conservation Area", "DESIG_TYPE": "National",
                  "IUCN_CAT": "Not Reported", "STATUS": status, "STATUS_YR": 2012,
                  "REP_AREA": area, "ISO3": iso}  # fmt: skip
        if schema == "legacy":
            rec = {"WDPAID": float(pid), "WDPA_PID": str(pid), "PA_DEF": "1", "NAME": name,
                   "ORIG_NAME": name, "MARINE": "0"}  # fmt: skip
        else:
            rec = {"SITE_ID": pid, "SITE_PID": str(pid), "SITE_TYPE": "PA", "NAME_ENG": name,
                   "NAME": name, "REALM": "Terrestrial"}  # fmt: skip
        qrow.append({**rec, **common})
        qgeom.append(geom)
    polys = gpd.GeoDataFrame(prow, geometry=pgeom, crs="EPSG:4326")
    pts = gpd.GeoDataFrame(qrow, geometry=qgeom, crs="EPSG:4326")
    pts["REP_AREA"] = pts["REP_AREA"].astype("float64")
    for frame in (polys, pts):  # 32-bit integers, as in the WDPA geodatabase
        for col in ("STATUS_YR", "SITE_ID"):
            if col in frame:
                frame[col] = frame[col].astype("int32")
    return polys, pts


# ------------------------------------------------------------------ writers (real drivers)


def write_gpkg(tmp: Path, schema: str = "legacy") -> Path:
    polys, pts = wdpa_frames(schema)
    path = tmp / "wdpa.gpkg"
    pyogrio.write_dataframe(polys, path, layer="polygons", driver="GPKG")
    pyogrio.write_dataframe(pts, path, layer="points", driver="GPKG")
    return path


def write_gdb(tmp: Path, schema: str = "legacy") -> Path:
    polys, pts = wdpa_frames(schema)
    path = tmp / "WDPA_Nov2025_Public.gdb"
    pyogrio.write_dataframe(polys, path, layer="WDPA_poly_Nov2025", driver="OpenFileGDB")
    pyogrio.write_dataframe(pts, path, layer="WDPA_point_Nov2025", driver="OpenFileGDB")
    return path


def write_gdb_zip(tmp: Path, schema: str = "legacy") -> Path:
    gdb = write_gdb(tmp, schema)
    path = tmp / "WDPA_Nov2025_Public.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in gdb.iterdir():
            zf.write(f, f"{gdb.name}/{f.name}")
    shutil.rmtree(gdb)
    return path


def _write_shapefiles(polys, pts, folder: Path, stem: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    polys.to_file(folder / f"{stem}-polygons.shp", engine="pyogrio")
    pts.to_file(folder / f"{stem}-points.shp", engine="pyogrio")
    return sorted(folder.iterdir())


def write_shp_zip(tmp: Path, schema: str = "legacy") -> Path:
    polys, pts = wdpa_frames(schema)
    files = _write_shapefiles(polys, pts, tmp / "shp", "WDPA_Nov2025_Public_shp")
    path = tmp / "WDPA_Nov2025_Public_shp.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in files:
            zf.write(f, f.name)
    return path


def write_nested_zip(tmp: Path, schema: str = "legacy") -> Path:
    """Protected Planet's layout: a zip of three zips, each with polygons and points."""
    polys, pts = wdpa_frames(schema)
    outer = tmp / "WDPA_Nov2025_Public_shp.zip"
    with zipfile.ZipFile(outer, "w") as oz:
        oz.writestr("WDPA_sources_Nov2025.csv", "METADATAID,DATA_TITLE\n1,x\n")
        for i in range(3):
            files = _write_shapefiles(
                polys.iloc[i::3], pts.iloc[i::3], tmp / f"part{i}", "WDPA_Nov2025_Public_shp"
            )
            inner = tmp / f"WDPA_Nov2025_Public_shp_{i}.zip"
            with zipfile.ZipFile(inner, "w") as zf:
                for f in files:
                    zf.write(f, f.name)
            oz.write(inner, inner.name)
    return outer


WRITERS = {
    "gpkg": write_gpkg,
    "gdb": write_gdb,
    "gdb_zip": write_gdb_zip,
    "shp_zip": write_shp_zip,
    "nested_zip": write_nested_zip,
}


def read(*args, **kwargs):
    """Call read_protected_areas, returning the result and the warnings issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = read_protected_areas(*args, **kwargs)
    return out, caught


def of(caught, category):
    return [str(w.message) for w in caught if issubclass(w.category, category)]


# ------------------------------------------------------------------ the default policy


@pytest.mark.parametrize("fmt", list(WRITERS))
@pytest.mark.parametrize("schema", ["legacy", "wdpca"])
def test_default_policy_every_format(tmp_path, fmt, schema):
    out, caught = read(WRITERS[fmt](tmp_path, schema))
    assert set(out["pa_id"]) == KEPT
    assert len(out) == len(KEPT)
    assert list(out.columns) == [
        "pa_id", "wdpa_pid", "name", "orig_name", "designation", "designation_type",
        "iucn_category", "status", "status_year", "rep_area_km2", "marine", "iso3",
        "world_heritage", "ramsar", "origin", "geometry",
    ]  # fmt: skip
    assert out.crs.to_epsg() == 4326
    assert out.index.equals(pd.RangeIndex(len(out)))
    assert out.is_valid.all()
    assert set(out.geom_type) <= {"Polygon", "MultiPolygon"}
    # 2 point records without area (REP_AREA 0 and missing) -> one warning with the count
    dropped = of(caught, DroppedRecordsWarning)
    assert len(dropped) == 1 and "2 point record(s)" in dropped[0]
    repaired = of(caught, RepairedGeometryWarning)
    assert len(repaired) == 1 and "1 invalid polygon" in repaired[0]
    assert not of(caught, NoStatusFilterWarning)
    by_id = out.set_index("pa_id")
    assert by_id.loc["1", "name"] == "Alpha National Park"
    assert by_id.loc["1", "orig_name"] == "Parque Alfa"  # NAME_ENG/NAME in WDPCA
    assert by_id.loc["1", "wdpa_pid"] == "1"
    assert by_id.loc["7", "marine"] == "2"  # REALM "Marine" in WDPCA
    assert by_id.loc["4", "marine"] == "1"
    assert bool(by_id.loc["4", "ramsar"]) and not bool(by_id.loc["4", "world_heritage"])
    assert bool(by_id.loc["5", "world_heritage"])
    assert by_id.loc["11", "origin"] == "point_circle"
    assert by_id.loc["1", "origin"] == "polygon"
    assert by_id.loc["1", "status_year"] == 1990
    assert out["status_year"].dtype == "Int64"
    assert by_id.loc["1", "iso3"] == "PER"


def test_status_year_zero_is_missing(tmp_path):
    out, _ = read(write_gpkg(tmp_path), statuses=None)
    assert out.set_index("pa_id").loc["2", "status_year"] is pd.NA


def test_each_policy_keyword(tmp_path):
    path = write_gpkg(tmp_path)
    assert "2" in set(read(path, statuses=None)[0]["pa_id"])
    assert "2" in set(read(path, statuses=["Proposed"])[0]["pa_id"])
    assert set(read(path, statuses=["proposed"])[0]["pa_id"]) == {"2"}
    assert "3" in set(read(path, exclude_mab=False)[0]["pa_id"])
    assert "6" in set(read(path, exclude_oecm=False)[0]["pa_id"])
    assert "7" not in set(read(path, exclude_marine=True)[0]["pa_id"])
    out, caught = read(path, points="drop")
    assert set(out["pa_id"]) == KEPT - {"11", "14"}
    assert not of(caught, DroppedRecordsWarning)
    assert out.attrs["cleaning"]["points"] == 4


def test_wdpca_oecm_site_type(tmp_path):
    path = write_gpkg(tmp_path, "wdpca")
    assert "6" not in set(read(path)[0]["pa_id"])
    assert "6" in set(read(path, exclude_oecm=False)[0]["pa_id"])


# ------------------------------------------------------------------ geometry


def test_point_circles_have_the_reported_area(tmp_path):
    out, _ = read(write_gpkg(tmp_path))
    by_id = out.set_index("pa_id")
    circle = by_id.loc["11", "geometry"]
    area_km2 = abs(GEOD.geometry_area_perimeter(circle)[0]) / 1e6
    assert area_km2 == pytest.approx(50.0, rel=0.005)
    # centred on the point: every vertex ~sqrt(A/pi) from it
    lon, lat = np.asarray(circle.exterior.coords).T
    _, _, dist = GEOD.inv(np.full(lon.size, -69.5), np.full(lon.size, -11.5), lon, lat)
    assert dist == pytest.approx(np.sqrt(50e6 / np.pi), rel=1e-6)
    # a MultiPoint record shares its area between its parts
    two = by_id.loc["14", "geometry"]
    assert two.geom_type == "MultiPolygon" and len(two.geoms) == 2
    total = sum(abs(GEOD.geometry_area_perimeter(p)[0]) for p in two.geoms) / 1e6
    assert total == pytest.approx(10.0, rel=0.005)


def test_bowtie_repaired_keeps_both_lobes(tmp_path):
    out, _ = read(write_gpkg(tmp_path))
    fixed = out.set_index("pa_id").loc["4", "geometry"]
    assert fixed.is_valid
    # two triangles, each a quarter of the 0.2 x 0.2 degree square (worked by hand)
    assert fixed.area == pytest.approx(2 * 0.25 * 0.2 * 0.2)
    assert len(shapely.get_parts(fixed)) == 2


def test_antimeridian_parts_kept(tmp_path):
    out, _ = read(write_gdb(tmp_path))
    geom = out.set_index("pa_id").loc["5", "geometry"]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert geom.bounds == (-180.0, -17.0, 180.0, -16.5)
    expected = sum(abs(GEOD.geometry_area_perimeter(p)[0]) for p in ANTIMERIDIAN.geoms)
    assert abs(GEOD.geometry_area_perimeter(geom)[0]) == pytest.approx(expected, rel=1e-9)


# ------------------------------------------------------------------ filtering while reading


@pytest.mark.parametrize("fmt", ["gpkg", "gdb", "nested_zip"])
def test_bbox_filters_while_reading(tmp_path, fmt):
    path = WRITERS[fmt](tmp_path)
    out, caught = read(path, bbox=(-70.2, -12.2, -69.0, -11.0))
    # Alpha (polygon) and Iota's 50 km2 circle; Mu's circles are centred at -69 and -68:
    # the one at -69.0 reaches into the box
    assert set(out["pa_id"]) == {"1", "11", "14"}
    # the invalid bow-tie lies outside the box: GDAL never handed it over, so nothing was
    # repaired (a filter applied after reading would have had to repair it first)
    assert not of(caught, RepairedGeometryWarning)
    # Kappa (no area) lies inside the box, Lambda (no area) outside: only Kappa is counted
    dropped = of(caught, DroppedRecordsWarning)
    assert len(dropped) == 1 and "1 point record(s)" in dropped[0]


def test_bbox_catches_a_circle_whose_point_is_outside(tmp_path):
    # Iota's circle has radius ~4 km; a box just east of the point (0.02 deg ~ 2.2 km)
    out, _ = read(write_gpkg(tmp_path), bbox=(-69.48, -11.6, -69.45, -11.4))
    assert set(out["pa_id"]) == {"11"}


@pytest.mark.parametrize("fmt", ["gpkg", "gdb", "shp_zip", "nested_zip"])
def test_countries_filter_while_reading(tmp_path, fmt):
    path = WRITERS[fmt](tmp_path)
    out, caught = read(path, countries=["COL"])
    assert set(out["pa_id"]) == {"7"}
    # the invalid bow-tie (BRA;PER) was not read: no repair warning
    assert not of(caught, RepairedGeometryWarning)
    # GDAL's filter did the work: nothing left for the exact check to remove
    assert out.attrs["cleaning"]["countries"] == 0
    out, _ = read(path, countries="bra")  # one of "BRA;PER"
    assert set(out["pa_id"]) == {"4"}
    out, _ = read(path, countries=["PER", "FJI"])
    assert set(out["pa_id"]) == {"1", "4", "5", "11", "14"}


# ------------------------------------------------------------------ other layers and CRSs


def test_non_wdpa_layer(tmp_path):
    gdf = gpd.GeoDataFrame(
        {
            "codigo": ["ANP01", "ANP02"],
            "nombre": ["Reserva Uno", "Parque Dos"],
            "categoria": ["Reserva Nacional", "Parque Nacional"],
        },
        geometry=[shapely.box(-70, -12, -69, -11), shapely.box(-72, -14, -71, -13)],
        crs="EPSG:4326",
    )
    path = tmp_path / "anp.gpkg"
    gdf.to_file(path, layer="anp")
    out, caught = read(path)
    assert list(out["pa_id"]) == ["ANP01", "ANP02"]
    assert list(out["name"]) == ["Reserva Uno", "Parque Dos"]
    assert list(out["designation"]) == ["Reserva Nacional", "Parque Nacional"]
    warned = of(caught, NoStatusFilterWarning)
    assert len(warned) == 1 and "no status filtering" in warned[0]
    # no id-like column: ids are generated
    gdf.drop(columns="codigo").to_file(tmp_path / "osm.gpkg", layer="osm")
    out, _ = read(tmp_path / "osm.gpkg")
    assert list(out["pa_id"]) == ["PA1", "PA2"]
    with pytest.raises(SchemaError, match="ISO3"):
        read(path, countries="PER")


def test_epsg4979_and_custom_projection(tmp_path):
    polys, _ = wdpa_frames()
    laea = "+proj=laea +lat_0=-12 +lon_0=-70 +x_0=1000 +y_0=2000 +ellps=WGS84 +units=m"
    # 3-D geographic CRS with z values
    z = shapely.force_3d(np.asarray(polys.geometry.values), 100.0)
    p3 = gpd.GeoDataFrame(polys.drop(columns="geometry"), geometry=z, crs="EPSG:4979")
    p3.to_file(tmp_path / "z.gpkg", layer="polygons")
    out, _ = read(tmp_path / "z.gpkg")
    assert not shapely.has_z(np.asarray(out.geometry.values)).any()
    assert out.set_index("pa_id").loc["1", "geometry"].bounds == pytest.approx(
        (-70.0, -12.0, -69.9, -11.9)
    )
    # custom projection: coordinates come back where pyproj puts them
    proj = polys.to_crs(CRS.from_proj4(laea))
    proj.to_file(tmp_path / "laea.gpkg", layer="polygons")
    out, _ = read(tmp_path / "laea.gpkg", bbox=(-70.05, -12.05, -69.85, -11.85))
    assert set(out["pa_id"]) == {"1"}
    back = Transformer.from_crs(CRS.from_proj4(laea), "EPSG:4326", always_xy=True)
    x, y = np.asarray(proj.geometry.iloc[0].geoms[0].exterior.coords).T
    lon, lat = back.transform(x, y)
    got = np.asarray(out.geometry.iloc[0].geoms[0].exterior.coords)
    np.testing.assert_allclose(got, np.column_stack([lon, lat]), atol=1e-9)


@pytest.mark.parametrize("fmt", ["gdb", "gdb_zip", "nested_zip", "shp_zip"])
def test_fiona_engine_gives_the_same(tmp_path, fmt):
    path = WRITERS[fmt](tmp_path)
    a, _ = read(path, engine="pyogrio", countries=["PER", "FJI", "COL"])
    b, _ = read(path, engine="fiona", countries=["PER", "FJI", "COL"])
    assert list(a["pa_id"]) == list(b["pa_id"])
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-12).all()


def test_layer_choice(tmp_path):
    path = write_gpkg(tmp_path)
    out, _ = read(path, layer="POLYGONS")
    assert set(out["origin"]) == {"polygon"}
    with pytest.raises(LayerNotFoundError, match=r"polygons, points|points, polygons"):
        read(path, layer="nope")


def test_bad_input(tmp_path):
    path = write_gpkg(tmp_path)
    with pytest.raises(ReadError, match=r"missing\.gpkg"):
        read(tmp_path / "missing.gpkg")
    (tmp_path / "empty.gpkg").write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        read(tmp_path / "empty.gpkg")
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    with pytest.raises(AsmPaceError, match=r"junk\.zip"):
        read(tmp_path / "junk.zip")
    with pytest.raises(InputError, match="Designated"):
        read(path, statuses=["Designed"])
    with pytest.raises(InputError, match="circles"):
        read(path, points="buffer")
    with pytest.raises(InputError, match="alpha-3"):
        read(path, countries=["Peru"])
    with pytest.raises(InputError, match="bbox"):
        read(path, bbox=(10, 0, 5, 1))


# ------------------------------------------------------------------ bundled samples


def test_samples_default_policy(samples):
    out, caught = read(samples / "protected_areas.gpkg")
    # data/samples/README.md: 900005 Proposed, 900006 MAB and 900011 (REP_AREA 0) drop out;
    # 900003 has two parcels
    assert sorted(out["pa_id"]) == sorted(
        [
            "900001",
            "900002",
            "900003",
            "900003",
            "900004",
            "900007",
            "900008",
            "900009",
            "900010",
            "900012",
        ]
    )
    assert sorted(out.loc[out["pa_id"] == "900003", "wdpa_pid"]) == ["900003_A", "900003_B"]
    lam = out.set_index("pa_id").loc["900010", "geometry"]
    assert abs(GEOD.geometry_area_perimeter(lam)[0]) / 1e6 == pytest.approx(8.0, rel=0.005)
    assert len(of(caught, RepairedGeometryWarning)) == 1
    assert "1 point record(s)" in of(caught, DroppedRecordsWarning)[0]


# ------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_realdata_wdpa_south_america(realdata):
    path = (
        realdata / "wdpa_south_america_2019" / "wdpa_feb2019_south_america_polygons_simplified.gpkg"
    )
    raw = pyogrio.read_dataframe(path)
    out, caught = read(path)
    # independent count: status in force, not MAB, with a geometry
    keep = (
        raw["STATUS"].isin(["Designated", "Inscribed", "Established"])
        & (raw["DESIG_ENG"] != "UNESCO-MAB Biosphere Reserve")
        & ~raw.geometry.is_empty
    )
    assert len(out) == int(keep.sum())
    assert out.is_valid.all()
    assert of(caught, RepairedGeometryWarning)
    assert of(caught, DroppedRecordsWarning)  # the empty geometries
    per, _ = read(path, countries="PER")
    raw_per = keep & raw["ISO3"].str.split(";").map(lambda c: "PER" in c)
    assert len(per) == int(raw_per.sum())
    # TopoJSON with no CRS: read as lon/lat with a warning
    topo, caught = read(
        realdata / "wdpa_south_america_2019" / "wdpa_feb2019_south_america_polygons.topojson",
        countries="PER",
    )
    assert of(caught, NoCRSWarning)
    assert len(topo) == len(per)


@pytest.mark.realdata
def test_realdata_points_without_area(realdata):
    path = realdata / "wdpa_south_america_2019" / "wdpa_feb2019_south_america_points.gpkg"
    raw = pyogrio.read_dataframe(path)
    keep = raw["STATUS"].isin(["Designated", "Inscribed", "Established"]) & (
        raw["DESIG_ENG"] != "UNESCO-MAB Biosphere Reserve"
    )
    # this copy has no REP_AREA at all: nothing with an extent is left, which is refused
    with pytest.raises(InputError, match=f"{int(keep.sum())} point record.s. have no reported"):
        read(path)


@pytest.mark.realdata
def test_realdata_sernanp_non_wdpa(realdata):
    path = realdata / "peru_sernanp_anp" / "peru_anp_sernanp.gpkg"
    raw = pyogrio.read_dataframe(path)
    out, caught = read(path)
    assert len(of(caught, NoStatusFilterWarning)) == 1
    assert len(out) == len(raw) == 353
    assert list(out["name"]) == list(raw["name"])
    assert list(out["iso3"].unique()) == ["PER"]
    tamb = out[out["name"].str.contains("Tambopata")]
    assert len(tamb) >= 1


@pytest.mark.realdata
def test_realdata_mapme_single_records(realdata):
    out, _ = read(realdata / "mapme_wdpa_samples" / "wdpa_gtm_cerro_san_gil_12555.gpkg")
    row = out.iloc[0]
    assert (row["pa_id"], row["iucn_category"], row["status_year"]) == ("12555", "III", 1996)
    assert row["rep_area_km2"] == pytest.approx(442.26, abs=0.01)
    assert row["marine"] == "0"  # written as "terrestrial" by wdpar in this copy
    out, caught = read(realdata / "mapme_wdpa_samples" / "wdpa_guy_shell_beach_41057.gpkg")
    assert list(out["pa_id"]) == ["41057"]
    assert of(caught, NoStatusFilterWarning)  # WDPAID, NAME, DESIG_ENG, ISO3 only


def test_geodataframe_input_is_left_untouched():
    polys, _ = wdpa_frames()
    projected = polys.to_crs("EPSG:32719")
    projected.attrs["source"] = "memory"
    before = projected.copy()
    out, _ = read(projected, countries="PER")
    assert out.crs.to_epsg() == 4326 and len(out)
    assert projected.crs.to_epsg() == 32719 and projected.attrs == {"source": "memory"}
    assert list(projected.columns) == list(before.columns)
    assert shapely.equals_exact(
        projected.geometry.values, before.geometry.values, tolerance=0
    ).all()


# ------------------------------------------------------------------ what the source is called


@pytest.mark.parametrize("fmt", ["gpkg", "gdb_zip"])
def test_the_wdpa_is_labelled_wdpa(tmp_path, fmt):
    out, _ = read(WRITERS[fmt](tmp_path, "wdpca"))  # SITE_ID beside the WDPCA's fields
    assert out.attrs["source_label"] == "WDPA"
    (tmp_path / "again").mkdir()
    out, _ = read(WRITERS[fmt](tmp_path / "again", "legacy"), source_label=" WCMC copy ")
    assert out.attrs["source_label"] == "WCMC copy"  # the given label wins, trimmed


def test_a_national_layer_is_labelled_by_its_file_and_classify_says_so(tmp_path):
    from asm_pace import classify

    parks = gpd.GeoDataFrame(
        {"Code": [100, 7], "Nombre": ["Reserva Y", "  "]},
        geometry=[shapely.box(-70, -12, -69, -11), shapely.box(-72, -14, -71, -13)],
        crs="EPSG:4326",
    )
    path = tmp_path / "ANP_Definitivas.shp"
    parks.to_file(path)
    zipped = tmp_path / "ANP_Definitivas.shp.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in tmp_path.glob("ANP_Definitivas.*"):
            if part != zipped:
                zf.write(part, part.name)
    eco = gpd.GeoDataFrame(
        {"eco_id": pd.array([1], dtype="Int64"), "eco_name": ["Wet forest"],
         "biome": pd.array([1], dtype="Int64"), "g200_region": [""], "is_g200": [False]},
        geometry=[shapely.box(-75, -15, -65, -10)], crs="EPSG:4326",
    )  # fmt: skip
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2"]},
        geometry=[shapely.Point(-69.5, -11.5), shapely.Point(-71.5, -13.5)],
        crs="EPSG:4326",
    )
    for source in (path, zipped):
        out, _ = read(source)
        assert out.attrs["source_label"] == "ANP_Definitivas"
        assert list(out["pa_id"]) == ["100", "7"]
        reasons = classify(sites, out, eco)["reason"].tolist()
        assert reasons == [
            "Inside Reserva Y (ANP_Definitivas 100)",
            "Inside an unnamed protected area (ANP_Definitivas 7)",
        ]
    # a national layer's own site_id column is not the WDPCA's SITE_ID (no WDPCA field beside)
    parks.assign(site_id=["x", "y"]).to_file(tmp_path / "parks.gpkg")
    out, _ = read(tmp_path / "parks.gpkg")
    assert (out.attrs["source_label"], out["pa_id"].iloc[0]) == ("parks", "x")
    out, _ = read(path, source_label="SERNANP")
    assert classify(sites, out, eco)["reason"].iloc[0] == "Inside Reserva Y (SERNANP 100)"
    # a GeoDataFrame: its attrs["source"] names it, else its ids are plain ids
    parks.attrs["source"] = "parks.geojson"
    assert read(parks)[0].attrs["source_label"] == "parks"
    parks.attrs = {}
    assert read(parks)[0].attrs["source_label"] == "id"


@pytest.mark.parametrize("label", ["", "  ", "two\nlines", 5])
def test_a_source_label_that_is_no_name_is_refused(tmp_path, label):
    with pytest.raises(InputError, match="--pa-source-name") as err:
        read_protected_areas(write_gpkg(tmp_path), source_label=label)
    assert "\n" not in str(err.value)


@pytest.mark.realdata
def test_realdata_sernanp_reasons_name_the_file_not_the_wdpa(realdata):
    from asm_pace import classify

    path = realdata / "peru_sernanp_anp" / "peru_anp_sernanp.gpkg"
    out, _ = read(path, bbox=(-70.0, -13.5, -69.0, -12.5))  # around Tambopata
    assert out.attrs["source_label"] == "peru_anp_sernanp"
    tamb = out[out["name"] == "Tambopata"].iloc[0]
    site = tamb.geometry.representative_point()
    eco = gpd.GeoDataFrame(
        {"eco_id": pd.array([1], dtype="Int64"), "eco_name": ["Wet forest"],
         "biome": pd.array([1], dtype="Int64"), "g200_region": [""], "is_g200": [False]},
        geometry=[shapely.box(-71, -14, -68, -12)], crs="EPSG:4326",
    )  # fmt: skip
    sites = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[site], crs="EPSG:4326")
    reason = classify(sites, out, eco)["reason"].iloc[0]
    assert reason.startswith("Inside ") and "WDPA" not in reason
    assert f"Tambopata (peru_anp_sernanp {tamb['pa_id']})" in reason, reason
