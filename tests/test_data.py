"""asm_pace.data: tile names, fetching, the cache, offline mode, errors and the command line.

Every download goes to a loopback HTTP server (``tests/_http_server.py``) that serves real
LZW GeoTIFF tiles (made from the sample rasters) in the layout of the real hosts, with
``Range`` requests honoured: the real code path (pooch, the resuming downloader, the registry)
runs. Expected tile names come from a hand-worked table and from a brute-force test of all
504 GFC tiles; checksums from :mod:`hashlib` on the served files.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from _http_server import DataServer
from asm_pace import data
from asm_pace.cli import cli
from asm_pace.datasets import sample_path
from asm_pace.errors import ExtentWarning, InputError, RasterError, ReadError

V = "GFC-2025-v1.13"
SAMPLE_BOUNDS = (-70.6, -13.0, -70.1, -12.5)  # inside tile 10S_080W only


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tile(layer: str, tile: str, version: str = V) -> str:
    return f"{version}/Hansen_{version}_{layer}_{tile}.tif"


def _write_like(template: Path, dest: Path, values: np.ndarray, *, left: float | None = None):
    """A GeoTIFF (LZW, tiled) on the template's grid, optionally moved to ``left``."""
    with rasterio.open(template) as src:
        profile = src.profile
        transform = src.transform
    if left is not None:
        transform = rasterio.Affine(transform.a, 0.0, left, 0.0, transform.e, transform.f)
    profile.update(
        width=values.shape[1], height=values.shape[0], transform=transform, compress="lzw"
    )
    with rasterio.open(dest, "w", **profile) as dst:
        dst.write(values.astype("uint8"), 1)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The served folder: GFC tiles 10S_080W (the samples) and 10S_070W, a TEOW and a WDPA zip."""
    root = tmp_path_factory.mktemp("served")
    (root / V).mkdir()
    tc, ly = sample_path("treecover2000.tif"), sample_path("lossyear.tif")
    shutil.copy(tc, root / _tile("treecover2000", "10S_080W"))
    shutil.copy(ly, root / _tile("lossyear", "10S_080W"))
    with rasterio.open(tc) as ds:
        shape = ds.shape
    rng = np.random.default_rng(5)
    _write_like(tc, root / _tile("gain", "10S_080W"), rng.random(shape) < 0.02)
    _write_like(tc, root / _tile("datamask", "10S_080W"), np.ones(shape))
    # the next tile east, on the same grid (x from -70.0: 2560 cells of the samples' 0.00025)
    east = (shape[0], 400)
    _write_like(tc, root / _tile("treecover2000", "10S_070W"), np.full(east, 80), left=-70.0)
    loss = np.zeros(east)
    loss[:, :40] = 12  # 2012
    _write_like(tc, root / _tile("lossyear", "10S_070W"), loss, left=-70.0)
    _write_like(tc, root / _tile("gain", "10S_070W"), np.zeros(east), left=-70.0)
    _write_like(tc, root / _tile("datamask", "10S_070W"), np.ones(east), left=-70.0)
    for name, member in (
        ("official_teow.zip", sample_path("ecoregions.gpkg")),
        ("WDPA_Nov2025_Public.zip", sample_path("protected_areas.gpkg")),
    ):
        with zipfile.ZipFile(root / name, "w") as zf:
            zf.write(member, member.name)
    (root / "not_a_tile").mkdir()
    return root


@pytest.fixture
def server(root):
    with DataServer(root) as srv:
        yield srv


def _gets(server) -> list[tuple[str, str | None, int]]:
    return [entry for entry in server.log if entry[0].endswith((".tif", ".zip"))]


# --------------------------------------------------------------------------- tile names
# Worked by hand: tile (top, west) spans lat top-10..top, lon west..west+10.
TABLE = [
    ((-70.6, -13.0, -69.9, -12.4), ["10S_080W", "10S_070W"]),
    ((-80.0, -20.0, -70.0, -10.0), ["10S_080W"]),  # every edge on a tile edge
    ((-80.0, -20.0, -69.99, -10.0), ["10S_080W", "10S_070W"]),
    ((-70.0, -10.0, -70.0, -10.0), ["00N_070W"]),  # a point on a corner: the tile NE of it
    ((0.0, 0.0, 0.0, 0.0), ["10N_000E"]),
    ((-0.5, -0.5, 0.5, 0.5), ["10N_010W", "10N_000E", "00N_010W", "00N_000E"]),
    ((175.0, -20.0, -175.0, -15.0), ["10S_180W", "10S_170E"]),  # west > east: across 180
    ((178.0, 0.0, 182.0, 5.0), ["10N_180W", "10N_170E"]),  # past 180 (a widened box)
    ((-182.0, 0.0, -178.0, 5.0), ["10N_180W", "10N_170E"]),
    ((170.0, 0.0, 180.0, 5.0), ["10N_170E"]),
    ((-180.0, 0.0, -170.0, 5.0), ["10N_180W"]),
    ((10.0, 49.0, 19.0, 51.0), ["60N_010E", "50N_010E"]),
    ((-1.0, -59.0, 1.0, -55.0), ["50S_010W", "50S_000E"]),  # the southernmost row
]


@pytest.mark.parametrize(("bounds", "expected"), TABLE, ids=[str(b) for b, _ in TABLE])
def test_tile_names_match_the_hand_worked_table(bounds, expected):
    assert data.hansen_tile_names(bounds) == expected


def test_a_box_round_the_globe_takes_a_whole_row():
    names = data.hansen_tile_names((-200.0, 1.0, 200.0, 2.0))
    assert len(names) == 36 and names[0] == "10N_180W" and names[-1] == "10N_170E"


def test_tiles_past_the_gfc_rows_warn_or_refuse():
    with pytest.warns(ExtentWarning, match=r"80N\.\.60S"):
        assert data.hansen_tile_names((0.0, 75.0, 5.0, 85.0)) == ["80N_000E"]
    with pytest.raises(InputError, match=r"outside 80N\.\.60S"):
        data.hansen_tile_names((0.0, -70.0, 5.0, -65.0))


@pytest.mark.parametrize(
    "bounds",
    [(1, 2, 3), (0, 5, 1, 4), (0, -95, 1, 0), (float("nan"), 0, 1, 1), ("a", 0, 1, 1)],
)
def test_bad_bounds_are_refused(bounds):
    with pytest.raises(InputError, match="bounds"):
        data.hansen_tile_names(bounds)


def _brute_force(w: float, s: float, e: float, n: float) -> set[str]:
    """Every GFC tile whose box shares area with the box (no wrapping: w < e)."""
    out = set()
    for top in range(80, -60, -10):
        for west in range(-180, 180, 10):
            if west < e and west + 10 > w and top - 10 < n and top > s:
                out.add(
                    f"{abs(top):02d}{'N' if top >= 0 else 'S'}_"
                    f"{abs(west):03d}{'E' if west >= 0 else 'W'}"
                )
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-180, 179.9),
    st.floats(0.01, 60),
    st.floats(-60, 79.9),
    st.floats(0.01, 30),
)
@example(0.0, 1.0, -5e-324, 1.0)  # s / 10 underflows to -0.0: the tile below was missed
def test_tile_names_equal_a_brute_force_over_all_tiles(w, width, s, height):
    e, n = min(w + width, 180.0), min(s + height, 80.0)
    if e <= w or n <= s:
        return
    assert set(data.hansen_tile_names((w, s, e, n))) == _brute_force(w, s, e, n)


@settings(max_examples=100, deadline=None)
@given(st.floats(120, 179.9), st.floats(0.2, 60), st.floats(-60, 70), st.floats(0.01, 9))
def test_boxes_across_180_take_the_tiles_of_both_sides(w, width, s, height):
    e, n = w + width, s + height
    if e <= 180.0:
        return
    expected = _brute_force(w, s, 180.0, n) | _brute_force(-180.0, s, e - 360.0, n)
    assert set(data.hansen_tile_names((w, s, e, n))) == expected  # past 180
    assert set(data.hansen_tile_names((w, s, e - 360.0, n))) == expected  # west > east


def test_zones_take_only_the_tiles_they_meet():
    import geopandas as gpd
    from shapely.geometry import Polygon, box

    # an L: its bounding box touches four tiles, the shape only three (not 10N_070W)
    ell = Polygon([(-75, -5), (-65, -5), (-65, -4), (-74, -4), (-74, 5), (-75, 5)])
    zones = gpd.GeoDataFrame(geometry=[ell], crs=4326)
    assert data.hansen_tile_names(zones) == ["10N_080W", "00N_080W", "00N_070W"]
    # a zone written across 180 in 0..360 longitudes, split by the CRS policy
    wrap = gpd.GeoDataFrame(geometry=[box(179.5, -16.5, 180.5, -16.0)], crs=4326)
    assert data.hansen_tile_names(wrap) == ["10S_180W", "10S_170E"]
    # in a projected CRS: the same tiles as in lon/lat
    assert data.hansen_tile_names(zones.to_crs(32718)) == ["10N_080W", "00N_080W", "00N_070W"]
    with pytest.raises(InputError, match="empty"):
        data.hansen_tile_names(gpd.GeoDataFrame(geometry=[], crs=4326))


# --------------------------------------------------------------------------- fetching
def test_fetch_records_checksums_and_reuses_the_cache(server, root, tmp_path):
    cache = tmp_path / "cache"
    tiles = data.hansen_tiles(
        SAMPLE_BOUNDS,
        layers=["treecover2000", "lossyear"],
        cache_dir=cache,
        base_url=server.url,
    )
    assert tiles.tiles == ("10S_080W",)
    assert list(tiles) == ["treecover2000", "lossyear"]
    for layer in tiles:
        (path,) = tiles[layer]
        served = root / _tile(layer, "10S_080W")
        assert path.read_bytes() == served.read_bytes()
    registry = (cache / data.REGISTRY_NAME).read_text().splitlines()
    for f in tiles.files:
        served = root / _tile(f.layer, f.tile)
        assert f.sha256 == _sha(served)
        assert f.url == f"{server.url}/{_tile(f.layer, f.tile)}"
        assert f"hansen/{_tile(f.layer, f.tile)} sha256:{_sha(served)} {f.url}" in registry
    assert [g[1:] for g in _gets(server)] == [(None, 200), (None, 200)]
    # the second time from the cache, online or offline: no request
    again = data.hansen_tiles(
        SAMPLE_BOUNDS, layers=["lossyear", "treecover2000"], cache_dir=cache, base_url=server.url
    )
    offline = data.hansen_tiles(
        SAMPLE_BOUNDS,
        layers=["lossyear"],
        cache_dir=cache,
        offline=True,
        base_url="http://x.invalid",
    )
    assert again["lossyear"] == offline["lossyear"] == tiles["lossyear"]
    assert len(_gets(server)) == 2


def test_settings_come_from_the_environment(server, tmp_path, monkeypatch):
    monkeypatch.setenv("ASM_PACE_DATA_DIR", str(tmp_path / "env-cache"))
    monkeypatch.setenv("ASM_PACE_HANSEN_URL", server.url)
    tiles = data.hansen_tiles(SAMPLE_BOUNDS, layers=["gain"])
    assert tiles["gain"][0].parent == tmp_path / "env-cache" / "hansen" / V
    monkeypatch.setenv("ASM_PACE_OFFLINE", "1")
    with pytest.raises(ReadError, match="offline: 1 file"):
        data.hansen_tiles(SAMPLE_BOUNDS, layers=["datamask"])
    # an argument wins over its variable
    assert data.hansen_tiles(SAMPLE_BOUNDS, layers=["datamask"], offline=False)["datamask"]
    monkeypatch.setenv("ASM_PACE_OFFLINE", "sometimes")
    with pytest.raises(InputError, match="ASM_PACE_OFFLINE='sometimes' is neither on"):
        data.hansen_tiles(SAMPLE_BOUNDS, layers=["datamask"])
    monkeypatch.setenv("ASM_PACE_OFFLINE", "0")
    assert data.hansen_tiles(SAMPLE_BOUNDS, layers=["datamask"])["datamask"]


def test_offline_lists_the_missing_files_and_the_command(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(ReadError) as err:
        data.hansen_tiles(
            (-70.6, -13.0, -69.9, -12.4), layers=["lossyear", "gain"], cache_dir=cache, offline=True
        )
    text = str(err.value)
    assert "offline: 4 file(s) missing" in text
    for tile in ("10S_080W", "10S_070W"):
        assert f"Hansen_{V}_lossyear_{tile}.tif" in text and f"Hansen_{V}_gain_{tile}" in text
    assert (
        f"asm-pace fetch hansen --bounds -70.6,-13,-69.9,-12.4 --version {V} "
        f"--layers lossyear,gain --data-dir {cache}" in text
    )
    assert not cache.exists() or not any(cache.rglob("*.tif"))


def test_a_changed_cached_file_is_refused(server, tmp_path):
    cache = tmp_path / "cache"
    (path,) = data.hansen_tiles(
        SAMPLE_BOUNDS, layers=["lossyear"], cache_dir=cache, base_url=server.url
    )["lossyear"]
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF  # one damaged byte, same size
    path.write_bytes(bytes(raw))
    for offline in (True, False):
        with pytest.raises(ReadError, match="changed since it was recorded"):
            data.hansen_tiles(
                SAMPLE_BOUNDS,
                layers=["lossyear"],
                cache_dir=cache,
                base_url=server.url,
                offline=offline,
            )
    assert len(_gets(server)) == 1  # never silently downloaded again


def test_a_new_file_on_the_server_is_refused_against_the_record(server, root, tmp_path):
    cache = tmp_path / "cache"
    (path,) = data.hansen_tiles(
        SAMPLE_BOUNDS, layers=["gain"], cache_dir=cache, base_url=server.url
    )["gain"]
    path.unlink()  # deleted from the cache; the server's file is now another one
    served = root / _tile("gain", "10S_080W")
    keep = served.read_bytes()
    try:
        shutil.copy(root / _tile("datamask", "10S_080W"), served)
        with pytest.raises(ReadError, match="differs from the SHA-256 recorded"):
            data.hansen_tiles(SAMPLE_BOUNDS, layers=["gain"], cache_dir=cache, base_url=server.url)
    finally:
        served.write_bytes(keep)
    assert not path.exists()


def test_http_404_names_the_version(server, tmp_path):
    with pytest.raises(ReadError) as err:
        data.hansen_tiles(
            SAMPLE_BOUNDS,
            layers=["lossyear"],
            version="GFC-2099-v9.99",
            cache_dir=tmp_path,
            base_url=server.url,
        )
    text = str(err.value)
    assert "HTTP 404" in text and "GFC-2099-v9.99" in text and "wrong version" in text
    assert not list(tmp_path.rglob("*.tif*"))


def test_a_missing_tile_is_a_404_naming_its_url(server, tmp_path):
    with pytest.raises(ReadError, match=r"Hansen_GFC-2025-v1\.13_lossyear_20S_080W\.tif.*404"):
        data.hansen_tiles(
            (-75.0, -21.0, -74.0, -20.5),
            layers=["lossyear"],
            cache_dir=tmp_path,
            base_url=server.url,
        )


def test_a_cut_download_is_refused_then_resumed_with_a_range_request(server, root, tmp_path):
    rel = _tile("lossyear", "10S_080W")
    server.cut[rel] = 1000
    cache = tmp_path / "cache"
    with pytest.raises(ReadError, match="cut short after 1,000 bytes") as err:
        data.hansen_tiles(SAMPLE_BOUNDS, layers=["lossyear"], cache_dir=cache, base_url=server.url)
    assert "run the same command again to resume" in str(err.value)
    part = cache / "hansen" / V / (Path(rel).name + ".part")
    assert part.stat().st_size == 1000
    assert not (cache / "hansen" / V / Path(rel).name).exists()
    (path,) = data.hansen_tiles(
        SAMPLE_BOUNDS, layers=["lossyear"], cache_dir=cache, base_url=server.url
    )["lossyear"]
    assert path.read_bytes() == (root / rel).read_bytes()
    assert [g[1:] for g in _gets(server)] == [(None, 200), ("bytes=1000-", 206)]
    assert not part.exists()


def test_a_cut_download_of_a_file_changed_since_starts_again(server, root, tmp_path):
    rel = _tile("gain", "10S_080W")
    served = root / rel
    keep = served.read_bytes()
    server.cut[rel] = 1000
    cache = tmp_path / "cache"
    with pytest.raises(ReadError, match="cut short"):
        data.hansen_tiles(SAMPLE_BOUNDS, layers=["gain"], cache_dir=cache, base_url=server.url)
    try:  # the server's file changes before the next attempt: If-Range fails, 200 whole
        shutil.copy(root / _tile("datamask", "10S_080W"), served)
        (path,) = data.hansen_tiles(
            SAMPLE_BOUNDS, layers=["gain"], cache_dir=cache, base_url=server.url
        )["gain"]
        assert path.read_bytes() == served.read_bytes()
    finally:
        served.write_bytes(keep)
    assert [g[1:] for g in _gets(server)] == [(None, 200), ("bytes=1000-", 200)]
    assert not list(cache.rglob("*.part*"))


def test_a_part_without_its_tag_is_not_resumed(server, root, tmp_path):
    rel = _tile("lossyear", "10S_080W")
    folder = tmp_path / "hansen" / V
    folder.mkdir(parents=True)
    (folder / (Path(rel).name + ".part")).write_bytes(b"bytes of unknown origin")
    (path,) = data.hansen_tiles(
        SAMPLE_BOUNDS, layers=["lossyear"], cache_dir=tmp_path, base_url=server.url
    )["lossyear"]
    assert path.read_bytes() == (root / rel).read_bytes()
    assert [g[1:] for g in _gets(server)] == [(None, 200)]


def test_the_server_answers_ranges(server, root):
    import requests

    rel = _tile("gain", "10S_080W")
    whole = (root / rel).read_bytes()
    r = requests.get(f"{server.url}/{rel}", headers={"Range": "bytes=10-19"}, timeout=5)
    assert r.status_code == 206 and r.content == whole[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(whole)}"
    r = requests.get(f"{server.url}/{rel}", headers={"Range": f"bytes={len(whole)}-"}, timeout=5)
    assert r.status_code == 416


def test_a_web_page_instead_of_a_tile_is_refused_and_not_kept(server, root, tmp_path):
    folder = root / "not_a_tile" / V
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"Hansen_{V}_lossyear_10S_080W.tif").write_text("<html>sign in</html>")
    with pytest.raises(RasterError, match="not a GeoTIFF"):
        data.hansen_tiles(
            SAMPLE_BOUNDS,
            layers=["lossyear"],
            cache_dir=tmp_path,
            base_url=f"{server.url}/not_a_tile",
        )
    assert not list(tmp_path.rglob("*.tif"))
    assert not (tmp_path / data.REGISTRY_NAME).exists()


def test_a_tile_of_another_place_is_refused(server, root, tmp_path):
    folder = root / "not_a_tile" / V
    folder.mkdir(parents=True, exist_ok=True)
    # the sample raster (lon -70.6, lat -13) served under the name of tile 00N_000E
    shutil.copy(root / _tile("gain", "10S_080W"), folder / f"Hansen_{V}_gain_00N_000E.tif")
    with pytest.raises(RasterError, match="outside tile 00N_000E"):
        data.hansen_tiles(
            (1.0, -5.0, 2.0, -4.0),
            layers=["gain"],
            cache_dir=tmp_path,
            base_url=f"{server.url}/not_a_tile",
        )


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ReadError, match="cannot reach the server"):
        data.hansen_tiles(
            SAMPLE_BOUNDS,
            layers=["lossyear"],
            cache_dir=tmp_path,
            base_url=f"http://127.0.0.1:{port}",
        )


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"version": "2025"}, "not a Hansen GFC version"),
        ({"layers": ["loss"]}, "the layers are treecover2000, lossyear, gain, datamask"),
        ({"base_url": "storage.example.org"}, "not a base URL"),
    ],
)
def test_bad_settings_are_refused(kwargs, words, tmp_path):
    with pytest.raises(InputError, match=words):
        data.hansen_tiles(SAMPLE_BOUNDS, cache_dir=tmp_path, **kwargs)


def test_a_damaged_registry_is_refused(server, tmp_path):
    (tmp_path / data.REGISTRY_NAME).write_text("hansen/x.tif md5:abc\n")
    with pytest.raises(ReadError, match="line 1 is not"):
        data.hansen_tiles(SAMPLE_BOUNDS, layers=["gain"], cache_dir=tmp_path, base_url=server.url)


def test_ecoregions_and_wdpa(server, root, tmp_path):
    eco = data.fetch_ecoregions(cache_dir=tmp_path, url=f"{server.url}/official_teow.zip")
    assert eco.path == tmp_path / "ecoregions" / "official_teow.zip"
    assert eco.sha256 == _sha(root / "official_teow.zip")
    wdpa = data.fetch_wdpa("Nov2025", cache_dir=tmp_path, base_url=server.url)
    assert wdpa.path == tmp_path / "wdpa" / "Nov2025" / "WDPA_Nov2025_Public.zip"
    assert (wdpa.version, wdpa.sha256) == ("Nov2025", _sha(root / "WDPA_Nov2025_Public.zip"))
    with pytest.raises(ReadError, match=r"HTTP 404.*only the latest month"):
        data.fetch_wdpa("Oct2025", cache_dir=tmp_path, base_url=server.url)
    with pytest.raises(InputError, match="not a WDPA release month"):
        data.fetch_wdpa("November 2025", cache_dir=tmp_path)
    with pytest.raises(RasterError, match="not a GeoTIFF"):  # a zip is not a tile
        _zip_as_tile(server, root, tmp_path)
    with pytest.raises(ReadError, match="not a zip archive"):
        data.fetch_ecoregions(
            cache_dir=tmp_path / "y", url=f"{server.url}/{_tile('gain', '10S_080W')}"
        )


def _zip_as_tile(server, root, tmp_path):
    folder = root / "not_a_tile" / "zips" / V
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "official_teow.zip", folder / f"Hansen_{V}_gain_10S_080W.tif")
    data.hansen_tiles(
        SAMPLE_BOUNDS,
        layers=["gain"],
        cache_dir=tmp_path / "x",
        base_url=f"{server.url}/not_a_tile/zips",
    )


def test_read_ecoregions_reads_the_fetched_zip(server, tmp_path):
    import asm_pace

    eco = data.fetch_ecoregions(cache_dir=tmp_path, url=f"{server.url}/official_teow.zip")
    direct = asm_pace.read_ecoregions(sample_path("ecoregions.gpkg"))
    assert len(asm_pace.read_ecoregions(eco.path)) == len(direct)


# --------------------------------------------------------------------------- command line
def _invoke(args: list[str], env: dict[str, str] | None = None):
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
    return result, (result.stdout or "") + (result.stderr or "")


def test_cli_fetch_hansen_ecoregions_wdpa(server, root, tmp_path):
    cache = tmp_path / "cache"
    common = ["--data-dir", cache]
    result, text = _invoke(
        ["fetch", "hansen", "--bounds", "-70.6,-13,-69.9,-12.4", "--layers", "lossyear",
         "--base-url", server.url, *common]
    )  # fmt: skip
    assert result.exit_code == 0, text
    for tile in ("10S_080W", "10S_070W"):
        path = cache / "hansen" / _tile("lossyear", tile)
        assert _sha(path) == _sha(root / _tile("lossyear", tile))
        assert str(path) in text
    result, text = _invoke(
        ["fetch", "ecoregions", "--url", f"{server.url}/official_teow.zip", *common]
    )
    assert result.exit_code == 0, text
    result, text = _invoke(["fetch", "wdpa", "--month", "Nov2025", *common],
                           env={"ASM_PACE_WDPA_URL": server.url})  # fmt: skip
    assert result.exit_code == 0, text
    assert (cache / "wdpa" / "Nov2025" / "WDPA_Nov2025_Public.zip").is_file()
    result, text = _invoke(["fetch", "wdpa", "--month", "Nov2025", "--offline", *common])
    assert result.exit_code == 0, text  # from the cache
    result, text = _invoke(["fetch", "hansen", "--bounds", "-75,-21,-74,-20.5", "--offline",
                            "--base-url", "http://mirror.example.org/gfc", *common])  # fmt: skip
    assert result.exit_code == 2
    assert "Error: offline: 4 file(s) missing" in text
    assert (
        f"asm-pace fetch hansen --bounds -75,-21,-74,-20.5 --version {V} --layers "
        f"treecover2000,lossyear,gain,datamask --base-url http://mirror.example.org/gfc "
        f"--data-dir {cache}"
    ) in text


def _classify(tmp_path: Path, out: str, *extra: str) -> list[str]:
    return [
        "classify",
        sample_path("sites.csv"),
        "-p",
        sample_path("protected_areas.gpkg"),
        "-e",
        sample_path("ecoregions.gpkg"),
        "--buffers",
        "1,5",
        "-o",
        tmp_path / out,
        *extra,
    ]


def test_cli_classify_hansen_equals_the_files_given_directly(server, root, tmp_path):
    import geopandas as gpd
    import pandas as pd

    cache = tmp_path / "cache"
    env = {"ASM_PACE_HANSEN_URL": server.url}
    result, text = _invoke(
        _classify(tmp_path, "fetched.gpkg", "--hansen", V, "--data-dir", cache, "-v"), env=env
    )
    assert result.exit_code == 0, text
    assert "- fetch forest tiles ..." in text  # a step of its own, timed with -v
    assert f"downloading {server.url}/{_tile('gain', '10S_070W')} (6 of 6)" in text
    folder = root / V
    result, text = _invoke(
        _classify(tmp_path, "direct.gpkg", "--treecover", folder, "--lossyear", folder,
                  "--gain", folder)
    )  # fmt: skip
    assert result.exit_code == 0, text
    fetched = gpd.read_file(tmp_path / "fetched.gpkg", layer="buffers")
    direct = gpd.read_file(tmp_path / "direct.gpkg", layer="buffers")
    forest = [c for c in direct.columns if c.startswith(("forest", "loss", "gain", "data_"))]
    assert {"forest_2000_ha", "loss_total_ha", "gain_ha", "data_coverage"} <= set(forest)
    pd.testing.assert_frame_equal(fetched[forest], direct[forest])
    assert (fetched["loss_total_ha"] > 0).any() and (fetched["gain_ha"] > 0).any()
    with sqlite3.connect(tmp_path / "fetched.gpkg") as con:
        rows = con.execute(
            "SELECT key, value, file_name, sha256 FROM run_info WHERE section = 'dataset'"
        ).fetchall()
    by_key = {r[0]: r for r in rows}
    assert by_key["hansen_version"][1] == V
    for layer in ("treecover2000", "lossyear", "gain"):
        for tile in ("10S_080W", "10S_070W"):
            _, url, name, sha = by_key[f"hansen_{layer}_{tile}"]
            assert url == f"{server.url}/{_tile(layer, tile)}"
            assert name == Path(_tile(layer, tile)).name
            assert sha == _sha(root / _tile(layer, tile))
    # offline, from the cache: the same numbers, no new request
    n = len(_gets(server))
    result, text = _invoke(
        _classify(tmp_path, "offline.gpkg", "--hansen", V, "--data-dir", cache, "--offline"),
        env={"ASM_PACE_HANSEN_URL": "http://x.invalid"},
    )
    assert result.exit_code == 0, text
    again = gpd.read_file(tmp_path / "offline.gpkg", layer="buffers")
    pd.testing.assert_frame_equal(again[forest], direct[forest])
    assert len(_gets(server)) == n


def test_cli_classify_refuses_hansen_with_raster_files(tmp_path):
    result, text = _invoke(
        _classify(
            tmp_path, "x.gpkg", "--hansen", V, "--treecover", sample_path("treecover2000.tif")
        )
    )
    assert result.exit_code == 2
    assert "--hansen" in text and "--treecover" in text
    assert not (tmp_path / "x.gpkg").exists()


@pytest.mark.realdata
def test_realdata_gfc_tiles_fetched_equal_the_files(realdata, tmp_path):
    """Real GFC-2023-v1.11 tiles (mapme, Sierra de Neiba) served in the real layout."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    import asm_pace

    folder = realdata / "mapme_dom_sierra_neiba"
    version = "GFC-2023-v1.11"
    served = tmp_path / "served" / version
    served.mkdir(parents=True)
    for layer in ("treecover2000", "lossyear"):
        name = f"Hansen_{version}_{layer}_20N_080W.tif"
        shutil.copy(folder / name, served / name)  # into the temporary folder only
    park = gpd.read_file(folder / "sierra_de_neiba_478140.gpkg")
    with rasterio.open(folder / f"Hansen_{version}_lossyear_20N_080W.tif") as ds:
        clip = box(*ds.bounds)
    zones = gpd.GeoDataFrame(geometry=[park.geometry.iloc[0].intersection(clip)], crs=4326)
    with DataServer(served.parent) as server:
        tiles = data.hansen_tiles(
            zones,
            layers=["treecover2000", "lossyear"],
            version=version,
            cache_dir=tmp_path / "cache",
            base_url=server.url,
        )
    assert tiles.tiles == ("20N_080W",)  # lon -80..-70, lat 10..20
    for f in tiles.files:
        assert f.sha256 == _sha(folder / f.path.name)
    fetched = asm_pace.forest_loss(
        zones, treecover=tiles["treecover2000"], lossyear=tiles["lossyear"]
    )
    direct = asm_pace.forest_loss(
        zones,
        treecover=folder / f"Hansen_{version}_treecover2000_20N_080W.tif",
        lossyear=folder / f"Hansen_{version}_lossyear_20N_080W.tif",
    )
    pd.testing.assert_frame_equal(fetched, direct)
    assert fetched["forest_2000_ha"].iloc[0] > 0
