"""Maps and charts of classified sites and forest loss (the ``[plot]`` extra).

* :func:`plot_sites`: a static matplotlib map of sites coloured by ASM-PACE
  class over protected areas, Global 200 ecoregions and priority landscapes,
  with a legend and a scale bar whose length is geodesically exact at the
  latitude where it is drawn.
* :func:`plot_forest_loss`: tree-cover loss by year (bars), in total or per
  site / group, from the table :func:`asm_pace.forest_loss` returns.
* :func:`explore_sites`: an interactive folium map for notebooks (sites by
  class with the ``reason`` in the pop-up, protected areas, buffers).

The class colours are those of the QGIS style asm_pace writes into its
GeoPackages (:data:`PACE_COLOURS`), so a map here and the layer in QGIS agree.
matplotlib and folium are imported only when a function needs them; without
them the functions raise :class:`~asm_pace.errors.MissingDependencyError`
naming the extra to install (``pip install "asm-pace[plot]"``).

Maps are drawn in longitude/latitude (EPSG:4326) with the aspect ratio of the
map's mid-latitude, so shapes look right on small and medium extents.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from asm_pace.plotting import plot_sites
>>> sites = gpd.GeoDataFrame(
...     {"site_id": ["S1", "S2"], "pace_class": ["protected_area", "not_eligible"]},
...     geometry=[shapely.Point(-70.0, -12.0), shapely.Point(-69.5, -12.3)], crs=4326)
>>> ax = plot_sites(sites)
>>> [t.get_text() for t in ax.get_legend().get_texts()]
['Protected area (1)', 'Not eligible (1)']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._styles import (
    PACE_CLASS_COLORS,
    PACE_CLASS_LABELS,
    categories_for_zones,
    format_category_value,
)
from ._vector import to_wgs84
from .errors import InputError, MissingDependencyError, SchemaError
from .geodesy import WGS84
from .pipeline import loss_columns

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.axes import Axes

__all__ = [
    "PACE_COLOURS",
    "PACE_LABELS",
    "plot_sites",
    "plot_forest_loss",
    "explore_sites",
    "OFFLINE_TILES_NOTE",
    "scale_bar",
    "nice_length",
]

#: Colour of each ASM-PACE class (hex RGB), shared with the GeoPackage's QGIS style.
PACE_COLOURS: dict[str, str] = dict(PACE_CLASS_COLORS)

#: Legend label of each ASM-PACE class.
PACE_LABELS: dict[str, str] = dict(PACE_CLASS_LABELS)

# background layers
_PA_FACE, _PA_EDGE = "#74c476", "#006d2c"
_G200_FACE, _G200_EDGE = "#e5f5e0", "#a1d99b"
_ECO_FACE, _ECO_EDGE = "#f7f7f2", "#c8c8c8"
_PL_FACE, _PL_EDGE = "#fdd0a2", "#e6550d"
_BUFFER_EDGE = "#3182bd"
_LOSS_COLOUR = "#dc3c78"
_SITE_EDGE = "#232323"


def _require(module: str) -> Any:
    """Import an optional dependency or raise MissingDependencyError naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{module.split('.')[0]} is needed for asm_pace's maps and charts but is not "
            'installed; install the plotting extra: pip install "asm-pace[plot]" (from a '
            'source checkout: pip install -e ".[plot]")'
        ) from err


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(
            f"{what} must be a GeoDataFrame, got {type(gdf).__name__}; "
            "read it with asm_pace's loaders or geopandas.read_file"
        )
    # the project's CRS policy: no CRS warns, polygons across +-180 are split (a plain
    # to_crs draws a projected layer crossing the antimeridian as a band round the world)
    return to_wgs84(gdf, source=what)


def _classes_present(result: gpd.GeoDataFrame) -> list[str]:
    if "pace_class" not in result.columns:
        raise SchemaError(
            "the sites have no 'pace_class' column; pass the result of asm_pace.classify"
        )
    values = set(result["pace_class"].dropna().astype(str))
    unknown = values - set(PACE_COLOURS)
    if unknown:
        raise InputError(
            f"unknown pace_class value(s) {sorted(unknown)}; expected one of {list(PACE_COLOURS)}"
        )
    return [c for c in PACE_COLOURS if c in values]


