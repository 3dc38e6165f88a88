"""Malformed site lists and files with several layers (issue 9, class 6 and the site part of 3).

Each refused case must exit 2 naming the file (the first ``Error:`` line of a site-validation
error names the file and the count; ``tests/test_trust_sites.py`` checks each problem's line,
column and value); each accepted one must classify the three sites of the clean world as
worked out by hand (:func:`_expected`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from . import SITES_CSV, Case, classify_args, tiny_inputs

# the three sites of tiny_inputs, (id, lon, lat)
SITES = [("S1", -70.0, -12.0), ("S2", -69.0, -12.0), ("S3", -71.5, -12.0)]


def _expected(lon: float, lat: float) -> str:
    """The class by hand: inside the PA square, else inside the Global 200 ecoregion, else not."""
    if -70.5 < lon < -69.5 and -12.5 < lat < -11.5:
        return "protected_area"
    if -70.5 < lon < -68 and -13 < lat < -11:
        return "critical_ecosystem"
    return "not_eligible"


def _check_classes(folder: Path, text: str) -> None:
    import geopandas as gpd

    out = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert list(out["site_id"]) == [s[0] for s in SITES]
    assert list(out["pace_class"]) == [_expected(lon, lat) for _, lon, lat in SITES]


def _check_read(name: str, id_column: str = "site_id"):
    """For ``validate`` cases: three sites reported, and read at the coordinates written."""

    def check(folder: Path, text: str) -> None:
        from asm_pace import read_sites

        assert f"{folder / name}: 3 site(s), no problems found" in text
        sites = read_sites(folder / name)
        assert list(sites[id_column]) == [s[0] for s in SITES]
        assert [(p.x, p.y) for p in sites.geometry] == [(lon, lat) for _, lon, lat in SITES]

    return check


def _classify(folder: Path, name: str, write) -> list[str]:
    """Classify the clean world with its site list replaced by ``write(path)``'s file."""
    paths = tiny_inputs(folder)
    paths["sites"].unlink()
    paths["sites"] = folder / name
    write(paths["sites"])
    return classify_args(paths, folder / "out.gpkg")


def _validate(folder: Path, name: str, write) -> list[str]:
    path = folder / name
    write(path)
    return ["validate", str(path)]


def _feature_collection(coordinates: list[str]) -> str:
    features = ",".join(
        f'{{"type":"Feature","properties":{{"site_id":"{sid}"}},'
        f'"geometry":{{"type":"Point","coordinates":[{xy}]}}}}'
        for (sid, _, _), xy in zip(SITES, coordinates, strict=True)
    )
    return f'{{"type":"FeatureCollection","features":[{features}]}}'


def _points(**columns):
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"site_id": [s[0] for s in SITES], **columns},
        geometry=[shapely.Point(lon, lat) for _, lon, lat in SITES],
        crs="EPSG:4326",
    )


# ------------------------------------------------------------------------ non-finite coordinates


def _geojson_nan(folder):
    # GDAL reads the NaN literal as is; S2's longitude is not a number
    text = _feature_collection(["-70,-12", "NaN,-12", "-71.5,-12"])
    return _classify(folder, "sites.geojson", lambda p: p.write_text(text, encoding="utf-8"))


def _gpkg_nan(folder):
    import geopandas as gpd
    import shapely

    def write(path):
        gdf = _points()
        gdf.geometry = gpd.GeoSeries(
            [shapely.Point(-70, -12), shapely.Point(-69, float("nan")), shapely.Point(-71.5, -12)],
            crs="EPSG:4326",
        )
        gdf.to_file(path, layer="sites", driver="GPKG")

    return _classify(folder, "sites.gpkg", write)


def _csv_nan_inf(folder):
    text = "site_id,latitude,longitude\nS1,-12.0,nan\nS2,-12.0,-69.0\nS3,inf,-71.5\n"
    return _classify(folder, "sites.csv", lambda p: p.write_text(text, encoding="utf-8"))


# ------------------------------------------------------------------------ text that is hard to read


def _csv_long_field(folder):
    # a 200 000-character description: over the csv module's 128 KB default field limit
    lines = SITES_CSV.splitlines()
    rows = [lines[0] + ",notes"] + [f"{line},short" for line in lines[1:]]
    rows[1] = rows[1].replace(",short", "," + "x" * 200_000)
    text = "\n".join(rows) + "\n"
    return _classify(folder, "sites.csv", lambda p: p.write_text(text, encoding="utf-8"))


