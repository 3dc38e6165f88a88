"""read_sites on every supported format, each file written for real by the test.

Every test reads back the ids and coordinates that were written, and checks the file was not
touched (same SHA-256 before and after).
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from asm_pace import read_sites
from asm_pace.errors import LayerChoiceError, LayerNotFoundError, SiteValidationError

# id, name, lat, lon: names with the accents that break encodings
SITES = [
    ("MDD-01", "Pañacocha", -12.5431, -70.2083),
    ("MDD-02", "São João", -3.25, -60.5),
    ("MDD-03", "Sainte-Élise", 4.5125, -53.1),
    ("MDD-04", "Caño Ñuñoa", -0.0625, -76.875),
]
IDS = [s[0] for s in SITES]
NAMES = [s[1] for s in SITES]
LATS = np.array([s[2] for s in SITES])
LONS = np.array([s[3] for s in SITES])


def sha256(path: Path) -> str:
    if path.is_dir():
        return "".join(sha256(p) for p in sorted(path.rglob("*")) if p.is_file())
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_unchanged(path: Path, **kwargs) -> gpd.GeoDataFrame:
    before = sha256(path)
    sites = read_sites(path, **kwargs)
    assert sha256(path) == before, "read_sites modified the input file"
    return sites


def assert_sites(sites, ids=IDS, lons=LONS, lats=LATS, *, tol=1e-9):
    assert isinstance(sites, gpd.GeoDataFrame)
    assert sites.crs.to_epsg() == 4326
    assert list(sites["site_id"]) == list(ids)
    assert all(isinstance(v, str) for v in sites["site_id"])
    assert isinstance(sites.index, pd.RangeIndex) and sites.index.start == 0
    assert (sites.geom_type == "Point").all()
    assert not shapely.has_z(sites.geometry.values).any()
    np.testing.assert_allclose(sites.geometry.x, lons, atol=tol, rtol=0)
    np.testing.assert_allclose(sites.geometry.y, lats, atol=tol, rtol=0)
    assert sites.attrs["source"]


def write_text(path: Path, lines: list[str], encoding: str, newline: str = "\n") -> Path:
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def csv_lines(sep: str = ",", decimal: str = ".", header=("id", "name", "lat", "lon")):
    lines = [sep.join(header)]
    for sid, name, lat, lon in SITES:
        lat_s, lon_s = repr(lat).replace(".", decimal), repr(lon).replace(".", decimal)
        if decimal == "," and sep == ",":
            lat_s, lon_s = f'"{lat_s}"', f'"{lon_s}"'
        lines.append(sep.join([sid, name, lat_s, lon_s]))
    return lines


# ------------------------------------------------------------------------------------ text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_csv_encodings(tmp_path, encoding, newline):
    path = write_text(tmp_path / "sites.csv", csv_lines(), encoding, newline)
    sites = read_unchanged(path)
    assert_sites(sites)
    assert list(sites["name"]) == NAMES  # decoded right, BOM not glued to the header
    assert list(sites.columns) == ["site_id", "id", "name", "lat", "lon", "geometry"]


def test_latin1_fallback(tmp_path):
    # 0x81 is undefined in cp1252: the reader must fall back to Latin-1, not crash
    path = tmp_path / "sites.csv"
    path.write_bytes(b"id,name,lat,lon\nA,Pe\xf1a\x81,1.5,2.5\n")
    sites = read_unchanged(path)
    assert sites["name"][0] == "Peña\x81"
    assert_sites(sites, ["A"], [2.5], [1.5])


def test_semicolon_decimal_comma_spanish_export(tmp_path):
    # what Excel writes in es/pt/fr locales: ';' between fields, decimal commas, cp1252
    header = ("Código", "Nombre", "Latitud", "Longitud", "Área (ha)")
    lines = [";".join(header)]
    areas = ["1,5", "12", "0,25", "3,75"]
    for (sid, name, lat, lon), area in zip(SITES, areas, strict=True):
        lines.append(
            ";".join([sid, name, str(lat).replace(".", ","), str(lon).replace(".", ","), area])
        )
    path = write_text(tmp_path / "minas.csv", lines, "cp1252", "\r\n")
    sites = read_unchanged(path)
    assert_sites(sites)
    assert list(sites["Nombre"]) == NAMES
    assert sites["Área (ha)"].tolist() == [1.5, 12.0, 0.25, 3.75]
    # the coordinate columns are kept, as numbers
    np.testing.assert_allclose(sites["Latitud"], LATS)


def test_quoted_decimal_comma_in_comma_file(tmp_path):
    path = write_text(tmp_path / "sites.csv", csv_lines(",", ","), "utf-8")
    assert_sites(read_unchanged(path))


@pytest.mark.parametrize("suffix", [".tsv", ".txt", ".tab"])
def test_tsv(tmp_path, suffix):
    path = write_text(tmp_path / f"sites{suffix}", csv_lines("\t"), "utf-8")
    assert_sites(read_unchanged(path))


def test_pipe_delimited_with_sep_line(tmp_path):
    path = write_text(tmp_path / "sites.csv", ["sep=|", *csv_lines("|")], "utf-8")
    assert_sites(read_unchanged(path))


def test_dms_csv(tmp_path):
    lines = [
        "site;lat_dms;lon_dms",
        "A;5°39'00\"N;70°12'30\"W",
        "B;12°30.5'S;70 12 30 O",
        "C;0 30 0 S;45º30'00''E",
    ]
    path = write_text(tmp_path / "dms.csv", lines, "utf-8")
    sites = read_unchanged(path)
    west = -(70 + 12 / 60 + 30 / 3600)
    assert_sites(sites, ["A", "B", "C"], [west, west, 45.5], [5.65, -(12 + 30.5 / 60), -0.5])
    assert sites["lat_dms"][0] == "5°39'00\"N"  # the original text is kept


def test_utm_csv_with_crs(tmp_path):
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32719", always_xy=True)
    lons, lats = np.array([-69.0, -68.5, -70.25]), np.array([-12.6, -13.0, -11.9])
    eastings, northings = to_utm.transform(lons, lats)
    lines = ["codigo,este,norte"] + [
        f"P{i},{e:.3f},{n:.3f}" for i, (e, n) in enumerate(zip(eastings, northings, strict=True))
    ]
    path = write_text(tmp_path / "utm.csv", lines, "utf-8")
    sites = read_unchanged(path, crs="EPSG:32719")
    assert_sites(sites, ["P0", "P1", "P2"], lons, lats, tol=1e-7)  # mm rounding
    # x / y columns too
    lines = ["x,y"] + [f"{e},{n}" for e, n in zip(eastings, northings, strict=True)]
    path = write_text(tmp_path / "xy.csv", lines, "utf-8")
    sites = read_unchanged(path, crs="EPSG:32719")
    assert_sites(sites, ["S0001", "S0002", "S0003"], lons, lats, tol=1e-7)


def test_multiline_quoted_field_keeps_line_numbers(tmp_path):
    lines = ["id,notes,lat,lon", 'A,"two\nlines",1,2', "B,plain,3,4", "", "C,,5,999"]
    path = write_text(tmp_path / "sites.csv", lines, "utf-8")
    with pytest.raises(SiteValidationError) as info:
        read_sites(path)
    # physical line: header 1, A on 2-3, B on 4, blank 5, C on 6
    assert [(p.line, p.column, p.value) for p in info.value.problems] == [(6, "lon", 999)]


# ------------------------------------------------------------------------------------ Excel


def test_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Notas"
    sheet.append(["read me"])
    sheet.append(["the sites are on the next sheet"])
    data = book.create_sheet("Minas")
    data.append(["Código", "Nombre", "Latitude (WGS84)", "Longitude (WGS84)"])
    for sid, name, lat, lon in SITES:
        data.append([sid, name, lat, lon])
    dms = book.create_sheet("DMS")
    dms.append([None])  # a blank first row: the header is on row 2
    dms.append(["id", "lat", "lon"])
    dms.append([1, "5°39'00\"N", "70 12 30 O"])
    dms.append([2, -12.5, -69])
    path = tmp_path / "minas.xlsx"
    book.save(path)
    sites = read_unchanged(path, layer="Minas")
    assert_sites(sites)
    assert list(sites["Nombre"]) == NAMES
    sites = read_unchanged(path, layer=2)
    assert_sites(sites, ["1", "2"], [-(70 + 12 / 60 + 30 / 3600), -69.0], [5.65, -12.5])
    with pytest.raises(LayerNotFoundError, match="Minas"):
        read_sites(path, layer="Sheet9")
    assert_sites(read_unchanged(path))  # Minas and DMS have coordinates; Minas is named so
    with pytest.raises(SiteValidationError, match="no longitude and no latitude column"):
        read_sites(path, layer="Notas")
    # Excel row numbers in the problems
    dms.append([3, 95, 120])  # lon beyond 90: not a swap, just a bad latitude
    book.save(path)
    with pytest.raises(SiteValidationError) as info:
        read_sites(path, layer="DMS")
    assert [(p.line, p.column) for p in info.value.problems] == [(5, "lat")]


# ------------------------------------------------------------------------------------ vector


def sites_gdf(crs="EPSG:4326") -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {"code": IDS, "name": NAMES, "area_ha": [1.5, 2.0, 0.5, 3.0]},
        geometry=gpd.points_from_xy(LONS, LATS),
        crs="EPSG:4326",
    )
    return gdf.to_crs(crs)


def test_geojson(tmp_path):
    path = tmp_path / "sites.geojson"
    sites_gdf().to_file(path, driver="GeoJSON")
    sites = read_unchanged(path)
    assert_sites(sites)
    assert list(sites["name"]) == NAMES and list(sites["code"]) == IDS


def test_geopackage_layers_and_crs(tmp_path):
    path = tmp_path / "sites.gpkg"
    sites_gdf().to_file(path, layer="first", driver="GPKG")
    sites_gdf("EPSG:32718").to_file(path, layer="utm", driver="GPKG")
    assert_sites(read_unchanged(path, layer="first"))
    assert_sites(read_unchanged(path, layer="utm"), tol=1e-7)
    with pytest.raises(LayerNotFoundError, match="first, utm"):
        read_sites(path, layer="nope")
    with pytest.raises(LayerChoiceError, match=r"first \(Point\), utm \(Point\); pass layer="):
        read_sites(path)


def test_geopackage_3d_crs_and_z(tmp_path):
    gdf = sites_gdf()
    gdf = gdf.set_geometry(shapely.points(LONS, LATS, np.full(4, 250.0)), crs="EPSG:4979")
    path = tmp_path / "sites3d.gpkg"
    gdf.to_file(path, driver="GPKG")
    assert_sites(read_unchanged(path))


def test_shapefile_and_zipped_shapefile(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    path = folder / "minas.shp"
    sites_gdf().to_file(path, driver="ESRI Shapefile", encoding="utf-8")
    sites = read_unchanged(path)
    assert_sites(sites)
    assert list(sites["name"]) == NAMES
    archive = tmp_path / "minas.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    sites = read_unchanged(archive)
    assert_sites(sites)
    assert list(sites["name"]) == NAMES


def test_geoparquet(tmp_path):
    path = tmp_path / "sites.parquet"
    sites_gdf().to_parquet(path)
    assert_sites(read_unchanged(path))


def test_flatgeobuf(tmp_path):
    path = tmp_path / "sites.fgb"
    sites_gdf().to_file(path, driver="FlatGeobuf")
    # the spatial index orders features along a Hilbert curve: the file's order is not ours
    sites = read_unchanged(path).sort_values("site_id").reset_index(drop=True)
    assert_sites(sites)


def test_footprint_polygons_mixed_with_points(tmp_path):
    square = shapely.box(-70.01, -12.01, -70.0, -12.0)
    gdf = gpd.GeoDataFrame(
        {"site_id": ["P1", "F1", "F2"]},
        geometry=[
            shapely.Point(-70.5, -12.5),
            square,
            shapely.MultiPolygon([square, shapely.box(-69.0, -12.0, -68.99, -11.99)]),
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "mixed.gpkg"
    gdf.to_file(path, driver="GPKG")
    sites = read_unchanged(path)
    assert list(sites["site_id"]) == ["P1", "F1", "F2"]
    assert list(sites.geom_type) == ["Point", "Polygon", "MultiPolygon"]
    assert sites.geometry.geom_equals_exact(gdf.geometry, 1e-12).all()


# ------------------------------------------------------------------------------------ KML

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2" \
xmlns:kml="http://www.opengis.net/kml/2.2" xmlns:atom="http://www.w3.org/2005/Atom">
<Document>
\t<name>Minas ilegales.kml</name>
\t<StyleMap id="m_ylw-pushpin">
\t\t<Pair><key>normal</key><styleUrl>#s_ylw-pushpin</styleUrl></Pair>
\t\t<Pair><key>highlight</key><styleUrl>#s_ylw-pushpin_hl</styleUrl></Pair>
\t</StyleMap>
\t<Style id="s_ylw-pushpin">
\t\t<IconStyle><scale>1.1</scale><Icon>\
<href>http://maps.google.com/mapfiles/kml/pushpin/ylw-pushpin.png</href></Icon>\
<hotSpot x="20" y="2" xunits="pixels" yunits="pixels"/></IconStyle>
\t</Style>
\t<Style id="s_ylw-pushpin_hl"><IconStyle><scale>1.3</scale></IconStyle></Style>
\t<Folder>
\t\t<name>Puntos</name>
\t\t<open>1</open>
{points}
\t</Folder>
\t<Folder>
\t\t<name>Áreas minadas</name>
\t\t<Placemark>
\t\t\t<name>Tajo Norte</name>
\t\t\t<description><![CDATA[Frente de explotación <b>activo</b>]]></description>
\t\t\t<styleUrl>#m_ylw-pushpin</styleUrl>
\t\t\t<Polygon>
\t\t\t\t<tessellate>1</tessellate>
\t\t\t\t<outerBoundaryIs><LinearRing><coordinates>
\t\t\t\t\t-70.01,-12.01,0 -70,-12.01,0 -70,-12,0 -70.01,-12,0 -70.01,-12.01,0
\t\t\t\t</coordinates></LinearRing></outerBoundaryIs>
\t\t\t</Polygon>
\t\t</Placemark>
\t</Folder>
</Document>
</kml>
"""

