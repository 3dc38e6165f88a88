"""Several protected-area sources in one run (``-p NAME=FILE`` repeated; docs/sources.md).

Refused: a name given to two sources, two WDPA files left unnamed (both "WDPA"), a name that
cannot be written in ids, an empty name, a missing file, ``--pa-source-name`` or
``--pa-layer`` with several sources. Accepted: the park of :func:`tiny_inputs` in a second,
national layer with a slightly different boundary (one area, both sources hold S1); a second
source of another region (a warning naming it, the classes unchanged).
"""

from __future__ import annotations

from pathlib import Path

from . import Case, classify_args, tiny_inputs

CLEAN = ["protected_area", "critical_ecosystem", "not_eligible"]


def national(folder: Path, *, bounds=(-70.5, -12.5, -69.5, -11.48), name="nat.gpkg") -> Path:
    """A national layer (no WDPA fields) holding the park of tiny_inputs as ``codigo`` 100,
    its north edge 0.02 degrees further (about 2 % more area: the same park, redrawn)."""
    import geopandas as gpd
    import shapely

    path = folder / name
    gpd.GeoDataFrame(
        {
            "codigo": [100],
            "nombre": ["Parque Nacional Uno"],
            "categoria": ["Parque Nacional"],
            "ISO3": ["PER"],
        },
        geometry=[shapely.box(*bounds)],
        crs="EPSG:4326",
    ).to_file(path, layer="anp", driver="GPKG")
    return path


def two(folder: Path, first: str, second: str, *extra: str) -> list[str]:
    """classify arguments with ``-p first -p second`` ({pas}/{nat} filled with the files)."""
    paths = tiny_inputs(folder)
    nat = national(folder)
    fill = {"pas": str(paths["protected_areas"]), "nat": str(nat)}
    args = classify_args(paths, folder / "out.gpkg", *extra)
    at = args.index("--protected-areas")
    args[at + 1] = first.format(**fill)
    return [*args[: at + 2], "-p", second.format(**fill), *args[at + 2 :]]


def one_area_in_two_sources(folder: Path, text: str) -> None:
    import geopandas as gpd

    sites = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert list(sites["pace_class"]) == CLEAN, text
    # S1 is in both polygons; the park is listed once, by its first source's record
    assert sites.loc[0, "pa_sources"] == "WDPA;SERNANP"
    assert sites.loc[0, "pa_ids"] == "WDPA:900001"
    assert "also SERNANP 100" in sites.loc[0, "reason"]
    pas = gpd.read_file(folder / "out.gpkg", layer="protected_areas")
    assert sorted(pas["source"]) == ["SERNANP", "WDPA"]
    assert pas["pa_group"].nunique() == 1
    assert set(pas["same_as"]) == {"", "WDPA:900001"}


def far_source_warned(folder: Path, text: str) -> None:
    import geopandas as gpd

    sites = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert list(sites["pace_class"]) == CLEAN
    assert list(sites["pa_sources"]) == ["WDPA", "", ""]


CASES = [
    Case(
        "sources/one_name_for_two_sources",
        lambda f: two(f, "A={pas}", "a={nat}"),
        words=("both named 'a'", "pas.gpkg", "nat.gpkg", "-p NAME=FILE"),
    ),
    Case(
        "sources/two_wdpa_files_unnamed",
        lambda f: two(f, "{pas}", "{pas}"),
        words=("both named 'WDPA'", "-p NAME=FILE"),
    ),
    Case(
        "sources/name_with_a_colon",
        lambda f: two(f, "WD:PA={pas}", "SERNANP={nat}"),
        words=("'WD:PA'", "without ';', ':'", "-p NAME=FILE"),
    ),
    Case(
        "sources/empty_name",
        lambda f: two(f, "={pas}", "SERNANP={nat}"),
        words=("-p/--protected-areas", "name before '=' is empty", "NAME=FILE"),
    ),
    Case(
        "sources/missing_file",
        lambda f: two(f, "WDPA={pas}", "SERNANP=nowhere.gpkg"),
        words=("nowhere.gpkg", "does not exist", "SERNANP"),
    ),
    Case(
        "sources/source_name_with_two_sources",
        lambda f: two(f, "{pas}", "SERNANP={nat}", "--pa-source-name", "X"),
        words=("--pa-source-name", "2 protected-area sources", "-p NAME=FILE"),
    ),
    Case(
        "sources/layer_with_two_sources",
        lambda f: two(f, "{pas}", "SERNANP={nat}", "--pa-layer", "anp"),
        words=("--pa-layer", "2 protected-area sources", "give one source"),
    ),
    Case(
        "sources/park_in_two_sources",
        lambda f: two(f, "{pas}", "SERNANP={nat}"),
        exit_code=0,
        check=one_area_in_two_sources,
    ),
    Case(
        "sources/second_source_of_another_region",
        lambda f: (
            national(f, bounds=(30.0, -2.0, 31.0, -1.0), name="far.gpkg"),
            two(f, "{pas}", "FAR=" + str(f / "far.gpkg")),
        )[1],
        exit_code=0,
        words=("source 'FAR'", "far.gpkg", "within 500 km"),
        check=far_source_warned,
    ),
]