def _check_long_field(folder, text):
    import geopandas as gpd

    _check_classes(folder, text)
    notes = gpd.read_file(folder / "out.gpkg", layer="sites")["notes"]
    assert [len(n) for n in notes] == [200_000, 5, 5]


def _csv_utf16_without_bom(folder):
    data = SITES_CSV.encode("utf-16-le")  # no byte-order mark
    return _validate(folder, "sites.csv", lambda p: p.write_bytes(data))


def _csv_binary(folder):
    data = bytes(range(1, 256)) * 8  # no NUL byte, but nothing like text
    return _validate(folder, "sites.csv", lambda p: p.write_bytes(data))


def _csv_unpaired_quote(folder):
    # S2's name opens a quote that only S3's name closes: S3 would vanish into S2's name and
    # S2 take S3's coordinates
    text = (
        'site_id,name,latitude,longitude\nS1,a,-12.0,-70.0\nS2,"b,-12.0,-69.0\nS3,"c",-12.0,-71.5\n'
    )
    return _classify(folder, "sites.csv", lambda p: p.write_text(text, encoding="utf-8"))


def _csv_repeated_lat(folder):
    text = "site_id,latitude,longitude,latitude\nS1,-12.0,-70.0,5\nS2,-12.0,-69.0,5\n"
    return _classify(folder, "sites.csv", lambda p: p.write_text(text, encoding="utf-8"))


# ------------------------------------------------------------------------ workbooks


def workbook(path: Path, sheets: dict[str, list[list]], *, chart_first: bool = False) -> Path:
    """Write an .xlsx with these sheets (title -> rows), a chart sheet first if asked."""
    import openpyxl
    from openpyxl.chart import BarChart, Reference

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    if chart_first:
        first = book[next(iter(sheets))]
        chart = BarChart()
        chart.add_data(Reference(first, min_col=1, min_row=1, max_row=2))
        book.create_chartsheet("Chart", 0).add_chart(chart)
    book.save(path)
    return path


_ROWS = [["site_id", "latitude", "longitude"]] + [[s, lat, lon] for s, lon, lat in SITES]


def _xlsx_damaged(folder):
    def write(path):
        workbook(path, {"sites": _ROWS})
        with zipfile.ZipFile(path) as zf:
            parts = {n: zf.read(n) for n in zf.namelist()}
        parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"][:300]  # cut short
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in parts.items():
                zf.writestr(name, data)

    return _validate(folder, "sites.xlsx", write)


def _xlsx_renamed_csv(folder):
    return _validate(folder, "sites.xlsx", lambda p: p.write_text(SITES_CSV, encoding="utf-8"))


def _xlsx_chart_then_sites(folder):
    def write(path):
        workbook(path, {"Notes": [["read me"]], "Data": _ROWS}, chart_first=True)

    return _validate(folder, "sites.xlsx", write)


def _xlsx_two_data_sheets(folder):
    def write(path):
        workbook(path, {"2019": _ROWS, "2020": _ROWS}, chart_first=True)

    return _validate(folder, "sites.xlsx", write)


# ------------------------------------------------------------------------ several layers


def _gpkg_sites_and_roads(folder):
    import geopandas as gpd
    import shapely

    def write(path):
        road = shapely.LineString([(-72, -12.2), (-68, -12.2)])
        gpd.GeoDataFrame({"name": ["road"]}, geometry=[road], crs="EPSG:4326").to_file(
            path, layer="roads", driver="GPKG"
        )  # first in the file
        _points().to_file(path, layer="visited", driver="GPKG")

    return _validate(folder, "sites.gpkg", write)


def _gpkg_two_point_layers(folder):
    def write(path):
        _points().to_file(path, layer="camps", driver="GPKG")
        _points().to_file(path, layer="visits", driver="GPKG")

    return _validate(folder, "sites.gpkg", write)