def nice_length(target_m: float) -> float:
    """The largest 1, 2 or 5 x 10^n metres not longer than ``target_m``.

    Examples
    --------
    >>> nice_length(37_000.0), nice_length(1_999.0), nice_length(5.0)
    (20000.0, 1000.0, 5.0)
    """
    if not target_m > 0:
        raise InputError(f"scale-bar length must be positive, got {target_m}")
    exp = math.floor(math.log10(target_m))
    for step in (5.0, 2.0, 1.0):
        value = step * 10.0**exp
        if value <= target_m * (1 + 1e-12):
            return value
    return 10.0**exp  # pragma: no cover - unreachable


def _format_length(metres: float) -> str:
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def _lon_span_for(lon0: float, lat: float, metres: float) -> float:
    """Longitude span (degrees) whose geodesic length along latitude ``lat`` is ``metres``.

    Starts from the length of the parallel arc (radius N cos(lat)) and refines it
    with :meth:`pyproj.Geod.inv` so the two end points are exactly ``metres`` apart.
    """
    a, f = WGS84.a, WGS84.f
    e2 = f * (2 - f)
    phi = math.radians(lat)
    n = a / math.sqrt(1 - e2 * math.sin(phi) ** 2)
    span = math.degrees(metres / (n * math.cos(phi)))
    for _ in range(4):
        dist = WGS84.inv(lon0, lat, lon0 + span, lat)[2]
        span *= metres / dist
    return span


def scale_bar(ax: Axes, *, fraction: float = 0.2, location: tuple[float, float] = (0.05, 0.05)):
    """Draw a scale bar on a longitude/latitude map; its length is exact on the WGS84 ellipsoid.

    The bar is drawn along the parallel at its own latitude: its two ends are
    exactly the labelled distance apart (:meth:`pyproj.Geod.inv`). On a map in
    degrees the scale changes with latitude, so the bar is right where it is
    drawn (near the bottom of the map), a little long at higher latitudes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        A map in EPSG:4326 degrees with its final limits set.
    fraction : float
        Target length as a share of the map's width (rounded down to 1, 2, 5 x 10^n).
    location : (float, float)
        Left end of the bar in axes coordinates (0-1).

    Returns
    -------
    matplotlib.lines.Line2D
        The bar (gid ``"asm_pace-scale-bar"``); its label text has gid
        ``"asm_pace-scale-bar-label"``.
    """
    _require("matplotlib")
    import matplotlib.patheffects as pe

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lon0 = x0 + location[0] * (x1 - x0)
    lat = y0 + location[1] * (y1 - y0)
    lat = float(np.clip(lat, -85.0, 85.0))
    # map width along the bar's parallel, in metres
    width_m = abs(x1 - x0) * (_lon_span_for(lon0, lat, 1000.0) ** -1) * 1000.0
    length = nice_length(fraction * width_m)
    span = _lon_span_for(lon0, lat, length)
    from matplotlib.patches import FancyBboxPatch

    tick = 0.012 * (y1 - y0)
    ax.add_patch(
        FancyBboxPatch(
            (lon0, lat - 1.5 * tick),
            span,
            5.5 * tick,
            boxstyle=f"round,pad={0.01 * (x1 - x0)}",
            facecolor="white",
            edgecolor="none",
            alpha=0.8,
            zorder=19,
            gid="asm_pace-scale-bar-box",
        )
    )
    halo = [pe.withStroke(linewidth=5, foreground="white")]
    (line,) = ax.plot(
        [lon0, lon0 + span],
        [lat, lat],
        color="black",
        linewidth=2.5,
        solid_capstyle="butt",
        path_effects=halo,
        zorder=20,
        gid="asm_pace-scale-bar",
    )
    for x in (lon0, lon0 + span):
        ax.plot([x, x], [lat - tick, lat + tick], color="black", linewidth=1.2, zorder=20)
    ax.text(
        lon0 + span / 2,
        lat + 1.8 * tick,
        _format_length(length),
        ha="center",
        va="bottom",
        fontsize=8,
        zorder=21,
        path_effects=[pe.withStroke(linewidth=3, foreground="white")],
        gid="asm_pace-scale-bar-label",
    )
    return line


