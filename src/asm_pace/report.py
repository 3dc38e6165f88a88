"""A self-contained HTML report of a run, for readers without Python or GIS.

:func:`write_report` writes one HTML file with everything inline (CSS, the map
and charts as base64 PNG images, no scripts, no links to fetch): the number of
sites in each ASM-PACE class, a map, the per-site table with each site's
``reason``, buffer and protected-area overlap summaries, forest loss with the
rasters' data coverage, what each reader read and cleaned, and the run's
provenance. Each table and chart says whether it counts a hectare once per
buffer (:data:`PER_BUFFER`) or once (:data:`CLUSTERS`); the footer credits only
the sources used. It opens in any browser, can be e-mailed as it is, and prints
on A4 (a print stylesheet). Needs the ``[plot]`` extra (matplotlib).

Examples
--------
>>> import geopandas as gpd, shapely, tempfile, pathlib
>>> from asm_pace.report import write_report
>>> sites = gpd.GeoDataFrame({"site_id": ["S1"], "pace_class": ["not_eligible"],
...     "reason": ["Outside every protected area"]},
...     geometry=[shapely.Point(-70.0, -12.0)], crs=4326)
>>> out = pathlib.Path(tempfile.mkdtemp()) / "report.html"
>>> write_report(out, sites).name
'report.html'
>>> "Outside every protected area" in out.read_text(encoding="utf-8")
True
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from . import plotting
from ._styles import PACE_CLASS_COLORS, PACE_CLASS_LABELS
from .errors import InputError, SchemaError
from .output import atomic_output, check_destination
from .pipeline import loss_columns

__all__ = [
    "write_report",
    "write_pipeline_report",
    "forest_summary",
    "pa_source_label",
    "PER_BUFFER",
    "CLUSTERS",
]

#: What each class means, for the report's summary (precedence order).
_CLASS_MEANING = {
    "protected_area": "inside or touching a protected area",
    "priority_landscape": "outside protected areas, inside a WWF priority landscape",
    "critical_ecosystem": "outside both, inside a Global 200 ecoregion",
    "not_eligible": "none of the above",
}

# per-site table: column -> header, in order (only those present are shown)
_SITE_COLUMNS = {
    "site_id": "Site",
    "name": "Name",
    "pace_class": "Class",
    "reason": "Reason",
    "pa_share": "Footprint share in PAs",
    "nearest_pa_km": "Nearest PA (km)",
    "nearest_pa_name": "Nearest protected area",
    "eco_name": "Ecoregion",
    "g200_region": "Global 200 region",
    "priority_landscape": "Priority landscape",
}

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
color:#222;background:#fafafa;line-height:1.45}
header{background:#1b4332;color:#fff;padding:1.2em 2em}
header h1{margin:0 0 .2em;font-size:1.6em}
header p{margin:0;opacity:.85}
main{max-width:1150px;margin:0 auto;padding:1em 2em 3em}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:1em 1.4em;
margin:1.2em 0}
h2{font-size:1.2em;margin:.2em 0 .6em;color:#1b4332}
table{border-collapse:collapse;font-size:.88em;width:100%}
th,td{border-bottom:1px solid #e6e6e6;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f0f3f1;position:sticky;top:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:50%;
border:1px solid #333;margin-right:.4em;vertical-align:-.1em}
.scroll{max-height:32em;overflow:auto;border:1px solid #e6e6e6}
img{max-width:100%;height:auto}
.note{color:#666;font-size:.85em}
table.counts{width:auto;min-width:50%}
footer{color:#777;font-size:.8em;text-align:center;padding:1em}
.caveat{background:#fff4e5;border-left:4px solid #e6550d;padding:.4em .8em;margin:.6em 0}
td.low{color:#b35806;font-weight:600}
.how{color:#555;font-style:italic}
@media print{
@page{size:A4;margin:12mm 11mm}
@page wide{size:A4 landscape;margin:10mm 11mm}
#sites{page:wide}
td.wide{min-width:22em}
body{background:#fff;font-size:9.5pt;line-height:1.3}
header{background:none;color:#000;padding:0 0 .4em;border-bottom:2px solid #1b4332}
header p{opacity:1}
main{max-width:none;margin:0;padding:0}
section{border:none;border-radius:0;padding:0;margin:0 0 1.2em}
h2{break-after:avoid;page-break-after:avoid}
.scroll{max-height:none;overflow:visible;border:none}
table{font-size:8pt;page-break-inside:auto}
thead{display:table-header-group}
tfoot{display:table-footer-group}
tr,img,.caveat{break-inside:avoid;page-break-inside:avoid}
th{position:static}
td{overflow-wrap:break-word}
td:first-child{white-space:nowrap}
img{max-width:100%;max-height:170mm;width:auto}
#map img{max-height:200mm}
th,.swatch,.caveat{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

#: How a table or chart counts the hectares of overlapping zones (each says which it shows).
PER_BUFFER = "per buffer, overlapping buffers counted once each"
CLUSTERS = "clusters: each hectare once"


def _esc(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value))


def _fmt(value: object, *, digits: int = 2) -> str:
    """A table cell: numbers rounded, missing values blank, text escaped."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        return f"{float(value):,.{digits}f}"
    return _esc(value)


