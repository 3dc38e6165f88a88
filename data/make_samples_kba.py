"""Generate ``data/samples/kbas.zip``: synthetic Key Biodiversity Areas in BirdLife's schema.

BirdLife International ships the World Database of KBAs as a polygon shapefile and a point
shapefile (KBAs without a boundary), zipped together, with the fields ``SitRecID``, ``Region``,
``Country``, ``ISO3``, ``NatName``, ``IntName``, ``FinCode``, ``SitLat``, ``SitLong``,
``SitArea`` (hectares), ``IbaStatus``, ``KbaStatus``, ``AzeStatus``, ``AddedDate``,
``ChangeDate`` ... (docs/kba.md). The records here are fictional (SitRecIDs in the 90100
range) and placed on the sample district of ``make_samples.py``:

- 90101 "Cerro Tambo Alto": a confirmed AZE site holding the 8 sites MDD-0014..MDD-0021,
  which lie in no WDPA area (protected under the PACE definition only through it);
- 90102 "Alpha Highlands": a confirmed KBA, not AZE, overlapping Alpha National Park;
- 90103 "Quebrada Gamma": a point-only KBA (SitArea 300 ha: a circle of r ~ 977 m);
- 90104 "Rio Alfa Oxbows": a de-listed KBA (KbaStatus "de-listed"), dropped by default.

Called by ``make_samples.main`` as ``write_kbas(out_dir, world)``. Deterministic: the DBF's
date of last update is pinned and the zip entries carry a fixed time.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

#: the zip's entries' time stamp (a fixed date: byte-identical runs)
ZIP_TIME = (2024, 1, 1, 0, 0, 0)
DBF_DATE = "2024-01-01"

_COMMON = {
    "Region": "South America",
    "Country": "Peru",
    "ISO3": "PER",
    "FinCode": "PE",
    "IbaStatus": "confirmed",
    "KbaStatus": "confirmed",
    "MarineIBA": "0",
    "Num_PAs": 0,
}


def kba_records() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The polygon and point records (BirdLife's fields, field names as in the shapefile)."""
    aze = shapely.Polygon(
        [
            (-70.537, -12.731),
            (-70.528, -12.735),
            (-70.515, -12.729),
            (-70.514, -12.709),
            (-70.526, -12.705),
            (-70.536, -12.710),
        ]
    )
    highlands = shapely.Polygon(
        [(-70.60, -13.02), (-70.47, -13.02), (-70.46, -12.95), (-70.50, -12.90), (-70.58, -12.91)]
    )
    oxbows = shapely.box(-70.115, -12.628, -70.098, -12.600)
    polys = [
        {
            "SitRecID": 90101,
            "NatName": "Cerro Tambo Alto",
            "IntName": "Cerro Tambo Alto",
            "IbaStatus": "not assessed",
            "AzeStatus": "confirmed",
            "AddedDate": "2008-05-12",
            "ChangeDate": "2019-11-04",
            "geometry": aze,
        },
        {
            "SitRecID": 90102,
            "NatName": "Altos de Alfa",
            "IntName": "Alpha Highlands",
            "AzeStatus": None,
            "AddedDate": "2004-01-01",
            "ChangeDate": "2016-08-30",
            "geometry": highlands,
        },
        {
            "SitRecID": 90104,
            "NatName": "Cochas del Río Alfa",
            "IntName": "",
            "KbaStatus": "de-listed",
            "AzeStatus": None,
            "AddedDate": "2004-01-01",
            "ChangeDate": "2020-06-15",
            "geometry": oxbows,
        },
    ]
    points = [
        {
            "SitRecID": 90103,
            "NatName": "Quebrada Gamma",
            "IntName": "Quebrada Gamma",
            "SitArea": 300.0,
            "AzeStatus": None,
            "AddedDate": "2012-03-20",
            "ChangeDate": "2012-03-20",
            "geometry": shapely.Point(-70.2055, -12.6625),
        },
    ]
    return _frame(polys, polygons=True), _frame(points, polygons=False)


def _frame(rows: list[dict[str, Any]], *, polygons: bool) -> pd.DataFrame:
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    out = []
    for row in rows:
        rec = {**_COMMON, **row}
        geom = rec["geometry"]
        centre = geom.centroid if polygons else geom
        rec["SitLat"] = round(centre.y, 4)
        rec["SitLong"] = round(centre.x, 4)
        if polygons:  # the reported area: the polygon's own, in hectares, rounded
            rec["SitArea"] = round(abs(geod.geometry_area_perimeter(geom)[0]) / 1e4)
        rec["Protect"] = "none"
        rec["DelTxt"] = ""
        rec["DelGeom"] = ""
        out.append(rec)
    cols = [
        "SitRecID",
        "Region",
        "Country",
        "ISO3",
        "NatName",
        "IntName",
        "FinCode",
        "SitLat",
        "SitLong",
        "SitArea",
        "Num_PAs",
        "IbaStatus",
        "KbaStatus",
        "AzeStatus",
        "MarineIBA",
        "Protect",
        "AddedDate",
        "ChangeDate",
        "DelTxt",
        "DelGeom",
        "geometry",
    ]
    frame = pd.DataFrame(out)[cols]
    frame["SitRecID"] = frame["SitRecID"].astype("int32")
    frame["Num_PAs"] = frame["Num_PAs"].astype("int32")
    frame["SitArea"] = frame["SitArea"].astype("float64")
    return frame


def write_kbas(out_dir: Path | str, world: Any = None) -> Path:
    """Write ``kbas.zip`` (``KBAsGlobal_polygons.shp`` + ``KBAsGlobal_points.shp``) into
    ``out_dir``; ``world`` (make_samples' World) is accepted for the common signature."""
    out_dir = Path(out_dir)
    polys, points = kba_records()
    target = out_dir / "kbas.zip"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, frame, gtype in (
            ("KBAsGlobal_2024_September_01_POL", polys, "Polygon"),
            ("KBAsGlobal_2024_September_01_PNT", points, "Point"),
        ):
            pyogrio.write_dataframe(
                gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326"),
                folder / f"{name}.shp",
                driver="ESRI Shapefile",
                geometry_type=gtype,
                layer_options={"DBF_DATE_LAST_UPDATE": DBF_DATE, "ENCODING": "UTF-8"},
            )
        target.unlink(missing_ok=True)
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.iterdir()):
                info = zipfile.ZipInfo(path.name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, path.read_bytes())
    return target


if __name__ == "__main__":
    import sys

    print(write_kbas(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "samples"))
