from __future__ import annotations

from . import Case, classify_args, tiny_inputs


def _ok(folder):
    return classify_args(tiny_inputs(folder), folder / "out.gpkg")


def _check(folder, text):
    import geopandas as gpd

    s = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert list(s["pace_class"]) == ["protected_area", "critical_ecosystem", "not_eligible"]


CASES = [Case("extents/clean", _ok, exit_code=0, check=_check)]
