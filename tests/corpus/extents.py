"""Extents: mistakes that are invisible in the numbers (issue 9, class 7).

Sites that are not where the layers are (latitude and longitude swapped, a wrong
``--sites-crs``, sites at sea, protected areas of other countries) used to give a run of
100 % ``not_eligible`` with no word. Now no site in either layer is refused (exit 2), and
sites outside a layer's extent are counted in a warning, with the rest classified right.

The world is :func:`corpus.tiny_inputs`' (PA square lon -70.5..-69.5, lat -12.5..-11.5;
ecoregions lon -72..-68, lat -13..-11); expected values are worked out by hand or with
``pyproj.Geod``.
"""

from __future__ import annotations

from pathlib import Path

from . import Case, classify_args, tiny_inputs

# the words of the extent warnings (classification._check_extent), absent from a clean run
_EXTENT_WORDS = ("no ecoregion", "every protected area", "swapped", "outside the box")


def _sites(folder: Path):
    import geopandas as gpd

    return gpd.read_file(folder / "out.gpkg", layer="sites")


def _no_extent_warning(text: str) -> None:
    warnings = [line for line in text.splitlines() if line.startswith("Warning:")]
    for word in _EXTENT_WORDS:
        assert not any(word in line for line in warnings), f"{word!r} warned: {warnings}"


# --------------------------------------------------------------------------- clean


def _ok(folder):
    return classify_args(tiny_inputs(folder), folder / "out.gpkg")


def _check(folder, text):
    s = _sites(folder)
    assert list(s["pace_class"]) == ["protected_area", "critical_ecosystem", "not_eligible"]
    assert not s["nearest_pa_beyond_extent"].any()
    _no_extent_warning(text)


# --------------------------------------------------------------------------- swapped lat/lon

# the tiny sites with latitude and longitude swapped: both stay within +-90, so every
# site reads as a valid point near Antarctica (lon -12, lat -70)
_SWAPPED = "site_id,latitude,longitude\nS1,-70.0,-12.0\nS2,-69.0,-12.0\nS3,-71.5,-12.0\n"


def _swapped(folder):
    paths = tiny_inputs(folder)
    paths["sites"].write_text(_SWAPPED, encoding="utf-8")
    return classify_args(paths, folder / "out.gpkg")


def _swapped_by_option(folder):
    # the file is right; the options name the columns the wrong way round
    paths = tiny_inputs(folder)
    return classify_args(paths, folder / "out.gpkg", "--lat", "longitude", "--lon", "latitude")


def _one_row_swapped(folder):
    paths = tiny_inputs(folder)
    text = paths["sites"].read_text(encoding="utf-8") + "S4,-69.5,-12.5\n"
    paths["sites"].write_text(text, encoding="utf-8")
    return classify_args(paths, folder / "out.gpkg")


def _check_one_row_swapped(folder, text):
    s = _sites(folder)
    # the three good rows keep their hand-worked classes; S4 (lon -12.5, lat -69.5) is in no
    # ecoregion and 5,900+ km from the PA, so it is not eligible, with no ecoregion
    assert list(s["pace_class"]) == [
        "protected_area",
        "critical_ecosystem",
        "not_eligible",
        "not_eligible",
    ]
    assert s["eco_id"].isna().tolist() == [False, False, False, True]
    assert "in no ecoregion" in s["reason"].iloc[3]
    from pyproj import Geod

    # nearest PA corner of S4: (-69.5, -12.5), the PA's south-east corner; the geodesic
    # to it is checked against the nearest of the four corners and the edge midpoints
    geod = Geod(ellps="WGS84")
    pts = [(-70.5, -12.5), (-69.5, -12.5), (-70.5, -11.5), (-69.5, -11.5), (-70.0, -12.5)]
    best = min(geod.inv(-12.5, -69.5, x, y)[2] for x, y in pts) / 1000
    assert abs(s["nearest_pa_km"].iloc[3] - best) / best < 5e-3


# --------------------------------------------------------------------------- wrong CRS


def _utm_sites(folder, crs):
    """The tiny sites as UTM zone 19 south coordinates, declared as ``crs``."""
    from pyproj import Transformer

    paths = tiny_inputs(folder)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32719", always_xy=True)
    rows = ["site_id,x,y"]
    for sid, lon in (("S1", -70.0), ("S2", -69.0), ("S3", -71.5)):
        x, y = to_utm.transform(lon, -12.0)
        rows.append(f"{sid},{x:.2f},{y:.2f}")
    paths["sites"].write_text("\n".join(rows) + "\n", encoding="utf-8")
    return classify_args(paths, folder / "out.gpkg", "--lon", "x", "--lat", "y", "--sites-crs", crs)


def _degrees_with_projected_crs(folder):
    # lon/lat degrees declared as UTM metres: -70 m east, -12 m north of the zone's false
    # origin, i.e. every site near the South Pole
    return classify_args(tiny_inputs(folder), folder / "out.gpkg", "--sites-crs", "EPSG:32719")


def _check_right_crs(folder, text):
    s = _sites(folder)
    assert list(s["pace_class"]) == ["protected_area", "critical_ecosystem", "not_eligible"]
    _no_extent_warning(text)


# --------------------------------------------------------------------------- at sea


