"""Layers that end up empty: a filter, a repair or a layer choice that leaves nothing usable.

Each refused case must name the file, what left it empty and the option to change; the
accepted ones must give the classes worked out by hand for :func:`tiny_inputs`' world
(S1 in the park, S2 in the Global 200 ecoregion only, S3 in the other ecoregion), or the
changed class the case says.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import Case, classify_args, tiny_inputs

CLEAN = ["protected_area", "critical_ecosystem", "not_eligible"]


# --------------------------------------------------------------------------- shared builders


def rewrite(path: Path, change: Callable, layer: str | None = None) -> None:
    """Read ``path`` (one layer), apply ``change(gdf)`` and write it back as the only layer.

    ``change`` returns a GeoDataFrame, or a dict ``{layer name: GeoDataFrame}`` to write a
    file of several layers (in that order).
    """
    import geopandas as gpd

    gdf = gpd.read_file(path)
    name = layer or path.stem
    layers = change(gdf)
    path.unlink()
    if not isinstance(layers, dict):
        layers = {name: layers}
    for lyr, frame in layers.items():
        frame.to_file(path, layer=lyr, driver="GPKG")


def world(
    folder: Path,
    *extra: str,
    pa: Callable | None = None,
    eco: Callable | None = None,
    landscapes: Callable | None = None,
) -> list[str]:
    """``tiny_inputs`` with the protected areas / ecoregions changed; the classify arguments.

    ``landscapes(folder)`` writes a priority-landscape file and returns its path.
    """
    paths = tiny_inputs(folder)
    if pa is not None:
        rewrite(paths["protected_areas"], pa, layer="polygons")
    if eco is not None:
        rewrite(paths["ecoregions"], eco)
    args = classify_args(paths, folder / "out.gpkg", *extra)
    if landscapes is not None:
        args += ["--priority-landscapes", str(landscapes(folder))]
    return args


def classes(*expected: str) -> Callable[[Path, str], None]:
    """A check: the sites' ``pace_class`` in order S1, S2, S3."""

    def check(folder: Path, text: str) -> None:
        import geopandas as gpd

        got = list(gpd.read_file(folder / "out.gpkg", layer="sites")["pace_class"])
        assert got == list(expected), (got, text)

    return check


def box(minx: float, miny: float, maxx: float, maxy: float):
    import shapely

    return shapely.box(minx, miny, maxx, maxy)


def with_values(**values) -> Callable:
    """A change that sets columns of every feature (e.g. ``STATUS="Proposed"``)."""

    def change(gdf):
        out = gdf.copy()
        for k, v in values.items():
            out[k] = v
        return out

    return change


def plus_layer(name: str, frame: Callable) -> Callable:
    """A change that keeps the layer (as ``polygons``) and adds ``name`` = ``frame(gdf)``."""
    return lambda gdf: {"polygons": gdf, name: frame(gdf)}


def admin_boundary(gdf):
    """An unrelated polygon layer covering S3 (were it read as a park, S3 would be protected)."""
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"name": ["Distrito Tres"], "ubigeo": ["170101"]}, geometry=[box(-72, -13, -71, -11)],
        crs=gdf.crs,
    )  # fmt: skip


def points_only(area) -> Callable:
    """The park as a WDPA point record at S1 with REP_AREA ``area`` (km2), no polygon layer."""

    def change(gdf):
        import shapely

        out = gdf.copy()
        out["REP_AREA"] = area
        out = out.set_geometry([shapely.MultiPoint([(-70.0, -12.0)])], crs=gdf.crs)
        return {"points": out}

    return change


def degenerate(gdf):
    """Every vertex of the park on one line: invalid, and no area once repaired."""
    import shapely

    line = shapely.Polygon([(-70.5, -12.5), (-70.0, -12.0), (-69.5, -11.5), (-70.5, -12.5)])
    return gdf.set_geometry([line], crs=gdf.crs)


def two_eco_layers(gdf):
    return {"teow": gdf, "teow_copy": gdf}


def eco_as_points(gdf):
    import shapely

    return gdf.set_geometry(shapely.centroid(gdf.geometry.values), crs=gdf.crs)


