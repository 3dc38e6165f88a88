"""River networks (``--rivers``): layers that are not a network, broken ids and lengths,
a network cut by its extent or lying elsewhere, and the options given without a network.

The network of the accepted cases runs along latitude -12 through :func:`tiny_inputs`'
world: reach 1 from lon -71.6 to -71, reach 2 from -71 to -70, reach 3 from -70 to -68.9,
then the outlet. S3 (lon -71.5) is on reach 1 and enters the park (lon -70.5..-69.5) after
the geodesic distance from -71.5 to -70.5 along the parallel (pyproj.Geod, worked out
independently of asm_pace); S1 is in the park (0 km); S2 (lon -69) lies below it (none).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import Case, classify_args, tiny_inputs

_REACHES = [(-71.6, -71.0), (-71.0, -70.0), (-70.0, -68.9)]


def _geod_km(lon0: float, lon1: float, lat: float = -12.0) -> float:
    from pyproj import Geod

    return Geod(ellps="WGS84").line_length([lon0, lon1], [lat, lat]) / 1000.0


def network(folder: Path, change: Callable | None = None, *, name: str = "rivers.gpkg") -> Path:
    """Write the three-reach network (HydroRIVERS fields), changed by ``change(gdf)``."""
    import geopandas as gpd
    import shapely

    lines = [shapely.LineString([(a, -12.0), (b, -12.0)]) for a, b in _REACHES]
    gdf = gpd.GeoDataFrame(
        {
            "HYRIV_ID": [1, 2, 3],
            "NEXT_DOWN": [2, 3, 0],
            "LENGTH_KM": [round(_geod_km(a, b), 3) for a, b in _REACHES],
            "DIS_AV_CMS": [100.0, 200.0, 400.0],
        },
        geometry=lines,
        crs="EPSG:4326",
    )
    if change is not None:
        gdf = change(gdf)
    path = folder / name
    gdf.to_file(path, layer="rivers", driver="GPKG")
    return path


def run(folder: Path, change: Callable | None = None, *extra: str) -> list[str]:
    paths = tiny_inputs(folder)
    rivers = network(folder, change)
    return classify_args(paths, folder / "out.gpkg", "--rivers", str(rivers), *extra)


def _sites(folder: Path):
    import geopandas as gpd

    return gpd.read_file(folder / "out.gpkg", layer="sites").set_index("site_id")


def check_clean(folder: Path, text: str) -> None:
    import math

    s = _sites(folder)
    expected = _geod_km(-71.5, -70.5)
    assert abs(s.loc["S3", "downstream_first_pa_km"] - expected) < 0.01, text
    assert s.loc["S1", "downstream_first_pa_km"] == 0.0
    assert math.isnan(s.loc["S2", "downstream_first_pa_km"])
    # dilution proxy: 100 m3/s at S3's reach, 200 where it enters the park (reach 2)
    assert abs(s.loc["S3", "downstream_first_pa_dilution"] - 0.5) < 1e-12
    assert set(s["downstream_status"]) == {"outlet"}


def check_truncated(folder: Path, text: str) -> None:
    s = _sites(folder)
    assert set(s["downstream_status"]) == {"truncated network"}, text


def _set(column: str, values: list) -> Callable:
    def change(gdf):
        gdf[column] = values
        return gdf

    return change


def _rename(**names: str) -> Callable:
    return lambda gdf: gdf.rename(columns=names)


def _polygons(gdf):
    import shapely

    return gdf.set_geometry(shapely.buffer(gdf.geometry.values, 0.01))


def _moved(gdf):
    import shapely

    return gdf.set_geometry(gdf.geometry.map(lambda g: shapely.affinity.translate(g, 100.0, 20.0)))


CASES = [
    Case(
        "rivers/hydrorivers_clean",
        lambda f: run(f, None, "--downstream-km", "300"),
        exit_code=0,
        check=check_clean,
    ),
    Case(
        "rivers/truncated_network_kept",
        lambda f: run(f, _set("NEXT_DOWN", [2, 3, 99])),
        exit_code=0,
        check=check_truncated,
    ),
    Case(
        "rivers/length_in_metres_warned",
        lambda f: run(f, _set("LENGTH_KM", [65_000.0, 108_000.0, 120_000.0])),
        exit_code=0,
        words=("LENGTH_KM differs from the geodesic length",),
    ),
    Case(
        "rivers/polygons_not_a_network",
        lambda f: run(f, _polygons),
        words=("rivers.gpkg", "no line layer", "--rivers"),
    ),
    Case(
        "rivers/no_id_pair",
        lambda f: run(f, _rename(HYRIV_ID="seg", NEXT_DOWN="to_seg")),
        words=("rivers.gpkg", "HYRIV_ID", "NEXT_DOWN", "seg, to_seg", "rename the fields"),
    ),
    Case(
        "rivers/duplicate_ids",
        lambda f: run(f, _set("HYRIV_ID", [1, 2, 2])),
        words=("rivers.gpkg", "HYRIV_ID repeats in rows 2, 3"),
    ),
    Case(
        "rivers/next_down_not_a_number",
        lambda f: run(f, _set("NEXT_DOWN", ["2", "three", "0"])),
        words=("rivers.gpkg", "NEXT_DOWN", "rows 2", "'three'"),
    ),
    Case(
        "rivers/negative_length",
        lambda f: run(f, _set("LENGTH_KM", [65.0, -1.0, 120.0])),
        words=("rivers.gpkg", "LENGTH_KM", "rows 2", ">= 0"),
    ),
    Case(
        "rivers/network_of_another_region",
        lambda f: run(f, _moved),
        words=("rivers.gpkg", "no reach meets the box", "covers the sites"),
    ),
    Case(
        "rivers/empty_layer",
        lambda f: run(f, lambda gdf: gdf.iloc[:0]),
        words=("rivers.gpkg", "no reach meets the box"),
    ),
    Case(
        "rivers/downstream_km_without_rivers",
        lambda f: classify_args(tiny_inputs(f), f / "out.gpkg", "--downstream-km", "100"),
        words=("--downstream-km", "--rivers"),
    ),
    Case(
        "rivers/downstream_km_not_above_zero",
        lambda f: run(f, None, "--downstream-km", "0"),
        words=("downstream_km", "above 0", "--downstream-km"),
    ),
]
