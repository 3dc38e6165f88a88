"""Public data fetched by version (``--hansen``, ``asm-pace fetch``): refusals without a network.

Every case works offline or is refused before any download, so none needs a server: a
Hansen version given with raster files, a version that is not one, cache options without
``--hansen``, files missing from the cache in offline mode (listed with the command that
fetches them), a cached file that changed since its SHA-256 was recorded, bad bounds and a
bad WDPA month. The tiny world's sites (lon -71.5, -70, -69 at lat -12) with 1 km buffers
touch GFC tiles 10S_080W and 10S_070W (worked out by hand: tile 10S_080W spans lon -80..-70).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from . import Case, classify_args, tiny_inputs

V = "GFC-2025-v1.13"
_LAYERS = ("treecover2000", "lossyear", "gain")
_TILES = ("10S_080W", "10S_070W")


def _hansen(folder: Path, *extra: str) -> list[str]:
    paths = tiny_inputs(folder)
    return classify_args(paths, folder / "out.gpkg", "--buffers", "1", *extra)


def _with_treecover(folder: Path) -> list[str]:
    raster = folder / "treecover2000.tif"
    raster.write_bytes(b"never opened: refused before")
    return _hansen(folder, "--hansen", V, "--treecover", str(raster))


def _bad_version(folder: Path) -> list[str]:
    return _hansen(folder, "--hansen", "2025", "--data-dir", str(folder / "cache"))


def _cache_without_hansen(folder: Path) -> list[str]:
    return classify_args(
        tiny_inputs(folder), folder / "out.gpkg", "--data-dir", str(folder / "cache"), "--offline"
    )


def _offline_missing(folder: Path) -> list[str]:
    return _hansen(folder, "--hansen", V, "--data-dir", str(folder / "cache"), "--offline")


def _cache_changed(folder: Path) -> list[str]:
    cache = folder / "cache"
    tiles = cache / "hansen" / V
    tiles.mkdir(parents=True)
    lines = []
    for layer in _LAYERS:
        for tile in _TILES:
            name = f"Hansen_{V}_{layer}_{tile}.tif"
            (tiles / name).write_bytes(b"a damaged tile")
            recorded = hashlib.sha256(b"the tile as downloaded").hexdigest()
            lines.append(f"hansen/{V}/{name} sha256:{recorded} http://example.org/{name}\n")
    (cache / "registry.txt").write_text("".join(lines), encoding="utf-8")
    return _hansen(folder, "--hansen", V, "--data-dir", str(cache), "--offline")


def _fetch_bad_bounds(folder: Path) -> list[str]:
    return ["fetch", "hansen", "--bounds", "-70,-12,-69", "--data-dir", str(folder / "c")]


def _fetch_bounds_south_above_north(folder: Path) -> list[str]:
    return ["fetch", "hansen", "--bounds", "-70,-11,-69,-12", "--data-dir", str(folder / "c")]


def _fetch_bad_month(folder: Path) -> list[str]:
    return ["fetch", "wdpa", "--month", "November2025", "--data-dir", str(folder / "c")]


def _fetch_bad_layer(folder: Path) -> list[str]:
    return [
        "fetch",
        "hansen",
        "--bounds",
        "-70,-12,-69,-11",
        "--layers",
        "loss",
        "--data-dir",
        str(folder / "c"),
    ]


def _fetch_ecoregions_offline(folder: Path) -> list[str]:
    return ["fetch", "ecoregions", "--offline", "--data-dir", str(folder / "c")]


CASES = [
    Case("data/hansen_with_treecover", _with_treecover, words=("--hansen", "--treecover")),
    Case("data/hansen_bad_version", _bad_version, words=("'2025'", "not a hansen gfc version")),
    Case(
        "data/cache_options_without_hansen",
        _cache_without_hansen,
        words=("--data-dir", "without a hansen version", "--hansen"),
    ),
    Case(
        "data/hansen_offline_missing",
        _offline_missing,
        words=(
            "offline",
            "6 file(s) missing",
            f"Hansen_{V}_gain_10S_070W.tif",
            f"asm-pace fetch hansen --bounds -80,-20,-60,-10 --version {V}",
            "--data-dir",
        ),
    ),
    Case(
        "data/hansen_cache_changed",
        _cache_changed,
        words=(f"Hansen_{V}_treecover2000_10S_080W.tif", "changed since it was recorded"),
    ),
    Case("data/fetch_bounds_three_numbers", _fetch_bad_bounds, words=("bounds", "four numbers")),
    Case(
        "data/fetch_bounds_south_above_north",
        _fetch_bounds_south_above_north,
        words=("bounds -70, -11, -69, -12", "south <= north"),
    ),
    Case("data/fetch_wdpa_bad_month", _fetch_bad_month, words=("november2025", "--month")),
    Case("data/fetch_hansen_bad_layer", _fetch_bad_layer, words=("'loss'", "--layers")),
    Case(
        "data/fetch_ecoregions_offline_missing",
        _fetch_ecoregions_offline,
        words=("offline", "ecoregions/official_teow.zip", "asm-pace fetch ecoregions"),
    ),
]
