"""Geometry that wraps the globe (issue 9, class 2).

Layers crossing the antimeridian used to come back from reprojection inverted into a band
round the rest of the world (a Fiji park "protecting" Peru); longitudes past 180 were
silently out of reach. Now every polygon layer is split at +-180 with its true shape
(``_vector.to_wgs84``), and what cannot be read one way only is refused with the row.

The world: a Fiji park, lon 177..183 (across the line) x lat -19..-16, written in several
ways; sites F1 (179.5, -17) and F2 (-179.5, -17) inside it, P1 (-70, -12) in Peru (inside
:func:`corpus.tiny_inputs`' park and its Global 200 ecoregion), F3 (170, -17) west of the
park, outside every layer. Expected values by hand or by ``pyproj.Geod``.
"""

from __future__ import annotations

from pathlib import Path

from . import Case, classify_args, tiny_inputs

SITES = (
    "site_id,latitude,longitude\nF1,-17.0,179.5\nF2,-17.0,-179.5\nP1,-12.0,-70.0\nF3,-17.0,170.0\n"
)
#: the Fiji park's corners with continuous longitudes (the truth)
FIJI = (177.0, -19.0, 183.0, -16.0)


def _fiji(style: str):
    """The Fiji park, densified, as ``style``: "continuous", "naive" (folded into
    -180..180, edges jumping across the line) or "EPSG:3832" (PDC Mercator)."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    box = shapely.segmentize(shapely.box(*FIJI), 0.25)
    if style == "continuous":
        return box
    if style == "naive":
        return shapely.transform(box, lambda c: np.c_[(c[:, 0] + 180) % 360 - 180, c[:, 1]])
    tr = Transformer.from_crs("EPSG:4326", style, always_xy=True)
    return shapely.transform(box, lambda c: np.c_[tr.transform(c[:, 0], c[:, 1])])


def _rewrite(path: Path, geoms: list, crs: str, *, layer: str | None = None, **columns) -> None:
    """Replace the features of the tiny layer at ``path`` by ``geoms`` (first row's fields)."""
    import geopandas as gpd

    base = gpd.read_file(path, layer=layer)
    rows = base.iloc[[0] * len(geoms)].reset_index(drop=True)
    for name, values in columns.items():
        rows[name] = values
    out = gpd.GeoDataFrame(rows.drop(columns="geometry"), geometry=geoms, crs=crs)
    path.unlink()
    out.to_file(path, layer=layer, driver="GPKG")


def _world(folder: Path, pa_geoms=None, pa_crs="EPSG:4326") -> dict[str, Path]:
    paths = tiny_inputs(folder)
    paths["sites"].write_text(SITES, encoding="utf-8")
    if pa_geoms is not None:
        ids = [900001 + i for i in range(len(pa_geoms))]
        _rewrite(paths["protected_areas"], pa_geoms, pa_crs, layer="polygons", WDPAID=ids)
    return paths


def _classes(*expected: str):
    def check(folder: Path, text: str) -> None:
        import geopandas as gpd

        s = gpd.read_file(folder / "out.gpkg", layer="sites")
        assert list(s["pace_class"]) == list(expected), list(s["pace_class"])

    return check


# --------------------------------------------------------------------------- protected areas


def _pa_3832(folder):
    return classify_args(_world(folder, [_fiji("EPSG:3832")], "EPSG:3832"), folder / "out.gpkg")


def _check_pa(folder, text):
    import geopandas as gpd
    import numpy as np
    from pyproj import Geod

    _classes("protected_area", "protected_area", "critical_ecosystem", "not_eligible")(folder, text)
    s = gpd.read_file(folder / "out.gpkg", layer="sites").set_index("site_id")
    # F3 to the park's west edge (the meridian 177 E, lat -19..-16), by brute force
    lats = np.linspace(-19.0, -16.0, 3001)
    _, _, d = Geod(ellps="WGS84").inv(
        np.full(lats.size, 170.0), np.full(lats.size, -17.0), np.full(lats.size, 177.0), lats
    )
    assert abs(s.loc["F3", "nearest_pa_km"] - d.min() / 1000.0) < 0.01 * d.min() / 1000.0


def _pa_naive(folder):
    return classify_args(_world(folder, [_fiji("naive")]), folder / "out.gpkg")


def _pa_0_360(folder):
    import shapely

    peru = shapely.box(289.5, -12.5, 290.5, -11.5)  # the tiny park, -70.5..-69.5, in 0..360
    return classify_args(_world(folder, [_fiji("continuous"), peru]), folder / "out.gpkg")


def _pa_point_190(folder):
    import shapely

    paths = _world(folder)
    pts = folder / "pas.gpkg"
    _rewrite(pts, [shapely.box(-70.5, -12.5, -69.5, -11.5)], "EPSG:4326", layer="polygons")
    import geopandas as gpd

    base = gpd.read_file(pts, layer="polygons")
    gpd.GeoDataFrame(
        base.drop(columns="geometry").assign(WDPAID=900002, REP_AREA=50.0),
        geometry=[shapely.Point(190.0, -17.0)],
        crs="EPSG:4326",
    ).to_file(pts, layer="points", driver="GPKG")
    return classify_args(paths, folder / "out.gpkg")


def _pa_ambiguous(folder):
    import shapely

    wide = shapely.Polygon([(-90, -20), (100, -20), (100, -10), (-90, -10)])  # 190 or 170 deg
    return classify_args(_world(folder, [wide]), folder / "out.gpkg")


def _pa_round_pole(folder):
    import shapely

    cap = shapely.Polygon([(-170, 80), (-90, 80), (0, 80), (90, 80), (170, 80)])
    return classify_args(_world(folder, [cap]), folder / "out.gpkg")


def _pa_latitude_95(folder):
    import shapely

    return classify_args(_world(folder, [shapely.box(-71, 85, -69, 95)]), folder / "out.gpkg")


# --------------------------------------------------------------------------- other layers


def _eco_naive(folder):
    import geopandas as gpd

    paths = _world(folder)
    eco = paths["ecoregions"]
    base = gpd.read_file(eco)
    fiji = base.iloc[[0]].assign(ECO_ID=3, ECO_NAME="Fiji tropical moist forests", G200_NUM=99)
    fiji = fiji.set_geometry([_fiji("naive")], crs="EPSG:4326")
    eco.unlink()
    gpd.pd.concat([base, fiji], ignore_index=True).to_file(eco, driver="GPKG")
    return classify_args(paths, folder / "out.gpkg")


def _check_eco(folder, text):
    import geopandas as gpd

    _classes("critical_ecosystem", "critical_ecosystem", "protected_area", "not_eligible")(
        folder, text
    )
    s = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert list(s["eco_id"][:2]) == [3, 3]


def _landscape_3832(folder):
    import geopandas as gpd

    paths = _world(folder)
    pl = folder / "landscapes.gpkg"
    gpd.GeoDataFrame(
        {"landscape_name": ["Fiji islands"]}, geometry=[_fiji("EPSG:3832")], crs="EPSG:3832"
    ).to_file(pl, driver="GPKG")
    return classify_args(paths, folder / "out.gpkg", "--priority-landscapes", str(pl))


def _footprint_naive(folder):
    import geopandas as gpd
    import shapely

    paths = _world(folder, [shapely.box(177.0, -19.0, 180.0, -16.0)])  # west of the line only
    # a pit 179.5..180.5 E (written 179.5 .. -179.5), half in the park by symmetry
    pit = shapely.Polygon([(179.5, -17.1), (-179.5, -17.1), (-179.5, -16.9), (179.5, -16.9)])
    sites = folder / "pits.gpkg"
    gpd.GeoDataFrame({"site_id": ["PIT1"]}, geometry=[pit], crs="EPSG:4326").to_file(sites)
    paths["sites"] = sites
    return classify_args(paths, folder / "out.gpkg")


def _check_footprint(folder, text):
    import geopandas as gpd

    s = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert list(s["pace_class"]) == ["protected_area"]
    assert abs(s["pa_share"].iloc[0] - 0.5) < 1e-6


def _buffers_3832(folder):
    paths = _world(folder, [_fiji("EPSG:3832")], "EPSG:3832")
    # F1 on the park's north edge (half its buffer inside), F2 well inside
    paths["sites"].write_text(
        "site_id,latitude,longitude\nF1,-16.0,179.99\nF2,-17.5,-179.9\n", encoding="utf-8"
    )
    return classify_args(paths, folder / "out.gpkg", "--buffers", "10")


def _check_buffers(folder, text):
    import geopandas as gpd
    import numpy as np
    import shapely
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    park = shapely.box(*FIJI)  # continuous longitudes: the truth, no +-180 anywhere
    expected = []
    for lon, lat in ((179.99, -16.0), (180.1, -17.5)):
        az = np.linspace(0.0, 360.0, 721)[:-1]
        x, y, _ = geod.fwd(np.full(az.size, lon), np.full(az.size, lat), az, np.full(az.size, 1e4))
        x = lon + (x - lon + 180.0) % 360.0 - 180.0  # continuous round the centre
        piece = shapely.Polygon(np.c_[x, y]).intersection(park)
        expected.append(abs(geod.geometry_area_perimeter(piece)[0]) / 1e6)
    o = gpd.read_file(folder / "out.gpkg", layer="overlaps").set_index("zone_id")
    got = o.loc[["F1_10km", "F2_10km"], "overlap_km2"].to_numpy()
    # asm_pace's buffers are 64-gons: 0.16 % short of the true circle
    assert np.allclose(got, expected, rtol=3e-3), (got, expected)
    assert abs(o.loc["F2_10km", "overlap_share"] - 1.0) < 1e-9


# --------------------------------------------------------------------------- sites


def _site_lon_190_csv(folder):
    paths = _world(folder)
    paths["sites"].write_text(SITES + "F4,-17.0,190.0\n", encoding="utf-8")
    return classify_args(paths, folder / "out.gpkg")


def _site_lon_190_gpkg(folder):
    import geopandas as gpd
    import shapely

    paths = _world(folder)
    sites = folder / "sites.gpkg"
    gpd.GeoDataFrame(
        {"site_id": ["F1", "F4"]},
        geometry=[shapely.Point(179.5, -17.0), shapely.Point(190.0, -17.0)],
        crs="EPSG:4326",
    ).to_file(sites)
    paths["sites"] = sites
    return classify_args(paths, folder / "out.gpkg")


CASES = [
    Case("wrapping/pa_3832_across_antimeridian", _pa_3832, exit_code=0, check=_check_pa),
    Case(
        "wrapping/pa_lonlat_naively_wrapped",
        _pa_naive,
        exit_code=0,
        check=_classes("protected_area", "protected_area", "critical_ecosystem", "not_eligible"),
    ),
    Case(
        "wrapping/pa_0_360_convention",
        _pa_0_360,
        exit_code=0,
        check=_classes("protected_area", "protected_area", "protected_area", "not_eligible"),
    ),
    Case("wrapping/ecoregion_naively_wrapped", _eco_naive, exit_code=0, check=_check_eco),
    Case(
        "wrapping/landscape_3832_across_antimeridian",
        _landscape_3832,
        exit_code=0,
        check=_classes(
            "priority_landscape", "priority_landscape", "protected_area", "not_eligible"
        ),
    ),
    Case("wrapping/buffers_across_antimeridian", _buffers_3832, exit_code=0, check=_check_buffers),
    Case(
        "wrapping/footprint_across_antimeridian",
        _footprint_naive,
        exit_code=0,
        check=_check_footprint,
    ),
    Case(
        "wrapping/pa_point_lon_190",
        _pa_point_190,
        words=("pas.gpkg", "row 1", "longitude", "subtract 360"),
    ),
    Case(
        "wrapping/pa_ambiguous_edge",
        _pa_ambiguous,
        words=("pas.gpkg", "row 1", "either way", "add vertices"),
    ),
    Case("wrapping/pa_round_a_pole", _pa_round_pole, words=("pas.gpkg", "row 1", "pole", "cut it")),
    Case(
        "wrapping/pa_latitude_95", _pa_latitude_95, words=("pas.gpkg", "row 1", "latitude", "CRS")
    ),
    Case(
        "wrapping/site_lon_190_csv",
        _site_lon_190_csv,
        words=("sites.csv", "line 6", "longitude", "outside -180..180", "190"),
    ),
    Case(
        "wrapping/site_lon_190_gpkg",
        _site_lon_190_gpkg,
        words=("sites.gpkg", "line 2", "longitude", "outside -180..180", "file's CRS"),
    ),
]