_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Minas</name>
<Folder><name>Rivers</name><Placemark><name>Rio</name><LineString>
<coordinates>-72,-12.2 -68,-12.2</coordinates></LineString></Placemark></Folder>
<Folder><name>Puntos</name>{points}</Folder>
</Document></kml>
"""


def _kml_points_and_rivers(folder):
    points = "".join(
        f"<Placemark><name>{sid}</name><Point><coordinates>{lon},{lat}</coordinates></Point>"
        "</Placemark>"
        for sid, lon, lat in SITES
    )
    text = _KML.format(points=points)
    return _validate(folder, "sites.kml", lambda p: p.write_text(text, encoding="utf-8"))


def _kmz_without_kml(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("images/photo.jpg", b"\xff\xd8\xff")


def _folder_of_notes(path: Path) -> None:
    path.mkdir()
    (path / "notes.txt").write_text("survey notes\n", encoding="utf-8")
    (path / "photo.jpg").write_bytes(b"\xff\xd8\xff")


def _geotiff(path: Path) -> None:
    """A 10 x 10 LZW GeoTIFF of tree cover, around the sites."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    profile = dict(driver="GTiff", width=10, height=10, count=1, dtype="uint8", crs="EPSG:4326")
    with rasterio.open(
        path, "w", transform=from_origin(-72, -11, 0.4, 0.2), compress="lzw", **profile
    ) as dst:
        dst.write(np.full((1, 10, 10), 50, dtype="uint8"))


def _zipped_geopackage(path: Path) -> None:
    """sites.gpkg zipped in a folder, beside a readme and a metadata .json."""
    gpkg = path.with_name("inner.gpkg")
    _points().to_file(gpkg, layer="sites", driver="GPKG")
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(gpkg, "survey/sites.gpkg")
        zf.writestr("readme.txt", "2024 survey")
        zf.writestr("meta.json", "{}")
    gpkg.unlink()


def _zipped_geopackage_and_table(path: Path) -> None:
    """A zip of a GeoPackage beside a CSV table: which one is meant is unclear."""
    gpkg = path.with_name("inner.gpkg")
    _points().to_file(gpkg, layer="sites", driver="GPKG")
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(gpkg, "sites.gpkg")
        zf.writestr("sites.csv", SITES_CSV)
    gpkg.unlink()


def _csv_id_missing(folder):
    text = "site_id,latitude,longitude\nS1,-12.0,-70.0\n,-12.0,-69.0\nS3,-12.0,-71.5\n"
    return _classify(folder, "sites.csv", lambda p: p.write_text(text, encoding="utf-8"))


def _utm_geojson(path: Path) -> None:
    """S1 in UTM 19S metres, the CRS named by the GeoJSON's ``crs`` member."""
    import json

    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32719"}},
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"site_id": "S1"},
                        "geometry": {"type": "Point", "coordinates": [445000, 8673000]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )


def _check_utm_geojson(folder: Path, text: str) -> None:
    import geopandas as gpd
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(32719, 4326, always_xy=True).transform(445000, 8673000)
    out = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert abs(out.geometry.x[0] - lon) < 1e-9 and abs(out.geometry.y[0] - lat) < 1e-9
    # 550 m inside the park's east edge (lon -69.5)
    assert list(out["pace_class"]) == [_expected(lon, lat)] == ["protected_area"]


def _sites_crs(crs: str):
    def build(folder: Path) -> list[str]:
        return classify_args(tiny_inputs(folder), folder / "out.gpkg", "--sites-crs", crs)

    return build


