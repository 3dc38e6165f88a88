"""The bundled sample data set (``data/samples/`` in the source tree).

The samples are made by ``data/make_samples.py`` (seeded, re-runnable) and
described in ``data/samples/README.md``. In a wheel they are installed as
``asm_pace/_samples``; in a source checkout (``pip install -e .``) they are
read from ``data/samples`` directly.

Examples
--------
>>> from asm_pace.datasets import sample_path
>>> sample_path("sites.csv").name
'sites.csv'
"""

from __future__ import annotations

from pathlib import Path

from .errors import ReadError

__all__ = ["sample_dir", "sample_path", "SAMPLE_FILES"]

#: What the sample set holds, by file name.
SAMPLE_FILES: dict[str, str] = {
    "sites.csv": "about 200 ASM site points (lat/lon columns)",
    "sites.geojson": "the same sites as GeoJSON",
    "protected_areas.gpkg": "WDPA-schema protected areas: layers 'polygons' and 'points'",
    "ecoregions.gpkg": "WWF TEOW-schema ecoregions with Global 200 fields",
    "priority_landscapes.gpkg": "WWF priority-landscape polygons",
    "treecover2000.tif": "Hansen-style tree cover 2000 (uint8 0-100, nodata 255)",
    "lossyear.tif": "Hansen-style loss year (uint8, 0 = no loss, v = 2000+v, nodata 255)",
    "kbas.zip": "Key Biodiversity Areas in BirdLife's schema (polygon + point shapefiles)",
    "drivers.tif": "drivers of tree-cover loss (Sims et al. 2025 format, ~1 km, uint8 0-7)",
    "rivers.gpkg": "a river network in the HydroRIVERS schema (HYRIV_ID, NEXT_DOWN...)",
}


def sample_dir() -> Path:
    """Return the folder that holds the bundled samples.

    Returns
    -------
    pathlib.Path
        ``asm_pace/_samples`` in an installed wheel, else ``data/samples`` of
        the source tree.

    Raises
    ------
    ReadError
        When neither folder exists (a broken install).
    """
    here = Path(__file__).resolve().parent
    candidates = [here / "_samples", here.parent.parent / "data" / "samples"]
    for folder in candidates:
        if (folder / "sites.csv").is_file():
            return folder
    raise ReadError(
        "the bundled samples were not found (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); reinstall asm-pace, or run data/make_samples.py in a source checkout"
    )


def sample_path(name: str) -> Path:
    """Return the path of one bundled sample file.

    Parameters
    ----------
    name : str
        A file name from :data:`SAMPLE_FILES`.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> sample_path("protected_areas.gpkg").suffix
    '.gpkg'
    """
    if name not in SAMPLE_FILES:
        raise ReadError(
            f"no sample named {name!r}; the samples are: {', '.join(sorted(SAMPLE_FILES))}"
        )
    return sample_dir() / name