def empty_landscapes(folder: Path) -> Path:
    import geopandas as gpd

    path = folder / "pl.gpkg"
    gpd.GeoDataFrame({"landscape_name": []}, geometry=[], crs="EPSG:4326").to_file(path)
    return path


def table_as(role: str) -> Callable[[Path], list[str]]:
    """A CSV attribute table (the TEOW's, no geometry) given as the ``role`` layer."""

    def build(folder: Path) -> list[str]:
        paths = tiny_inputs(folder)
        table = folder / "teow_attributes.csv"
        table.write_text("ECO_ID,ECO_NAME,G200_NUM\n1,Wet forest,30\n2,Dry forest,0\n")
        paths[role] = table
        return classify_args(paths, folder / "out.gpkg")

    return build


CASES = [
    Case(
        "emptiness/protected_areas_a_table_without_geometry",
        table_as("protected_areas"),
        words=("teow_attributes.csv", "table without geometry", "--protected-areas"),
    ),
    Case(
        "emptiness/ecoregions_a_table_without_geometry",
        table_as("ecoregions"),
        words=("teow_attributes.csv", "table without geometry", "--ecoregions"),
    ),
    Case(
        "emptiness/countries_typo",
        lambda f: world(f, "--countries", "PRE"),
        words=("pas.gpkg", "PRE", "--countries", "codes are: PER"),
    ),
    Case(
        "emptiness/countries_partly_unmatched",
        lambda f: world(f, "--countries", "PER,PRE"),
        words=("pas.gpkg", "ISO3 PRE", "--countries", "codes are: PER"),
    ),
    Case(
        "emptiness/countries_not_alpha3",
        lambda f: world(f, "--countries", "Peru"),
        words=("'PERU'", "alpha-3", "--countries"),
    ),
    Case(
        "emptiness/all_proposed",
        lambda f: world(f, pa=with_values(STATUS="Proposed")),
        words=("pas.gpkg", "Proposed 1", "--all-statuses"),
    ),
    Case(
        "emptiness/all_proposed_all_statuses",
        lambda f: world(f, "--all-statuses", pa=with_values(STATUS="Proposed")),
        exit_code=0,
        check=classes(*CLEAN),
    ),
    Case(
        "emptiness/pa_emptied_by_repair",
        lambda f: world(f, pa=degenerate),
        words=("pas.gpkg", "1 polygon(s) have no area once repaired", "fix geometries"),
    ),
    Case(
        "emptiness/pa_points_without_area_only",
        lambda f: world(f, pa=points_only(0.0)),
        words=("pas.gpkg", "no reported area (REP_AREA)", "polygon layer"),
    ),
    Case(
        "emptiness/pa_points_all_dropped",
        lambda f: world(f, "--pa-points", "drop", pa=points_only(50.0)),
        words=("pas.gpkg", "point record(s) left out", "--pa-points circles"),
    ),
    Case(
        "emptiness/pa_parks_and_admin_boundaries",
        lambda f: world(f, pa=plus_layer("admin_boundaries", admin_boundary)),
        words=(
            "pas.gpkg",
            "admin_boundaries (Polygon)",
            "polygons (Polygon, WDPA fields)",
            "--pa-layer",
        ),
    ),
    Case(
        "emptiness/pa_parks_chosen_with_pa_layer",
        lambda f: world(
            f, "--pa-layer", "polygons", pa=plus_layer("admin_boundaries", admin_boundary)
        ),
        exit_code=0,
        check=classes(*CLEAN),
    ),
    Case(
        "emptiness/eco_two_polygon_layers",
        lambda f: world(f, eco=two_eco_layers),
        words=("eco.gpkg", "teow (Polygon), teow_copy (Polygon)", "--ecoregions-layer"),
    ),
    Case(
        "emptiness/eco_points_only",
        lambda f: world(f, eco=eco_as_points),
        words=("eco.gpkg", "none of its 2 feature(s) is a polygon", "--ecoregions-layer"),
    ),
    Case(
        "emptiness/landscapes_empty_layer",
        lambda f: world(f, landscapes=empty_landscapes),
        words=("pl.gpkg", "holds no features", "priority landscapes"),
    ),
]