CASES = [
    Case(
        "malformed/zipped_geopackage_beside_a_table",
        lambda f: _classify(f, "sites.zip", _zipped_geopackage_and_table),
        words=("sites.zip", "it holds: sites.gpkg, sites.csv", "unzip it and give the file"),
    ),
    Case(
        "malformed/zipped_geopackage",
        lambda f: _classify(f, "sites.zip", _zipped_geopackage),
        exit_code=0,
        check=_check_classes,
    ),
    Case(
        "malformed/raster_given_as_sites",
        lambda f: _classify(f, "sites.tif", _geotiff),
        words=("sites.tif", "a raster, not vector data", "--treecover", "give a vector file"),
    ),
    Case(
        "malformed/lon_column_not_in_table",
        lambda f: [*classify_args(tiny_inputs(f), f / "out.gpkg"), "--lon", "x_coord"],
        words=("sites.csv", "'x_coord'", "--lon", "pick one of the columns: site_id"),
    ),
    Case(
        "malformed/kmz_without_kml",
        lambda f: _classify(f, "sites.kmz", _kmz_without_kml),
        words=("sites.kmz", "no vector file", "images/photo.jpg", "needs its .kml"),
    ),
    Case(
        "malformed/site_file_is_a_folder",
        lambda f: _classify(f, "survey", _folder_of_notes),
        words=("survey", "a folder", "it holds: notes.txt, photo.jpg", "give the file inside"),
    ),
    Case(
        "malformed/csv_one_id_missing",
        _csv_id_missing,
        words=("sites.csv", "line 3", "site id is missing", "--id-column", "--new-ids"),
    ),
    Case(
        "malformed/sites_crs_unknown",
        _sites_crs("EPSG:99999"),
        words=("sites.csv", "EPSG:99999", "not a coordinate reference system", "--sites-crs"),
    ),
    Case(
        "malformed/geojson_crs_member_utm",
        lambda f: _classify(f, "sites.geojson", _utm_geojson),
        exit_code=0,
        check=_check_utm_geojson,
    ),
    Case(
        "malformed/sites_crs_for_a_file_with_its_own",
        lambda f: [*_classify(f, "sites.geojson", _utm_geojson), "--sites-crs", "EPSG:32718"],
        words=("sites.geojson", "EPSG:32719", "own CRS", "drop crs= (--sites-crs)"),
    ),
    Case(
        "malformed/sites_crs_vertical",
        _sites_crs("EPSG:5703"),
        words=("sites.csv", "NAVD88 height", "Vertical CRS", "--sites-crs", "horizontal"),
    ),
    Case(
        "malformed/geojson_nan_longitude",
        _geojson_nan,
        words=("sites.geojson", "line 2", "geometry", "not a number", "remove the feature"),
    ),
    Case(
        "malformed/geopackage_nan_latitude",
        _gpkg_nan,
        words=("sites.gpkg", "line 2", "NaN", "not a number", "remove the feature"),
    ),
    Case("malformed/csv_nan_and_inf", _csv_nan_inf, words=("sites.csv", "2 problem(s)")),
    Case("malformed/csv_field_over_128kb", _csv_long_field, exit_code=0, check=_check_long_field),
    Case(
        "malformed/csv_utf16_without_bom",
        _csv_utf16_without_bom,
        0,
        check=_check_read("sites.csv"),
        outputs=(),
    ),
    Case("malformed/csv_binary_garbage", _csv_binary, words=("sites.csv", "binary", "export")),
    Case(
        "malformed/csv_unpaired_quote",
        _csv_unpaired_quote,
        words=("sites.csv", "line 3", "quotes", "do not pair up", "remove the stray quote"),
    ),
    Case(
        "malformed/csv_repeated_latitude",
        _csv_repeated_lat,
        words=("sites.csv", "column 'latitude'", "2 columns named", "--lat latitude.1"),
    ),
    Case(
        "malformed/xlsx_damaged_sheet",
        _xlsx_damaged,
        words=("sites.xlsx", "sheet 'sites'", "damaged", "save it again"),
    ),
    Case(
        "malformed/xlsx_renamed_csv", _xlsx_renamed_csv, words=("sites.xlsx", "text file", ".csv")
    ),
    Case(
        "malformed/xlsx_chart_then_sites",
        _xlsx_chart_then_sites,
        0,
        check=_check_read("sites.xlsx"),
        outputs=(),
    ),
    Case(
        "malformed/xlsx_two_data_sheets",
        _xlsx_two_data_sheets,
        words=("sites.xlsx", "2 sheets", "2019, 2020", "--sites-layer"),
    ),
    Case(
        "malformed/gpkg_sites_and_roads",
        _gpkg_sites_and_roads,
        0,
        check=_check_read("sites.gpkg"),
        outputs=(),
    ),
    Case(
        "malformed/gpkg_two_point_layers",
        _gpkg_two_point_layers,
        words=("sites.gpkg", "camps (Point), visits (Point)", "--sites-layer"),
    ),
    Case(
        "malformed/kml_points_and_rivers",
        _kml_points_and_rivers,
        0,
        check=_check_read("sites.kml", id_column="Name"),
        outputs=(),
    ),
]


# ---------------------------------------------------------------------- location uncertainty
# (issue 12) a column of radii in metres per site, or --uncertainty for every site


