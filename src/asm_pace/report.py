"""A self-contained HTML report of a run, for readers without Python or GIS.

:func:`write_report` writes one HTML file with everything inline (CSS, the map
and charts as base64 PNG images, no scripts, no links to fetch): the number of
sites in each ASM-PACE class, a map, the per-site table with each site's
``reason``, buffer and protected-area overlap summaries, forest-loss charts and
the run's provenance. It opens in any browser and can be e-mailed as it is.
Needs the ``[plot]`` extra (matplotlib).

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
from collections.abc import Mapping
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

__all__ = ["write_report", "write_pipeline_report"]

#: What each class means, for the report's summary (precedence order).
_CLASS_MEANING = {
    "protected_area": "inside or touching a protected area (WDPA)",
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
"""


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
) -> str:
    headers = headers or {c: c for c in frame.columns}
    digits = digits or {}
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
                cells.append(f'<td class="num">{_fmt(v, digits=digits.get(c, 2))}</td>')
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


def _summary_section(sites: gpd.GeoDataFrame) -> str:
    counts = sites["pace_class"].value_counts()
    total = len(sites)
    frame = pd.DataFrame(
        {
            "pace_class": list(PACE_CLASS_COLORS),
            "meaning": [_CLASS_MEANING[c] for c in PACE_CLASS_COLORS],
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
        f"{table}</section>"
    )


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
    table = _table(shown, _SITE_COLUMNS, digits={"nearest_pa_km": 2, "pa_share": 3})
    return f'<section id="sites"><h2>Sites</h2>{note}<div class="scroll">{table}</div></section>'


def _zone_key(frame: pd.DataFrame) -> list[str]:
    return [c for c in ("inner_km", "radius_km") if c in frame.columns]


def _zone_label(row: Mapping[str, Any]) -> str:
    outer = f"{float(row['radius_km']):g}"
    if "inner_km" in row and pd.notna(row["inner_km"]):
        return f"{float(row['inner_km']):g}-{outer} km"
    return f"within {outer} km"


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
        "<p>Geodesic buffers around each site (WGS84 ellipsoid).</p>"
        f"{_table(summary, headers, digits={'mean_share': 1, 'g200': 1, 'pa_km2': 1})}"
        "</section>"
    )


def _overlaps_section(
    overlaps: pd.DataFrame, buffers: gpd.GeoDataFrame | None, limit: int = 50
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
    headers = {"pa_id": "WDPA id", "name": "Name", "designation": "Designation"}
    headers["iucn_category"] = "IUCN"
    count_cols: list[str] = []
    if {"radius_km", "site_id"} <= set(frame.columns):
        for r, sub in frame.groupby("radius_km", sort=True):
            col = f"sites_{float(r):g}"
            out[col] = sub.groupby("pa_id")["site_id"].nunique()
            label = f"{float(r):g} km"
            if "inner_km" in sub.columns and sub["inner_km"].notna().any():
                label = f"{float(sub['inner_km'].iloc[0]):g}-{label}"
            headers[col] = f"Sites within {label}"
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
        head + f"<p>{len(out):,} protected area(s) overlap the buffers.{_esc(note)}</p>"
        f'<div class="scroll">{_table(out.head(limit), headers)}</div></section>'
    )


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
    groups: list[tuple[str, pd.DataFrame]]
    if "radius_km" in frame.columns:
        groups = [
            (_zone_label(dict(zip(_zone_key(frame), key, strict=True))), sub)
            for key, sub in frame.groupby(_zone_key(frame), sort=True, dropna=False)
        ]
    else:
        groups = [("all zones", frame)]
    rows = []
    charts = []
    for label, sub in groups:
        row: dict[str, object] = {"zone": label, "zones": len(sub)}
        for col in ("zone_area_ha", "forest_2000_ha", "loss_total_ha", "gain_ha"):
            if col in sub.columns:
                row[col] = float(sub[col].sum())
        if "forest_2000_ha" in row and "loss_total_ha" in row and row["forest_2000_ha"]:
            row["loss_pct"] = 100.0 * row["loss_total_ha"] / row["forest_2000_ha"]  # type: ignore[operator]
        rows.append(row)
        fig = _new_figure((7.5, 3.2))
        ax = fig.subplots()
        plotting.plot_forest_loss(sub, ax=ax, title=f"Tree cover loss, {label}")
        charts.append(_img(_png(fig), f"Tree cover loss by year, {label}"))
    table = _table(
        pd.DataFrame(rows),
        {
            "zone": "Zone",
            "zones": "Zones",
            "zone_area_ha": "Zone area (ha)",
            "forest_2000_ha": "Forest 2000 (ha)",
            "loss_total_ha": "Loss (ha)",
            "loss_pct": "Loss (% of 2000 forest)",
            "gain_ha": "Gain (ha)",
        },
        digits={"zone_area_ha": 0, "forest_2000_ha": 0, "loss_total_ha": 1, "gain_ha": 1},
    )
    first, last = years[0][5:9], years[-1][5:9]
    # clusters carry cluster_id but no zone_id; buffers from dissolve=True carry both
    if "cluster_id" in frame.columns and "zone_id" not in frame.columns:
        how = (
            "over the buffers of each radius, with touching buffers of neighbouring sites "
            "merged first, so each hectare counts once."
        )
    else:
        how = (
            "summed over the zones of each radius. Zones of neighbouring sites overlap, so "
            "the same hectare can count in several zones."
        )
    return (
        '<section id="forest"><h2>Forest loss</h2>'
        f"<p>Tree cover loss {first}-{last} on forest of 2000 (Hansen et al. 2013, Global "
        f"Forest Change), {how}</p>"
        f"{table}{''.join(charts)}</section>"
    )


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
    title: str = "ASM-PACE screening report",
    max_rows: int = 5000,
    overwrite: bool = False,
) -> Path:
    """Write a self-contained HTML report of a classification run.

    One file, nothing to fetch: inline CSS, the map and charts as base64 PNG
    images, no scripts. Sections: sites by class (counts and shares), the map,
    the per-site table (class, reason, nearest protected area, ecoregion),
    buffers and their protected-area overlaps, forest loss by year and the
    run's provenance (each given only when its input is). The file is written
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
        or the buffers with those columns joined (grouped by ``radius_km``).
    run_info : dict or pandas.DataFrame, optional
        Provenance: parameters, input files and checksums (a dict, or a
        ``key``/``value`` table such as the GeoPackage's ``run_info``). The
        asm_pace version and the report's time are always added.
    protected_areas, ecoregions, priority_landscapes : geopandas.GeoDataFrame, optional
        Drawn under the sites on the map.
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

    parts: list[str] = [
        _summary_section(sites),
        _map_section(sites, protected_areas, ecoregions, priority_landscapes, buffers),
        _sites_section(sites, max_rows),
    ]
    if buffers is not None and len(buffers):
        parts.append(_buffers_section(buffers))
    if overlaps is not None:
        parts.append(_overlaps_section(overlaps, buffers))
    if forest is not None and len(forest):
        parts.append(_forest_section(forest))
    parts.append(_provenance_section(provenance))

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
        "<footer>Made with asm_pace. Protected areas: WDPA (UNEP-WCMC and IUCN, Protected "
        "Planet); ecoregions: WWF Terrestrial Ecoregions of the World and Global 200 "
        "(Olson et al. 2001, Olson and Dinerstein 2002); forest change: Hansen et al. 2013."
        "</footer></body></html>\n"
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
        overwrite=overwrite,
    )
