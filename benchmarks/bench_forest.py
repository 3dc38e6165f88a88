"""Benchmark: asm_pace.forest_loss against exactextract, rasterstats and plain numpy.

Generates a synthetic Hansen-like tile pair (treecover2000 0-100 %, lossyear
0-23, uint8, nodata 255, 0.00025 degree cells, LZW), tiled 256 x 256 or
stored in strips like some Hansen downloads, and clustered geodesic buffers
(ASM sites cluster). Every method runs in its own subprocess so its peak memory
(ru_maxrss, which includes GDAL's block cache) is its own; all on one thread.

    # quick: 10,000 x 10,000 tile, 100 and 1,000 buffers, 1 and 5 km
    .venv/bin/python benchmarks/bench_forest.py
    # the issue's setting: full 40,000 x 40,000 tile, 10,000 buffers of 5 km
    .venv/bin/python benchmarks/bench_forest.py --size 40000 --buffers 10000 --radii 5
    # everything: 100 / 1,000 / 10,000 buffers x 1 / 5 / 10 km, tiled and stripped
    .venv/bin/python benchmarks/bench_forest.py --size 40000 --buffers 100,1000,10000 \\
        --radii 1,5,10 --layouts tiled,strips
    # issue 10: 100,000 clustered 5 km buffers on a 2 x 2 mosaic of 5,000 x 5,000 tiles,
    # asm_pace (exact, centre) and the decode floor, ratio to the floor printed
    .venv/bin/python benchmarks/bench_forest.py --size 5000 --zones 100000 --radii 5 --clustered

Outputs: seconds per method, ratios to asm_pace (exact), the decode floor
(reading every block the buffers touch, nothing else), peak RSS, and the
largest disagreement with asm_pace (forest 2000 per buffer, relative to the
buffer's area).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("GDAL_NUM_THREADS", "1")
os.environ.setdefault("GDAL_CACHEMAX", "256")  # MB, the same block cache for every method

import numpy as np

RES = 0.00025
X0, Y0 = -60.0, 0.0  # a tile like Hansen 00N_060W (south of the equator)
CANOPY = 30


# --------------------------------------------------------------------------- data


def make_tile(
    folder: Path, size: int, layout: str, part: tuple[int, int] | None = None
) -> tuple[Path, Path]:
    """Write a Hansen-like treecover2000 / lossyear pair, block by block (bounded memory).

    ``part`` (row, col) places the tile in a mosaic of tiles of ``size`` pixels.
    """
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{size}_{layout}" + ("" if part is None else f"_r{part[0]}c{part[1]}")
    ox = X0 + (0 if part is None else part[1] * size * RES)
    oy = Y0 - (0 if part is None else part[0] * size * RES)
    tcp = folder / f"Hansen_GFC-2023-v1.11_treecover2000_00N_060W_{tag}.tif"
    lyp = folder / f"Hansen_GFC-2023-v1.11_lossyear_00N_060W_{tag}.tif"
    if tcp.exists() and lyp.exists():
        return tcp, lyp
    profile = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="uint8",
        nodata=255,
        crs="EPSG:4326",
        transform=from_origin(ox, oy, RES, RES),
        compress="lzw",
    )
    if layout == "tiled":
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    else:
        profile.update(tiled=False, blockysize=1)  # one row per strip, as Hansen's GeoTIFFs
    rng = np.random.default_rng(2013 if part is None else 2013 + 10 * part[0] + part[1])
    # smooth fields from a coarse lattice, so forest and loss come in patches
    coarse = 64
    n_c = size // coarse + 2
    cover_lat = rng.uniform(-40, 140, (n_c, n_c))
    loss_lat = rng.uniform(0, 1, (n_c, n_c))
    year_lat = rng.integers(1, 24, (n_c, n_c))
    band = 1024
    tmp_tc, tmp_ly = tcp.with_suffix(".part"), lyp.with_suffix(".part")
    with (
        rasterio.open(tmp_tc, "w", **profile) as dtc,
        rasterio.open(tmp_ly, "w", **profile) as dly,
    ):
        for r0 in range(0, size, band):
            h = min(band, size - r0)
            rows = (np.arange(r0, r0 + h) / coarse)[:, None]
            cols = (np.arange(size) / coarse)[None, :]
            ri, ci = rows.astype(int), cols.astype(int)
            fr, fc = rows - ri, cols - ci
            cover = (
                cover_lat[ri, ci] * (1 - fr) * (1 - fc)
                + cover_lat[ri + 1, ci] * fr * (1 - fc)
                + cover_lat[ri, ci + 1] * (1 - fr) * fc
                + cover_lat[ri + 1, ci + 1] * fr * fc
            )
            cover += rng.normal(0, 8, cover.shape)
            tc = np.clip(cover, 0, 100).astype("uint8")
            p = loss_lat[ri, ci] * 0.2
            lossm = rng.random(tc.shape) < p
            year = year_lat[ri, ci] + (rng.random(tc.shape) < 0.3)
            ly = np.where(lossm, np.minimum(year, 23), 0).astype("uint8")
            dtc.write(tc, 1, window=Window(0, r0, size, h))
            dly.write(ly, 1, window=Window(0, r0, size, h))
    tmp_tc.rename(tcp)
    tmp_ly.rename(lyp)
    return tcp, lyp


def make_zones(n: int, radius_km: float, size: int, seed: int = 1):
    """``n`` geodesic buffers around sites in clusters (about 100 sites per cluster, 2 km spread)."""
    import geopandas as gpd

    from asm_pace.geodesy import geodesic_circles

    rng = np.random.default_rng(seed)
    extent = size * RES
    margin = radius_km / 111.0 + 0.01
    n_clusters = max(1, n // 100)
    cx = rng.uniform(X0 + margin + 0.05, X0 + extent - margin - 0.05, n_clusters)
    cy = rng.uniform(Y0 - extent + margin + 0.05, Y0 - margin - 0.05, n_clusters)
    k = rng.integers(0, n_clusters, n)
    lon = np.clip(cx[k] + rng.normal(0, 0.02, n), X0 + margin, X0 + extent - margin)
    lat = np.clip(cy[k] + rng.normal(0, 0.02, n), Y0 - extent + margin, Y0 - margin)
    geoms = geodesic_circles(lon, lat, radius_km * 1000.0)
    return gpd.GeoDataFrame({"site": np.arange(n)}, geometry=geoms, crs=4326)


def make_parks(bounds, n: int = 200, seed: int = 2):
    """``n`` circular parks of 2-30 km radius centred in ``bounds`` (the buffers'), status
    years 1990-2020 (one in six unknown): the layer of the protection split
    (``forest_loss(protected_areas=)``)."""
    import geopandas as gpd
    import pandas as pd

    from asm_pace.geodesy import geodesic_circles

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    lon = rng.uniform(x0, x1, n)
    lat = rng.uniform(y0, y1, n)
    years = rng.integers(1990, 2021, n).astype(float)
    years[rng.random(n) < 1 / 6] = np.nan
    return gpd.GeoDataFrame(
        {"pa_id": [f"P{i}" for i in range(n)], "status_year": pd.array(years, dtype="Int64")},
        geometry=geodesic_circles(lon, lat, rng.uniform(2_000.0, 30_000.0, n)),
        crs=4326,
    )


# --------------------------------------------------------------------------- methods


def run_asm_pace(zones, tcp, lyp, coverage="exact", threads=None, parks=None):
    """``forest_loss``; ``threads=None`` is the default call (both cores in the main
    process: how issue 10's goal is measured, against the decode floor's wall time);
    ``parks``: the protection split by that ``pa_coverage`` rule, with :func:`make_parks`."""
    import inspect

    from asm_pace import forest_loss

    kw = {"coverage": coverage}
    if parks is not None:
        kw["protected_areas"] = make_parks(zones.total_bounds)
        if parks != "pieces":  # trees before pa_coverage= cut pieces, as "exact" does
            kw["pa_coverage"] = parks
    if "threads" in inspect.signature(forest_loss).parameters:  # not in trees before it
        if threads is not None:
            kw["threads"] = threads
    elif threads not in (1, None):
        raise SystemExit("this asm_pace has no forest_loss(threads=)")
    out = forest_loss(zones, treecover=tcp, lossyear=lyp, **kw)
    return out["forest_2000_ha"].to_numpy(), out["zone_area_ha"].to_numpy()


def run_decode_floor(zones, tcp, lyp):
    """Read (decode) every chunk of blocks the buffers touch once: the I/O floor.

    ``tcp`` and ``lyp`` may be lists of tiles (a mosaic): each tile's touched blocks.
    """
    import rasterio
    from rasterio.windows import Window

    tcs = tcp if isinstance(tcp, list) else [tcp]
    lys = lyp if isinstance(lyp, list) else [lyp]
    bounds = zones.bounds.to_numpy()
    for tpath, lpath in zip(tcs, lys, strict=True):
        with rasterio.open(tpath) as a, rasterio.open(lpath) as b:
            bh, bw = a.block_shapes[0]
            if bw >= a.width:  # strips: read each touched band of rows once, full width
                bh, bw = 256, a.width
            inv = ~a.transform
            c0, r0 = inv * (bounds[:, 0], bounds[:, 3])
            c1, r1 = inv * (bounds[:, 2], bounds[:, 1])
            inside = (c1 > 0) & (r1 > 0) & (c0 < a.width) & (r0 < a.height)
            seen = set()
            for x0, y0, x1, y1 in zip(
                *(
                    np.clip(v[inside], 0, lim - 1)
                    for v, lim in ((c0, a.width), (r0, a.height), (c1, a.width), (r1, a.height))
                ),
                strict=True,
            ):
                for br in range(int(y0) // bh, int(y1) // bh + 1):
                    for bc in range(int(x0) // bw, int(x1) // bw + 1):
                        seen.add((br, bc))
            full = Window(0, 0, a.width, a.height)
            for br, bc in sorted(seen):
                win = Window(bc * bw, br * bh, bw, bh).intersection(full)
                a.read(1, window=win)
                b.read(1, window=win)
    return None, None


def _row_area(lat_top, lat_bot):
    from pyproj import CRS

    from asm_pace._raster import Grid, row_areas

    g = Grid(CRS.from_epsg(4326), X0, Y0, RES, -RES)
    rows = np.round((Y0 - np.asarray(lat_top)) / RES)
    return row_areas(g, rows)


def run_numpy(zones, tcp, lyp):
    """The plain approach: windowed read + geometry_mask + bincount, centre rule."""
    import rasterio
    from rasterio.features import geometry_mask
    from rasterio.windows import from_bounds

    forest = np.zeros(len(zones))
    with rasterio.open(tcp) as a, rasterio.open(lyp) as b:
        for i, g in enumerate(zones.geometry):
            win = from_bounds(*g.bounds, a.transform).round_offsets().round_lengths()
            win = win.intersection(rasterio.windows.Window(0, 0, a.width, a.height))
            tc = a.read(1, window=win)
            ly = b.read(1, window=win)
            t = a.window_transform(win)
            inside = ~geometry_mask([g], tc.shape, t, all_touched=False)
            lat_top = t.f + np.arange(tc.shape[0]) * t.e
            area = _row_area(lat_top, lat_top + t.e)
            code = np.where((tc > CANOPY) & (tc != 255), 1 + ly.astype(np.int64), 0)
            w = np.broadcast_to(area[:, None], tc.shape)[inside]
            sums = np.bincount(code[inside], weights=w, minlength=25)
            forest[i] = sums[1:].sum() / 1e4
    return forest, None


def run_exactextract(zones, tcp, lyp):
    """exactextract coverage fractions, forest 2000 with numpy per zone.

    Only forest 2000 (loss by year would need the loss raster's values too): this
    favours exactextract in the timing.
    """
    import rasterio
    from exactextract import exact_extract

    forest = np.zeros(len(zones))
    with rasterio.open(lyp) as b:
        width = b.width
    # in batches: exactextract returns every zone's cells at once
    for s in range(0, len(zones), 250):
        part = zones.iloc[s : s + 250]
        ee = exact_extract(str(tcp), part, ["cell_id", "coverage", "values"], output="pandas")
        for j, (_, row) in enumerate(ee.iterrows()):
            i = s + j
            cells = np.asarray(row["cell_id"], dtype=np.int64)
            frac = np.asarray(row["coverage"])
            tc = np.asarray(row["values"])
            r = cells // width
            area = _row_area(Y0 - r * RES, Y0 - (r + 1) * RES)
            f = (tc > CANOPY) & (tc != 255)
            forest[i] = (frac * area * f).sum() / 1e4
    return forest, None


def run_rasterstats(zones, tcp, lyp):
    from rasterstats import zonal_stats

    zs = zonal_stats(zones, str(lyp), categorical=True, nodata=255)
    count = np.array([sum(z.values()) for z in zs], dtype=float)
    return None, count


METHODS = {
    "asm_pace": lambda z, t, lp: run_asm_pace(z, t, lp, threads=1),
    "asm_pace_center": lambda z, t, lp: run_asm_pace(z, t, lp, "center", threads=1),
    "asm_pace_2t": lambda z, t, lp: run_asm_pace(z, t, lp, threads=2),
    # the default call: threads=None (both cores in the main process)
    "asm_pace_default": lambda z, t, lp: run_asm_pace(z, t, lp, threads=None),
    # the loss split inside and outside make_parks' parks, one thread, by each rule
    "asm_pace_parks_center": lambda z, t, lp: run_asm_pace(z, t, lp, threads=1, parks="center"),
    "asm_pace_parks_exact": lambda z, t, lp: run_asm_pace(z, t, lp, threads=1, parks="exact"),
    "decode_floor": run_decode_floor,
    "numpy": run_numpy,
    "exactextract": run_exactextract,
    "rasterstats": run_rasterstats,
}


def worker(args) -> None:
    zones = make_zones(args.n, args.radius, args.size)
    tc = [Path(x) for x in args.tc.split(",")]
    ly = [Path(x) for x in args.ly.split(",")]
    if len(tc) == 1:
        tc, ly = tc[0], ly[0]
    t0 = time.perf_counter()
    c0 = time.process_time()
    forest, extra = METHODS[args.worker](zones, tc, ly)
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0  # every thread's
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    json.dump(
        {
            "seconds": dt,
            "cpu": cpu,
            "peak_mb": rss,
            "forest": None if forest is None else forest.tolist(),
            "extra": None if extra is None else np.asarray(extra).tolist(),
        },
        sys.stdout,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", type=int, default=10000, help="tile width/height in pixels")
    p.add_argument("--buffers", default="100,1000", help="numbers of buffers, comma separated")
    p.add_argument("--zones", help="the same as --buffers (overrides it)")
    p.add_argument(
        "--clustered",
        action="store_true",
        help="issue 10's setting: a 2 x 2 mosaic of --size tiles, only asm_pace and the "
        "decode floor (unless --methods), ratio to the floor printed",
    )
    p.add_argument("--radii", default="1,5", help="buffer radii in km, comma separated")
    p.add_argument("--layouts", default="tiled", help="tiled,strips")
    p.add_argument(
        "--methods",
        default="asm_pace,asm_pace_center,decode_floor,numpy,exactextract,rasterstats",
    )
    p.add_argument(
        "--max-slow",
        type=int,
        default=1000,
        help="skip exactextract/rasterstats above this many buffers (they take minutes)",
    )
    p.add_argument(
        "--data",
        default=str(Path(tempfile.gettempdir()) / "asm_pace_bench"),
        help="folder for the generated tiles (kept for reuse)",
    )
    p.add_argument(
        "--base",
        help="the src folder of another asm_pace tree (e.g. a git worktree of an older "
        "commit): its asm_pace methods run too, interleaved, as <method>@base",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every method this many times, interleaved (round after round), and "
        "report each one's run of median wall time (a shared machine's noise)",
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--tc", help=argparse.SUPPRESS)
    p.add_argument("--ly", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--radius", type=float, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    if args.zones:
        args.buffers = args.zones
    methods = args.methods.split(",")
    size = args.size
    if args.clustered:
        if "--methods" not in sys.argv:
            # the default call (issue 10's goal is measured on it) and one thread
            methods = ["asm_pace", "asm_pace_default", "asm_pace_center", "decode_floor"]
        size = 2 * args.size
        print(f"2 x 2 mosaic of {args.size} x {args.size} tiles, cells {RES} deg")
    else:
        print(f"tile {args.size} x {args.size}, cells {RES} deg, one thread per method")
    for layout in args.layouts.split(","):
        t0 = time.perf_counter()
        if args.clustered:
            folder = Path(args.data) / f"mosaic_{args.size}_{layout}"
            pairs = [make_tile(folder, args.size, layout, (i, j)) for i in (0, 1) for j in (0, 1)]
            tcp = ",".join(str(a) for a, _ in pairs)
            lyp = ",".join(str(b) for _, b in pairs)
            name = folder.name
        else:
            tcp, lyp = make_tile(Path(args.data), args.size, layout)
            name = tcp.name
        print(f"\n== {layout} ({name}, made/found in {time.perf_counter() - t0:.0f} s)")
        for n in (int(x) for x in args.buffers.split(",")):
            for radius in (float(x) for x in args.radii.split(",")):
                res = {}
                runs = []
                for m in methods:
                    if m in ("exactextract", "rasterstats") and n > args.max_slow:
                        continue
                    if args.base and m.startswith("asm_pace"):
                        runs.append((m, f"{m}@base"))
                    runs.append((m, m))
                every: dict[str, list] = {}
                for m, label in runs * args.repeat:
                    env = dict(os.environ)
                    if label.endswith("@base"):
                        env["PYTHONPATH"] = os.pathsep.join(
                            [args.base, *filter(None, [env.get("PYTHONPATH")])]
                        )
                    cmd = [
                        sys.executable,
                        __file__,
                        "--worker",
                        m,
                        "--tc",
                        str(tcp),
                        "--ly",
                        str(lyp),
                        "--n",
                        str(n),
                        "--radius",
                        str(radius),
                        "--size",
                        str(size),
                    ]
                    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
                    if done.returncode:
                        print(f"  {label} failed:\n{done.stderr[-2000:]}")
                        continue
                    every.setdefault(label, []).append(json.loads(done.stdout))
                rounds = {label: [r["seconds"] for r in done] for label, done in every.items()}
                for label, done_runs in every.items():  # the run of median wall time
                    done_runs.sort(key=lambda r: r["seconds"])
                    res[label] = done_runs[(len(done_runs) - 1) // 2]
                report(n, radius, res, size)
                report_rounds(rounds)


def report_rounds(rounds: dict[str, list[float]]) -> None:
    """Each asm_pace method's wall time over the decode floor's in the same round (the
    runs of a round follow one another): the spread behind the median's ratio."""
    floor = rounds.get("decode_floor")
    if not floor or len(floor) < 2:
        return
    for label, secs in rounds.items():
        if label.startswith("asm_pace") and len(secs) == len(floor):
            r = sorted(a / b for a, b in zip(secs, floor, strict=True))
            print(
                f"  {label} / decode floor, round by round: {r[0]:.2f}x-{r[-1]:.2f}x "
                f"(median {r[(len(r) - 1) // 2]:.2f}x, {len(r)} rounds)"
            )


def report(n: int, radius: float, res: dict, size: int) -> None:
    print(f"\n{n} buffers of {radius:g} km")
    base = res.get("asm_pace")
    ref = np.asarray(base["forest"]) if base else None
    area = None
    print(
        f"  {'method':<20} {'seconds':>9} {'CPU s':>7} {'x asm_pace':>11} {'peak MB':>8}  agreement"
    )
    for m, r in res.items():
        ratio = r["seconds"] / base["seconds"] if base else float("nan")
        agree = ""
        if ref is not None and r["forest"] is not None and m != "asm_pace":
            agree = "forest 2000 differs by max {:.2e}, mean {:.2e} of zone area"
            f = np.asarray(r["forest"])
            if area is None:
                from asm_pace.geodesy import geodesic_area

                zones = make_zones(n, radius, size)
                area = geodesic_area(np.asarray(zones.geometry.values)) / 1e4
            d = np.abs(f - ref) / area
            agree = agree.format(d.max(), d.mean())
        if m == "rasterstats" and base:
            agree = "(loss-year pixel counts only)"
        cpu = r.get("cpu", float("nan"))
        print(
            f"  {m:<20} {r['seconds']:>9.3f} {cpu:>7.2f} {ratio:>11.2f} {r['peak_mb']:>8.0f}"
            f"  {agree}"
        )
    floor = res.get("decode_floor")
    if floor:
        for m in res:
            if m.startswith("asm_pace"):
                ratio = res[m]["seconds"] / floor["seconds"]
                cpu = res[m].get("cpu", float("nan")) / floor.get("cpu", float("nan"))
                print(f"  {m} / decode floor: {ratio:.2f}x (CPU {cpu:.2f}x)")


if __name__ == "__main__":
    main()
