"""Generate the bundled sample data set in ``data/samples/``.

Everything here is SYNTHETIC: a fictional mining district in the south-western
Amazon (around lon -70.6..-70.0, lat -13.0..-12.5, like Madre de Dios, Peru),
with fictional protected areas (WDPAIDs in the 900000 range), ecoregions,
priority landscapes, ASM sites and Hansen-style forest rasters. The files use
the real schemas (WDPA, WWF TEOW, Hansen GFC) and their real awkwardness; see
``data/samples/README.md``.

Run ``.venv/bin/python data/make_samples.py [OUT_DIR]`` (default
``data/samples``). The output is deterministic: a fixed seed, a fixed
GeoPackage timestamp (``OGR_CURRENT_DATE``) and no time tags in the GeoTIFFs
make two runs byte-identical.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from pyproj import Geod
from rasterio.features import rasterize
from rasterio.transform import from_origin
from scipy import ndimage

SEED = 20240607
DEFAULT_OUT = Path(__file__).resolve().parent / "samples"
GEOD = Geod(ellps="WGS84")
FIXED_DATE = "2024-01-01T00:00:00Z"

#: Raster grid: 0.00025 degree pixels, origin on the 0.00025 grid.
RES = 0.00025
RASTER_WEST, RASTER_NORTH = -70.64, -12.47
RASTER_WIDTH, RASTER_HEIGHT = 2480, 2160  # 0.62 x 0.54 degrees
NODATA = 255

#: Extent covered by the ecoregion layer (a coverage of the whole sample area).
ECO_BOX = (-70.80, -13.20, -69.80, -12.30)


# --------------------------------------------------------------------------------------
# geometry helpers
# --------------------------------------------------------------------------------------
def blob(
    rng: np.random.Generator,
    cx: float,
    cy: float,
    rx: float,
    ry: float | None = None,
    *,
    n: int = 48,
    rough: float = 0.18,
    rot: float = 0.0,
) -> shapely.Polygon:
    """An irregular star-shaped (hence simple, valid) polygon around (cx, cy)."""
    ry = rx if ry is None else ry
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        amp = rough * rng.uniform(0.3, 1.0) / (k - 1) ** 0.8
        r += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.45, None)
    x = r * rx * np.cos(theta)
    y = r * ry * np.sin(theta)
    c, s = np.cos(rot), np.sin(rot)
    xs = cx + c * x - s * y
    ys = cy + s * x + c * y
    return shapely.Polygon(np.round(np.column_stack([xs, ys]), 6))


def wavy_line(
    rng: np.random.Generator,
    pts: list[tuple[float, float]],
    *,
    n: int = 160,
    amp: float = 0.012,
    wavelength: float = 0.08,
) -> shapely.LineString:
    """A meandering polyline through the control points ``pts``."""
    base = shapely.LineString(pts)
    d = np.linspace(0.0, base.length, n)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(base, d))
    # local direction and normal
    dxy = np.gradient(xy, axis=0)
    dxy /= np.hypot(dxy[:, 0], dxy[:, 1])[:, None]
    normal = np.column_stack([-dxy[:, 1], dxy[:, 0]])
    phase = rng.uniform(0, 2 * np.pi, 2)
    off = amp * np.sin(2 * np.pi * d / wavelength + phase[0]) + 0.35 * amp * np.sin(
        2 * np.pi * d / (0.37 * wavelength) + phase[1]
    )
    off[0] = off[-1] = 0.0  # keep the end points (confluences) exact
    return shapely.LineString(np.round(xy + normal * off[:, None], 6))


def geodesic_area_km2(geom) -> float:
    """Geodesic area in km2 (pyproj.Geod); fixes an invalid ring with make_valid first."""
    geom = shapely.make_valid(geom)
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def as_multi(geom) -> shapely.MultiPolygon:
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    return shapely.MultiPolygon([geom])


# --------------------------------------------------------------------------------------
# the fictional landscape
# --------------------------------------------------------------------------------------
@dataclass
class World:
    rivers: dict[str, shapely.LineString]
    pa_polygons: pd.DataFrame
    pa_points: pd.DataFrame
    ecoregions: pd.DataFrame
    landscapes: pd.DataFrame
    sites: pd.DataFrame


def make_rivers(rng: np.random.Generator) -> dict[str, shapely.LineString]:
    alfa = wavy_line(
        rng,
        [(-70.64, -12.74), (-70.45, -12.70), (-70.30, -12.69), (-70.12, -12.62), (-69.96, -12.60)],
        n=260,
        amp=0.014,
    )
    # tributaries end exactly on the main river (a confluence)
    conf_beta = shapely.get_coordinates(shapely.line_interpolate_point(alfa, 0.36))[0]
    conf_gamma = shapely.get_coordinates(shapely.line_interpolate_point(alfa, 0.52))[0]
    conf_delta = shapely.get_coordinates(shapely.line_interpolate_point(alfa, 0.22))[0]
    beta = wavy_line(
        rng,
        [(-70.50, -13.04), (-70.42, -12.90), (-70.36, -12.80), tuple(conf_beta)],
        n=200,
        amp=0.010,
        wavelength=0.06,
    )
    gamma = wavy_line(
        rng,
        [(-70.16, -13.04), (-70.19, -12.90), (-70.17, -12.76), tuple(conf_gamma)],
        n=200,
        amp=0.009,
        wavelength=0.06,
    )
    delta = wavy_line(
        rng,
        [(-70.58, -12.46), (-70.52, -12.55), tuple(conf_delta)],
        n=120,
        amp=0.006,
        wavelength=0.05,
    )
    return {"Rio Alfa": alfa, "Rio Beta": beta, "Rio Gamma": gamma, "Rio Delta": delta}


def point_on(line: shapely.LineString, frac: float) -> tuple[float, float]:
    p = shapely.line_interpolate_point(line, frac, normalized=True)
    return float(p.x), float(p.y)


_WDPA_COLUMNS = [
    "WDPAID",
    "WDPA_PID",
    "PA_DEF",
    "NAME",
    "ORIG_NAME",
    "DESIG",
    "DESIG_ENG",
    "DESIG_TYPE",
    "IUCN_CAT",
    "INT_CRIT",
    "MARINE",
    "REP_M_AREA",
    "GIS_M_AREA",
    "REP_AREA",
    "GIS_AREA",
    "NO_TAKE",
    "NO_TK_AREA",
    "STATUS",
    "STATUS_YR",
    "GOV_TYPE",
    "OWN_TYPE",
    "MANG_AUTH",
    "MANG_PLAN",
    "VERIF",
    "METADATAID",
    "SUB_LOC",
    "PARENT_ISO",
    "ISO3",
]
#: 32-bit integer fields of the WDPA (the rest are text or double).
_WDPA_INT32 = {"STATUS_YR": "int32", "METADATAID": "int32"}
#: The WDPA point layer has no GIS_* columns (nothing to measure on a point).
_WDPA_POINT_COLUMNS = [c for c in _WDPA_COLUMNS if c not in ("GIS_M_AREA", "GIS_AREA")]


def _pa_record(wdpaid: int, pid: str, name: str, orig: str, desig: str, desig_eng: str, **kw):
    rec = {
        "WDPAID": float(wdpaid),
        "WDPA_PID": pid,
        "PA_DEF": "1",
        "NAME": name,
        "ORIG_NAME": orig,
        "DESIG": desig,
        "DESIG_ENG": desig_eng,
        "DESIG_TYPE": "National",
        "IUCN_CAT": "Not Reported",
        "INT_CRIT": "Not Applicable",
        "MARINE": "0",
        "REP_M_AREA": 0.0,
        "GIS_M_AREA": 0.0,
        "REP_AREA": 0.0,
        "GIS_AREA": 0.0,
        "NO_TAKE": "Not Applicable",
        "NO_TK_AREA": 0.0,
        "STATUS": "Designated",
        "STATUS_YR": 2000,
        "GOV_TYPE": "Federal or national ministry or agency",
        "OWN_TYPE": "State",
        "MANG_AUTH": "Servicio Nacional de Areas Naturales Protegidas (ficticio)",
        "MANG_PLAN": "Not Reported",
        "VERIF": "State Verified",
        "METADATAID": 99001,
        "SUB_LOC": "PE-MDD",
        "PARENT_ISO": "PER",
        "ISO3": "PER",
    }
    rec.update(kw)
    return rec


def make_protected_areas(
    rng: np.random.Generator, rivers: dict[str, shapely.LineString]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    beta, gamma, alfa = rivers["Rio Beta"], rivers["Rio Gamma"], rivers["Rio Alfa"]
    recs, geoms = [], []

    def add(geom, **rec):
        recs.append(_pa_record(**rec))
        geoms.append(geom)

    # 1. National park over the upper Rio Beta; one vertex is placed exactly on a site
    park = blob(rng, -70.47, -12.905, 0.075, 0.06, n=56, rough=0.16)
    add(
        park,
        wdpaid=900001,
        pid="900001",
        name="Alpha National Park",
        orig="Parque Nacional Alfa",
        desig="Parque Nacional",
        desig_eng="National Park",
        IUCN_CAT="II",
        STATUS_YR=1990,
    )
    # 2. Forest reserve overlapping the park's eastern side
    add(
        blob(rng, -70.385, -12.86, 0.05, 0.04, n=44, rough=0.2),
        wdpaid=900002,
        pid="900002",
        name="Beta Forest Reserve",
        orig="Bosque de Proteccion Beta",
        desig="Bosque de Proteccion",
        desig_eng="Forest Reserve",
        IUCN_CAT="VI",
        STATUS_YR=1987,
    )
    # 3. Ramsar site on the lower Rio Alfa, two parcels (same WDPAID, WDPA_PID _A/_B)
    rx, ry = point_on(alfa, 0.94)
    ramsar_a = blob(rng, rx, ry + 0.004, 0.03, 0.018, n=40, rough=0.22, rot=0.3)
    ramsar_b = blob(rng, rx - 0.05, ry + 0.035, 0.014, 0.01, n=32, rough=0.2)
    for pid, g in (("900003_A", ramsar_a), ("900003_B", ramsar_b)):
        add(
            g,
            wdpaid=900003,
            pid=pid,
            name="Delta Oxbow Lakes",
            orig="Cochas del Delta",
            desig="Humedal de Importancia Internacional (Ramsar)",
            desig_eng="Ramsar Site, Wetland of International Importance",
            DESIG_TYPE="International",
            IUCN_CAT="Not Reported",
            INT_CRIT="(1)(2)(3)",
            STATUS_YR=2002,
            GOV_TYPE="Not Reported",
            MANG_AUTH="Not Reported",
        )
    # 4. Natural World Heritage site in the north-west (Rio Delta)
    add(
        blob(rng, -70.50, -12.555, 0.05, 0.035, n=48, rough=0.2),
        wdpaid=900004,
        pid="900004",
        name="Epsilon Rainforest",
        orig="Bosque Lluvioso Epsilon",
        desig="Patrimonio Mundial",
        desig_eng="World Heritage Site (natural or mixed)",
        DESIG_TYPE="International",
        IUCN_CAT="Not Applicable",
        INT_CRIT="(ix)(x)",
        STATUS="Inscribed",
        STATUS_YR=2009,
        MANG_AUTH="Not Reported",
    )
    # 5. A proposed area on the middle Rio Gamma (NOT protected by default)
    zx, zy = point_on(gamma, 0.56)
    add(
        blob(rng, zx, zy, 0.03, 0.045, n=40, rough=0.2),
        wdpaid=900005,
        pid="900005",
        name="Zeta Proposed Reserve",
        orig="Zona Reservada Zeta (propuesta)",
        desig="Zona Reservada",
        desig_eng="Reserved Zone",
        STATUS="Proposed",
        STATUS_YR=0,
    )
    # 6. UNESCO-MAB biosphere reserve on the lower Rio Alfa (dropped by default);
    #    it encloses the Ramsar site like real biosphere reserves enclose their core areas
    add(
        blob(rng, -70.07, -12.60, 0.09, 0.06, n=56, rough=0.14),
        wdpaid=900006,
        pid="900006",
        name="Eta Biosphere Reserve",
        orig="Reserva de Biosfera Eta",
        desig="Reserva de Biosfera",
        desig_eng="UNESCO-MAB Biosphere Reserve",
        DESIG_TYPE="International",
        IUCN_CAT="Not Applicable",
        STATUS_YR=2011,
        MANG_AUTH="Not Reported",
        PARENT_ISO="PER;BOL",
        ISO3="PER;BOL",
    )
    # 7. A national reserve with an inholding (mining concession) cut out of it
    cx, cy = point_on(alfa, 0.30)
    outer = blob(rng, cx, cy - 0.005, 0.06, 0.045, n=56, rough=0.15)
    hole = blob(rng, cx, cy, 0.018, 0.012, n=24, rough=0.12, rot=0.2)
    holed = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    add(
        holed,
        wdpaid=900007,
        pid="900007",
        name="Theta National Reserve",
        orig="Reserva Nacional Theta",
        desig="Reserva Nacional",
        desig_eng="National Reserve",
        IUCN_CAT="VI",
        STATUS_YR=2000,
    )
    # 8. A self-intersecting (bow-tie) polygon on the lower Rio Beta, outside the park
    bx, by = point_on(beta, 0.78)
    d = 0.012
    bowtie = shapely.Polygon(
        np.round(
            [
                (bx - d, by - d),
                (bx + d, by + d),
                (bx + d, by - d * 0.8),
                (bx - d, by + d * 0.9),
                (bx - d, by - d),
            ],
            6,
        )
    )
    add(
        bowtie,
        wdpaid=900008,
        pid="900008",
        name="Iota Municipal Conservation Area",
        orig="Area de Conservacion Municipal Iota",
        desig="Area de Conservacion Municipal",
        desig_eng="Municipal Conservation Area",
        STATUS_YR=2015,
        GOV_TYPE="Sub-national ministry or agency",
        MANG_AUTH="Municipalidad Provincial (ficticia)",
    )
    # 9. A community reserve, STATUS Established
    kx, ky = point_on(alfa, 0.66)
    add(
        blob(rng, kx, ky + 0.015, 0.04, 0.03, n=44, rough=0.2),
        wdpaid=900009,
        pid="900009",
        name="Kappa Communal Reserve",
        orig="Reserva Comunal Kappa",
        desig="Reserva Comunal",
        desig_eng="Communal Reserve",
        IUCN_CAT="VI",
        STATUS="Established",
        STATUS_YR=2006,
        GOV_TYPE="Collaborative governance",
        OWN_TYPE="Communal",
    )

    polygons = pd.DataFrame(recs, columns=_WDPA_COLUMNS).astype(_WDPA_INT32)
    polygons["geometry"] = [as_multi(g) for g in geoms]
    gis = np.array([geodesic_area_km2(g) for g in geoms])
    polygons["GIS_AREA"] = np.round(gis, 6)
    polygons["REP_AREA"] = np.round(gis * rng.uniform(0.93, 1.07, len(gis)), 2)
    polygons.loc[polygons["STATUS"] == "Proposed", "REP_AREA"] = 0.0

    # point records: a reported area (-> circle), another, and one without (-> dropped)
    gx, gy = point_on(gamma, 0.27)
    p_recs = [
        _pa_record(
            wdpaid=900010,
            pid="900010",
            name="Lambda Private Conservation Area",
            orig="Area de Conservacion Privada Lambda",
            desig="Area de Conservacion Privada",
            desig_eng="Private Conservation Area",
            REP_AREA=8.0,
            STATUS_YR=2012,
            GOV_TYPE="Individual landowners",
            OWN_TYPE="Individuals",
        ),
        _pa_record(
            wdpaid=900011,
            pid="900011",
            name="Mu Ecotourism Concession",
            orig="Concesion de Ecoturismo Mu",
            desig="Concesion para Ecoturismo",
            desig_eng="Ecotourism Concession",
            REP_AREA=0.0,
            STATUS_YR=2010,
            GOV_TYPE="For-profit organisations",
            OWN_TYPE="For-profit organisations",
        ),
        _pa_record(
            wdpaid=900012,
            pid="900012",
            name="Nu Conservation Concession",
            orig="Concesion para Conservacion Nu",
            desig="Concesion para Conservacion",
            desig_eng="Conservation Concession",
            REP_AREA=2.5,
            STATUS_YR=2008,
            GOV_TYPE="Non-profit organisations",
            OWN_TYPE="Non-profit organisations",
        ),
    ]
    mx, my = point_on(alfa, 0.12)
    nx, ny = point_on(rivers["Rio Delta"], 0.55)
    points = pd.DataFrame(p_recs, columns=_WDPA_POINT_COLUMNS).astype(_WDPA_INT32)
    points["geometry"] = [
        shapely.Point(round(gx + 0.004, 6), round(gy, 6)),
        shapely.Point(round(mx, 6), round(my + 0.004, 6)),
        shapely.Point(round(nx + 0.003, 6), round(ny, 6)),
    ]
    return polygons, points


def make_ecoregions(rng: np.random.Generator) -> pd.DataFrame:
    """Four ecoregions forming a coverage (shared edges, no gaps, no overlaps)."""
    west, south, east, north = ECO_BOX
    split_x = -70.30
    ns = wavy_line(rng, [(split_x, south), (split_x, north)], n=90, amp=0.02, wavelength=0.3)
    # east-west boundaries end exactly on the north-south one
    ns_xy = shapely.get_coordinates(ns)

    def x_at(y):
        i = int(np.argmin(np.abs(ns_xy[:, 1] - y)))
        return tuple(ns_xy[i])

    jw = x_at(-12.86)
    je = x_at(-12.72)
    ew_w = wavy_line(rng, [(west, -12.84), jw], n=60, amp=0.015, wavelength=0.25)
    ew_e = wavy_line(rng, [je, (east, -12.74)], n=60, amp=0.015, wavelength=0.25)
    frame = shapely.box(*ECO_BOX).exterior
    faces = shapely.get_parts(
        shapely.polygonize(shapely.get_parts(shapely.union_all([frame, ns, ew_w, ew_e])))
    )
    assert len(faces) == 4, len(faces)
    cents = shapely.centroid(faces)
    cx, cy = shapely.get_x(cents), shapely.get_y(cents)

    def face(west_side: bool, north_side: bool):
        for f, x, y in zip(faces, cx, cy, strict=True):
            if (x < split_x) == west_side and (y > -12.79) == north_side:
                return f
        raise AssertionError("face not found")

    rows = [
        # NW: Global 200
        dict(
            geometry=face(True, True),
            ECO_NAME="Southwest Amazon moist forests",
            REALM="NT",
            BIOME=1,
            ECO_NUM=66,
            ECO_ID=60166,
            ECO_SYM=62,
            GBL_STAT=3,
            G200_REGIO="Southwestern Amazonian Moist Forests",
            G200_NUM=47,
            G200_BIOME=1,
            G200_STAT=1,
        ),
        # SE: Global 200
        dict(
            geometry=face(False, False),
            ECO_NAME="Ucayali moist forests",
            REALM="NT",
            BIOME=1,
            ECO_NUM=74,
            ECO_ID=60174,
            ECO_SYM=70,
            GBL_STAT=2,
            G200_REGIO="Napo Moist Forests",
            G200_NUM=43,
            G200_BIOME=1,
            G200_STAT=1,
        ),
        # SW: not Global 200, G200_REGIO empty (null)
        dict(
            geometry=face(True, False),
            ECO_NAME="Alto Tambo seasonal forests",
            REALM="NT",
            BIOME=1,
            ECO_NUM=90,
            ECO_ID=60190,
            ECO_SYM=88,
            GBL_STAT=1,
            G200_REGIO=None,
            G200_NUM=0,
            G200_BIOME=0,
            G200_STAT=0,
        ),
        # NE: NOT Global 200 although G200_REGIO is filled (a quirk of some TEOW copies)
        dict(
            geometry=face(False, True),
            ECO_NAME="Inambari flooded savannas",
            REALM="NT",
            BIOME=9,
            ECO_NUM=12,
            ECO_ID=60912,
            ECO_SYM=112,
            GBL_STAT=1,
            G200_REGIO="Inambari flooded savannas",
            G200_NUM=0,
            G200_BIOME=0,
            G200_STAT=0,
        ),
    ]
    df = pd.DataFrame(rows)
    df.insert(0, "OBJECTID", np.arange(1, len(df) + 1, dtype="int32"))
    df.insert(1, "AREA", [round(geodesic_area_km2(g), 6) for g in df["geometry"]])
    df.insert(2, "PERIMETER", [round(g.exterior.length, 3) for g in df["geometry"]])
    df["geometry"] = [as_multi(g) for g in df["geometry"]]
    cols = [
        "OBJECTID",
        "AREA",
        "PERIMETER",
        "ECO_NAME",
        "REALM",
        "BIOME",
        "ECO_NUM",
        "ECO_ID",
        "ECO_SYM",
        "GBL_STAT",
        "G200_REGIO",
        "G200_NUM",
        "G200_BIOME",
        "G200_STAT",
        "geometry",
    ]
    ints = ["OBJECTID", "BIOME", "ECO_NUM", "ECO_ID", "ECO_SYM", "GBL_STAT"]
    ints += ["G200_NUM", "G200_BIOME", "G200_STAT"]
    return df[cols].astype(dict.fromkeys(ints, "int32"))


def make_landscapes(rng: np.random.Generator, rivers) -> pd.DataFrame:
    cx, cy = point_on(rivers["Rio Alfa"], 0.43)
    mdd = blob(rng, cx - 0.01, cy - 0.01, 0.08, 0.055, n=60, rough=0.2, rot=0.2)
    gx, gy = point_on(rivers["Rio Gamma"], 0.08)
    tambo = blob(rng, gx, gy + 0.02, 0.05, 0.04, n=48, rough=0.2)
    return pd.DataFrame(
        {
            "LANDSCAPE": ["Madre de Dios Landscape", "Tambo Alfa Corridor"],
            "REGION": ["Amazon", "Amazon"],
            "geometry": [as_multi(mdd), as_multi(tambo)],
        }
    )


# --------------------------------------------------------------------------------------
# sites
# --------------------------------------------------------------------------------------
_PREFIXES = ["Playa", "Quebrada", "Bocana", "Lavadero", "Campamento", "Puerto", "Caño", "Chacra"]
_NAMES = [
    "Santa Rosa",
    "San Juan",
    "Nueva Esperanza",
    "El Dorado",
    "Tres Islas",
    "La Fortuna",
    "Peña Blanca",
    "Los Ángeles",
    "Señor de los Milagros",
    "Virgen del Carmen",
    "Río Seco",
    "La Pampa",
    "Boca Alfa",
    "San Martín",
    "Santa Rita",
    "El Porvenir",
    "Dos de Mayo",
    "Belén",
    "Unión Progreso",
    "Las Piedras",
    "Túpac",
    "La Cuchilla",
    "San José",
    "Playa Oro",
]
_SOURCES = [
    "field survey 2019",
    "field survey 2022",
    "Sentinel-2 interpretation",
    "Planet imagery interpretation",
    "NGO report",
    "news report",
]


def make_sites(rng: np.random.Generator, world_parts: dict) -> pd.DataFrame:
    rivers = world_parts["rivers"]
    pa = world_parts["pa_polygons"]
    pts = world_parts["pa_points"]
    xs: list[float] = []
    ys: list[float] = []
    tags: list[str] = []

    def along(river: str, frac: float, n: int, spread: float = 0.006, lateral: float = 0.0025):
        line = rivers[river]
        length = line.length
        fr = np.clip(frac + rng.normal(0.0, spread / length, n), 0.0, 1.0)
        p = shapely.get_coordinates(shapely.line_interpolate_point(line, fr, normalized=True))
        p2 = shapely.get_coordinates(
            shapely.line_interpolate_point(line, np.clip(fr + 0.002, 0, 1), normalized=True)
        )
        t = p2 - p
        t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-12)[:, None]
        nrm = np.column_stack([-t[:, 1], t[:, 0]])
        off = rng.normal(0.0, lateral, n)
        q = p + nrm * off[:, None]
        xs.extend(q[:, 0])
        ys.extend(q[:, 1])
        tags.extend([f"{river}@{frac:.2f}"] * n)

    # clusters along the rivers (fractions along each river, sites per cluster)
    for frac, n in [
        (0.04, 6),
        (0.10, 7),
        (0.17, 8),
        (0.26, 6),
        (0.36, 9),
        (0.42, 8),
        (0.48, 8),
        (0.55, 7),
        (0.62, 8),
        (0.70, 7),
        (0.78, 8),
        (0.86, 6),
        (0.94, 6),
    ]:
        along("Rio Alfa", frac, n)
    for frac, n in [(0.08, 6), (0.2, 7), (0.32, 7), (0.45, 6), (0.6, 8), (0.9, 7)]:
        along("Rio Beta", frac, n)
    for frac, n in [(0.1, 6), (0.22, 6), (0.5, 7), (0.62, 6), (0.8, 7), (0.92, 5)]:
        along("Rio Gamma", frac, n)
    for frac, n in [(0.15, 5), (0.4, 6), (0.75, 5)]:
        along("Rio Delta", frac, n)

    # special placements ------------------------------------------------------------
    # inside the inholding (hole) of the national reserve
    holed = pa.loc[pa["WDPAID"] == 900007, "geometry"].iloc[0].geoms[0]
    hole = shapely.Polygon(holed.interiors[0])
    hc = hole.centroid
    for dx, dy in [(0.0, 0.0), (0.004, 0.002), (-0.005, -0.002), (0.002, -0.003)]:
        xs.append(hc.x + dx)
        ys.append(hc.y + dy)
        tags.append("hole")
    # inside the bow-tie (one in each lobe)
    bow = pa.loc[pa["WDPAID"] == 900008, "geometry"].iloc[0].geoms[0]
    for part in shapely.get_parts(shapely.make_valid(bow)):
        c = part.representative_point()
        xs.append(c.x)
        ys.append(c.y)
        tags.append("bowtie")
    # exactly on a vertex of the national park's boundary (touching counts as inside)
    park = pa.loc[pa["WDPAID"] == 900001, "geometry"].iloc[0].geoms[0]
    vx, vy = park.exterior.coords[10]
    xs.append(vx)
    ys.append(vy)
    tags.append("touch")
    # near the point records: inside the 8 km2 circle, just outside it, and by the REP_AREA=0 point
    for wdpaid, offsets in [
        (900010, [(0.0, 0.005), (0.0, -0.03)]),
        (900011, [(0.001, 0.0)]),
        (900012, [(0.002, 0.0)]),
    ]:
        p = pts.loc[pts["WDPAID"] == wdpaid, "geometry"].iloc[0]
        for dx, dy in offsets:
            xs.append(p.x + dx)
            ys.append(p.y + dy)
            tags.append(f"point{wdpaid}")
    # far from everything (and off the raster)
    for x, y in [(-70.02, -12.98), (-70.58, -12.51), (-70.03, -12.80), (-70.59, -12.98)]:
        xs.append(x)
        ys.append(y)
        tags.append("far")

    n = len(xs)
    lon = np.round(np.array(xs), 6)
    lat = np.round(np.array(ys), 6)
    mineral = rng.choice(
        [
            "gold",
            "gold",
            "gold",
            "gold",
            "gold",
            "gold",
            "gold",
            "gold",
            "gold",
            "sand and gravel",
            "gold, silver",
        ],
        n,
    )
    status = rng.choice(["active", "active", "active", "inactive", "abandoned"], n)
    days = rng.integers(0, (pd.Timestamp("2023-12-31") - pd.Timestamp("2015-01-01")).days, n)
    dates = (pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    dates = np.array(dates, dtype=object)
    dates[rng.choice(n, 5, replace=False)] = ""  # a few unknown dates
    names = np.array(
        [f"{rng.choice(_PREFIXES)} {rng.choice(_NAMES)}" for _ in range(n)], dtype=object
    )
    names[7] = "Playa Uno, sector B"  # a comma inside a quoted CSV field
    source = rng.choice(_SOURCES, n)
    df = pd.DataFrame(
        {
            "site_id": [f"MDD-{i:04d}" for i in range(1, n + 1)],
            "name": names,
            "latitude": lat,
            "longitude": lon,
            "mineral": mineral,
            "status": status,
            "date_observed": dates,
            "source": source,
        }
    )
    df.attrs["tags"] = tags
    return df


# --------------------------------------------------------------------------------------
# rasters
# --------------------------------------------------------------------------------------
def raster_transform():
    return from_origin(RASTER_WEST, RASTER_NORTH, RES, RES)


def smooth_field(rng: np.random.Generator, shape, cell: int) -> np.ndarray:
    """A spatially smooth field in [0, 1] (coarse noise, cubic zoom)."""
    coarse = rng.random((shape[0] // cell + 3, shape[1] // cell + 3))
    fine = ndimage.zoom(coarse, cell, order=3)[: shape[0], : shape[1]]
    fine -= fine.min()
    return fine / fine.max()


def make_rasters(rng: np.random.Generator, world: World) -> tuple[np.ndarray, np.ndarray]:
    shape = (RASTER_HEIGHT, RASTER_WIDTH)
    tr = raster_transform()
    sites = world.sites
    lon, lat = sites["longitude"].to_numpy(), sites["latitude"].to_numpy()
    # tree cover: dense forest 80-100 with smooth variation and a fine texture
    f = smooth_field(rng, shape, 200)
    g = smooth_field(rng, shape, 60)
    h = smooth_field(rng, shape, 6)
    tc = 77.0 + 19.0 * (0.6 * f + 0.4 * g) + 5.0 * h
    # a few old clearings / pasture (low cover), and mining pits older than 2000
    old = np.flatnonzero(rng.random(len(sites)) < 0.1)
    clear = [
        blob(rng, x, y, r, n=36, rough=0.3)
        for x, y, r in [
            (-70.28, -12.64, 0.012),
            (-70.15, -12.70, 0.01),
            (-70.40, -12.62, 0.008),
            (-70.22, -12.93, 0.009),
        ]
    ] + [blob(rng, lon[i], lat[i], rng.uniform(0.0008, 0.002), n=20, rough=0.3) for i in old]
    cmask = rasterize(((c, 1) for c in clear), out_shape=shape, transform=tr, dtype="uint8")
    tc = np.where(cmask == 1, 5.0 + 30.0 * g + 5.0 * h, tc)
    # rivers: banks with lower cover, water ~0
    widths = {"Rio Alfa": 0.0014, "Rio Beta": 0.0008, "Rio Gamma": 0.0008, "Rio Delta": 0.0005}
    bank = rasterize(
        ((shapely.buffer(r, widths[k] * 3.0), 1) for k, r in world.rivers.items()),
        out_shape=shape,
        transform=tr,
        dtype="uint8",
    )
    water = rasterize(
        ((shapely.buffer(r, widths[k]), 1) for k, r in world.rivers.items()),
        out_shape=shape,
        transform=tr,
        dtype="uint8",
    )
    tc = np.where(bank == 1, tc * 0.55, tc)
    tc = np.where(water == 1, 2.0 * g, tc)
    treecover = np.clip(np.rint(tc), 0, 100).astype("uint8")

    # loss year: mining patches elongated along the nearest river, growing outwards year by
    # year from a start year drawn towards the later years (the ASM boom after ~2008)
    rivers = list(world.rivers.values())
    pts = shapely.points(lon, lat)
    dist = np.column_stack([shapely.distance(r, pts) for r in rivers])
    nearest = dist.argmin(axis=1)
    shapes = []
    for i in range(len(sites)):
        if rng.random() < 0.12:
            continue  # not every site has cleared forest
        river = rivers[nearest[i]]
        pos = river.project(pts[i])
        a_ = river.interpolate(max(pos - 0.002, 0.0))
        b_ = river.interpolate(min(pos + 0.002, river.length))
        rot = float(np.arctan2(b_.y - a_.y, b_.x - a_.x))
        start = int(np.clip(np.rint(23 - rng.gamma(2.0, 3.5)), 1, 23))
        span = int(rng.integers(3, 10))
        r = rng.uniform(0.002, 0.005)
        base = blob(rng, lon[i], lat[i], r * 1.8, r, n=28, rough=0.25, rot=rot)
        years = [y for y in range(start, start + span) if y <= 23]
        # outermost (latest) ring first: the earlier, inner rings are drawn over it
        for k in range(len(years) - 1, -1, -1):
            shapes.append((_scale(base, (k + 1) / span), years[k]))
    # some background (non-mining) smallholder loss
    for _ in range(40):
        x = rng.uniform(RASTER_WEST, RASTER_WEST + RES * RASTER_WIDTH)
        y = rng.uniform(RASTER_NORTH - RES * RASTER_HEIGHT, RASTER_NORTH)
        shapes.append(
            (blob(rng, x, y, rng.uniform(0.0008, 0.002), n=16, rough=0.2), int(rng.integers(1, 24)))
        )
    lossyear = rasterize(shapes, out_shape=shape, transform=tr, fill=0, dtype="uint8")
    lossyear[treecover < 10] = 0

    # a small nodata patch (a data gap) just north of the site nearest to (-70.33, -12.68),
    # so that buffers around that site are only partly covered
    near = int(np.argmin(np.hypot(lon + 70.33, lat + 12.68)))
    gap_shape = blob(rng, 0.0, 0.0, 0.006, 0.004, n=20, rough=0.2)
    for dx, dy in [(0.0, 0.009), (0.0, -0.009), (0.011, 0.0), (-0.011, 0.0), (0.0, 0.014)]:
        gap_geom = shapely.transform(
            gap_shape, lambda xy, dx=dx, dy=dy: xy + np.array([lon[near] + dx, lat[near] + dy])
        )
        if not shapely.intersects(shapely.buffer(gap_geom, 0.001), pts).any():
            break  # a gap with no site in it or within ~100 m of it
    gap = rasterize(
        [(gap_geom, 1)],
        out_shape=shape,
        transform=tr,
        dtype="uint8",
    )
    treecover[gap == 1] = NODATA
    lossyear[gap == 1] = NODATA
    return treecover, lossyear


def _scale(poly: shapely.Polygon, s: float) -> shapely.Polygon:
    c = shapely.get_coordinates(poly.centroid)[0]
    xy = shapely.get_coordinates(poly.exterior)
    return shapely.Polygon(c + (xy - c) * s)


def write_raster(path: Path, data: np.ndarray) -> None:
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": raster_transform(),
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "lzw",
        "interleave": "band",
    }
    with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def _gdf(df: pd.DataFrame):
    import geopandas as gpd

    return gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:4326")


def build_world(seed: int = SEED) -> World:
    rng = np.random.default_rng(seed)
    rivers = make_rivers(rng)
    pa_polygons, pa_points = make_protected_areas(rng, rivers)
    ecoregions = make_ecoregions(rng)
    landscapes = make_landscapes(rng, rivers)
    sites = make_sites(rng, {"rivers": rivers, "pa_polygons": pa_polygons, "pa_points": pa_points})
    return World(rivers, pa_polygons, pa_points, ecoregions, landscapes, sites)


def main(out_dir: Path | str = DEFAULT_OUT) -> Path:
    """Write the sample set into ``out_dir`` (created; its files are overwritten)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world()
    rng = np.random.default_rng(SEED + 1)

    old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        sites = world.sites
        sites.to_csv(out_dir / "sites.csv", index=False, lineterminator="\n", float_format="%.6f")
        gsites = _gdf(
            sites.drop(columns=["latitude", "longitude"]).assign(
                geometry=shapely.points(sites["longitude"], sites["latitude"])
            )
        )
        for name in (
            "sites.geojson",
            "protected_areas.gpkg",
            "ecoregions.gpkg",
            "priority_landscapes.gpkg",
        ):
            (out_dir / name).unlink(missing_ok=True)
        pyogrio.write_dataframe(
            gsites,
            out_dir / "sites.geojson",
            layer="sites",
            driver="GeoJSON",
            layer_options={"COORDINATE_PRECISION": 6, "RFC7946": "YES"},
        )
        pa_path = out_dir / "protected_areas.gpkg"
        pyogrio.write_dataframe(
            _gdf(world.pa_polygons),
            pa_path,
            layer="polygons",
            driver="GPKG",
            geometry_type="MultiPolygon",
        )
        pyogrio.write_dataframe(
            _gdf(world.pa_points), pa_path, layer="points", driver="GPKG", geometry_type="Point"
        )
        pyogrio.write_dataframe(
            _gdf(world.ecoregions),
            out_dir / "ecoregions.gpkg",
            layer="ecoregions",
            driver="GPKG",
            geometry_type="MultiPolygon",
        )
        pyogrio.write_dataframe(
            _gdf(world.landscapes),
            out_dir / "priority_landscapes.gpkg",
            layer="priority_landscapes",
            driver="GPKG",
            geometry_type="MultiPolygon",
        )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})

    treecover, lossyear = make_rasters(rng, world)
    write_raster(out_dir / "treecover2000.tif", treecover)
    write_raster(out_dir / "lossyear.tif", lossyear)
    import runpy  # the KBA sample's generator lives beside this file

    runpy.run_path(str(Path(__file__).with_name("make_samples_kba.py")))["write_kbas"](
        out_dir, world
    )
    import runpy  # the river network's generator lives beside this file

    runpy.run_path(str(Path(__file__).with_name("make_samples_rivers.py")))["write_rivers"](
        out_dir, world
    )
    import runpy  # the drivers sample's generator lives beside this file

    runpy.run_path(str(Path(__file__).with_name("make_samples_drivers.py")))["write_drivers"](
        out_dir, world
    )
    return out_dir


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:2]))
