"""Time asm_pace.data against the plain ways of doing the same work, in the same run.

Three ratios:

1. **Tile names** for N site boxes: ``hansen_tile_names`` (vectorised) against a Python loop
   naming the tiles of each box (the usual ``for lat in range(...)`` script); both must give
   the same set.
2. **Download** of real GeoTIFF tiles from a loopback HTTP server (``tests/_http_server.py``):
   ``hansen_tiles`` (pooch, the resuming downloader, the identity check, the SHA-256 recorded)
   against ``requests.get`` streamed to a file.
3. **Use from the cache** (every later run): ``hansen_tiles`` with the files cached (each
   file's SHA-256 checked against the registry) against ``hashlib.sha256`` of the same files,
   the least a check can cost.

With ``--pipeline`` it instead times the whole run on the samples (``run_pipeline``, 1 and
10 km buffers, forest loss): with ``hansen=`` (first run: six tiles downloaded from the loopback
server; then from the cache, offline) against the same six tiles given as files.

With ``--before TREE`` it times a run that does not use asm_pace.data (the samples, 1 and 10
km buffers, forest loss from the sample rasters, the GeoPackage written) with the source tree
TREE (``git archive <commit> src data/samples | tar -x -C TREE``) and with this one,
interleaved in fresh processes, and checks that ``asm_pace.data`` and pooch were not imported.

Usage::

    .venv/bin/python benchmarks/bench_data.py            # 100,000 boxes, 4 tiles of 32 MB
    .venv/bin/python benchmarks/bench_data.py --boxes 20000 --mb 8
    .venv/bin/python benchmarks/bench_data.py --pipeline
    .venv/bin/python benchmarks/bench_data.py --before /tmp/before   # cost when unused
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _http_server import DataServer
from asm_pace import data

V = "GFC-2025-v1.13"


def loop_names(boxes: np.ndarray) -> set[str]:
    out = set()
    for w, s, e, n in boxes:
        top = int(np.floor(s / 10)) * 10 + 10
        while top - 10 < n or top - 10 == s:
            west = int(np.floor(w / 10)) * 10
            while west < e or west == w:
                lat = f"{abs(top):02d}{'N' if top >= 0 else 'S'}"
                out.add(f"{lat}_{abs(west):03d}{'E' if west >= 0 else 'W'}")
                west += 10
            top += 10
    return out


def best(func, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def make_tiles(root: Path, mb: float) -> list[str]:
    """Four tiles of two layers, random-ish uint8 (LZW compresses them little), ~mb each."""
    side = int((mb * 1e6) ** 0.5)
    rng = np.random.default_rng(0)
    folder = root / V
    folder.mkdir(parents=True)
    names = []
    for layer in ("treecover2000", "lossyear"):
        for tile, west in (("10S_080W", -80.0), ("10S_070W", -70.0)):
            name = f"Hansen_{V}_{layer}_{tile}.tif"
            profile = {
                "driver": "GTiff",
                "dtype": "uint8",
                "count": 1,
                "width": side,
                "height": side,
                "crs": "EPSG:4326",
                "transform": rasterio.Affine(10 / side, 0, west, 0, -10 / side, -10),
                "compress": "lzw",
                "tiled": True,
            }
            with rasterio.open(folder / name, "w", **profile) as dst:
                dst.write(rng.integers(0, 101, (side, side), dtype="uint8"), 1)
            names.append(name)
    return names


def pipeline(repeat: int = 6) -> None:
    """run_pipeline with hansen= (downloaded, then cached) against the tiles given as files."""
    import shutil
    import warnings

    from asm_pace.datasets import sample_path
    from asm_pace.pipeline import run_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "served" / V
        folder.mkdir(parents=True)
        for layer, src in (("treecover2000", "treecover2000.tif"), ("lossyear", "lossyear.tif")):
            shutil.copy(sample_path(src), folder / f"Hansen_{V}_{layer}_10S_080W.tif")
        with rasterio.open(sample_path("lossyear.tif")) as ds:
            profile, shape = ds.profile, ds.shape
        with rasterio.open(folder / f"Hansen_{V}_gain_10S_080W.tif", "w", **profile) as out:
            out.write(np.zeros(shape, "uint8"), 1)
        t = profile["transform"]
        profile.update(width=400, transform=rasterio.Affine(t.a, 0, -70.0, 0, t.e, t.f))
        for layer in ("treecover2000", "lossyear", "gain"):  # the next tile east
            with rasterio.open(folder / f"Hansen_{V}_{layer}_10S_070W.tif", "w", **profile) as out:
                out.write(np.zeros((shape[0], 400), "uint8"), 1)
        common = {
            "protected_areas": sample_path("protected_areas.gpkg"),
            "ecoregions": sample_path("ecoregions.gpkg"),
            "radii_km": [1, 10],
        }

        def run(**kw: object) -> float:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_pipeline(sample_path("sites.csv"), **common, **kw)
            return time.perf_counter() - start

        with DataServer(folder.parent) as server:
            first = [
                run(
                    hansen=V,
                    data_options={"cache_dir": Path(tmp) / f"c{i}", "base_url": server.url},
                )
                for i in range(3)
            ]
        cached, direct = [], []
        for _ in range(repeat):  # interleaved: the machine's load hits both alike
            cached.append(
                run(hansen=V, data_options={"cache_dir": Path(tmp) / "c0", "offline": True})
            )
            direct.append(run(treecover=folder, lossyear=folder, gain=folder))
        mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
        print(
            f"run_pipeline on the samples: --hansen first run (6 tiles, {mb:.1f} MB, loopback) "
            f"{min(first):.3f} s, --hansen from the cache {min(cached):.3f} s, the tiles given "
            f"as files {min(direct):.3f} s; RATIO cached/files {min(cached) / min(direct):.3f}, "
            f"first/files {min(first) / min(direct):.3f}"
        )


_UNUSED = """
import sys, tempfile, time, warnings
from pathlib import Path
sys.path.insert(0, sys.argv[1] + "/src")
import asm_pace
assert asm_pace.__file__.startswith(sys.argv[1]), asm_pace.__file__
from asm_pace.datasets import sample_path
from asm_pace.pipeline import run_pipeline, write_outputs
start = time.perf_counter()
with warnings.catch_warnings(), tempfile.TemporaryDirectory() as out:
    warnings.simplefilter("ignore")
    result = run_pipeline(sample_path("sites.csv"), protected_areas=sample_path("protected_areas.gpkg"),
        ecoregions=sample_path("ecoregions.gpkg"), radii_km=[1, 10],
        treecover=sample_path("treecover2000.tif"), lossyear=sample_path("lossyear.tif"))
    write_outputs(result, Path(out) / "o.gpkg")