def _north_arrow(ax: Axes) -> None:
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.84),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 11, "headlength": 9},
        zorder=21,
        gid="asm_pace-north-arrow",
    )


def _degree_formatter(axis: str):
    from matplotlib.ticker import FuncFormatter

    pos, neg = ("E", "W") if axis == "x" else ("N", "S")

    def fmt(value: float, _pos: int) -> str:
        hemi = "" if value == 0 else (pos if value > 0 else neg)
        return f"{abs(value):g}°{hemi}"

    return FuncFormatter(fmt)


def _extent(layers: Sequence[gpd.GeoDataFrame]) -> tuple[float, float, float, float]:
    bounds = np.array([g.total_bounds for g in layers if len(g)])
    if not len(bounds) or not np.isfinite(bounds).all():
        raise InputError("there is nothing to map: the sites have no geometries")
    xmin, ymin = bounds[:, 0].min(), bounds[:, 1].min()
    xmax, ymax = bounds[:, 2].max(), bounds[:, 3].max()
    pad = max(0.08 * max(xmax - xmin, ymax - ymin), 0.05)
    xmin, xmax = max(xmin - pad, -180.0), min(xmax + pad, 180.0)
    ymin, ymax = max(ymin - pad, -89.0), min(ymax + pad, 89.0)
    return xmin, ymin, xmax, ymax


def _map_layers(
    result: gpd.GeoDataFrame, buffers: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, list[str], gpd.GeoDataFrame | None, tuple[float, float, float, float]]:
    """Sites and buffers in EPSG:4326, the classes present and the map's extent."""
    sites = _to_wgs84(result, "result")
    classes = _classes_present(sites)
    layers = [sites]
    if buffers is not None:
        buffers = _to_wgs84(buffers, "buffers")
        layers.append(buffers)
    return sites, classes, buffers, _extent(layers)


def _map_figsize(box: tuple[float, float, float, float]) -> tuple[float, float]:
    """Figure size (inches) fitting a map of ``box`` plus a legend column on its right."""
    aspect = 1.0 / max(math.cos(math.radians((box[1] + box[3]) / 2)), 0.05)
    ratio = (box[3] - box[1]) * aspect / (box[2] - box[0])
    map_w = 6.0 if ratio <= 1.2 else float(np.clip(7.5 / ratio, 3.0, 6.0))
    return (map_w + 3.4, float(np.clip(map_w * ratio + 0.9, 3.2, 8.5)))


def _draw_buffers(ax: Axes, buffers: gpd.GeoDataFrame) -> list[Any]:
    """Outline the area within each radius of any site (buffers of one radius dissolved).

    Hundreds of overlapping circles are unreadable; their union per radius shows
    the same thing: which land is within 1, 10 or 50 km of a site.
    """
    from matplotlib.lines import Line2D

    if "radius_km" not in buffers.columns:
        union = shapely.union_all(buffers.geometry.values)
        gpd.GeoSeries([union], crs=buffers.crs).boundary.plot(
            ax=ax, color=_BUFFER_EDGE, linewidth=0.9, linestyle="--", zorder=4
        )
        return [Line2D([], [], color=_BUFFER_EDGE, linestyle="--", label="Buffers")]
    keys = [c for c in ("radius_km", "inner_km") if c in buffers.columns]
    groups = [
        (key if isinstance(key, tuple) else (key,), sub)
        for key, sub in buffers.groupby(keys, sort=True, dropna=False)
    ]
    outer = [float(k[0]) for k, _ in groups]
    inner = [float(k[1]) for k, _ in groups] if len(keys) == 2 else None
    cats = {c.value: c for c in categories_for_zones(outer, inner)}
    handles = []
    n = len(outer)
    for i, (key, sub) in enumerate(groups):
        cat = cats[format_category_value(float(key[0]))]
        union = shapely.union_all(sub.geometry.values)
        dashes = (None if i == 0 else (6, 2 + 2 * i)) if n > 1 else (5, 3)
        style = {"linestyle": "-"} if dashes is None else {"linestyle": (0, dashes)}
        gpd.GeoSeries([union], crs=buffers.crs).boundary.plot(
            ax=ax, color=cat.color, linewidth=1.0, zorder=4, **style
        )
        handles.append(Line2D([], [], color=cat.color, linewidth=1.2, label=cat.label, **style))
    return handles


