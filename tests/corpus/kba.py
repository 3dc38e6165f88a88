"""Key Biodiversity Area files (``--kbas``) that are not what they claim, or hold values
outside BirdLife's vocabularies, and the accepted ones with their hand-worked classes.

The world is :func:`tiny_inputs`' (S1 in the park at (-70, -12), S2 at (-69, -12) in the
Global 200 ecoregion only, S3 at (-71.5, -12) in the other ecoregion). The clean KBA file:
KBA 7 "Alto Uno", an AZE site around S3 (lon -71.6..-71.4); KBA 3 "Bajo Dos", a plain KBA
around S2 (lon -69.1..-68.9). By hand: S3 becomes protected_area (the AZE site), S2 keeps
critical_ecosystem and gains KBA 3.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import Case, classify_args, tiny_inputs


def _kba_rows(**changes) -> list[dict]:
    from shapely.geometry import box

    rows = [
        {
            "SitRecID": 7,
            "Country": "Peru",
            "ISO3": "PER",
            "NatName": "Alto Uno",
            "IntName": "Alto Uno",
            "SitArea": 48000.0,
            "IbaStatus": "confirmed",
            "KbaStatus": "confirmed",
            "AzeStatus": "confirmed",
            "AddedDate": "2005-06-01",
            "ChangeDate": "2019-01-01",
            "geometry": box(-71.6, -12.1, -71.4, -11.9),
        },
        {
            "SitRecID": 3,
            "Country": "Peru",
            "ISO3": "PER",
            "NatName": "Bajo Dos",
            "IntName": "Bajo Dos",
            "SitArea": 48000.0,
            "IbaStatus": "confirmed",
            "KbaStatus": "confirmed",
            "AzeStatus": "",
            "AddedDate": "2004-01-01",
            "ChangeDate": "2016-01-01",
            "geometry": box(-69.1, -12.1, -68.9, -11.9),
        },
    ]
    for key, values in changes.items():
        for row, value in zip(rows, values, strict=True):
            row[key] = value
    return rows


def _kba_file(folder: Path, rows: list[dict] | None = None, name: str = "kbas.gpkg") -> Path:
    import geopandas as gpd

    path = folder / name
    frame = gpd.GeoDataFrame(rows or _kba_rows(), geometry="geometry", crs="EPSG:4326")
    frame.to_file(path, layer="kba_polygons", driver="GPKG")
    return path


def _run(make: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    def build(folder: Path) -> list[str]:
        paths = tiny_inputs(folder)
        return classify_args(paths, folder / "out.gpkg", "--kbas", str(make(folder)))

    return build


def _check_clean(folder: Path, text: str) -> None:
    import geopandas as gpd

    sites = gpd.read_file(folder / "out.gpkg", layer="sites").set_index("site_id")
    assert sites["pace_class"].to_dict() == {
        "S1": "protected_area",
        "S2": "critical_ecosystem",
        "S3": "protected_area",
    }
    assert sites["kba_ids"].fillna("").to_dict() == {"S1": "", "S2": "3", "S3": "7"}
    assert sites["aze"].astype(bool).to_dict() == {"S1": False, "S2": False, "S3": True}
    assert sites.loc["S3", "reason"].startswith(
        "Inside an Alliance for Zero Extinction site Alto Uno (KBA 7), designated 2005"
    )
    assert sites.loc["S2", "reason"].endswith(
        "; also inside Key Biodiversity Area Bajo Dos (KBA 3)"
    )
    kbas = gpd.read_file(folder / "out.gpkg", layer="kbas")
    assert sorted(kbas["kba_id"]) == ["3", "7"]


def _wdpa_as_kbas(folder: Path) -> Path:
    return folder / "pas.gpkg"  # written by tiny_inputs


def _eco_as_kbas(folder: Path) -> Path:
    return folder / "eco.gpkg"


def _other_fields(folder: Path) -> Path:
    import geopandas as gpd
    from shapely.geometry import box

    path = folder / "parcels.gpkg"
    gpd.GeoDataFrame(
        {"parcel": ["A"], "owner": ["X"]}, geometry=[box(-71, -12, -70, -11)], crs=4326
    ).to_file(path, driver="GPKG")
    return path


def _empty(folder: Path) -> Path:
    import geopandas as gpd

    path = folder / "empty.gpkg"
    frame = gpd.GeoDataFrame(_kba_rows(), geometry="geometry", crs="EPSG:4326").iloc[0:0]
    frame.to_file(path, layer="kba_polygons", driver="GPKG")
    return path


CASES = [
    Case("kba/clean", _run(lambda f: _kba_file(f)), exit_code=0, check=_check_clean),
    Case(
        "kba/wdpa_given_as_kbas",
        _run(_wdpa_as_kbas),
        words=("pas.gpkg", "not a key biodiversity area", "wdpa", "--protected-areas"),
    ),
    Case(
        "kba/ecoregions_given_as_kbas",
        _run(_eco_as_kbas),
        words=("eco.gpkg", "not a key biodiversity area", "--ecoregions"),
    ),
    Case(
        "kba/unrelated_layer",
        _run(_other_fields),
        words=("parcels.gpkg", "sitrecid", "parcel, owner"),
    ),
    Case(
        "kba/azestatus_outside_vocabulary",
        _run(lambda f: _kba_file(f, _kba_rows(AzeStatus=["maybe", ""]))),
        words=("kbas.gpkg", "azestatus", "sitrecid 7", "'maybe'", "confirmed"),
    ),
    Case(
        "kba/kbastatus_outside_vocabulary",
        _run(lambda f: _kba_file(f, _kba_rows(KbaStatus=["confirmed", "approved"]))),
        words=("kbas.gpkg", "kbastatus", "sitrecid 3", "'approved'", "--kba-all-statuses"),
    ),
    Case(
        "kba/sitarea_not_an_area",
        _run(lambda f: _kba_file(f, _kba_rows(SitArea=[-5.0, 10.0]))),
        words=("kbas.gpkg", "sitarea", "sitrecid 7", "hectares"),
    ),
    Case(
        "kba/duplicate_sitrecid",
        _run(lambda f: _kba_file(f, _kba_rows(SitRecID=[7, 7]))),
        words=("kbas.gpkg", "sitrecid 7", "repeated", "duplicates"),
    ),
    Case(
        "kba/every_kba_delisted",
        _run(lambda f: _kba_file(f, _kba_rows(KbaStatus=["de-listed", "de-listed"]))),
        words=("kbas.gpkg", "kbastatus confirmed", "de-listed 2", "--kba-all-statuses"),
    ),
    Case(
        "kba/empty_file",
        _run(_empty),
        words=("empty.gpkg", "hold no kba", "birdlife"),
    ),
    Case(
        "kba/output_is_the_kba_file",
        lambda f: [
            *classify_args(tiny_inputs(f), _kba_file(f), "--kbas", str(f / "kbas.gpkg")),
            "--overwrite",
        ],
        words=("kbas.gpkg", "is an input", "--kbas", "-o/--output"),
        outputs=(),
    ),
    Case(
        "kba/kbastatus_outside_vocabulary_kept_with_all_statuses",
        lambda f: [
            *_run(lambda g: _kba_file(g, _kba_rows(KbaStatus=["confirmed", "approved"])))(f),
            "--kba-all-statuses",
        ],
        exit_code=0,
        check=_check_clean,
    ),
    Case(
        "kba/all_statuses_without_kbas",
        lambda f: classify_args(tiny_inputs(f), f / "out.gpkg", "--kba-all-statuses"),
        words=("--kba-all-statuses", "without kbas", "--kbas"),
    ),
    Case(
        "kba/kba_layer_without_kbas",
        lambda f: classify_args(tiny_inputs(f), f / "out.gpkg", "--kba-layer", "kba_polygons"),
        words=("--kba-layer", "without kbas", "--kbas"),
    ),
]