def _csv_uncertainty(value: str):
    """S2's uncertainty_m is ``value`` (line 3 of the file); the others 100 m."""

    def write(path: Path) -> None:
        rows = [f"{sid},{lat},{lon},{value if sid == 'S2' else '100'}" for sid, lon, lat in SITES]
        path.write_text("site_id,latitude,longitude,uncertainty_m\n" + "\n".join(rows) + "\n")

    return lambda folder: _classify(folder, "sites.csv", write)


def _uncertainty_option(text: str):
    return lambda folder: classify_args(
        tiny_inputs(folder), folder / "out.gpkg", "--uncertainty", text
    )


def _check_uncertainty_60km(folder: Path, text: str) -> None:
    """pa_certainty and the nearest range against pyproj.Geod on the densified park square.

    By hand: S1 at the park's centre is 54.5 km from its east and west edges, S2 54.5 km
    east of it, S3 109 km west: with 60 km, S1 and S2 are possible, S3 certain_outside.
    """
    import geopandas as gpd
    import numpy as np
    import shapely
    from pyproj import Geod

    out = gpd.read_file(folder / "out.gpkg", layer="sites")
    ring = shapely.segmentize(shapely.box(-70.5, -12.5, -69.5, -11.5).exterior, 0.0005)
    bx, by = np.asarray(ring.coords).T
    geod = Geod(ellps="WGS84")
    u = 60_000.0
    for (sid, lon, lat), row in zip(SITES, out.itertuples(), strict=True):
        d = geod.inv(np.full(bx.size, lon), np.full(bx.size, lat), bx, by)[2].min()
        assert row.site_id == sid and row.location_uncertainty_m == u
        assert row.pa_certainty == (
            "possible" if d < u else "certain_inside" if sid == "S1" else "certain_outside"
        )
        if sid == "S1":  # inside: [0, u - d]
            assert row.nearest_pa_km_min == 0.0
            assert abs(row.nearest_pa_km_max - (u - d) / 1000) < 0.01
        else:
            assert abs(row.nearest_pa_km_min - max(0.0, d - u) / 1000) < 0.01
            assert abs(row.nearest_pa_km_max - (d + u) / 1000) < 0.01
    assert [c for c in out["pa_certainty"]] == ["possible", "possible", "certain_outside"]
    assert "within its 60 km location uncertainty it may lie outside" in out["reason"][0]
    assert list(out["pace_class"]) == [_expected(lon, lat) for _, lon, lat in SITES]


CASES += [
    Case(
        "malformed/uncertainty_negative",
        _csv_uncertainty("-5"),
        words=("sites.csv", "line 3", "uncertainty_m", "-5", "not a radius", "in metres"),
    ),
    Case(
        "malformed/uncertainty_nan",
        _csv_uncertainty("NaN"),
        words=("sites.csv", "line 3", "uncertainty_m", "nan", "not a radius"),
    ),
    Case(
        "malformed/uncertainty_in_feet",
        _csv_uncertainty("500 feet"),
        words=("sites.csv", "line 3", "uncertainty_m", "not a number of metres"),
    ),
    Case(
        "malformed/uncertainty_above_the_limit",
        _csv_uncertainty("250000"),
        words=("sites.csv", "line 3", "250000", "100,000", "not a location"),
    ),
    Case(
        "malformed/uncertainty_validate_lists_each",
        lambda f: _validate(
            f,
            "sites.csv",
            lambda p: p.write_text(
                "site_id,latitude,longitude,coordinateUncertaintyInMeters\n"
                "S1,-12,-70,100\nS2,-12,-69,-5\nS3,-12,-71.5,500 feet\n"
            ),
        ),
        words=("sites.csv", "2 problem(s)"),
        outputs=(),
    ),
    Case(
        "malformed/uncertainty_option_in_feet",
        _uncertainty_option("500 feet"),
        words=("--uncertainty", "500 feet", "metres or kilometres", "500m"),
    ),
    Case(
        "malformed/uncertainty_option_above_the_limit",
        _uncertainty_option("150km"),
        words=("--uncertainty", "150km", "0 to 100 km", "not a location"),
    ),
    Case(
        "malformed/uncertainty_option_nan",
        _uncertainty_option("nan"),
        words=("--uncertainty", "nan", "not a location uncertainty"),
    ),
    Case(
        "malformed/uncertainty_option_60km",
        _uncertainty_option("60km"),
        exit_code=0,
        check=_check_uncertainty_60km,
    ),
]