def _clip(gdf: gpd.GeoDataFrame, box: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Keep the features in the map box, cut to it (less to draw for continental layers)."""
    sub = gdf.cx[box[0] : box[2], box[1] : box[3]]
    if not len(sub):
        return sub
    geoms = shapely.clip_by_rect(sub.geometry.values, *box)
    sub = sub.set_geometry(gpd.GeoSeries(geoms, index=sub.index, crs=sub.crs))
    return sub[~sub.geometry.is_empty]


def plot_sites(
    result: gpd.GeoDataFrame,
    *,
    protected_areas: gpd.GeoDataFrame | None = None,
    ecoregions: gpd.GeoDataFrame | None = None,
    priority_landscapes: gpd.GeoDataFrame | None = None,
    buffers: gpd.GeoDataFrame | None = None,
    ax: Axes | None = None,
    title: str | None = "ASM sites by ASM-PACE class",
    north_arrow: bool = False,
    markersize: float | None = None,
    figsize: tuple[float, float] | None = None,
) -> Axes:
    """Map classified sites coloured by ``pace_class`` over the layers they were tested against.

    Draws, bottom to top: ecoregion outlines with Global 200 ecoregions filled,
    priority landscapes, protected areas, buffer outlines, then the sites (points
    as markers, footprints as filled polygons with a marker) in the colours of
    the GeoPackage's QGIS style. The map covers the sites (and buffers) with a
    margin; background layers are cut to it.

    Parameters
    ----------
    result : geopandas.GeoDataFrame
        The output of :func:`asm_pace.classify` (needs ``pace_class``).
    protected_areas, ecoregions, priority_landscapes : geopandas.GeoDataFrame, optional
        Layers drawn underneath; ``ecoregions`` uses ``is_g200`` when present.
    buffers : geopandas.GeoDataFrame, optional
        Buffers from :func:`asm_pace.buffers`: the area within each radius of
        any site is outlined (the buffers of one radius dissolved).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    title : str or None
        Map title.
    north_arrow : bool
        Draw a north arrow in the top right corner.
    markersize : float, optional
        Marker area in points^2; by default from the number of sites.
    figsize : (float, float), optional
        Size of a new figure in inches; by default fitted to the map's shape.

    Returns
    -------
    matplotlib.axes.Axes
        The map; ``ax.figure`` is its figure. The legend lists the classes
        present (with counts) then the background layers drawn.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pa = gpd.GeoDataFrame({"name": ["Alpha NP"]},
    ...     geometry=[shapely.box(-70.2, -12.2, -69.8, -11.8)], crs=4326)
    >>> sites = gpd.GeoDataFrame({"pace_class": ["protected_area"]},
    ...     geometry=[shapely.Point(-70.0, -12.0)], crs=4326)
    >>> ax = plot_sites(sites, protected_areas=pa, north_arrow=True)
    >>> ax.get_legend().get_texts()[-1].get_text()
    'Protected areas'
    """
    _require("matplotlib")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sites, classes, buffers, box = _map_layers(result, buffers)

    mid = math.radians((box[1] + box[3]) / 2)
    aspect = 1.0 / max(math.cos(mid), 0.05)
    if ax is None:
        import matplotlib.pyplot as plt

        if figsize is None:
            figsize = _map_figsize(box)
        _fig, ax = plt.subplots(figsize=figsize, layout="compressed")

    handles: list[Any] = []
    if ecoregions is not None:
        eco = _clip(_to_wgs84(ecoregions, "ecoregions"), box)
        if "is_g200" in eco.columns:
            g200_mask = eco["is_g200"].fillna(False).astype(bool).to_numpy()
        else:
            g200_mask = np.zeros(len(eco), dtype=bool)
        other = eco[~g200_mask]
        g200 = eco[g200_mask]
        if len(other):
            other.plot(ax=ax, facecolor=_ECO_FACE, edgecolor=_ECO_EDGE, linewidth=0.6, zorder=1)
        if len(g200):
            g200.plot(ax=ax, facecolor=_G200_FACE, edgecolor=_G200_EDGE, linewidth=0.6, zorder=1)
            handles.append(
                Patch(facecolor=_G200_FACE, edgecolor=_G200_EDGE, label="Global 200 ecoregions")
            )
        if len(other):
            handles.append(
                Patch(facecolor=_ECO_FACE, edgecolor=_ECO_EDGE, label="Other ecoregions")
            )
    if priority_landscapes is not None:
        pl = _clip(_to_wgs84(priority_landscapes, "priority_landscapes"), box)
        if len(pl):
            pl.plot(
                ax=ax, facecolor=_PL_FACE, edgecolor=_PL_EDGE, linewidth=0.8, alpha=0.6, zorder=2
            )
            handles.append(
                Patch(
                    facecolor=_PL_FACE,
                    edgecolor=_PL_EDGE,
                    alpha=0.6,
                    label="WWF priority landscapes",
                )
            )
    if protected_areas is not None:
        pa = _clip(_to_wgs84(protected_areas, "protected_areas"), box)
        if len(pa):
            pa.plot(
                ax=ax, facecolor=_PA_FACE, edgecolor=_PA_EDGE, linewidth=0.7, alpha=0.45, zorder=3
            )
            handles.append(
                Patch(facecolor=_PA_FACE, edgecolor=_PA_EDGE, alpha=0.45, label="Protected areas")
            )
    if buffers is not None and len(buffers):
        handles += _draw_buffers(ax, buffers)

    if markersize is None:
        markersize = float(np.clip(2500.0 / max(len(sites), 1), 5.0, 60.0))
    # thin outlines on dense maps, or thousands of markers turn into a dark smear
    edge_width = 0.5 if len(sites) <= 500 else 0.25
    is_poly = sites.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    class_handles = []
    for rank, cls in enumerate(reversed(list(PACE_COLOURS))):  # most constrained on top
        if cls not in classes:
            continue
        sel = (sites["pace_class"] == cls).to_numpy()
        colour = PACE_COLOURS[cls]
        z = 10 + rank
        polys = sites[sel & is_poly]
        if len(polys):
            polys.plot(ax=ax, color=colour, edgecolor=_SITE_EDGE, linewidth=0.4, zorder=z)
        pts = sites.geometry[sel].representative_point()
        ax.scatter(
            pts.x,
            pts.y,
            s=markersize,
            c=colour,
            edgecolors=_SITE_EDGE,
            linewidths=edge_width,
            zorder=z,
            label="_nolegend_",
        )
    for cls in classes:
        n = int((sites["pace_class"] == cls).sum())
        class_handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markersize=8,
                markerfacecolor=PACE_COLOURS[cls],
                markeredgecolor=_SITE_EDGE,
                label=f"{PACE_LABELS[cls]} ({n})",
            )
        )

    ax.set_xlim(box[0], box[2])
    ax.set_ylim(box[1], box[3])
    ax.set_aspect(aspect, adjustable="box")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.xaxis.set_major_formatter(_degree_formatter("x"))
    ax.yaxis.set_major_formatter(_degree_formatter("y"))
    ax.tick_params(labelsize=8)
    ax.set_facecolor("#f7fbff" if ecoregions is None else "#eef3f7")
    ax.grid(color="white", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title, fontsize=12)
    ax.legend(
        handles=class_handles + handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
        title="ASM-PACE class",
        title_fontsize=9,
        alignment="left",
    )
    scale_bar(ax)
    if north_arrow:
        _north_arrow(ax)
    return ax


def _loss_columns(table: pd.DataFrame) -> list[tuple[int, str]]:
    cols = loss_columns(table)
    if not cols:
        raise SchemaError(
            "the table has no loss_YYYY_ha columns (found: "
            + ", ".join(map(str, list(table.columns)[:12]))
            + "); pass the output of asm_pace.forest_loss"
        )
    return cols


def plot_forest_loss(
    table: pd.DataFrame,
    *,
    by: str | Sequence[Any] | pd.Series | None = None,
    ax: Axes | None = None,
    top: int = 8,
    title: str | None = "Tree cover loss by year",
    figsize: tuple[float, float] = (8.0, 4.0),
) -> Axes:
    """Bar chart of tree-cover loss (hectares) by year, in total or stacked per site / group.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`asm_pace.forest_loss` (columns ``loss_YYYY_ha``).
    by : str, array-like or pandas.Series, optional
        Group the rows: a column of ``table`` (e.g. ``"site_id"``), or values
        aligned with its rows (e.g. ``zones["site_id"]``). Each group's loss is
        summed and the bars are stacked, largest groups first; groups beyond
        ``top`` are summed as "other". Without ``by`` the bars are the total.
        Nested buffers of one site (1, 10, 50 km) overlap: select one radius
        before summing.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    top : int
        Largest number of groups drawn separately.
    title : str or None
        Chart title.
    figsize : (float, float)
        Size of a new figure in inches.

    Returns
    -------
    matplotlib.axes.Axes
        The chart, one bar container per group (``ax.containers``).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"site_id": ["S1", "S2"], "loss_2001_ha": [1.0, 2.0],
    ...                   "loss_2002_ha": [0.5, 0.0]})
    >>> ax = plot_forest_loss(t, by="site_id")
    >>> [float(b.get_height()) for b in ax.containers[0]]  # S2 first: the larger loss
    [2.0, 0.0]
    """
    _require("matplotlib")
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"table must be a DataFrame, got {type(table).__name__}")
    if top < 1:
        raise InputError(f"top must be at least 1, got {top}")
    cols = _loss_columns(table)
    years = np.array([y for y, _ in cols])
    values = table[[c for _, c in cols]].astype(float).fillna(0.0)

    if by is None:
        groups = pd.DataFrame([values.sum(axis=0).to_numpy()], index=["All zones"])
    else:
        if isinstance(by, str):
            if by not in table.columns:
                raise SchemaError(
                    f"by={by!r} is not a column of the table (columns: "
                    + ", ".join(map(str, table.columns))
                    + ")"
                )
            keys = table[by].to_numpy()
        else:
            keys = np.asarray(by.reindex(table.index) if isinstance(by, pd.Series) else by)
            if len(keys) != len(table):
                raise InputError(
                    f"by has {len(keys)} values but the table has {len(table)} rows; "
                    "pass a column name or values aligned with the table's rows"
                )
        grouped = values.groupby(pd.Series(keys, index=values.index).astype(str), sort=False).sum()
        order = grouped.sum(axis=1).sort_values(ascending=False, kind="stable").index
        grouped = grouped.loc[order]
        if len(grouped) > top:
            rest = grouped.iloc[top - 1 :].sum(axis=0)
            grouped = grouped.iloc[: top - 1]
            grouped.loc[f"other ({len(order) - top + 1})"] = rest
        groups = pd.DataFrame(grouped.to_numpy(), index=grouped.index)

    if ax is None:
        import matplotlib.pyplot as plt

        _fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    import matplotlib as mpl

    palette = mpl.colormaps["tab10"].colors
    bottom = np.zeros(len(years))
    for i, (name, row) in enumerate(groups.iterrows()):
        if by is None:
            colour = _LOSS_COLOUR
        elif str(name).startswith("other ("):
            colour = "#c8c8c8"
        else:
            colour = palette[[0, 1, 2, 3, 4, 5, 6, 8, 9][i % 9]]  # tab10 without its grey
        heights = row.to_numpy(dtype=float)
        ax.bar(years, heights, bottom=bottom, color=colour, width=0.8, label=str(name))
        bottom += heights
    ax.set_xlabel("Year")
    ax.set_ylabel("Tree cover loss (ha)")
    ax.set_xticks(years)
    ax.set_xticklabels([str(y) for y in years], rotation=90 if len(years) > 10 else 0, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if by is not None:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(  # top to bottom as stacked
            handles[::-1],
            labels[::-1],
            fontsize=8,
            frameon=False,
            title=by if isinstance(by, str) else None,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    if title:
        ax.set_title(title, fontsize=12)
    return ax


def _popup_frame(gdf: gpd.GeoDataFrame, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Only the named columns (those present) as text, so folium can serialise them."""
    keep = [c for c in columns if c in gdf.columns]
    out = gpd.GeoDataFrame(
        {c: gdf[c].astype(object).where(gdf[c].notna(), "").astype(str) for c in keep},
        geometry=gdf.geometry.values,
        crs=gdf.crs,
        index=gdf.index,
    )
    return out