def _some_at_sea(folder):
    # S4 and S5 in the Pacific off Peru (lon -78.5, -79), outside every ecoregion
    paths = tiny_inputs(folder)
    text = paths["sites"].read_text(encoding="utf-8") + "S4,-12.0,-78.5\nS5,-13.0,-79.0\n"
    paths["sites"].write_text(text, encoding="utf-8")
    return classify_args(paths, folder / "out.gpkg")


def _check_some_at_sea(folder, text):
    s = _sites(folder)
    assert list(s["pace_class"])[:3] == ["protected_area", "critical_ecosystem", "not_eligible"]
    assert list(s["pace_class"])[3:] == ["not_eligible", "not_eligible"]
    assert s["eco_id"].isna().tolist() == [False, False, False, True, True]
    assert all("in no ecoregion" in r for r in s["reason"].iloc[3:])


def _all_far_at_sea(folder):
    # every site in the open Pacific, thousands of km from the PA: not a result
    paths = tiny_inputs(folder)
    text = "site_id,latitude,longitude\nS1,-12,-110\nS2,-20,-120\n"
    paths["sites"].write_text(text, encoding="utf-8")
    return classify_args(paths, folder / "out.gpkg")


# --------------------------------------------------------------------------- countries


def _far_countries(folder):
    """A second PA (BRA) 2,500 km east; --countries BRA leaves only it."""
    import geopandas as gpd
    from shapely.geometry import box

    paths = tiny_inputs(folder)
    pas = gpd.read_file(paths["protected_areas"], layer="polygons")
    far = pas.copy()
    far["WDPAID"] = [900002]
    far["WDPA_PID"] = ["900002"]
    far["NAME"] = ["Parque Dois"]
    far["ISO3"] = ["BRA"]
    far = far.set_geometry([box(-47.0, -12.5, -46.0, -11.5)], crs="EPSG:4326")
    both = gpd.GeoDataFrame(
        gpd.pd.concat([pas, far], ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    paths["protected_areas"].unlink()
    both.to_file(paths["protected_areas"], layer="polygons", driver="GPKG")
    return classify_args(paths, folder / "out.gpkg", "--countries", "BRA")


def _check_far_countries(folder, text):
    from pyproj import Geod

    s = _sites(folder)
    # only the BRA park was read: S1 is no longer inside a PA; it is in the G200 ecoregion
    assert list(s["pace_class"]) == ["critical_ecosystem", "critical_ecosystem", "not_eligible"]
    # brute force: pyproj.Geod to the park's west edge (lon -47), every 0.001 degree
    geod = Geod(ellps="WGS84")
    lats = [-12.5 + k * 0.001 for k in range(1001)]
    for i, lon in enumerate((-70.0, -69.0, -71.5)):
        best = min(geod.inv([lon] * len(lats), [-12.0] * len(lats), [-47.0] * len(lats), lats)[2])
        assert abs(s["nearest_pa_km"].iloc[i] - best / 1000) < 0.01
    assert all("(nearest BRA protected area: " in r for r in s["reason"]), list(s["reason"])


# --------------------------------------------------------------------------- buffers


def _buffers(folder):
    return classify_args(tiny_inputs(folder), folder / "out.gpkg", "--buffers", "1,20")


def _check_buffers(folder, text):
    import geopandas as gpd

    zones = gpd.read_file(folder / "out.gpkg", layer="buffers")
    # the PA file was read whole: no overlap is cut by an extent
    assert not zones["pa_beyond_extent"].any()
    assert not zones["g200_beyond_extent"].any()
    _no_extent_warning(text)


_CAUSES = ("swapped", "--lat", "--sites-crs")

CASES = [
    Case("extents/clean", _ok, exit_code=0, check=_check),
    Case("extents/swapped_lat_lon", _swapped, words=("sites.csv", "eco.gpkg", *_CAUSES)),
    Case(
        "extents/lat_lon_options_swapped",
        _swapped_by_option,
        words=("sites.csv", "none of the 3", *_CAUSES),
    ),
    Case(
        "extents/one_row_swapped",
        _one_row_swapped,
        exit_code=0,
        words=("1 of 4 site(s)", "no ecoregion", "eco.gpkg", "site_id S4", "swapped"),
        check=_check_one_row_swapped,
    ),
    Case(
        "extents/utm_north_for_south",
        lambda folder: _utm_sites(folder, "EPSG:32619"),
        words=("sites.csv", "pas.gpkg", *_CAUSES),
    ),
    Case(
        "extents/degrees_given_a_projected_sites_crs",
        _degrees_with_projected_crs,
        words=("sites.csv", "--sites-crs"),
    ),
    Case(
        "extents/utm_right_crs",
        lambda folder: _utm_sites(folder, "EPSG:32719"),
        exit_code=0,
        check=_check_right_crs,
    ),
    Case(
        "extents/some_sites_at_sea",
        _some_at_sea,
        exit_code=0,
        words=("2 of 5 site(s)", "no ecoregion", "at sea"),
        check=_check_some_at_sea,
    ),
    Case("extents/all_sites_far_at_sea", _all_far_at_sea, words=("sites.csv", *_CAUSES)),
    Case(
        "extents/protected_areas_of_other_countries",
        _far_countries,
        exit_code=0,
        words=("3 of 3 site(s)", "more than 500 km", "pas.gpkg", "--countries"),
        check=_check_far_countries,
    ),
    Case("extents/buffers_within_extent", _buffers, exit_code=0, check=_check_buffers),
]
