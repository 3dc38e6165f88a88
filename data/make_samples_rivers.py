"""The sample river network (``data/samples/rivers.gpkg``) in the HydroRIVERS schema.

SYNTHETIC, like every sample: the four rivers of the fictional district
(``make_samples.make_rivers``) cut into reaches of about 5 km, numbered and linked as
HydroRIVERS v1.0 links its reaches (``HYRIV_ID``, ``NEXT_DOWN`` 0 at an outlet), with:

- confluences (Rio Beta, Gamma and Delta end on Rio Alfa; Alfa is split there);
- a braid: a side channel of Rio Alfa leaving and rejoining it (the channel it leaves
  names the main channel as its NEXT_DOWN; the side channel flows into the reach below);
- an outlet: a short creek in the north-east ending in a lake (NEXT_DOWN 0);
- a network cut by the sample extent: Rio Alfa's last reach names a next reach
  (``TRUNCATED_NEXT``) that is not in the file, as when HydroRIVERS is clipped to a box.

Called from ``make_samples.main`` (``write_rivers(out_dir, world)``); deterministic.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Geod
from shapely.ops import substring

GEOD = Geod(ellps="WGS84")
#: HydroRIVERS numbers South American reaches from 60000001.
FIRST_ID = 60_000_001
#: The next reach of Rio Alfa's last reach: beyond the sample extent, not in the file.
TRUNCATED_NEXT = 60_999_999
#: About this long, each reach (km).
REACH_KM = 5.0
#: The GeoPackage timestamp (as make_samples.FIXED_DATE), so two runs give the same bytes.
FIXED_DATE = "2024-01-01T00:00:00Z"
#: Rio Alfa's braid: the side channel runs between these shares of its length.
BRAID = (0.80, 0.86)


def _km(line: shapely.LineString) -> float:
    return float(GEOD.geometry_length(line)) / 1000.0


def _cuts(line: shapely.LineString, fixed: list[float]) -> list[float]:
    """Shares of ``line`` where reaches end: ``fixed`` ones plus regular ones ~REACH_KM apart."""
    n = max(1, round(_km(line) / REACH_KM))
    regular = [i / n for i in range(1, n)]
    cuts = sorted(set([0.0, 1.0, *fixed]))
    for r in regular:
        if min(abs(r - c) for c in cuts) > 0.3 / n:
            cuts.append(r)
    return sorted(cuts)


def _pieces(line: shapely.LineString, cuts: list[float]) -> list[shapely.LineString]:
    return [substring(line, a, b, normalized=True) for a, b in itertools.pairwise(cuts)]


def build_rivers(rivers: dict[str, shapely.LineString]) -> pd.DataFrame:
    """The reaches, in the HydroRIVERS schema (without geometry column order)."""
    alfa = rivers["Rio Alfa"]
    tribs = ["Rio Beta", "Rio Gamma", "Rio Delta"]
    # where each tributary meets Alfa (its last point lies on Alfa)
    joins = {
        t: float(alfa.project(shapely.Point(rivers[t].coords[-1]), normalized=True)) for t in tribs
    }
    alfa_cuts = _cuts(alfa, [*joins.values(), *BRAID])
    alfa_parts = _pieces(alfa, alfa_cuts)
    rows: list[dict] = []
    next_id = FIRST_ID

    def new(geom, river):
        nonlocal next_id
        rows.append({"HYRIV_ID": next_id, "NEXT_DOWN": 0, "river": river, "geometry": geom})
        next_id += 1
        return rows[-1]

    alfa_rows = [new(g, "Rio Alfa") for g in alfa_parts]
    for a, b in itertools.pairwise(alfa_rows):
        a["NEXT_DOWN"] = b["HYRIV_ID"]
    alfa_rows[-1]["NEXT_DOWN"] = TRUNCATED_NEXT  # the river runs on past the extent
    starts = alfa_cuts[:-1]
    for t in tribs:
        parts = _pieces(rivers[t], _cuts(rivers[t], []))
        trib_rows = [new(g, t) for g in parts]
        for a, b in itertools.pairwise(trib_rows):
            a["NEXT_DOWN"] = b["HYRIV_ID"]
        below = alfa_rows[starts.index(joins[t])]  # the Alfa reach starting at the confluence
        trib_rows[-1]["NEXT_DOWN"] = below["HYRIV_ID"]
    # the braid: a side channel from BRAID[0] to BRAID[1], bowed north of the main channel
    p0 = alfa.interpolate(BRAID[0], normalized=True)
    p1 = alfa.interpolate(BRAID[1], normalized=True)
    mid = alfa.interpolate(sum(BRAID) / 2, normalized=True)
    side = shapely.LineString(
        np.round(
            [
                p0.coords[0],
                (mid.x - 0.004, mid.y + 0.012),
                (mid.x + 0.006, mid.y + 0.011),
                p1.coords[0],
            ],
            6,
        )
    )
    below_braid = alfa_rows[starts.index(BRAID[1])]
    new(side, "Rio Alfa (side channel)")["NEXT_DOWN"] = below_braid["HYRIV_ID"]
    # an outlet: a creek in the north-east ending in a lake
    creek = shapely.LineString([(-70.10, -12.47), (-70.08, -12.49), (-70.05, -12.50)])
    creek_rows = [new(g, "Quebrada Sigma") for g in _pieces(creek, [0.0, 0.5, 1.0])]
    creek_rows[0]["NEXT_DOWN"] = creek_rows[1]["HYRIV_ID"]

    frame = pd.DataFrame(rows)
    frame["geometry"] = [
        shapely.LineString(np.round(shapely.get_coordinates(g), 6)) for g in frame["geometry"]
    ]
    frame["LENGTH_KM"] = [round(_km(g), 2) for g in frame["geometry"]]
    ids = frame["HYRIV_ID"].tolist()
    nxt = dict(zip(ids, frame["NEXT_DOWN"], strict=True))
    length = dict(zip(ids, frame["LENGTH_KM"], strict=True))

    def down(i: int) -> float:  # distance from the reach's lower end to the last reach's end
        total, j = 0.0, nxt[i]
        while j in length:
            total += length[j]
            j = nxt[j]
        return round(total, 2)

    upstream: dict[int, float] = dict.fromkeys(ids, 0.0)
    for i in ids:  # every reach adds its length to each reach below it
        j = i
        while j in length:
            upstream[j] += length[i]
            j = nxt[j]
    main = {}
    for i in ids:
        j = i
        while nxt[j] in length:
            j = nxt[j]
        main[i] = j
    frame["MAIN_RIV"] = [main[i] for i in ids]
    frame["DIST_DN_KM"] = [down(i) for i in ids]
    frame["DIST_UP_KM"] = [round(upstream[i], 2) for i in ids]
    frame["ENDORHEIC"] = 0
    # discharge grows with the river length above (a synthetic 1.8 m3/s per km of river)
    frame["DIS_AV_CMS"] = (1.8 * frame["DIST_UP_KM"]).round(3)
    frame["ORD_STRA"] = np.where(frame["river"].str.startswith("Rio Alfa"), 3, 2)
    frame.loc[frame["river"] == "Quebrada Sigma", "ORD_STRA"] = 1
    cols = ["HYRIV_ID", "NEXT_DOWN", "MAIN_RIV", "LENGTH_KM", "DIST_DN_KM", "DIST_UP_KM",
            "ENDORHEIC", "DIS_AV_CMS", "ORD_STRA", "geometry"]  # fmt: skip
    ints = dict.fromkeys(["HYRIV_ID", "NEXT_DOWN", "MAIN_RIV", "ENDORHEIC", "ORD_STRA"], "int32")
    return frame[cols].astype(ints)


def write_rivers(out_dir: Path, world) -> Path:
    """Write ``rivers.gpkg`` (layer ``rivers``) into ``out_dir``; return its path."""
    import geopandas as gpd

    path = Path(out_dir) / "rivers.gpkg"
    path.unlink(missing_ok=True)
    frame = build_rivers(world.rivers)
    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})  # byte-identical runs
    try:
        pyogrio.write_dataframe(
            gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326"),
            path,
            layer="rivers",
            driver="GPKG",
            geometry_type="LineString",
        )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})
    return path