#: The note an offline map shows when it has background tiles (they come from the internet).
OFFLINE_TILES_NOTE = (
    "Background tiles need an internet connection; the sites, protected areas and buffers "
    "are in this file and show without one."
)


def _offline_assets() -> Mapping[str, str]:
    """URL -> text of the scripts and stylesheets folium links to, from folium-offline.

    folium's templates link Leaflet, jQuery, Bootstrap and Font Awesome on CDNs; the
    ``folium-offline`` package (Sandia National Laboratories, released with each folium
    version) ships the same files, keyed by the same URLs.
    """
    try:
        from offlinefolium.elements import _res
    except ImportError as err:
        raise MissingDependencyError(
            "an offline map needs the folium-offline package (the scripts and styles folium "
            "would fetch from the internet): pip install folium-offline, or pass "
            "offline=False for a map that loads them online"
        ) from err
    return _res


def _walk(element: Any) -> Any:
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def _inline_assets(m: folium.Map) -> None:
    """Put every script and stylesheet a map links to inside its page (nothing to fetch).

    Each element's ``default_js`` / ``default_css`` links (added to the page's header
    when it renders) become ``<script>`` / ``<style>`` elements in the header under the
    same names, in the same order; a link without a local copy is refused.
    """
    import folium

    assets = _offline_assets()
    root = m.get_root()
    for element in _walk(m):
        for attr, tag in (("default_js", "script"), ("default_css", "style")):
            links = getattr(element, attr, None)
            if not links:
                continue
            for name, url in links:
                if url not in assets:
                    raise MissingDependencyError(
                        f"no local copy of {url} (needed by {type(element).__name__}) in the "
                        "installed folium-offline; install the folium-offline release of your "
                        f"folium version ({folium.__version__}), or pass offline=False"
                    )
                root.header.add_child(
                    folium.Element(f"<{tag}>{assets[url]}</{tag}>"), name=f"inline_{name}"
                )
            setattr(element, attr, [])  # this instance links nothing any more