PLACEMARK = """\t\t<Placemark>
\t\t\t<name>{name}</name>
\t\t\t<description>{desc}</description>
\t\t\t<LookAt><longitude>{lon}</longitude><latitude>{lat}</latitude><altitude>0</altitude>\
<heading>0</heading><tilt>0</tilt><range>1500</range>\
<gx:altitudeMode>relativeToSeaFloor</gx:altitudeMode></LookAt>
\t\t\t<styleUrl>#m_ylw-pushpin</styleUrl>
\t\t\t<Point>
\t\t\t\t<gx:drawOrder>1</gx:drawOrder>
\t\t\t\t<coordinates>{lon},{lat},0</coordinates>
\t\t\t</Point>
\t\t</Placemark>"""


def google_earth_kml() -> str:
    points = "\n".join(
        PLACEMARK.format(name=name, desc=f"Mina {sid}", lon=lon, lat=lat)
        for sid, name, lat, lon in SITES
    )
    return KML.format(points=points)


def check_kml_sites(sites):
    assert list(sites["site_id"]) == [*NAMES, "Tajo Norte"]  # placemark names are the ids
    assert list(sites["layer"]) == ["Puntos"] * 4 + ["Áreas minadas"]
    assert list(sites.geom_type) == ["Point"] * 4 + ["Polygon"]
    assert not shapely.has_z(sites.geometry.values).any()
    np.testing.assert_allclose(sites.geometry[:4].x, LONS)
    np.testing.assert_allclose(sites.geometry[:4].y, LATS)
    assert sites.geometry[4].equals(shapely.box(-70.01, -12.01, -70.0, -12.0))
    assert sites["description"][0] == "Mina MDD-01"
    assert "tessellate" not in sites.columns  # GDAL's display columns are dropped


