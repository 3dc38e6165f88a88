"""``--jobs N`` (worker processes for classify): refused values, and a run that gives the
serial answer.

``--jobs`` takes a whole number of 1 or more, once. The tiny world's classes with
``--jobs 2`` are the ones worked out by hand in :func:`corpus.tiny_inputs` (S1 inside the
park, S2 in the Global 200 ecoregion, S3 in the other one); a run of three sites is
below ``MIN_PARALLEL_SITES``, so it starts no pool.
"""

from __future__ import annotations

from pathlib import Path

from . import Case, classify_args, tiny_inputs


def _jobs(*values: str):
    def build(folder: Path) -> list[str]:
        extra = [a for v in values for a in ("--jobs", v)]
        return classify_args(tiny_inputs(folder), folder / "out.gpkg", *extra)

    return build


def _check(folder: Path, text: str) -> None:
    import geopandas as gpd
    from pyproj import Geod

    sites = gpd.read_file(folder / "out.gpkg", layer="sites")
    assert list(sites["site_id"]) == ["S1", "S2", "S3"]
    assert list(sites["pace_class"]) == ["protected_area", "critical_ecosystem", "not_eligible"]
    assert list(sites["nearest_pa_id"].astype(str)) == ["900001"] * 3
    # S2 (-69, -12) is 0.5 degrees of longitude east of the park's edge at lon -69.5
    _, _, metres = Geod(ellps="WGS84").inv(-69.0, -12.0, -69.5, -12.0)
    assert abs(sites["nearest_pa_km"].iloc[1] - metres / 1000) < 0.005 * metres / 1000


CASES = [
    Case("parallel/jobs_zero", _jobs("0"), words=("--jobs", "0", "range")),
    Case("parallel/jobs_negative", _jobs("-2"), words=("--jobs", "-2", "range")),
    Case("parallel/jobs_not_a_number", _jobs("two"), words=("--jobs", "two")),
    Case("parallel/jobs_twice", _jobs("2", "1"), words=("--jobs", "once")),
    Case("parallel/jobs_two_small_run", _jobs("2"), exit_code=0, check=_check),
]