def _legend_html(classes: Sequence[str]) -> str:
    """A static legend of the classes shown (HTML and CSS only: no script to fetch)."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;border-radius:6px;'
        f'border:1px solid {_SITE_EDGE};background:{PACE_COLOURS[c]};margin-right:6px"></span>'
        f"{PACE_LABELS[c]}</div>"
        for c in classes
    )
    return (
        '<div class="asm-pace-legend" style="position:absolute;bottom:28px;right:10px;'
        "z-index:1000;background:rgba(255,255,255,.9);padding:6px 10px;border-radius:4px;"
        'font:12px sans-serif;box-shadow:0 0 4px rgba(0,0,0,.3)"><b>ASM-PACE class</b>'
        f"{rows}</div>"
    )


def explore_sites(
    result: gpd.GeoDataFrame,
    *,
    protected_areas: gpd.GeoDataFrame | None = None,
    buffers: gpd.GeoDataFrame | None = None,
    tiles: str | None = "OpenStreetMap",
    offline: bool = True,
) -> folium.Map:
    """Interactive map for notebooks: sites by class, protected areas and buffers.

    Sites are coloured by ``pace_class`` (the same colours as :func:`plot_sites`
    and the QGIS style); clicking one shows its ``site_id``, class and
    ``reason``, its nearest protected area and ecoregion where present.
    Protected areas show their name and designation; buffers their site and
    radius. Protected areas are limited to those overlapping the map extent.

    With ``offline=True`` (the default) the page holds every script and style it
    needs (Leaflet, jQuery, Bootstrap, Font Awesome, from the ``folium-offline``
    package): saved with ``m.save("map.html")`` it shows the sites, protected areas
    and buffers on a machine without internet (about 1.5 MB more than an online
    map). Background ``tiles`` always come from the internet; offline they stay
    blank, as a note on the map says (``tiles=None``: no background, no note).

    Parameters
    ----------
    result : geopandas.GeoDataFrame
        The output of :func:`asm_pace.classify`.
    protected_areas : geopandas.GeoDataFrame, optional
    buffers : geopandas.GeoDataFrame, optional
        From :func:`asm_pace.buffers`.
    tiles : str or None
        Background tiles (a folium / xyzservices name); None for none.
    offline : bool
        Put the map's scripts and styles inside the page (needs ``folium-offline``);
        ``False`` links them on the internet as folium does (a smaller page that shows
        nothing offline).

    Returns
    -------
    folium.Map
        Displayed inline in Jupyter; ``m.save("map.html")`` writes a web page.

    Raises
    ------
    MissingDependencyError
        folium or matplotlib is not installed; with ``offline=True``, folium-offline
        is not installed or lacks a file the map needs.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> sites = gpd.GeoDataFrame({"site_id": ["S1"], "pace_class": ["not_eligible"],
    ...     "reason": ["Outside every protected area"]},
    ...     geometry=[shapely.Point(-70.0, -12.0)], crs=4326)
    >>> m = explore_sites(sites)
    >>> "Outside every protected area" in m.get_root().render()
    True
    """
    _require("folium")
    _require("matplotlib")
    import folium

    sites, classes, buffers, box = _map_layers(result, buffers)
    m = folium.Map(tiles=tiles, control_scale=True)
    m.fit_bounds([[box[1], box[0]], [box[3], box[2]]])

    if protected_areas is not None:
        pa = _to_wgs84(protected_areas, "protected_areas")
        pa = pa.cx[box[0] : box[2], box[1] : box[3]]
        if len(pa):
            cols = ["pa_id", "name", "designation", "iucn_category", "status_year"]
            frame = _popup_frame(pa, cols)
            frame.explore(
                m=m,
                color=_PA_EDGE,
                style_kwds={"fillColor": _PA_FACE, "fillOpacity": 0.3, "weight": 1},
                tooltip=[c for c in ("name", "designation") if c in frame.columns] or False,
                popup=[c for c in cols if c in frame.columns] or False,
                name="Protected areas",
            )
    if buffers is not None and len(buffers):
        cols = ["site_id", "radius_km", "inner_km", "pa_area_km2", "pa_share"]
        frame = _popup_frame(buffers, cols)
        frame.explore(
            m=m,
            color=_BUFFER_EDGE,
            style_kwds={"fillOpacity": 0.03, "weight": 1, "dashArray": "4 4"},
            tooltip=[c for c in ("site_id", "radius_km") if c in frame.columns] or False,
            popup=[c for c in cols if c in frame.columns] or False,
            name="Buffers",
        )
    cols = [
        "site_id",
        "pace_class",
        "reason",
        "pa_names",
        "nearest_pa_name",
        "nearest_pa_km",
        "eco_name",
        "g200_region",
        "priority_landscape",
    ]
    frame = _popup_frame(sites, cols)
    frame["pace_class"] = sites["pace_class"].astype(str).to_numpy()
    frame.explore(
        m=m,
        column="pace_class",
        categories=classes,
        cmap=[PACE_COLOURS[c] for c in classes],
        legend=False,  # geopandas' legend fetches jQuery UI; this one is plain HTML
        marker_kwds={"radius": 6},
        style_kwds={"color": _SITE_EDGE, "weight": 1, "fillOpacity": 0.9},
        tooltip=[c for c in ("site_id", "pace_class") if c in frame.columns],
        popup=[c for c in cols if c in frame.columns],
        name="ASM sites",
    )
    folium.LayerControl(collapsed=False).add_to(m)
    m.get_root().html.add_child(folium.Element(_legend_html(classes)), name="asm_pace_legend")
    if offline:
        if tiles is not None:
            m.get_root().html.add_child(
                folium.Element(
                    '<div class="asm-pace-offline-note" style="position:absolute;top:10px;'
                    "left:54px;z-index:1000;max-width:45%;background:rgba(255,255,255,.85);"
                    f'padding:4px 8px;font:11px sans-serif">{OFFLINE_TILES_NOTE}</div>'
                ),
                name="asm_pace_offline_note",
            )
        _inline_assets(m)
    return m
