"""asm_pace: artisanal and small-scale mining sites against protected areas and ecoregions.

Classify ASM sites under the ASM-PACE definition (WWF / Estelle Levin Ltd):
protected area, WWF priority landscape, critical ecosystem (Global 200
ecoregion) or not eligible; build geodesic buffers; measure overlaps; compute
forest-loss statistics from Hansen Global Forest Change rasters; write
GeoPackages that QGIS and ArcGIS open as they are.

Public functions are imported lazily (SPEC 1 style), so ``import asm_pace`` is
cheap and optional dependencies (matplotlib, folium) are only needed by the
functions that use them.

Examples
--------
>>> import asm_pace
>>> sites = asm_pace.read_sites(asm_pace.datasets.sample_path("sites.csv"))
>>> int(sites["site_id"].is_unique)
1
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("asm-pace")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # loaders
    "read_sites": "sites",
    "validate_sites": "sites",
    "read_protected_areas": "protected_areas",
    "combine_protected_areas": "pa_sources",
    "read_ecoregions": "ecoregions",
    "read_priority_landscapes": "ecoregions",
    "read_kbas": "kba",
    "aze_protected_areas": "kba",
    "join_kbas": "kba",
    # analysis
    "classify": "classification",
    "classify_parallel": "parallel",
    "classify_dask": "distributed",
    "parse_memory": "chunked",
    "PACE_CLASSES": "classification",
    "buffers": "buffering",
    "overlaps": "overlap",
    "OverlapResult": "overlap",
    "forest_loss": "forest",
    "raster_stats": "forest",
    "DRIVER_CLASSES": "drivers",
    # geodesy
    "geodesic_area": "geodesy",
    "geodesic_circles": "geodesy",
    # rivers and what flows down them
    "read_rivers": "rivers",
    "downstream": "flowpaths",
    "DownstreamResult": "flowpaths",
    # output
    "write_geopackage": "output",
    # pictures (need the [plot] extra)
    "plot_sites": "plotting",
    "plot_forest_loss": "plotting",
    "explore_sites": "plotting",
    "write_report": "report",
    # public data by version (fetched and cached)
    "hansen_tiles": "data",
    "fetch_ecoregions": "data",
    "fetch_wdpa": "data",
}

_SUBMODULES = {"errors", "datasets", "geodesy", "data"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
