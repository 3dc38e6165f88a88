"""Geodesic buffers: asm_pace.buffers against the usual recipes, time and worst error side by side.

Methods (every one builds ``n_vertices``-gons for every site and radius):

- ``asm_pace.buffers``: the library (numpy direct-geodesic formula, GeoDataFrame out);
- ``Geod.fwd``: vectorised :meth:`pyproj.Geod.fwd` (Karney, exact) + ``shapely.polygons``;
- ``per-site AEQD``: the usual recipe, a pyproj azimuthal equidistant CRS centred on each
  site, ``shapely.buffer`` in metres, back to EPSG:4326; run on ``--aeqd-sample`` sites and
  extrapolated linearly (marked ``*``);
- ``equal-area CRS``: one global equal-area CRS (EPSG:6933), buffer in metres, back.

Errors are measured on ``--check`` random polygons of each method against pyproj.Geod:
radius error = worst ``|d / r - 1|`` over vertices (``d`` = Geod.inv distance from the site);
area error = worst ``|A / A_circle - 1|`` (``A`` by Geod.geometry_area_perimeter,
``A_circle`` of a 4096-gon from Geod.fwd). An inscribed n-gon is short of the circle's area
by ``1 - sin(x) / x``, ``x = 2 pi / n`` (0.16 % at 64), whatever the method.

A second table times :func:`asm_pace.geodesy.geodesic_area` against a loop of
``Geod.geometry_area_perimeter`` on the buffers.

Run::

    .venv/bin/python benchmarks/bench_buffers.py --sites 2000
    .venv/bin/python benchmarks/bench_buffers.py --sites 100000   # the issue's size
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

import asm_pace
from asm_pace.geodesy import geodesic_area

GEOD = Geod(ellps="WGS84")


def make_sites(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-180.0, 180.0, n)
    lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-85.0)), np.sin(np.radians(85.0)), n)))
    return gpd.GeoDataFrame(
        {"site_id": [f"S{i:06d}" for i in range(n)]},
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )


def timed(fn):
    """Result, and the CPU time of this process (wall-clock time is noisy on a shared machine;
    every method here is single-threaded, so on an idle machine the two agree)."""
    t = time.process_time()
    out = fn()
    return out, time.process_time() - t


def by_geod_fwd(lon, lat, radii_m, n):
    m = lon.size
    k = radii_m.size
    az = -360.0 * np.arange(n) / n
    lo, la, _ = GEOD.fwd(
        np.repeat(lon, k * n),
        np.repeat(lat, k * n),
        np.tile(az, m * k),
        np.tile(np.repeat(radii_m, n), m),
    )
    lo = lo.reshape(m * k, n)
    la = la.reshape(m * k, n)
    c = np.repeat(lon, k)[:, None]
    lo = c + ((lo - c + 180.0) % 360.0 - 180.0)
    ring = np.stack([lo, la], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return shapely.polygons(shapely.linearrings(ring))


def by_aeqd(lon, lat, radii_m, n):
    out = []
    for x, y in zip(lon, lat, strict=True):
        crs = CRS.from_proj4(f"+proj=aeqd +lat_0={y} +lon_0={x} +ellps=WGS84 +units=m")
        fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        px, py = fwd.transform(x, y)
        for r in radii_m:
            poly = shapely.buffer(shapely.Point(px, py), r, quad_segs=n // 4)
            out.append(shapely.transform(poly, lambda c, t=inv: np.column_stack(t.transform(*c.T))))
    return np.array(out, dtype=object)


def by_equal_area(sites, radii_m, n):
    ea = sites.to_crs("EPSG:6933")
    geoms = np.asarray(ea.geometry.values, dtype=object)
    k = radii_m.size
    buf = shapely.buffer(np.repeat(geoms, k), np.tile(radii_m, len(geoms)), quad_segs=n // 4)
    return np.asarray(gpd.GeoSeries(buf, crs="EPSG:6933").to_crs("EPSG:4326").values, dtype=object)


def errors(polys, lon, lat, radius, sample):
    """Worst radius and area error (relative) over the sampled polygons."""
    worst_r = worst_a = 0.0
    cache: dict[tuple[float, float, float], float] = {}
    for i in sample:
        g = polys[i]
        xy = shapely.get_coordinates(g)
        xy = xy[np.abs(xy[:, 0]) < 180.0]
        d = GEOD.inv(np.full(len(xy), lon[i]), np.full(len(xy), lat[i]), xy[:, 0], xy[:, 1])[2]
        worst_r = max(worst_r, float(np.abs(d / radius[i] - 1.0).max()))
        key = (lon[i], lat[i], radius[i])
        if key not in cache:
            az = np.linspace(0.0, 360.0, 4096, endpoint=False)
            lo, la, _ = GEOD.fwd(
                np.full(4096, lon[i]), np.full(4096, lat[i]), az, np.full(4096, radius[i])
            )
            lo = lon[i] + ((lo - lon[i] + 180.0) % 360.0 - 180.0)
            cache[key] = abs(GEOD.polygon_area_perimeter(lo, la)[0])
        area = abs(GEOD.geometry_area_perimeter(g)[0])
        worst_a = max(worst_a, abs(area / cache[key] - 1.0))
    return worst_r, worst_a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000, help="number of random sites")
    parser.add_argument("--radii", default="1,10,50", help="radii in km, comma-separated")
    parser.add_argument("--n-vertices", type=int, default=64)
    parser.add_argument("--aeqd-sample", type=int, default=200, help="sites for per-site AEQD")
    parser.add_argument("--check", type=int, default=300, help="polygons checked for errors")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    radii_km = np.array([float(r) for r in args.radii.split(",")])
    radii_m = radii_km * 1000.0
    n = args.n_vertices
    sites = make_sites(args.sites, args.seed)
    lon, lat = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
    k = radii_m.size
    n_polys = args.sites * k
    rep_lon, rep_lat = np.repeat(lon, k), np.repeat(lat, k)
    rep_r = np.tile(radii_m, args.sites)
    rng = np.random.default_rng(args.seed + 1)
    sample = rng.choice(n_polys, size=min(args.check, n_polys), replace=False)
    print(
        f"{args.sites} sites x {k} radii ({args.radii} km) = {n_polys} polygons, "
        f"{n} vertices each; sites uniform on the sphere between 85 S and 85 N"
    )

    rows = []
    asm_pace.buffers(sites.iloc[:10], radii_km, n_vertices=n)  # warm-up (imports)
    out, t = timed(lambda: asm_pace.buffers(sites, radii_km, n_vertices=n))
    polys = np.asarray(out.geometry.values, dtype=object)
    rows.append(("asm_pace.buffers", t, False, *errors(polys, rep_lon, rep_lat, rep_r, sample)))

    polys, t = timed(lambda: by_geod_fwd(lon, lat, radii_m, n))
    rows.append(
        ("Geod.fwd (vectorised)", t, False, *errors(polys, rep_lon, rep_lat, rep_r, sample))
    )

    m = min(args.aeqd_sample, args.sites)
    polys, t = timed(lambda: by_aeqd(lon[:m], lat[:m], radii_m, n))
    sub = np.arange(m * k)[: min(args.check, m * k)]
    rows.append(
        ("per-site AEQD", t * args.sites / m, True, *errors(polys, rep_lon, rep_lat, rep_r, sub))
    )

    polys, t = timed(lambda: by_equal_area(sites, radii_m, n))
    rows.append(
        ("equal-area CRS (6933)", t, False, *errors(polys, rep_lon, rep_lat, rep_r, sample))
    )

    base = rows[0][1]
    print(f"\n{'method':<24}{'CPU s':>10}{'x asm_pace':>12}{'radius err %':>14}{'area err %':>12}")
    for name, t, extrapolated, er, ea in rows:
        mark = "*" if extrapolated else " "
        print(f"{name:<24}{t:>9.3f}{mark}{t / base:>12.1f}{er * 100:>14.5f}{ea * 100:>12.4f}")
    print(f"(* extrapolated from {m} sites)")
    x = 2 * np.pi / n
    print(f"inscribed {n}-gon area deficit, any exact method: {(1 - np.sin(x) / x) * 100:.4f} %")

    # -- areas ---------------------------------------------------------------------------------
    polys = np.asarray(out.geometry.values, dtype=object)
    areas, t_fast = timed(lambda: geodesic_area(polys))
    sub = polys[sample]
    ref, t_geod = timed(lambda: np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in sub]))
    t_geod_all = t_geod * len(polys) / len(sub)
    worst = float(np.abs(areas[sample] / ref - 1.0).max())
    print(f"\n{'areas':<34}{'CPU s':>10}{'x fast':>10}{'worst rel. diff':>18}")
    print(f"{'asm_pace.geodesy.geodesic_area':<34}{t_fast:>10.3f}{1.0:>10.1f}{worst:>18.2e}")
    print(
        f"{'Geod.geometry_area_perimeter loop':<34}{t_geod_all:>9.3f}*{t_geod_all / t_fast:>10.1f}{0:>18.2e}"
    )
    print(f"(* extrapolated from {len(sub)} polygons)")


if __name__ == "__main__":
    main()