print(time.perf_counter() - start, "pooch" in sys.modules or "asm_pace.data" in sys.modules)
"""


def unused(before: Path, repeat: int = 5) -> None:
    """The run without asm_pace.data: ``before``'s tree against this one, interleaved."""
    import subprocess

    here = Path(__file__).resolve().parents[1]
    times: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(repeat):
        for name, tree in (("before", before), ("now", here)):
            out = subprocess.run(
                [sys.executable, "-c", _UNUSED, str(tree)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            assert out[1] == "False", "asm_pace.data or pooch was imported"
            times[name].append(float(out[0]))
    b, n = min(times["before"]), min(times["now"])
    print(f"a run without --hansen (samples, forest loss, GeoPackage): before {b:.3f} s, now "
          f"{n:.3f} s, RATIO {n / b:.3f} (asm_pace.data and pooch not imported)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boxes", type=int, default=100_000)
    parser.add_argument("--mb", type=float, default=32.0, help="size of each tile, MB")
    parser.add_argument("--pipeline", action="store_true", help="time the whole run instead")
    parser.add_argument("--before", type=Path, help="a source tree to compare a run without data")
    args = parser.parse_args()
    if args.before is not None:
        unused(args.before)
        return
    if args.pipeline:
        pipeline()
        return

    rng = np.random.default_rng(1)
    w = rng.uniform(-180, 170, args.boxes)
    s = rng.uniform(-55, 70, args.boxes)
    boxes = np.c_[w, s, w + rng.uniform(0.01, 3, args.boxes), s + rng.uniform(0.01, 3, args.boxes)]
    ours = set(data.hansen_tile_names(boxes))
    assert ours == loop_names(boxes), "the two ways disagree"
    t_ours = best(lambda: data.hansen_tile_names(boxes))
    t_loop = best(lambda: loop_names(boxes), repeat=1)
    print(f"tile names, {args.boxes:,} boxes ({len(ours)} tiles): hansen_tile_names "
          f"{t_ours:.3f} s, Python loop {t_loop:.3f} s, RATIO {t_ours / t_loop:.3f}")  # fmt: skip

    import requests

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "served"
        names = make_tiles(root, args.mb)
        total = sum((root / V / n).stat().st_size for n in names) / 1e6
        bounds = (-75.0, -15.0, -65.0, -12.0)
        layers = ["treecover2000", "lossyear"]
        with DataServer(root) as server:

            def plain(i: int = 0) -> None:
                dest = Path(tmp) / f"plain{i}"
                dest.mkdir()
                for n in names:
                    with requests.get(f"{server.url}/{V}/{n}", stream=True, timeout=60) as r:
                        r.raise_for_status()
                        with open(dest / n, "wb") as fh:
                            for chunk in r.iter_content(1 << 20):
                                fh.write(chunk)

            runs = iter(range(100))

            def fetched() -> None:
                cache = Path(tmp) / f"cache{next(runs)}"
                data.hansen_tiles(bounds, layers=layers, cache_dir=cache, base_url=server.url)

            t_plain = best(lambda: plain(next(runs)))
            t_fetch = best(fetched)
            print(f"download, 4 tiles, {total:.0f} MB: hansen_tiles {t_fetch:.3f} s, "
                  f"requests.get {t_plain:.3f} s, RATIO {t_fetch / t_plain:.2f}")  # fmt: skip
            cache = Path(tmp) / "warm"
            data.hansen_tiles(bounds, layers=layers, cache_dir=cache, base_url=server.url)
            files = sorted(cache.rglob("*.tif"))

            def hashes() -> None:
                for f in files:
                    hashlib.sha256(f.read_bytes()).hexdigest()

            t_cached = best(
                lambda: data.hansen_tiles(bounds, layers=layers, cache_dir=cache, offline=True)
            )
            t_hash = best(hashes)
            print(f"from the cache, 4 tiles, {total:.0f} MB: hansen_tiles {t_cached:.3f} s, "
                  f"sha256 alone {t_hash:.3f} s, RATIO {t_cached / t_hash:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