def test_kml_google_earth(tmp_path):
    path = tmp_path / "Minas ilegales.kml"
    path.write_text(google_earth_kml(), encoding="utf-8")
    check_kml_sites(read_unchanged(path))
    one = read_unchanged(path, layer="Puntos")
    assert list(one["site_id"]) == NAMES and "layer" not in one.columns


def test_kmz(tmp_path):
    path = tmp_path / "minas.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", google_earth_kml())
    check_kml_sites(read_unchanged(path))


def test_kml_repeated_names_get_generated_ids(tmp_path):
    points = "\n".join(
        PLACEMARK.format(name="Mina", desc="", lon=lon, lat=lat) for _, _, lat, lon in SITES
    )
    path = tmp_path / "repeated.kml"
    path.write_text(KML.format(points=points), encoding="utf-8")
    sites = read_unchanged(path, layer="Puntos")
    assert list(sites["site_id"]) == ["S0001", "S0002", "S0003", "S0004"]
    assert list(sites["Name"]) == ["Mina"] * 4


# ------------------------------------------------------------------------------------ frames


def test_dataframe_not_modified():
    frame = pd.DataFrame({"ID": IDS, "LAT": LATS, "LONG": LONS}, index=[10, 20, 30, 40])
    copy = frame.copy(deep=True)
    sites = read_sites(frame)
    pd.testing.assert_frame_equal(frame, copy)
    assert_sites(sites)
    assert sites.attrs["source"] == "<DataFrame>"


def test_geodataframe_not_modified():
    gdf = sites_gdf("EPSG:3857")
    gdf.index = [5, 6, 7, 8]
    copy = gdf.copy(deep=True)
    sites = read_sites(gdf)
    pd.testing.assert_frame_equal(pd.DataFrame(gdf), pd.DataFrame(copy))
    assert gdf.crs == copy.crs
    assert_sites(sites, tol=1e-7)
    assert "site_id" not in gdf.columns


def test_crs_for_vector_without_crs(tmp_path):
    gdf = sites_gdf("EPSG:32718").set_crs(None, allow_override=True)
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(shp, driver="ESRI Shapefile")
    assert not shp.with_suffix(".prj").exists()
    assert_sites(read_unchanged(shp, crs="EPSG:32718"), tol=1e-7)
