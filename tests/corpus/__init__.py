"""A corpus of malformed and tricky inputs, each with the exact behaviour asm_pace must show.

Every case writes its own small input files into an empty folder and says how to run
``asm-pace`` on them (:attr:`Case.build` returns the command-line arguments) and what must
happen: either exit 2 with a one-line ``Error:`` message holding :attr:`Case.words`, or
exit 0 with :attr:`Case.check` asserting the correct value. Input files' hashes must be
unchanged after the run (``tests/test_corpus.py`` checks all of this for every case).

Cases live in one module per class of failure (``rasters``, ``wrapping``, ``emptiness``,
``attributes``, ``outputs``, ``malformed``, ``extents``), each exposing ``CASES``.
``tests/make_corpus.py FOLDER`` writes every case's files (and a ``case.json`` with its
command line and expectations) for inspection by hand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Case", "MODULES", "all_cases", "tiny_inputs", "classify_args"]

#: One module per class of failure of issue 9; each defines ``CASES: list[Case]``.
MODULES = (
    "rasters",
    "wrapping",
    "emptiness",
    "attributes",
    "outputs",
    "malformed",
    "extents",
    "drivers",
    "sources",
    "kba",
    "data",
    "rivers",
    "parallel",
)


@dataclass(frozen=True)
class Case:
    """One tricky input and the behaviour it must get.

    Attributes
    ----------
    name : str
        Unique, ``<module>/<what>`` (e.g. ``"rasters/lossyear_folder_without_lossyear"``).
    build : callable
        ``build(folder) -> argv``: writes the inputs under ``folder`` (empty, existing) and
        returns the ``asm-pace`` arguments (strings) to run there.
    exit_code : int
        2 for a refused input, 0 for an input that must give the correct answer.
    words : tuple of str
        For exit 2: words (case-insensitive) that the first ``Error:`` line must hold,
        e.g. the file's name, the thing wrong and the fix's option. For exit 0: words that
        must appear in the output (stdout + stderr), e.g. a warning.
    check : callable, optional
        ``check(folder, output) -> None`` for exit 0: asserts the correct value (read the
        GeoPackage the case wrote; compute the expected value independently).
    outputs : tuple of str
        Files (relative to the folder) the run may create or replace; every other file's
        hash must be unchanged.
    """

    name: str
    build: Callable[[Path], list[str]]
    exit_code: int = 2
    words: tuple[str, ...] = ()
    check: Callable[[Path, str], None] | None = None
    outputs: tuple[str, ...] = ("out.gpkg",)


def all_cases() -> list[Case]:
    """Every case of every module of :data:`MODULES` (a missing module is an error)."""
    cases: list[Case] = []
    for name in MODULES:
        cases.extend(importlib.import_module(f"{__name__}.{name}").CASES)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"corpus case names repeat: {sorted(dup)}")
    return cases


# --------------------------------------------------------------------------- tiny valid inputs
#
# A small, clean world that every case starts from and then spoils one thing of:
# three sites near (-70, -12), one protected area square, one Global 200 ecoregion and
# one non-G200 ecoregion. Expected classes by hand: S1 inside the PA (protected_area),
# S2 inside the G200 ecoregion only (critical_ecosystem), S3 in the non-G200 one
# (not_eligible).

SITES_CSV = "site_id,latitude,longitude\nS1,-12.0,-70.0\nS2,-12.0,-69.0\nS3,-12.0,-71.5\n"


def tiny_inputs(folder: Path) -> dict[str, Path]:
    """Write ``sites.csv``, ``pas.gpkg`` and ``eco.gpkg`` into ``folder``; return their paths.

    PA ``900001`` "Parque Uno" is the square lon -70.5..-69.5, lat -12.5..-11.5 (WDPA
    fields, Designated, ISO3 PER). Ecoregion 1 (G200_NUM 30) covers lon -70.5..-68, ecoregion
    2 (G200_NUM 0) covers lon -72..-70.5; both lat -13..-11.
    """
    import geopandas as gpd
    from shapely.geometry import box

    folder.mkdir(parents=True, exist_ok=True)
    sites = folder / "sites.csv"
    sites.write_text(SITES_CSV, encoding="utf-8")
    pas = folder / "pas.gpkg"
    gpd.GeoDataFrame(
        {
            "WDPAID": [900001],
            "WDPA_PID": ["900001"],
            "NAME": ["Parque Uno"],
            "ORIG_NAME": ["Parque Uno"],
            "DESIG_ENG": ["National Park"],
            "DESIG_TYPE": ["National"],
            "IUCN_CAT": ["II"],
            "STATUS": ["Designated"],
            "STATUS_YR": [1990],
            "REP_AREA": [12000.0],
            "MARINE": ["0"],
            "ISO3": ["PER"],
        },
        geometry=[box(-70.5, -12.5, -69.5, -11.5)],
        crs="EPSG:4326",
    ).to_file(pas, layer="polygons", driver="GPKG")
    eco = folder / "eco.gpkg"
    gpd.GeoDataFrame(
        {
            "ECO_ID": [1, 2],
            "ECO_NAME": ["Wet forest", "Dry forest"],
            "BIOME": [1, 2],
            "REALM": ["NT", "NT"],
            "G200_REGIO": ["Southwestern Amazon moist forests", ""],
            "G200_NUM": [30, 0],
            "G200_BIOME": [1, 0],
        },
        geometry=[box(-70.5, -13, -68, -11), box(-72, -13, -70.5, -11)],
        crs="EPSG:4326",
    ).to_file(eco, driver="GPKG")
    return {"sites": sites, "protected_areas": pas, "ecoregions": eco}


def classify_args(paths: dict[str, Path], output: Path, *extra: str) -> list[str]:
    """``asm-pace classify`` arguments for :func:`tiny_inputs`' files (any replaced)."""
    return [
        "classify",
        str(paths["sites"]),
        "--protected-areas",
        str(paths["protected_areas"]),
        "--ecoregions",
        str(paths["ecoregions"]),
        "--output",
        str(output),
        *extra,
    ]