def _is_num(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _table(
    frame: pd.DataFrame,
    headers: Mapping[str, str] | None = None,
    *,
    css: str = "",
    digits: Mapping[str, int] | None = None,
    low: Mapping[str, float] | None = None,
    wide: Sequence[str] = (),
) -> str:
    """An HTML table.

    ``low`` marks the numbers of a column below its threshold (``td.low``); the cells of
    the ``wide`` columns (long text) get ``class="wide"``, kept readable when printed.
    """
    headers = headers or {c: c for c in frame.columns}
    digits = digits or {}
    low = low or {}
    cols = [c for c in headers if c in frame.columns]
    head = "".join(
        f'<th class="num">{_esc(headers[c])}</th>'
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        else f"<th>{_esc(headers[c])}</th>"
        for c in cols
    )
    rows = []
    for rec in frame[cols].itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, rec, strict=True):
            if c == "pace_class" and v in PACE_CLASS_COLORS:
                cells.append(
                    f'<td><span class="swatch" style="background:{PACE_CLASS_COLORS[v]}">'
                    f"</span>{_esc(PACE_CLASS_LABELS[v])}</td>"
                )
            elif _is_num(v):
                css_cell = "num low" if c in low and v < low[c] else "num"
                cells.append(f'<td class="{css_cell}">{_fmt(v, digits=digits.get(c, 2))}</td>')
            elif c in wide:
                cells.append(f'<td class="wide">{_fmt(v)}</td>')
            else:
                cells.append(f"<td>{_fmt(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(data: str, alt: str) -> str:
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def _new_figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global figure state

    return Figure(figsize=figsize, layout="compressed")


def _loss_years(frame: pd.DataFrame) -> list[str]:
    return [c for _, c in loss_columns(frame)]


def _as_run_info(run_info: Mapping[str, object] | pd.DataFrame | None) -> list[tuple[str, str]]:
    if run_info is None:
        return []
    if isinstance(run_info, pd.DataFrame):
        if {"key", "value"} <= set(run_info.columns):
            pairs = zip(run_info["key"], run_info["value"], strict=True)
        elif len(run_info) == 1:
            pairs = run_info.iloc[0].items()
        else:
            raise InputError(
                "run_info as a table needs 'key' and 'value' columns (or a single row); "
                f"got columns {list(run_info.columns)}"
            )
    elif isinstance(run_info, Mapping):
        pairs = run_info.items()
    else:
        raise InputError(f"run_info must be a dict or a DataFrame, got {type(run_info).__name__}")
    out = []
    for key, value in pairs:
        if isinstance(value, Mapping):
            text = "; ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            text = ", ".join(map(str, value))
        else:
            text = "" if value is None else str(value)
        out.append((str(key), text))
    return out


def _summary_section(sites: gpd.GeoDataFrame, pa_label: str | None) -> str:
    counts = sites["pace_class"].value_counts()
    total = len(sites)
    meaning = dict(_CLASS_MEANING)
    if pa_label:
        meaning["protected_area"] += f" ({pa_label})"
    frame = pd.DataFrame(
        {
            "pace_class": list(PACE_CLASS_COLORS),
            "meaning": [meaning[c] for c in PACE_CLASS_COLORS],
            "n": [int(counts.get(c, 0)) for c in PACE_CLASS_COLORS],
        }
    )
    frame["share"] = 100.0 * frame["n"] / total if total else np.nan
    table = _table(
        frame,
        {"pace_class": "Class", "meaning": "Meaning", "n": "Sites", "share": "Share (%)"},
        css="counts",
        digits={"share": 1},
    )
    return (
        '<section id="summary"><h2>Sites by ASM-PACE class</h2>'
        f"<p>{total:,} site(s), each in the first class that applies, in this order:</p>"
        f"{table}{_certainty_table(sites)}</section>"
    )


#: What each ``pa_certainty`` value says, for the report (classification.PA_CERTAINTY).
_CERTAINTY_MEANING = {
    "certain_inside": "inside protected areas wherever the site lies within its uncertainty",
    "possible": "inside or outside, depending on where the site really lies",
    "certain_outside": "outside every protected area wherever the site lies",
}


def _certainty_table(sites: gpd.GeoDataFrame) -> str:
    """Counts of ``pa_certainty`` (sites with a location uncertainty); empty without it."""
    if "pa_certainty" not in sites.columns:
        return ""
    values = sites["pa_certainty"].astype("string").fillna("")
    given = values != ""
    if not given.any():
        return ""
    counts = values[given].value_counts()
    frame = pd.DataFrame(
        {
            "pa_certainty": list(_CERTAINTY_MEANING),
            "meaning": list(_CERTAINTY_MEANING.values()),
            "n": [int(counts.get(c, 0)) for c in _CERTAINTY_MEANING],
        }
    )
    table = _table(
        frame, {"pa_certainty": "Certainty", "meaning": "Meaning", "n": "Sites"}, css="counts"
    )
    return (
        f"<p>{int(given.sum()):,} site(s) have a location uncertainty; whether each is in a "
        "protected area (<code>pa_certainty</code>):</p>" + table
    )


def _split_list(column: pd.Series) -> pd.Series:
    """A ``;``-joined text column (``kba_ids``...) as lists of stripped items, [] when empty."""
    text = column.astype("string").fillna("")
    return text.map(lambda v: [i.strip() for i in v.split(";") if i.strip()])


def _kba_section(sites: gpd.GeoDataFrame, kbas: gpd.GeoDataFrame | None) -> str:
    """Sites inside Key Biodiversity Areas (``kba_ids`` of :func:`asm_pace.classify`)."""
    if "kba_ids" not in sites.columns:
        return ""
    ids = _split_list(sites["kba_ids"])
    inside = ids.map(len) > 0
    head = '<section id="kbas"><h2>Key Biodiversity Areas</h2>'
    if not inside.any():
        return head + "<p>No site lies inside a Key Biodiversity Area.</p></section>"
    pairs = pd.DataFrame({"kba_id": ids, "pace_class": sites["pace_class"]}).explode("kba_id")
    pairs = pairs.dropna(subset=["kba_id"])
    per = pairs.groupby("kba_id", sort=False).agg(
        sites=("pace_class", "size"),
        protected=("pace_class", lambda c: int((c == "protected_area").sum())),
    )
    headers = {"kba_id": "KBA", "kba_name": "Name"}
    if kbas is not None and {"kba_id", "kba_name"} <= set(kbas.columns):
        layer = pd.DataFrame(kbas.drop(columns=kbas.geometry.name)).drop_duplicates("kba_id")
        layer = layer.set_index(layer["kba_id"].astype(str))
        per["kba_name"] = layer["kba_name"].reindex(per.index)
        if "aze" in layer.columns:
            per["aze"] = layer["aze"].reindex(per.index).map({True: "yes", False: "no"})
            headers["aze"] = "AZE site"
    headers.update({"sites": "Sites inside", "protected": "of which classed protected_area"})
    per = per.reset_index().sort_values(["sites", "kba_id"], ascending=[False, True])
    aze = int(sites["aze"].fillna(False).astype(bool).sum()) if "aze" in sites.columns else 0
    return (
        head + f"<p>{int(inside.sum()):,} of {len(sites):,} site(s) lie inside a Key Biodiversity "
        f"Area; {aze:,} inside an Alliance for Zero Extinction site, which counts as a "
        "protected area.</p>"
        f'<div class="scroll">{_table(per, headers)}</div></section>'
    )


#: The areas a site's river reaches, as named in the report.
_AREA_KIND = {"protected_area": "Protected area", "kba": "Key Biodiversity Area"}


def _downstream_section(sites: gpd.GeoDataFrame, areas: pd.DataFrame | None) -> str:
    """Where each site's river goes (:func:`asm_pace.downstream`): statuses, areas reached."""
    if "downstream_status" not in sites.columns:
        return ""
    status = sites["downstream_status"].astype("string").fillna("not followed")
    counts = status.value_counts().rename_axis("status").reset_index(name="sites")
    parts = [
        '<section id="downstream"><h2>Downstream of the sites</h2>'
        "<p>Each site's river followed downstream along the river network; how each walk "
        "ended:</p>",
        _table(counts, {"status": "Walk ended", "sites": "Sites"}, css="counts"),
    ]
    if "downstream_first_pa_km" in sites.columns:
        reach = int(pd.to_numeric(sites["downstream_first_pa_km"], errors="coerce").notna().sum())
        parts.append(
            f"<p>{reach:,} of {len(sites):,} site(s) drain into a protected area within the "
            "length followed.</p>"
        )
    if areas is not None and len(areas):
        per = (
            areas.groupby(["area", "area_id"], sort=False)
            .agg(
                area_name=("area_name", "first"),
                sites=("site_id", "nunique"),
                nearest_km=("river_km", "min"),
                median_km=("river_km", "median"),
            )
            .reset_index()
            .sort_values(["sites", "nearest_km"], ascending=[False, True])
        )
        per["area"] = per["area"].map(_AREA_KIND).fillna(per["area"])
        limit = 50
        note = (
            f'<p class="note">The {limit} areas reached by most sites of {len(per):,}; the '
            "full table is the GeoPackage's <code>downstream_areas</code>.</p>"
            if len(per) > limit
            else ""
        )
        headers = {
            "area": "Area",
            "area_id": "Id",
            "area_name": "Name",
            "sites": "Sites upstream",
            "nearest_km": "Nearest by river (km)",
            "median_km": "Median by river (km)",
        }
        table = _table(per.head(limit), headers, digits={"nearest_km": 1, "median_km": 1})
        parts.append(
            "<p>The areas the rivers reach (each site counted once per area):</p>"
            f'{note}<div class="scroll">{table}</div>'
        )
    return "".join(parts) + "</section>"


def _map_section(sites, protected_areas, ecoregions, priority_landscapes, buffers) -> str:
    sites, _classes, buffers, box = plotting._map_layers(sites, buffers)
    fig = _new_figure(plotting._map_figsize(box))
    ax = fig.subplots()
    plotting.plot_sites(
        sites,
        protected_areas=protected_areas,
        ecoregions=ecoregions,
        priority_landscapes=priority_landscapes,
        buffers=buffers,
        ax=ax,
        title=None,
        north_arrow=True,
    )
    img = _img(_png(fig), "Map of the sites coloured by ASM-PACE class")
    return (
        '<section id="map"><h2>Map</h2>'
        f"{img}"
        '<p class="note">Longitude/latitude (WGS84). The scale bar is exact at its own '
        "latitude.</p></section>"
    )


def _sites_section(sites: gpd.GeoDataFrame, max_rows: int) -> str:
    frame = pd.DataFrame(sites.drop(columns=sites.geometry.name))
    empty = [c for c in _SITE_COLUMNS if c in frame.columns and frame[c].isna().all()]
    frame = frame.drop(columns=empty)  # e.g. pa_share for point sites
    shown = frame.head(max_rows)
    note = ""
    if len(frame) > max_rows:
        note = (
            f'<p class="note">The first {max_rows:,} of {len(frame):,} sites; the full table '
            "is in the GeoPackage (layer <code>sites</code>) or the CSV.</p>"
        )
    table = _table(
        shown, _SITE_COLUMNS, digits={"nearest_pa_km": 2, "pa_share": 3}, wide=("reason",)
    )
    return f'<section id="sites"><h2>Sites</h2>{note}<div class="scroll">{table}</div></section>'


def _zone_key(frame: pd.DataFrame) -> list[str]:
    return [c for c in ("inner_km", "radius_km") if c in frame.columns]


def _zone_label(row: Mapping[str, Any]) -> str:
    if float(row["radius_km"]) == 0.0:  # buffers(footprint_zone=True): the footprint itself
        return "footprint"
    outer = f"{float(row['radius_km']):g}"
    if "inner_km" in row and pd.notna(row["inner_km"]):
        return f"{float(row['inner_km']):g}-{outer} km"
    return f"within {outer} km"


def _zone_groups(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The zones of each radius (and inner radius), labelled, in order; else all in one."""
    if "radius_km" not in frame.columns:
        return [("all zones", frame)]
    keys = _zone_key(frame)
    return [
        (_zone_label(dict(zip(keys, key, strict=True))), sub)
        for key, sub in frame.groupby(keys, sort=True, dropna=False)
    ]


def _buffers_section(buffers: gpd.GeoDataFrame) -> str:
    keys = _zone_key(buffers)
    if "radius_km" not in keys:
        return ""
    frame = pd.DataFrame(buffers.drop(columns=buffers.geometry.name))
    agg: dict[str, tuple[str, str]] = {"zones": ("radius_km", "size")}
    headers = {"zone": "Zone", "zones": "Zones"}
    if "pa_share" in frame.columns:
        frame["_touch"] = frame["pa_share"].fillna(0) > 0
        agg["touching"] = ("_touch", "sum")
        agg["mean_share"] = ("pa_share", "mean")
        headers["touching"] = "Zones overlapping a PA"
        headers["mean_share"] = "Mean share in PAs (%)"
    if "pa_area_km2" in frame.columns:
        agg["pa_km2"] = ("pa_area_km2", "sum")
        headers["pa_km2"] = "PA area in zones (km², summed)"
    if "g200_share" in frame.columns:
        agg["g200"] = ("g200_share", "mean")
        headers["g200"] = "Mean share in Global 200 (%)"
    summary = frame.groupby(keys, dropna=False, sort=True).agg(**agg).reset_index()
    summary.insert(0, "zone", [_zone_label(r) for r in summary.to_dict("records")])
    for col in ("mean_share", "g200"):
        if col in summary.columns:
            summary[col] = 100.0 * summary[col]
    if "touching" in summary.columns:
        summary["touching"] = summary["touching"].astype("int64")
    return (
        '<section id="buffers"><h2>Buffers</h2>'
        f'<p class="how">Shown: {PER_BUFFER}.</p>'
        "<p>Geodesic buffers around each site (WGS84 ellipsoid). Buffers of neighbouring "
        "sites overlap, so summed areas can count a hectare several times.</p>"
        f"{_table(summary, headers, digits={'mean_share': 1, 'g200': 1, 'pa_km2': 1})}"
        "</section>"
    )


def _overlaps_section(
    overlaps: pd.DataFrame, buffers: gpd.GeoDataFrame | None, label: str | None, limit: int = 50
) -> str:
    """One row per protected area: how many sites lie within each radius of it."""
    frame = pd.DataFrame(overlaps)
    if isinstance(overlaps, gpd.GeoDataFrame):
        frame = frame.drop(columns=overlaps.geometry.name)
    head = '<section id="overlaps"><h2>Protected areas near the sites</h2>'
    if not len(frame):
        return head + "<p>No zone overlaps a protected area.</p></section>"
    if "pa_id" not in frame.columns:
        raise SchemaError(
            "overlaps has no 'pa_id' column; pass the pairs table of asm_pace.overlaps "
            f"(columns found: {list(frame.columns)})"
        )
    zone_col = next((c for c in ("zone_id", "site_id") if c in frame.columns), None)
    if (
        buffers is not None
        and zone_col == "zone_id"
        and {"zone_id", "radius_km", "site_id"} <= set(buffers.columns)
        and "radius_km" not in frame.columns
    ):
        keys = pd.DataFrame(buffers[["zone_id", "site_id", "radius_km"]]).drop_duplicates("zone_id")
        frame = frame.merge(keys, on="zone_id", how="left")
    desc = [c for c in ("name", "designation", "iucn_category") if c in frame.columns]
    out = frame.groupby("pa_id", sort=False)[desc].first() if desc else None
    out = pd.DataFrame(index=pd.Index(frame["pa_id"].unique(), name="pa_id")).join(out)
    headers = {"pa_id": f"{label} id" if label else "Protected area id", "name": "Name"}
    headers["designation"] = "Designation"
    headers["iucn_category"] = "IUCN"
    count_cols: list[str] = []
    if {"radius_km", "site_id"} <= set(frame.columns):
        for r, sub in frame.groupby("radius_km", sort=True):
            col = f"sites_{float(r):g}"
            out[col] = sub.groupby("pa_id")["site_id"].nunique()
            label = f"{float(r):g} km"
            if "inner_km" in sub.columns and sub["inner_km"].notna().any():
                label = f"{float(sub['inner_km'].iloc[0]):g}-{label}"
            headers[col] = f"Sites within {label}" if float(r) else "Sites (footprint itself)"
            count_cols.append(col)
    elif zone_col is not None:
        out["zones"] = frame.groupby("pa_id")[zone_col].nunique()
        headers["zones"] = "Zones overlapping"
        count_cols.append("zones")
    area = next((c for c in ("overlap_km2", "area_km2") if c in frame.columns), None)
    if area is not None:
        out["max_km2"] = frame.groupby("pa_id")[area].max()
        headers["max_km2"] = "Largest overlap with one zone (km²)"
    for col in count_cols:
        out[col] = out[col].fillna(0).astype("int64")
    sort = count_cols[::-1] + (["max_km2"] if area else [])
    if sort:
        out = out.sort_values(sort, ascending=False, kind="stable")
    out = out.reset_index()
    note = ""
    if len(out) > limit:
        note = f" The {limit} with most sites nearby are listed."
    return (
        head + f'<p class="how">Shown: {PER_BUFFER}.</p>'
        f"<p>{len(out):,} protected area(s) overlap the buffers.{_esc(note)}</p>"
        f'<div class="scroll">{_table(out.head(limit), headers)}</div></section>'
    )


def _counts_once(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is the clusters layer (touching buffers merged: each hectare once).

    Clusters carry ``cluster_id`` but no ``zone_id``; buffers from ``dissolve=True`` carry both.
    """
    return "cluster_id" in frame.columns and "zone_id" not in frame.columns


def _covered_ha(frame: pd.DataFrame) -> pd.Series | None:
    """Area of each zone on pixels where every raster has data (ha); None when unknown.

    ``data_coverage`` is NaN for a zone with no area on the grid: it covers nothing.
    """
    if "data_coverage" not in frame.columns or "zone_area_ha" not in frame.columns:
        return None
    area = frame["zone_area_ha"].astype(float).fillna(0.0)
    return area * frame["data_coverage"].astype(float).fillna(0.0)


def _coverage_pct(covered: float, area: float) -> float:
    """Area-weighted coverage in percent, rounded down to 0.1 so a sliver never reads 100.0."""
    if not area > 0:
        return float("nan")
    return math.floor(1000.0 * min(covered / area, 1.0) + 1e-9) / 10.0


#: Below this share a row of the forest table gets a caveat (float noise aside).
_FULL_COVERAGE = 1.0 - 1e-9


#: forest_loss(protected_areas=)'s totals: loss inside areas designated before the loss
#: year, inside areas of unknown status year, outside (docs/forest.md).
_PA_SPLIT = ("loss_total_in_pa_ha", "loss_total_in_pa_unknown_year_ha", "loss_total_outside_pa_ha")
#: forest_loss(drivers=)'s split shown in the report: the mining class and the unknown rest.
_DRIVER_SPLIT = ("loss_driver_hard_commodities_ha", "loss_driver_unknown_ha")


def forest_summary(forest: pd.DataFrame) -> pd.DataFrame:
    """The report's forest table: one row per radius, with the rasters' data coverage.

    Sums each radius' zones: ``zone_area_ha`` (all of it, on and off the rasters),
    ``covered_ha`` (the part on pixels where every raster has data: zone area x
    ``data_coverage``), ``coverage_pct`` (covered / zone area, area-weighted, rounded
    down to 0.1 %), ``forest_2000_ha``, ``loss_total_ha``, ``loss_pct`` (of forest
    2000), the protection split when present (``loss_total_in_pa_ha``,
    ``loss_total_in_pa_unknown_year_ha``, ``loss_total_outside_pa_ha``), the loss by cause
    when present (``loss_driver_hard_commodities_ha``, ``loss_driver_unknown_ha``) and ``gain_ha``. Forest, loss and gain count only covered pixels, so they
    describe the covered part: read them with ``coverage_pct``. Radii are not summed
    into one total: the zones of one site are nested (or, as rings, overlap the zones
    of its neighbours), so a sum across radii would count hectares several times.

    Parameters
    ----------
    forest : pandas.DataFrame
        Zones with the columns of :func:`asm_pace.forest_loss` (the ``clusters`` or
        ``buffers`` layer of a run), grouped by ``radius_km`` (and ``inner_km``) when present.

    Returns
    -------
    pandas.DataFrame
        ``zone``, ``zones``, then the sums above (those whose inputs are present).

    Examples
    --------
    >>> t = pd.DataFrame({"radius_km": [1.0, 1.0], "zone_area_ha": [300.0, 100.0],
    ...     "data_coverage": [1.0, 0.5], "forest_2000_ha": [200.0, 40.0],
    ...     "loss_total_ha": [10.0, 2.0], "loss_2001_ha": [10.0, 2.0]})
    >>> row = forest_summary(t).iloc[0]
    >>> row["zone"], float(row["covered_ha"]), float(row["coverage_pct"]), float(row["loss_pct"])
    ('within 1 km', 350.0, 87.5, 5.0)
    """
    frame = pd.DataFrame(forest)
    if isinstance(forest, gpd.GeoDataFrame):
        frame = frame.drop(columns=forest.geometry.name)
    covered = _covered_ha(frame)
    if covered is not None:
        frame["covered_ha"] = covered
    rows = []
    for label, sub in _zone_groups(frame):
        row: dict[str, object] = {"zone": label, "zones": len(sub)}
        for col in (
            "zone_area_ha",
            "covered_ha",
            "forest_2000_ha",
            "loss_total_ha",
            *_PA_SPLIT,
            *_DRIVER_SPLIT,
            "gain_ha",
        ):
            if col in sub.columns:
                row[col] = float(sub[col].sum())  # NaN (zones without data) count as nothing
        if "covered_ha" in row:
            row["coverage_pct"] = _coverage_pct(row["covered_ha"], row["zone_area_ha"])  # type: ignore[arg-type]
        if "forest_2000_ha" in row and "loss_total_ha" in row and row["forest_2000_ha"]:
            row["loss_pct"] = 100.0 * row["loss_total_ha"] / row["forest_2000_ha"]  # type: ignore[operator]
        rows.append(row)
    return pd.DataFrame(rows)


def _forest_section(forest: pd.DataFrame) -> str:
    years = _loss_years(forest)
    if not years:
        raise SchemaError(
            "forest has no loss_YYYY_ha columns; pass the output of asm_pace.forest_loss "
            "(or the buffers with its columns joined)"
        )
    frame = pd.DataFrame(forest)
    if isinstance(forest, gpd.GeoDataFrame):
        frame = frame.drop(columns=forest.geometry.name)
    once = _counts_once(frame)
    unit = CLUSTERS if once else PER_BUFFER
    summary = forest_summary(frame)
    charts = []
    for label, sub in _zone_groups(frame):
        fig = _new_figure((7.5, 3.4))
        ax = fig.subplots()
        plotting.plot_forest_loss(sub, ax=ax, title=f"Tree cover loss, {label} ({unit})")
        charts.append(_img(_png(fig), f"Tree cover loss by year, {label} ({unit})"))
    table = _table(
        summary,
        {
            "zone": "Zone",
            "zones": "Clusters" if once else "Buffers",
            "zone_area_ha": "Zone area (ha)",
            "covered_ha": "Area with raster data (ha)",
            "coverage_pct": "Data coverage (%)",
            "forest_2000_ha": "Forest 2000 (ha)",
            "loss_total_ha": "Loss (ha)",
            "loss_pct": "Loss (% of 2000 forest)",
            "loss_total_in_pa_ha": "Loss in PAs already designated (ha)",
            "loss_total_in_pa_unknown_year_ha": "Loss in PAs of unknown year (ha)",
            "loss_total_outside_pa_ha": "Loss outside PAs (ha)",
            "loss_driver_hard_commodities_ha": "Loss, driver hard commodities incl. mining (ha)",
            "loss_driver_unknown_ha": "Loss, driver unknown (ha)",
            "gain_ha": "Gain (ha)",
        },
        digits={
            "zone_area_ha": 0,
            "covered_ha": 0,
            "coverage_pct": 1,
            "forest_2000_ha": 0,
            "loss_total_ha": 1,
            **dict.fromkeys(_PA_SPLIT, 1),
            **dict.fromkeys(_DRIVER_SPLIT, 1),
            "gain_ha": 1,
        },
        low={"coverage_pct": 100.0},
    )
    first, last = years[0][5:9], years[-1][5:9]
    if once:
        how = (
            "over the buffers of each radius, with touching buffers of neighbouring sites "
            "merged first, so each hectare counts once."
        )
    else:
        how = (
            "summed over the zones of each radius. Zones of neighbouring sites overlap, so "
            "the same hectare can count in several zones."
        )
    caveats = []
    if "coverage_pct" in summary.columns:
        for rec in summary.to_dict("records"):
            covered, area = rec["covered_ha"], rec["zone_area_ha"]
            if area > 0 and covered < _FULL_COVERAGE * area:
                caveats.append(
                    f'<p class="caveat">{_esc(rec["zone"])}: the forest rasters cover '
                    f"{_fmt(rec['coverage_pct'], digits=1)} % of the zone area "
                    f"({_fmt(covered, digits=1)} of {_fmt(area, digits=1)} ha). Forest, loss "
                    "and gain count only the covered part (the rest lies off the rasters or "
                    "on nodata), so they understate the zone: give rasters (tiles) that "
                    "cover it.</p>"
                )
    else:
        caveats.append(
            '<p class="caveat">The table has no <code>data_coverage</code> column: how much of '
            "each zone the rasters cover is unknown, and forest counts only covered "
            "pixels.</p>"
        )
    return (
        '<section id="forest"><h2>Forest loss</h2>'
        f'<p class="how">Shown: {unit}.</p>'
        f"<p>Tree cover loss {first}-{last} on forest of 2000 (Hansen et al. 2013, Global "
        f"Forest Change), {how} Data coverage is the share of the zone area on pixels "
        "where every raster has data (area-weighted over the zones of a row).</p>"
        f"{table}{''.join(caveats)}{''.join(charts)}</section>"
    )


#: Role of each input layer -> its name in the cleaning table, in order.
_ROLES = {
    "sites": "Sites",
    "protected_areas": "Protected areas",
    "ecoregions": "Ecoregions",
    "priority_landscapes": "Priority landscapes",
}


def _role_rank(role: str) -> int:
    """A layer's place in the cleaning table (``protected_areas:NAME`` with the protected areas)."""
    kind = role.partition(":")[0]
    return list(_ROLES).index(kind) if kind in _ROLES else 99


#: What each reader's removal step left out (``attrs["counts"]["removed"]``).
_STEPS = {
    "countries": "outside the countries asked for",
    "bbox": "outside the bounding box",
    "statuses": "status not kept (e.g. Proposed)",
    "exclude_mab": "UNESCO-MAB Biosphere Reserves",
    "exclude_oecm": "OECMs",
    "exclude_marine": "marine",
    "not_polygon_or_point": "neither polygon nor point",
    "not_polygon": "not polygons",
    "points": "point records (points left out)",
    "points_without_area": "point records without a reported area",
    "points_polar": "point circles containing a pole",
    "empty_after_repair": "no area once repaired",
    "other_layers": "in other layers",
}


def _removed_text(removed: Mapping[str, object]) -> str:
    said = [f"{_STEPS.get(k, k)}: {int(v):,}" for k, v in removed.items() if int(v)]  # type: ignore[call-overload]
    return "; ".join(said) or "none"


def _cleaning_section(counts: Mapping[str, Mapping[str, Any]], circles: int | None) -> str:
    """What each reader read, left out (by step), repaired and used."""
    rows = []
    for role, found in sorted(counts.items(), key=lambda kv: _role_rank(kv[0])):
        removed = dict(found.get("removed") or {})
        kind, _, name = role.partition(":")  # protected_areas:SERNANP, one of several sources
        row: dict[str, object] = {
            "layer": _ROLES.get(kind, kind) + (f" ({name})" if name else ""),
            "source": Path(str(found.get("source", ""))).name,
            "read": found.get("read"),
            "left_out": sum(int(v) for v in removed.values()) if removed else 0,
            "steps": _removed_text(removed),
            "repaired": found.get("repaired"),
            "used": found.get("used"),
        }
        rows.append(row)
    if not rows:
        return ""
    frame = pd.DataFrame(rows)
    for col in ("read", "left_out", "repaired", "used"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    table = _table(
        frame,
        {
            "layer": "Layer",
            "source": "File",
            "read": "Read",
            "left_out": "Left out",
            "steps": "Left out, by step",
            "repaired": "Repaired (kept)",
            "used": "Used",
        },
        css="counts",
    )
    note = ""
    if circles:
        note = (
            f'<p class="note">{circles:,} protected-area point record(s) were turned into '
            "circles of their reported area (kept, and counted in Used).</p>"
        )
    return (
        '<section id="cleaning"><h2>What was read and cleaned</h2>'
        "<p>Records read from each input, left out by each cleaning step (see the "
        "documentation on protected areas), repaired and used.</p>"
        f"{table}{note}</section>"
    )


def _layer_counts(layers: Mapping[str, pd.DataFrame | None]) -> dict[str, dict[str, object]]:
    """The readers' counts of the layers given that carry them (``attrs["counts"]``)."""
    from .pipeline import layer_counts

    return {
        role: layer_counts(gdf)
        for role, gdf in layers.items()
        if gdf is not None and gdf.attrs.get("counts")
    }


def pa_source_label(protected_areas: pd.DataFrame | None) -> str | None:
    """How the report names the protected-area source: its label, else its file name.

    ``read_protected_areas`` sets ``attrs["source_label"]`` (``"WDPA"`` for layers of the
    WDPA schema, else the file's own name or ``--pa-source-name``); without it the file
    name (``attrs["source"]``) is used; None when neither is known.

    Examples
    --------
    >>> pas = pd.DataFrame({"pa_id": ["100"]})
    >>> pas.attrs = {"source": "snap_2024.shp"}
    >>> pa_source_label(pas), pa_source_label(None)
    ('snap_2024.shp', None)
    """
    if protected_areas is None:
        return None
    label = protected_areas.attrs.get("source_label") or protected_areas.attrs.get("source")
    return str(label) if label else None


def _credits(
    pa_label: str | None, *, ecoregions: bool, landscapes: str | None, forest: bool
) -> str:
    """The footer: credit each data source the run used, and no other."""
    parts = []
    if pa_label == "WDPA":
        parts.append("protected areas: WDPA (UNEP-WCMC and IUCN, Protected Planet)")
    elif pa_label:
        parts.append(f"protected areas: {_esc(pa_label)}")
    if ecoregions:
        parts.append(
            "ecoregions: WWF Terrestrial Ecoregions of the World and Global 200 "
            "(Olson et al. 2001, Olson and Dinerstein 2002)"
        )
    if landscapes:
        parts.append(f"priority landscapes: {_esc(landscapes)}")
    if forest:
        parts.append("forest change: Hansen et al. 2013 (Global Forest Change)")
    data = f" Data: {'; '.join(parts)}." if parts else ""
    return f"<footer>Made with asm_pace.{data}</footer>"


def _provenance_section(run_info: list[tuple[str, str]]) -> str:
    frame = pd.DataFrame(run_info, columns=["key", "value"])
    return (
        '<section id="provenance"><h2>Provenance</h2>'
        f"{_table(frame, {'key': 'Item', 'value': 'Value'})}</section>"
    )


def write_report(
    path: str | os.PathLike[str],
    sites_result: gpd.GeoDataFrame,
    *,
    buffers: gpd.GeoDataFrame | None = None,
    overlaps: pd.DataFrame | None = None,
    forest: pd.DataFrame | None = None,
    run_info: Mapping[str, object] | pd.DataFrame | None = None,
    protected_areas: gpd.GeoDataFrame | None = None,
    ecoregions: gpd.GeoDataFrame | None = None,
    priority_landscapes: gpd.GeoDataFrame | None = None,
    counts: Mapping[str, Mapping[str, Any]] | None = None,
    kbas: gpd.GeoDataFrame | None = None,
    downstream_areas: pd.DataFrame | None = None,
    pa_source: str | None = None,
    title: str = "ASM-PACE screening report",
    max_rows: int = 5000,
    overwrite: bool = False,
) -> Path:
    """Write a self-contained HTML report of a classification run.

    One file, nothing to fetch: inline CSS, the map and charts as base64 PNG
    images, no scripts. Sections: sites by class (counts and shares; ``pa_certainty``
    counts when sites have an uncertainty), the map, the per-site table (class, reason,
    nearest protected area, ecoregion), Key Biodiversity Areas (sites inside each) and
    the downstream walk (how it ended, the areas reached) when the sites have them,
    buffers and their protected-area overlaps, forest loss by year and the
    run's provenance (each given only when its input is), what each reader read,
    left out and repaired. The forest table gives each row's data coverage (with a
    caveat below 100 %); every table and chart says whether overlapping buffers
    count once each or each hectare once (clusters). A print stylesheet lays it out
    on A4 (whole tables, headers repeated on each page). The footer credits only the
    sources used. The file is written
    to a temporary file in the same folder and then renamed, so an
    interrupted run never leaves half a report.

    Parameters
    ----------
    path : str or os.PathLike
        The HTML file to write.
    sites_result : geopandas.GeoDataFrame
        The output of :func:`asm_pace.classify`.
    buffers : geopandas.GeoDataFrame, optional
        Buffers (:func:`asm_pace.buffers`), with the per-zone overlap columns
        of :func:`asm_pace.overlaps` joined when available.
    overlaps : pandas.DataFrame, optional
        The long zone / protected-area table from :func:`asm_pace.overlaps`.
    forest : pandas.DataFrame, optional
        The output of :func:`asm_pace.forest_loss` (``loss_YYYY_ha`` columns),
        or the buffers with those columns joined (grouped by ``radius_km``); the
        ``clusters`` layer of a run counts each hectare once, buffers may count
        it several times. ``data_coverage`` gives the coverage column.
    run_info : dict or pandas.DataFrame, optional
        Provenance: parameters, input files and checksums (a dict, or a
        ``key``/``value`` table such as the GeoPackage's ``run_info``). The
        asm_pace version and the report's time are always added.
    protected_areas, ecoregions, priority_landscapes : geopandas.GeoDataFrame, optional
        Drawn under the sites on the map; their ``attrs["counts"]`` fill the
        cleaning table when ``counts`` is not given.
    counts : dict, optional
        Input role (``sites``, ``protected_areas``, ``ecoregions``,
        ``priority_landscapes``) -> the reader's counts (``source``, ``read``,
        ``removed`` by step, ``repaired``, ``used``), as in ``PipelineResult.counts``.
    kbas : geopandas.GeoDataFrame, optional
        The Key Biodiversity Areas read (:func:`asm_pace.read_kbas`): names and AZE status
        of the KBAs the sites lie in (the section itself needs only the sites' ``kba_ids``).
    downstream_areas : pandas.DataFrame, optional
        The areas each site's river reaches (:func:`asm_pace.downstream`, ``areas``; the
        GeoPackage's ``downstream_areas``): the downstream section lists them.
    pa_source : str, optional
        How to name the protected-area source (table header, footer credit); by
        default ``protected_areas.attrs["source_label"]``, else its file name.
    title : str
        The report's heading.
    max_rows : int
        Most sites listed in the per-site table (the rest are in the GeoPackage).
    overwrite : bool
        Replace ``path`` when it exists.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    OutputError
        The folder does not exist or the file cannot be written.
    MissingDependencyError
        matplotlib is not installed (``pip install "asm-pace[plot]"``).

    Examples
    --------
    >>> import geopandas as gpd, shapely, tempfile, pathlib
    >>> sites = gpd.GeoDataFrame({"site_id": ["S1"], "pace_class": ["protected_area"],
    ...     "reason": ["Inside Alpha National Park (WDPA 900001, IUCN II)"]},
    ...     geometry=[shapely.Point(-70.0, -12.0)], crs=4326)
    >>> out = write_report(pathlib.Path(tempfile.mkdtemp()) / "r.html", sites,
    ...                    run_info={"command": "asm-pace demo"})
    >>> text = out.read_text(encoding="utf-8")
    >>> "data:image/png;base64," in text and "asm-pace demo" in text
    True
    """
    plotting._require("matplotlib")
    import asm_pace

    path = Path(os.fspath(path))
    check_destination(path, overwrite)
    if max_rows < 1:
        raise InputError(f"max_rows must be at least 1, got {max_rows}")
    sites = plotting._to_wgs84(sites_result, "sites_result")
    plotting._classes_present(sites)  # checks pace_class

    provenance = [
        ("asm_pace version", asm_pace.__version__),
        ("report written", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
        *_as_run_info(run_info),
    ]
    if "source" in sites.attrs:
        provenance.append(("sites file", str(sites.attrs["source"])))

    pa_label = pa_source or pa_source_label(protected_areas)
    if counts is None:
        counts = _layer_counts(
            {
                "sites": sites_result,
                "protected_areas": protected_areas,
                "ecoregions": ecoregions,
                "priority_landscapes": priority_landscapes,
            }
        )
    circles = None
    if protected_areas is not None and "origin" in protected_areas.columns:
        circles = int((protected_areas["origin"] == "point_circle").sum())
    used_forest = forest is not None and len(forest) > 0
    parts: list[str] = [
        _summary_section(sites, pa_label),
        _map_section(sites, protected_areas, ecoregions, priority_landscapes, buffers),
        _sites_section(sites, max_rows),
    ]
    parts.append(_kba_section(sites, kbas))
    parts.append(_downstream_section(sites, downstream_areas))
    if buffers is not None and len(buffers):
        parts.append(_buffers_section(buffers))
    if overlaps is not None:
        parts.append(_overlaps_section(overlaps, buffers, pa_label))
    if used_forest:
        parts.append(_forest_section(forest))  # type: ignore[arg-type]
    parts.append(_cleaning_section(counts, circles))
    parts.append(_provenance_section(provenance))
    uses_eco = ecoregions is not None or bool(
        {"eco_name", "g200_region", "is_g200"} & set(sites.columns)
    )
    landscapes = None
    if priority_landscapes is not None:
        landscapes = str(priority_landscapes.attrs.get("source") or "given layer")

    body = "".join(parts)
    doc = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_esc(title)}</h1>"
        f"<p>{len(sites):,} artisanal and small-scale mining site(s) classified under the "
        "ASM-PACE definition (WWF / Estelle Levin Ltd) with asm_pace "
        f"{_esc(asm_pace.__version__)}.</p></header>"
        f"<main>{body}</main>"
        + _credits(pa_label, ecoregions=uses_eco, landscapes=landscapes, forest=used_forest)
        + "</body></html>\n"
    )
    with atomic_output(path, overwrite=overwrite, suffix=".html") as temp:
        temp.write_text(doc, encoding="utf-8")
    return path


def write_pipeline_report(
    path: str | os.PathLike[str],
    result: Any,
    *,
    run_info: Mapping[str, object] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the report of a :func:`asm_pace.pipeline.run_pipeline` result (``--report``).

    Takes the sites, buffers, overlaps and forest columns from ``result.layers``,
    the map's background layers from ``result.context`` when present, and the
    run's parameters and inputs as provenance (plus ``run_info``).

    Parameters
    ----------
    path : str or os.PathLike
        The HTML file to write.
    result : asm_pace.pipeline.PipelineResult
    run_info : dict, optional
        More provenance items (e.g. the command line).
    overwrite : bool
        Replace ``path`` when it exists.

    Returns
    -------
    pathlib.Path
    """
    layers = result.layers
    buffers = layers.get("buffers")
    # clusters of touching buffers count each hectare once; buffers would count it per site
    clusters = layers.get("clusters")
    forest = None
    for candidate in (clusters, buffers):
        if candidate is not None and _loss_years(candidate):
            forest = candidate
            break
    info: dict[str, object] = dict(result.parameters)
    for role, value in result.inputs.items():
        info[f"input: {role}"] = value
    info.update(run_info or {})
    context = result.context
    return write_report(
        path,
        layers["sites"],
        buffers=buffers,
        overlaps=layers.get("overlaps"),
        forest=forest,
        run_info=info,
        protected_areas=context.get("protected_areas"),
        ecoregions=context.get("ecoregions"),
        priority_landscapes=context.get("priority_landscapes"),
        counts=result.counts,
        kbas=context.get("kbas"),
        downstream_areas=layers.get("downstream_areas"),
        overwrite=overwrite,
    )
