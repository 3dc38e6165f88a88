"""Several protected-area sources in one run: the WDPA, a national layer, AZE sites...

:func:`combine_protected_areas` takes the layers :func:`asm_pace.read_protected_areas` (or any
reader of the normalised protected-area schema, :data:`asm_pace.protected_areas.PA_COLUMNS`)
returns and makes one layer of them, each row keeping its own id, name, designation and status
fields and saying which source it came from (``source``). The same area present in two sources
is recognised and counted once (``pa_group``, ``same_as``), by the rule of ``docs/sources.md``:

(a) the same WDPAID (a national layer carrying a WDPA id field, the same WDPA twice), or the
    same id within one source (the WDPA's parcels);
(b) polygons from different sources whose geodesic overlap is at least ``same_share`` (0.9) of
    the area of **each** of them (a mutual share: a small reserve inside a big park is not
    the park); an area a source holds in several rows (parcels of one id, sectors of one
    name and designation) is compared as their union too. Point records drawn as circles
    (``origin`` "point_circle") have an invented shape: they are matched by (a) only.

The group's representative is its first row in source order (the first source listed wins);
:func:`asm_pace.classify` names an area by it once, with every source holding the site in
``pa_sources``.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from asm_pace.pa_sources import combine_protected_areas
>>> def layer(ids, boxes, label):
...     gdf = gpd.GeoDataFrame({"pa_id": ids, "name": ["Manu"] * len(ids),
...         "designation": ["National Park"] * len(ids), "iucn_category": ["II"] * len(ids),
...         "status_year": pd.array([1973] * len(ids), dtype="Int64"),
...         "world_heritage": False, "ramsar": False},
...         geometry=[shapely.box(*b) for b in boxes], crs=4326)
...     gdf.attrs["source_label"] = label
...     return gdf
>>> wdpa = layer(["478140"], [(0, 0, 1, 1)], "WDPA")
>>> national = layer(["100"], [(0, 0, 1, 1.02)], "SERNANP")  # the same park, redrawn
>>> both = combine_protected_areas([wdpa, national])
>>> both[["source", "pa_id", "pa_group", "same_as"]].values.tolist()
[['WDPA', '478140', 0, ''], ['SERNANP', '100', 0, 'WDPA:478140']]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._vector import source_name, to_wgs84
from .errors import CRSError, InputError, SchemaError
from .geodesy import geodesic_area
from .protected_areas import PA_COLUMNS

__all__ = [
    "combine_protected_areas",
    "append_source",
    "SOURCE_COLUMNS",
    "DEFAULT_SAME_SHARE",
    "source_ids",
    "group_labels",
    "group_representatives",
]

#: The columns :func:`combine_protected_areas` adds to :data:`PA_COLUMNS` (before geometry).
SOURCE_COLUMNS: tuple[str, ...] = ("source", "pa_group", "same_as", "group_status_year")

#: Two polygons of different sources are the same area when their overlap is at least this
#: share of the area of each.
DEFAULT_SAME_SHARE = 0.9

#: The columns a layer must have to be a protected-area source (what classify reads).
_REQUIRED = (
    "pa_id",
    "name",
    "designation",
    "iucn_category",
    "status_year",
    "world_heritage",
    "ramsar",
)
# a source name is written into ids (``WDPA:478140``) and ;-joined lists: none of these
_FORBIDDEN = (";", ":", "=", ",")
_HINT = "-p NAME=FILE on the command line, a dict {name: layer} in Python"


def combine_protected_areas(
    sources: Sequence[gpd.GeoDataFrame] | Mapping[str, gpd.GeoDataFrame],
    *,
    same_share: float = DEFAULT_SAME_SHARE,
) -> gpd.GeoDataFrame:
    """One protected-area layer made of several sources, the same area counted once.

    Parameters
    ----------
    sources : list of GeoDataFrame, or dict of name -> GeoDataFrame
        Layers in the normalised protected-area schema (:func:`asm_pace.read_protected_areas`,
        or any reader of :data:`asm_pace.protected_areas.PA_COLUMNS`, e.g. the AZE sites of
        the KBA reader). In a list each source is named by its ``attrs["source_label"]``
        ("WDPA", the file's stem), else ``source1``, ``source2``...; in a dict by its key.
        The order is the order of precedence: the first source's record represents an area
        present in several.
    same_share : float, default 0.9
        Two polygons of different sources are one area when their geodesic overlap is at
        least this share (0 < share <= 1) of each one's area.

    Returns
    -------
    geopandas.GeoDataFrame
        Every row of every source, in source order, with the columns of :data:`PA_COLUMNS`
        (missing optional ones filled: empty text, ``<NA>``, False, ``origin`` "polygon")
        plus ``source`` (the source's name), ``pa_group`` (int: rows of one area share it;
        numbered in the order of their representatives), ``same_as`` (the representative's
        ``SOURCE:ID`` for a row that is not it, else empty) and ``group_status_year``
        (Int64: the earliest known ``status_year`` of the group). EPSG:4326, fresh index.
        ``attrs``: ``source`` (the files, ``", "``-joined), ``pa_sources`` (the names in
        order), ``sources`` (name -> that layer's ``source``, ``counts``, ``bbox``,
        ``countries``, ``n_groups_shared``), ``counts`` (summed over the sources),
        ``groups`` (number of distinct areas), ``same_share``; ``bbox`` when some source
        was read for a box: the intersection of those boxes (the combined layer is complete
        only inside every one); ``countries`` when every source was read for the same ones.

    Raises
    ------
    InputError
        No source; a source that is not a GeoDataFrame, is empty, is already combined
        (has a ``source`` column), or whose name is empty, repeated (ignoring case) or holds
        ``;``, ``:``, ``=`` or ``,``; ``same_share`` outside (0, 1]; boxes that do not
        overlap.
    SchemaError
        A source without the columns classify reads.
    CRSError
        A source without a CRS.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> big = gpd.GeoDataFrame({"pa_id": ["1"], "name": ["Big"], "designation": [""],
    ...     "iucn_category": [""], "status_year": pd.array([pd.NA], dtype="Int64"),
    ...     "world_heritage": [False], "ramsar": [False]},
    ...     geometry=[shapely.box(0, 0, 2, 2)], crs=4326)
    >>> small = big.assign(pa_id="7", name="Small", status_year=pd.array([2001], "Int64"),
    ...                    geometry=[shapely.box(0.5, 0.5, 1, 1)])
    >>> out = combine_protected_areas({"NAT": big, "REG": small})
    >>> out["pa_group"].tolist(), out.attrs["groups"]   # a reserve inside a park: two areas
    ([0, 1], 2)
    """
    share = _checked_share(same_share)
    named = _named(sources)
    frames = []
    for name, gdf in named:
        frames.append(_normalised(name, gdf))
    data = pd.concat(frames, ignore_index=True)
    group = _groups(data, named, share)
    data.insert(len(PA_COLUMNS) - 1, "source", data.pop("source"))
    data, n_groups = _with_groups(data.drop(columns="_wdpa"), group)
    out = gpd.GeoDataFrame(data, geometry="geometry", crs="EPSG:4326")
    out.attrs = _attrs(named, data, n_groups, share)
    return out


def append_source(
    combined: gpd.GeoDataFrame, name: str, layer: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """A combined layer with one more source, last, matched against its areas by the rule.

    The rows of ``combined`` (:func:`combine_protected_areas`) keep their groups and
    representatives; the new source's rows join an area of them by rule (b) (the same
    polygon, at the combined layer's ``same_share``; parcels and sectors as their union),
    and by the same id within the new source. The new source's ids are never read as
    WDPAIDs (give a WDPA-id source to :func:`combine_protected_areas` with the others).

    Parameters
    ----------
    combined : geopandas.GeoDataFrame
        A layer made by :func:`combine_protected_areas`.
    name : str
        The new source's name (``source``); not one of ``combined``'s.
    layer : geopandas.GeoDataFrame
        The new source, in the protected-area schema (e.g. the AZE sites,
        :func:`asm_pace.kba.aze_protected_areas`).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`combine_protected_areas` would return for the sources of ``combined``
        then ``layer``, but for WDPAIDs of the new source.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> park = gpd.GeoDataFrame({"pa_id": ["1"], "name": ["Park"], "designation": [""],
    ...     "iucn_category": [""], "status_year": pd.array([1990], dtype="Int64"),
    ...     "world_heritage": [False], "ramsar": [False]},
    ...     geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> both = combine_protected_areas({"NAT": park})
    >>> out = append_source(both, "AZE", park.assign(pa_id="7", name="Alto"))
    >>> out["same_as"].tolist(), out.attrs["pa_sources"], out.attrs["groups"]
    (['', 'NAT:1'], ['NAT', 'AZE'], 1)
    """
    names = list(combined.attrs.get("pa_sources") or dict.fromkeys(combined["source"]))
    if name.casefold() in {str(n).casefold() for n in names}:
        raise InputError(
            f"{source_name(combined)}: the protected-area sources already hold one named "
            f"{name!r}; give it once"
        )
    share = _checked_share(combined.attrs.get("same_share", DEFAULT_SAME_SHARE))
    new = _normalised(name, layer).drop(columns="_wdpa")
    new.insert(len(PA_COLUMNS) - 1, "source", new.pop("source"))
    old = pd.DataFrame(combined[list(new.columns)]).reset_index(drop=True)
    data = pd.concat([old, new], ignore_index=True)
    n_old = len(old)
    src = pd.factorize(data["source"])[0]
    # the old groups stay linked (each row to its representative), the new ids within the
    # new source, and polygons of the new source to any other
    old_group = combined["pa_group"].to_numpy(dtype="int64")
    a = [np.arange(n_old), np.arange(n_old, len(data))]
    b = [group_representatives(old_group)[old_group]]
    codes = pd.factorize(new["pa_id"].astype(str))[0]
    b.append(n_old + np.unique(codes, return_index=True)[1][codes])
    i, j = _same_polygons(data, src, share, fresh=np.arange(len(data)) >= n_old)
    group = _components(len(data), np.concatenate([*a, i]), np.concatenate([*b, j]))
    data, n_groups = _with_groups(data, group)
    out = gpd.GeoDataFrame(data, geometry="geometry", crs="EPSG:4326")
    attrs = dict(combined.attrs)
    own = _attrs([(name, layer)], data[data["source"] == name], 0, share)["sources"]
    per = {k: dict(v) for k, v in {**dict(attrs.get("sources") or {}), **own}.items()}
    groups_of = data.groupby("source", sort=False)["pa_group"].agg(set)
    for source, info in per.items():  # areas each source shares with the others, anew
        if source in groups_of:
            others = set().union(*(groups_of[o] for o in groups_of.index if o != source))
            info["n_groups_shared"] = len(groups_of[source] & others)
    attrs["sources"] = per
    attrs["pa_sources"] = [*names, name]
    attrs["groups"] = n_groups
    out.attrs = attrs
    return out


def _with_groups(data: pd.DataFrame, group: np.ndarray) -> tuple[pd.DataFrame, int]:
    """``data`` with ``pa_group`` (numbered by representative), ``same_as`` and
    ``group_status_year`` after its PA columns and ``source``; and the number of groups."""
    rep = group_representatives(group)  # first row of each group
    order = np.argsort(rep, kind="stable")  # groups numbered by their representative
    renumber = np.empty_like(order)
    renumber[order] = np.arange(order.size)
    group = renumber[group]
    rep = rep[order]
    ids = source_ids(data)
    is_rep = rep[group] == np.arange(len(data))
    years = data["status_year"].to_numpy(dtype="float64", na_value=np.nan)
    first = np.full(rep.size, np.nan)
    np.fmin.at(first, group, years)
    data = data.copy()
    data.insert(len(PA_COLUMNS), "pa_group", group.astype("int64"))
    data.insert(len(PA_COLUMNS) + 1, "same_as", np.where(is_rep, "", ids[rep[group]]))
    data.insert(
        len(PA_COLUMNS) + 2,
        "group_status_year",
        pd.array(first[group], dtype="Float64").astype("Int64"),
    )
    return data, int(rep.size)


def source_ids(layer: pd.DataFrame) -> np.ndarray:
    """``SOURCE:ID`` of each row of a combined layer (unambiguous across sources).

    Examples
    --------
    >>> source_ids(pd.DataFrame({"source": ["WDPA", "SERNANP"], "pa_id": ["478140", "100"]}))
    array(['WDPA:478140', 'SERNANP:100'], dtype=object)
    """
    src, pid = _text(layer["source"]), _text(layer["pa_id"])
    return (src + ":" + pid).astype(object)


def _text(column: pd.Series) -> np.ndarray:
    """A column as an object array of str ("" for missing)."""
    values = column.to_numpy(dtype=object)
    return np.where(pd.isna(values), "", values).astype(str).astype(object)


def group_representatives(groups: np.ndarray) -> np.ndarray:
    """The representative row (the first) of each group number ``0 .. groups.max()``.

    Examples
    --------
    >>> group_representatives(np.array([0, 1, 0, 2, 1])).tolist()
    [0, 1, 3]
    """
    groups = np.asarray(groups, dtype="int64")
    rep = np.full(int(groups.max(initial=-1)) + 1, groups.size, dtype="int64")
    np.minimum.at(rep, groups, np.arange(groups.size))
    return rep


def group_labels(layer: pd.DataFrame) -> np.ndarray:
    """How reasons name each row of a combined layer: ``SOURCE ID``.

    A group's representative also names the other sources' records of the same area
    (``WDPA 478140, also SERNANP 100``); a row without an id is ``SOURCE, no id``.

    Examples
    --------
    >>> layer = pd.DataFrame({"source": ["WDPA", "WDPA", "SERNANP"],
    ...     "pa_id": ["478140", "478140", "100"], "pa_group": [0, 0, 0]})
    >>> group_labels(layer).tolist()
    ['WDPA 478140, also SERNANP 100', 'WDPA 478140', 'SERNANP 100']
    """
    src, pid = _text(layer["source"]), _text(layer["pa_id"])
    has_id = np.char.str_len(np.char.strip(pid.astype(str))) > 0
    own = np.where(has_id, src + " " + pid, src + ", no id").astype(object)
    groups = layer["pa_group"].to_numpy(dtype="int64")
    rep = group_representatives(groups)
    out = own.copy()
    # the rows of another source than their representative's, each label once, in row order
    other = np.flatnonzero(src != src[rep[groups]])
    if other.size:
        key = pd.DataFrame({"g": groups[other], "label": own[other]}).drop_duplicates()
        for g, labels in key.groupby("g", sort=False)["label"]:  # only groups in 2+ sources
            out[rep[g]] = own[rep[g]] + ", also " + ", ".join(labels)
    return out


def warn_far_sources(layer: pd.DataFrame, site_geoms: np.ndarray, km: float) -> None:
    """An ExtentWarning for each source of a combined layer with no area within ``km`` of
    any site (a source of another region, a wrong file): its areas can hold no site."""
    import warnings

    from ._nearest import box_hits, widen_boxes
    from .errors import ExtentWarning

    if not len(site_geoms) or "source" not in layer.columns:
        return
    boxes = widen_boxes(shapely.bounds(site_geoms), np.full(len(site_geoms), km * 1000.0))
    geoms = np.asarray(layer.geometry.values, dtype=object)
    near = np.zeros(len(geoms), dtype=bool)
    near[box_hits(shapely.STRtree(geoms), boxes)] = True
    src = layer["source"].to_numpy(dtype=object)
    far = [name for name in dict.fromkeys(src) if not near[src == name].any()]
    files = (layer.attrs.get("sources") or {}) if hasattr(layer, "attrs") else {}
    for name in far:
        where = (files.get(name) or {}).get("source", "")
        warnings.warn(
            f"protected-area source {name!r}{f' ({where})' if where else ''}: none of its "
            f"areas lies within {km:g} km of a site, so it holds none of them: a layer of "
            "another region? Check the file and its countries (countries=, --countries)",
            ExtentWarning,
            stacklevel=4,
        )


# --------------------------------------------------------------------------- checks


def _checked_share(value: object) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    share = float(value) if ok else float("nan")  # type: ignore[arg-type]
    if not 0.0 < share <= 1.0:
        raise InputError(
            f"same_share={value!r} is not a share: give a number above 0 and at most 1 "
            "(0.9: two polygons are one area when each lies 90 % in the other; a Python "
            "option, the command line has no option for it and uses 0.9)"
        )
    return share


def _named(
    sources: Sequence[gpd.GeoDataFrame] | Mapping[str, gpd.GeoDataFrame],
) -> list[tuple[str, gpd.GeoDataFrame]]:
    """``(name, layer)`` pairs, every name checked."""
    if isinstance(sources, gpd.GeoDataFrame):
        sources = [sources]
    if isinstance(sources, Mapping):
        pairs = [(str(k).strip() if isinstance(k, str) else k, v) for k, v in sources.items()]
    elif isinstance(sources, Sequence) and not isinstance(sources, str | bytes):
        pairs = [(_default_name(gdf, i), gdf) for i, gdf in enumerate(sources)]
    else:
        raise InputError(
            f"protected areas must be a GeoDataFrame, a list of them or a dict of name -> "
            f"GeoDataFrame; got {type(sources).__name__} (read each source with "
            "asm_pace.read_protected_areas)"
        )
    if not pairs:
        raise InputError(
            "no protected-area source given: give at least one layer (-p/--protected-areas)"
        )
    seen: dict[str, int] = {}
    for i, (name, gdf) in enumerate(pairs, start=1):
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise InputError(
                f"protected-area source {i} ({name!r}) is a {type(gdf).__name__}, not a "
                "GeoDataFrame: read it with asm_pace.read_protected_areas"
            )
        if not isinstance(name, str) or not name or any(c in name for c in _FORBIDDEN):
            raise InputError(
                f"protected-area source {i} ({source_name(gdf)}) is named {name!r}: a source "
                "name must be non-empty text without ';', ':', '=' or ',' (it is written in "
                f"ids such as WDPA:478140 and in ;-joined lists); rename it ({_HINT})"
            )
        key = name.casefold()
        if key in seen:
            j = seen[key]
            raise InputError(
                f"protected-area sources {j} ({source_name(pairs[j - 1][1])}) and {i} "
                f"({source_name(gdf)}) are both named {name!r}: each source needs its own "
                f"name, or its areas could not be told apart; name them ({_HINT})"
            )
        seen[key] = i
    return pairs


def _default_name(gdf: object, i: int) -> str:
    label = getattr(gdf, "attrs", {}).get("source_label") if hasattr(gdf, "attrs") else None
    return label.strip() if isinstance(label, str) and label.strip() else f"source{i + 1}"


def _normalised(name: str, gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """One source's rows in the PA schema with its ``source``, EPSG:4326."""
    where = f"protected-area source {name!r} ({source_name(gdf)})"
    if "source" in gdf.columns:
        raise InputError(
            f"{where} already has a 'source' column: it is a combined layer (or not a "
            "protected-area layer); give the sources it was made of instead"
        )
    missing = [c for c in _REQUIRED if c not in gdf.columns]
    if missing:
        raise SchemaError(
            f"{where} lacks the column(s) {', '.join(missing)} (it has: "
            f"{', '.join(map(str, gdf.columns))}); a source must be in the protected-area "
            "schema: read it with asm_pace.read_protected_areas"
        )
    if not len(gdf):
        raise InputError(
            f"{where} holds no protected area: an empty source would add nothing and may "
            "hide a filter that left it empty (countries=, --countries); check it or leave it out"
        )
    if gdf.crs is None:
        raise CRSError(
            f"{where} has no CRS; set the right one with .set_crs(...) "
            "(asm_pace.read_protected_areas always returns EPSG:4326)"
        )
    # a layer in EPSG:4326 (every reader's) as it is: classify, overlaps and forest_loss apply
    # the CRS policy (to_wgs84) to the combined layer themselves
    ll = gdf if gdf.crs.to_epsg() == 4326 else to_wgs84(gdf, source=source_name(gdf))
    n = len(ll)
    cols: dict[str, object] = {}
    for col in PA_COLUMNS[:-1]:  # built as arrays, one frame at the end (pandas is slow per column)
        given = ll[col] if col in ll.columns else None
        if col == "status_year":
            cols[col] = pd.array(given if given is not None else [pd.NA] * n, dtype="Int64")
        elif col == "rep_area_km2":
            cols[col] = (
                np.full(n, np.nan)
                if given is None
                else pd.to_numeric(given, errors="coerce").to_numpy(dtype="float64")
            )
        elif col in ("world_heritage", "ramsar"):
            cols[col] = (
                np.zeros(n, dtype=bool)
                if given is None
                else given.fillna(False).to_numpy(dtype=bool)
            )
        elif given is None:
            cols[col] = np.full(n, "polygon" if col == "origin" else "", dtype=object)
        else:
            values = given.to_numpy(dtype=object)
            cols[col] = np.where(pd.isna(values), "", values).astype(str).astype(object)
    cols["source"] = np.full(n, name, dtype=object)
    cols["geometry"] = np.asarray(ll.geometry.values, dtype=object)
    out = pd.DataFrame(cols)
    out["_wdpa"] = _wdpa_rows(gdf, out)
    return out


def _wdpa_rows(gdf: gpd.GeoDataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Which rows' ``pa_id`` is a WDPAID.

    Every row of a layer whose reader says so (``attrs["wdpa_ids"]``, set by
    :func:`asm_pace.read_protected_areas` when the ids come from WDPAID / SITE_ID) or whose
    ``source_label`` is "WDPA"; in a layer without either, a numeric ``pa_id`` whose
    ``wdpa_pid`` is a parcel of it (``478140`` or ``478140_A``).
    """
    pid = rows["pa_id"].to_numpy(dtype=object)
    digits = np.array([p.isdigit() for p in pid], dtype=bool)
    flag = gdf.attrs.get("wdpa_ids")
    if flag is not None:
        return digits & bool(flag)
    if gdf.attrs.get("source_label") == "WDPA":
        return digits
    parcel = rows["wdpa_pid"].to_numpy(dtype=object)
    return digits & np.array(
        [q == p or q.startswith(p + "_") for p, q in zip(pid, parcel, strict=True)], dtype=bool
    )


# --------------------------------------------------------------------------- groups


def _groups(data: pd.DataFrame, named: list, share: float) -> np.ndarray:
    """The connected groups of rows under the same-area rule (module docs)."""
    n = len(data)
    src = pd.factorize(data["source"])[0]
    pid = data["pa_id"].to_numpy(dtype=object)
    a: list[np.ndarray] = []
    b: list[np.ndarray] = []

    def link(keys: np.ndarray, rows: np.ndarray) -> None:
        """Link every row of ``rows`` to the first row with the same key."""
        codes = pd.factorize(keys)[0]
        _, first = np.unique(codes, return_index=True)
        a.append(rows)
        b.append(rows[first[codes]])

    # (a) the same id within a source (parcels), the same WDPAID across sources
    everyone = np.arange(n)
    link(np.array([f"{s}\x00{p}" for s, p in zip(src, pid, strict=True)], dtype=object), everyone)
    wdpa = np.flatnonzero(data["_wdpa"].to_numpy(dtype=bool))
    if wdpa.size:
        link(pid[wdpa], wdpa)
    # (b) polygons of different sources, each at least `share` inside the other
    i, j = _same_polygons(data, src, share)
    a.append(i)
    b.append(j)
    return _components(n, np.concatenate(a), np.concatenate(b))


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph of ``n`` nodes and edges ``a[i] - b[i]``, numbered
    0, 1, ... in the order of their smallest node (min-label propagation, pointer jumping).

    >>> _components(5, np.array([0, 3, 2]), np.array([4, 4, 1])).tolist()
    [0, 1, 1, 0, 0]
    """
    label = np.arange(n)
    while True:
        low = np.minimum(label[a], label[b])
        new = label.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]  # jump: a node takes its label's label
        if np.array_equal(new, label):
            return np.unique(label, return_inverse=True)[1].reshape(-1)
        label = new


def _same_polygons(
    data: pd.DataFrame, src: np.ndarray, share: float, fresh: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Pairs of rows of different sources whose overlap is >= ``share`` of each one's area.

    An area one source holds in several rows (parcels of one id, sectors of one name and
    designation: :func:`_multi_row_areas`) is also compared as the union of its rows, so
    two sectors match the other source's single polygon of the area (and the reverse).
    With ``fresh`` (a flag per row of ``data``), only pairs holding a fresh row are given.
    """
    geoms = np.asarray(data["geometry"].to_numpy(), dtype=object)
    usable = (data["origin"].to_numpy(dtype=object) != "point_circle") & ~(
        shapely.is_missing(geoms) | shapely.is_empty(geoms)
    )
    idx = np.flatnonzero(usable)
    empty = (np.zeros(0, dtype="int64"),) * 2
    if len(set(src[idx])) < 2:
        return empty
    g = geoms[idx]
    bad = ~shapely.is_valid(g)
    if bad.any():
        g = g.copy()
        g[bad] = shapely.make_valid(g[bad])
    tree = shapely.STRtree(g)
    # candidates: every row, then the union of each multi-row area (rows `members`)
    cand_rows, cand_of = _multi_row_areas(data.iloc[idx], src[idx], g, tree)
    n_rows = idx.size
    # each candidate's first row (a row is its own; a union's is its first member's)
    order = np.argsort(cand_of, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(cand_of[order]) != 0]) if order.size else order
    first_row = np.concatenate([np.arange(n_rows), cand_rows[order][starts]])
    if cand_of.size:
        members = np.split(cand_rows[order], starts[1:])
        unions = np.array([shapely.union_all(g[m]) for m in members], dtype=object)
        g_all = np.concatenate([g, unions])
        tree = shapely.STRtree(g_all)
    else:
        g_all = g
    src_all = src[idx][first_row]
    left, right = tree.query(g_all, predicate="intersects")
    keep = (left < right) & (src_all[left] != src_all[right])
    if fresh is not None:  # append_source: the pairs of the old rows are known
        fresh_all = np.asarray(fresh, dtype=bool)[idx][first_row]
        keep &= fresh_all[left] | fresh_all[right]
    left, right = left[keep], right[keep]
    if not left.size:
        return empty
    area = geodesic_area(g_all)
    # a pair can pass only when each area is at least `share` of the other's
    lo = np.minimum(area[left], area[right])
    hi = np.maximum(area[left], area[right])
    close = lo >= share * hi
    left, right = left[close], right[close]
    inter = geodesic_area(shapely.intersection(g_all[left], g_all[right]))
    same = (inter >= share * area[left]) & (inter >= share * area[right]) & (inter > 0)
    left, right = left[same], right[same]
    # a union stands for its rows: the pair links its first row, and its rows are linked
    # together (one area, as the other source says)
    out_a, out_b = [idx[first_row[left]]], [idx[first_row[right]]]
    matched = np.unique(np.concatenate([left, right]))
    matched = matched[matched >= n_rows] - n_rows
    member = np.isin(cand_of, matched)
    out_a.append(idx[cand_rows[member]])
    out_b.append(idx[first_row[n_rows + cand_of[member]]])
    return np.concatenate(out_a), np.concatenate(out_b)


def _multi_row_areas(
    rows: pd.DataFrame, src: np.ndarray, geoms: np.ndarray, tree: shapely.STRtree
) -> tuple[np.ndarray, np.ndarray]:
    """The areas a source holds in several rows: ``(rows, area number)`` pairs, positions.

    Rows of one source are one area when they share the id (parcels) or the same
    non-empty name and designation (sectors: national layers without ids, e.g. Peru's
    Cutervo in two rows). Only areas with a row meeting another source's polygon are
    returned (the others cannot match).
    """
    n = len(rows)
    name = rows["name"].astype("string").fillna("").str.casefold().str.split().str.join(" ")
    desig = rows["designation"].astype("string").fillna("").str.casefold().str.strip()
    ids = rows["pa_id"].astype(str).to_numpy(dtype=object)
    named = name.to_numpy(dtype=object) != ""
    a, b = [], []
    for keys, sel in (
        (np.array([f"{s}\x00{p}" for s, p in zip(src, ids, strict=True)], dtype=object), None),
        (
            np.array(
                [f"{s}\x00{m}\x00{d}" for s, m, d in zip(src, name, desig, strict=True)],
                dtype=object,
            ),
            np.flatnonzero(named),
        ),
    ):
        pos = np.arange(n) if sel is None else sel
        codes = pd.factorize(keys[pos])[0]
        first = np.unique(codes, return_index=True)[1]
        a.append(pos)
        b.append(pos[first[codes]])
    area = _components(n, np.concatenate(a), np.concatenate(b))
    size = np.bincount(area)
    multi = size[area] >= 2
    if not multi.any():
        return (np.zeros(0, dtype="int64"),) * 2
    # rows meeting a polygon of another source
    hit_l, hit_r = tree.query(geoms[multi], predicate="intersects")
    rows_multi = np.flatnonzero(multi)
    other = src[rows_multi[hit_l]] != src[hit_r]
    wanted = np.unique(area[rows_multi[hit_l[other]]])
    keep = np.flatnonzero(np.isin(area, wanted))
    return keep, np.unique(area[keep], return_inverse=True)[1].reshape(-1)


# --------------------------------------------------------------------------- attrs


def _attrs(named: list, data: pd.DataFrame, n_groups: int, share: float) -> dict:
    """The combined layer's attrs (class docs)."""
    per: dict[str, dict] = {}
    read = repaired = 0
    removed: dict[str, int] = {}
    boxes = []
    countries = []
    groups_of = data.groupby("source", sort=False)["pa_group"].agg(set)
    for name, gdf in named:
        attrs = gdf.attrs
        counts = attrs.get("counts") or {}
        others = set().union(*(groups_of[o] for o, _ in named if o != name))
        per[name] = {
            "source": source_name(gdf),
            "source_label": attrs.get("source_label"),
            "counts": {**counts, "used": len(gdf)},
            "bbox": attrs.get("bbox"),
            "countries": attrs.get("countries"),
            "n_groups_shared": len(groups_of[name] & others),
        }
        read += int(counts.get("read", len(gdf)))
        repaired += int(counts.get("repaired", 0) or 0)
        for step, k in (counts.get("removed") or {}).items():
            removed[step] = removed.get(step, 0) + int(k)
        if attrs.get("bbox") is not None:
            boxes.append((name, tuple(float(v) for v in attrs["bbox"])))
        countries.append(attrs.get("countries"))
    out: dict[str, object] = {
        "source": ", ".join(str(p["source"]) for p in per.values()),
        "pa_sources": [name for name, _ in named],
        "sources": per,
        "counts": {"read": read, "removed": removed, "repaired": repaired, "used": len(data)},
        "groups": n_groups,
        "same_share": share,
    }
    if boxes:
        box = (
            max(b[0] for _, b in boxes),
            max(b[1] for _, b in boxes),
            min(b[2] for _, b in boxes),
            min(b[3] for _, b in boxes),
        )
        if not (box[0] < box[2] and box[1] < box[3]):
            shown = "; ".join(f"{name} {b}" for name, b in boxes)
            raise InputError(
                f"the protected-area sources were read for boxes that do not overlap ({shown}), "
                "so the combined layer is complete nowhere; read them for one box around the "
                "sites (bbox=, a Python option: the command line reads whole files)"
            )
        out["bbox"] = box
    same = all(c is not None and sorted(c) == sorted(countries[0] or []) for c in countries)
    if countries and same:
        out["countries"] = list(countries[0])
    return out
