"""The ASM-PACE classes of mining sites, with the evidence for each.

ASM-PACE (WWF and Estelle Levin Ltd, 2012, *Artisanal and small-scale mining
in and around protected areas and critical ecosystems*) puts every mining
site in one class, by this precedence:

1. ``protected_area``: inside (or touching) a protected area;
2. ``priority_landscape``: else inside a WWF priority landscape;
3. ``critical_ecosystem``: else inside a Global 200 ecoregion (Olson and
   Dinerstein 2002);
4. ``not_eligible``: none of these.

See ``docs/classification.md`` for how each column is decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._geometry import nonfinite, polygonal_parts
from ._nearest import (
    BoundaryIndex,
    Envelopes,
    box_edge_distance,
    box_text,
    chord_within,
    ecef,
    layer_box,
    layer_envelopes,
    relevant_polygons,
    rowdot,
    widen_boxes,
)
from ._vector import is_dask, known_valid, source_name, to_wgs84
from .errors import CRSError, ExtentWarning, InputError, RepairedGeometryWarning, SchemaError
from .geodesy import geodesic_area
from .sites import MAX_UNCERTAINTY_M, uncertainty_column, uncertainty_values

__all__ = ["classify", "PACE_CLASSES", "PA_CERTAINTY", "parse_uncertainty"]

#: The ASM-PACE classes, in order of precedence.
PACE_CLASSES: tuple[str, ...] = (
    "protected_area",
    "priority_landscape",
    "critical_ecosystem",
    "not_eligible",
)

_PA_COLUMNS = (
    "pa_id",
    "name",
    "designation",
    "iucn_category",
    "status_year",
    "world_heritage",
    "ramsar",
)
#: ``pa_certainty`` of a site with a location uncertainty: wholly inside protected areas,
#: wholly outside them, or either depending on where it really is.
PA_CERTAINTY: tuple[str, ...] = ("certain_inside", "certain_outside", "possible")
_ECO_COLUMNS = ("eco_id", "eco_name", "biome", "g200_region", "is_g200")
_PL_COLUMNS = ("landscape_name",)
_AREA_STEP_DEG = 0.001  # edges are densified to this for geodesic areas
_TOUCH_MM = 1.0  # a site this close to a PA boundary touches it
_MAX_NAMED = 3  # PAs named in full in a reason sentence
_IUCN_SILENT = {"", "not reported", "not applicable", "not assigned"}
#: A site farther than this (km) from every protected area is outside the layer's extent.
EXTENT_KM = 500.0
#: classify cuts a run of this many sites or more into Hilbert blocks of about
#: :data:`asm_pace.parallel.SITES_PER_CHUNK` sites, each with the protected areas near it
#: (:func:`asm_pace.parallel.classify_blocks`; docs/scale.md).
BLOCK_MIN_SITES = 60_000
_EDGE_SLACK_M = 1.0  # distances to a boundary point are within a metre of the minimum
_SHOWN = 3  # sites named in an extent message
_EARTH_HALF_M = 20_004_000.0  # a bound past every point of the Earth (half a meridian: 20,003.9 km)


def classify(
    sites: gpd.GeoDataFrame,
    protected_areas: gpd.GeoDataFrame | Sequence[gpd.GeoDataFrame] | Mapping[str, gpd.GeoDataFrame],
    ecoregions: gpd.GeoDataFrame,
    *,
    priority_landscapes: gpd.GeoDataFrame | None = None,
    uncertainty_m: float | None = None,
    kbas: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Classify mining sites under the ASM-PACE definition.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Points, or Polygon/MultiPolygon footprints (mined areas), in any CRS
        (as returned by :func:`asm_pace.read_sites`).
    protected_areas : geopandas.GeoDataFrame, or a list or dict of them
        The normalised protected-area layer of :func:`asm_pace.read_protected_areas`
        (needs ``pa_id``, ``name``, ``designation``, ``iucn_category``,
        ``status_year``, ``world_heritage``, ``ramsar``); may be empty. When it
        was read for a box (``attrs["bbox"]``, set by ``bbox=``), every site
        must lie in the box, and nearest distances that may reach past it are
        flagged. Several sources (a list, or a dict of name -> layer; the WDPA,
        a national layer, AZE sites...) are combined by
        :func:`asm_pace.pa_sources.combine_protected_areas` (the same area in
        two sources counted once; docs/sources.md), as is a layer it made.
    ecoregions : geopandas.GeoDataFrame
        The normalised ecoregion layer of :func:`asm_pace.read_ecoregions`
        (needs ``eco_id``, ``eco_name``, ``biome``, ``g200_region``, ``is_g200``).
    priority_landscapes : geopandas.GeoDataFrame, optional
        WWF priority landscapes (``landscape_name``), from
        :func:`asm_pace.read_priority_landscapes`.
    uncertainty_m : float, optional
        Every site's location uncertainty (radius, metres, 0 to 100,000), for
        the sites without a value of their own: a site column named as in
        :data:`asm_pace.sites.UNCERTAINTY_COLUMNS` (``uncertainty_m``,
        ``coordinateUncertaintyInMeters``...) gives per-site values, its empty
        cells take this one. Neither: no uncertainty columns are added.

    Returns
    -------
    geopandas.GeoDataFrame
        The sites (same index, order, columns, geometry and CRS) with these
        columns added: ``pace_class`` (one of :data:`PACE_CLASSES`),
        ``pa_ids``, ``pa_names``, ``pa_designations``, ``pa_iucn_categories``,
        ``pa_status_years`` (``;``-joined, in ``pa_id`` order, empty when
        none), ``protected_since`` (Int64: the earliest ``status_year`` of the
        protected areas holding the site, ``<NA>`` when none or none known), ``world_heritage``, ``ramsar`` (bool), ``pa_share`` (share of a
        footprint's geodesic area inside protected areas; NaN for points),
        ``nearest_pa_km`` (geodesic, 0 inside), ``nearest_pa_id``,
        ``nearest_pa_name``, ``nearest_pa_beyond_extent`` (bool: the layer was
        read for a box and the site is nearer to the box's edge than to the
        nearest protected area read, so one outside the box may be nearer),
        ``eco_id``, ``eco_name``, ``biome`` (``<NA>`` / empty for a site in no
        ecoregion), ``g200_region``, ``priority_landscape`` and ``reason``.
        With several sources (a combined layer) also ``pa_sources`` (the
        sources whose polygons hold the site, ``;``-joined in source order,
        empty when none); ``pa_ids`` and ``nearest_pa_id`` then read
        ``SOURCE:ID`` (``WDPA:478140;SERNANP:100``) and an area present in
        several sources is listed once, by its first source's record.
        Reasons name each protected area by its source and id: the layer's
        ``attrs["source_label"]`` ("WDPA 478140", "ANP_Definitivas 100"; a layer
        without it: "WDPA" only for a row whose ``wdpa_pid`` is a parcel of its
        numeric ``pa_id``, else "id 100"); names that are empty or blank read
        "an unnamed protected area" (the nearest one then with its id), "an
        unnamed priority landscape", "a Global 200 ecoregion".
        With a location uncertainty (a site column or ``uncertainty_m``) also
        ``location_uncertainty_m`` (the radius used, NaN for none),
        ``pa_certainty`` (one of :data:`PA_CERTAINTY`, empty without a radius),
        ``nearest_pa_km_min`` and ``nearest_pa_km_max`` (the nearest
        distance from anywhere within the radius); the class stays the one at
        the given location and a ``possible`` site's reason says it may differ.
        With ``kbas`` also ``kba_ids``, ``kba_names`` (``;``-joined, in id
        order) and ``aze`` (bool), before ``reason`` (:func:`asm_pace.kba.join_kbas`).
    kbas : geopandas.GeoDataFrame, optional
        Key Biodiversity Areas from :func:`asm_pace.read_kbas`. Their AZE sites
        are one more protected source (:func:`asm_pace.kba.aze_protected_areas`):
        a site in one is ``protected_area`` ("Inside an Alliance for Zero
        Extinction site X (KBA id)"); a site in another KBA keeps its class and
        its reason adds "also inside Key Biodiversity Area X (KBA id)".

    Raises
    ------
    SchemaError
        When a layer lacks a required column.
    CRSError
        When a layer has no CRS.
    InputError
        When an argument is not a GeoDataFrame or a site has no usable geometry;
        when no site lies in an ecoregion nor within :data:`EXTENT_KM` of a
        protected area (swapped latitude and longitude, a wrong CRS, layers of
        another region); when a site lies outside the box a layer was read for.

    Warns
    -----
    RepairedGeometryWarning
        When invalid polygons were repaired with :func:`shapely.make_valid`.
    ExtentWarning
        When sites lie in no ecoregion (at sea, or a clipped ecoregion file) or
        more than :data:`EXTENT_KM` from every protected area (the count and
        the first sites), and when ``nearest_pa_beyond_extent`` is set.

    Notes
    -----
    ``nearest_pa_km`` is the geodesic distance on WGS84 (Karney 2013) to the
    nearest protected-area boundary (edges are straight in lon/lat, as in the
    containment test), found with an index of boundary segments in Earth-centred
    coordinates and measured with :meth:`pyproj.Geod.inv` to the nearest point
    found: an exact distance to a boundary point, at most a second-order term
    above the minimum (tested to 0.5 % at latitudes up to 80 degrees and across
    the antimeridian; millimetres in practice). A site within 1 mm of a boundary
    touches it. Footprints are measured from their outlines.

    A location uncertainty ``u`` makes a point a geodesic circle of radius
    ``u`` (a footprint: the footprint grown by ``u``, as
    :func:`asm_pace.buffers` grows it). Outside every protected area, at
    distance ``d``, it is ``possible`` when ``d < u`` (``certain_outside``
    otherwise, unless the layer was read for a box whose edge is nearer than
    ``u``); inside, with ``b`` the distance to the edge of the union of the
    protected areas (the nearest boundary that is not inside another area),
    it is ``possible`` when ``b < u``, else ``certain_inside``. The distance
    from any point ``q`` of the circle to the protected areas lies in
    ``[d - u, d + u]`` by the triangle inequality (``|dist(q) - dist(p)| <=
    dist(p, q) <= u`` for the geodesic metric), so ``nearest_pa_km_min =
    max(0, d - u)`` (reached, along the geodesic to the nearest point) and
    ``nearest_pa_km_max = d + u`` (a bound); inside, ``[0, max(0, u - b)]``.
    A radius of 0 is a certain location: ``certain_inside`` or
    ``certain_outside`` by the class.

    A protected-area layer read for a box holds every area meeting the box, so
    an area missing from it lies wholly outside: the distance found is the true
    nearest one when it is no larger than the site's geodesic distance to the
    box's edge; otherwise ``nearest_pa_beyond_extent`` is set and the reason
    gives both (the true distance lies between them). A layer filtered by
    country (``countries=``) is named in the reason ("nearest protected area
    of the countries read"): a protected area across a border may be nearer.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pas = gpd.GeoDataFrame({"pa_id": ["1"], "name": ["Alpha National Park"],
    ...     "designation": ["National Park"], "iucn_category": ["II"],
    ...     "status_year": pd.array([1990], dtype="Int64"), "world_heritage": [False],
    ...     "ramsar": [False]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> pas.attrs["source_label"] = "WDPA"  # as read_protected_areas sets it for the WDPA
    >>> eco = gpd.GeoDataFrame({"eco_id": pd.array([1], dtype="Int64"),
    ...     "eco_name": ["Dry forest"], "biome": pd.array([2], dtype="Int64"),
    ...     "g200_region": [""], "is_g200": [False]},
    ...     geometry=[shapely.box(-5, -5, 5, 5)], crs=4326)
    >>> sites = gpd.GeoDataFrame({"site_id": ["S1", "S2"]},
    ...     geometry=[shapely.Point(0.5, 0.5), shapely.Point(0.5, 1.1)], crs=4326)
    >>> out = classify(sites, pas, eco)
    >>> out["pace_class"].tolist()
    ['protected_area', 'not_eligible']
    >>> print(out["reason"].iloc[0])
    Inside Alpha National Park (WDPA 1, IUCN II), designated 1990
    >>> round(float(out["nearest_pa_km"].iloc[1]), 2)
    11.06
    >>> out["protected_since"].tolist()
    [1990, <NA>]

    Locations known to 20 km: the second site may lie in the park, 11 km away.

    >>> out = classify(sites, pas, eco, uncertainty_m=20_000)
    >>> out["pa_certainty"].tolist(), out["nearest_pa_km_max"].round(2).tolist()
    (['certain_inside', 'possible'], [0.0, 31.06])

    Sites as a dask-geopandas GeoDataFrame, with the layers as paths the workers read:
    classified on the dask cluster of the current ``distributed.Client``, the same result
    (:func:`asm_pace.distributed.classify_dask`, docs/distributed.md).
    """
    # the dask engine (and the process pool it imports: 25 ms) only for a dask collection
    if is_dask(sites):
        from .distributed import classify_dask

        if kbas is not None:
            raise InputError(
                "Key Biodiversity Areas with dask-geopandas sites: they are not split over a "
                "cluster yet; compute the sites (sites.compute()) and classify them in this "
                "process"
            )
        return classify_dask(
            sites, protected_areas, ecoregions,  # type: ignore[arg-type]
            priority_landscapes=priority_landscapes, uncertainty_m=uncertainty_m,
        )  # fmt: skip
    if kbas is None:
        if len(sites) >= BLOCK_MIN_SITES:  # many sites: by blocks, each with its areas near
            from .parallel import classify_blocks

            out = classify_blocks(
                sites, protected_areas, ecoregions, priority_landscapes, uncertainty_m
            )
            if out is not None:
                return out
        return _classify(sites, protected_areas, ecoregions, priority_landscapes, uncertainty_m)
    from .kba import _add_kba_columns, with_aze_source

    pa_sources = with_aze_source(protected_areas, kbas)
    out = _classify(sites, pa_sources, ecoregions, priority_landscapes, uncertainty_m)
    return _add_kba_columns(out, kbas)


def _classify(
    sites: gpd.GeoDataFrame,
    protected_areas: gpd.GeoDataFrame,
    ecoregions: gpd.GeoDataFrame,
    priority_landscapes: gpd.GeoDataFrame | None,
    uncertainty_m: float | None = None,
    *,
    restrict: bool = True,
    extent_check: bool = True,
) -> gpd.GeoDataFrame:
    """:func:`classify`; ``restrict=False`` indexes every protected-area boundary;
    ``extent_check=False`` leaves out the extent check (a chunk's counts are not the run's:
    :mod:`asm_pace.parallel` makes it once on all the sites).

    With ``restrict`` (the default) only the protected areas that can hold the
    nearest boundary of some site are indexed (:func:`_nearest.relevant_polygons`);
    the results are the same, the switch exists for tests and benchmarks.
    """
    if isinstance(protected_areas, list | tuple | Mapping):
        from .pa_sources import combine_protected_areas

        protected_areas = combine_protected_areas(protected_areas)
    sites_ll = _prepare(sites, "sites", ())
    pas, pa_env = _prepare_pas(protected_areas)
    combined = "source" in pas.columns and "pa_group" in pas.columns
    eco = _prepare(ecoregions, "ecoregions", _ECO_COLUMNS)
    pls = (
        None
        if priority_landscapes is None
        else _prepare(priority_landscapes, "priority_landscapes", _PL_COLUMNS)
    )
    site_geoms = _site_geometries(sites_ll)
    radius = _uncertainty(sites, uncertainty_m)
    pa_box = layer_box(protected_areas, "protected areas")
    _refuse_outside_box(sites, site_geoms, pa_box, protected_areas, "protected areas")
    _refuse_outside_box(
        sites, site_geoms, layer_box(ecoregions, "ecoregions"), ecoregions, "ecoregions"
    )
    eco_geoms = _polygons(eco, "ecoregions")
    n = len(site_geoms)
    is_point = shapely.get_type_id(site_geoms) == 0
    tree = shapely.STRtree(site_geoms)
    # the protected areas whose envelopes meet a site's (the layer's envelope index,
    # kept with a reader's layer: no work over the whole layer when only a few are near)
    pa_cand = np.unique(pa_env.meeting(site_geoms)[1])
    # only the protected areas near the sites are checked and repaired: no other
    # one can contain a site or hold a nearest boundary (pa_near: their positions)
    pa_geoms = _polygons(pas, "protected_areas", repair=False)
    pa_near = None
    if not restrict:
        pa_geoms = _repair(pa_geoms, "protected_areas", pas, pa_env.known)
    elif len(pas):
        pa_geoms, pa_near = _repair_near(pa_geoms, pas, site_geoms, is_point, pa_cand, pa_env)

    # --- protected areas -------------------------------------------------------
    pa_i, site_i = tree.query(pa_geoms[pa_cand], predicate="intersects")
    pa_i = pa_cand[pa_i]
    # --- nearest protected-area boundary ---------------------------------------
    near_km = np.full(n, np.nan)
    near_pa = np.full(n, -1, dtype="int64")
    in_pa = np.zeros(n, dtype=bool)
    in_pa[site_i] = True
    if len(pas):
        out = np.flatnonzero(~in_pa)
        if out.size:
            q_geoms = site_geoms[out]
            q_point = is_point[out]
            index = (
                _pa_index(pa_geoms, q_geoms, q_point, pa_near)
                if restrict
                else BoundaryIndex(pa_geoms)
            )
            qx = shapely.get_x(q_geoms[q_point])
            qy = shapely.get_y(q_geoms[q_point])
            d, owner, _, _ = index.nearest(qx, qy)
            near_km[out[q_point]] = d / 1000.0
            near_pa[out[q_point]] = owner
            if not q_point.all():
                fsites = out[~q_point]
                d, owner = _footprint_distance(site_geoms[fsites], index)
                near_km[fsites] = d / 1000.0
                near_pa[fsites] = owner
    # a site within a millimetre of a boundary touches it (reprojection round-off)
    touch = ~in_pa & (near_km * 1e6 < _TOUCH_MM)
    if touch.any():
        site_i = np.r_[site_i, np.flatnonzero(touch)]
        pa_i = np.r_[pa_i, near_pa[touch]]
        near_km[touch] = 0.0
    # the text of the protected areas met or nearest only (not of every area in the layer)
    used = np.unique(np.r_[pa_i, near_pa[near_pa >= 0]])
    pa_id = _texts(pas["pa_id"], used)
    if combined:  # one area per group, named SOURCE:ID; its first row represents it
        from .pa_sources import group_representatives, source_ids

        pa_key = pas["pa_group"].to_numpy(dtype="int64")
        pa_rank, pa_rep = pa_key, group_representatives(pa_key)
        pa_shown = source_ids(pas)
    else:
        pa_key = pa_shown = pa_id
        pa_rank = np.zeros(len(pas), dtype="int64")
        pa_rank[used] = _natural_rank(pa_id[used])  # the order of those compared
    pa_names = _texts(pas["name"], used)
    pa_labels = _id_labels(protected_areas, pas, pa_id, used)
    # every (site, protected-area row) met, by site: shares, flags and sources count them all
    order = np.argsort(site_i, kind="stable")
    hit_site, hit_pa = site_i[order], pa_i[order]
    # one row per (site, pa_id) (a combined layer: per area), in pa_id order
    order = np.lexsort((pa_rank[pa_i], site_i))
    site_i, pa_i = site_i[order], pa_i[order]
    if site_i.size:
        dup = np.zeros(site_i.size, dtype=bool)
        dup[1:] = (site_i[1:] == site_i[:-1]) & (pa_key[pa_i[1:]] == pa_key[pa_i[:-1]])
        site_i, pa_i = site_i[~dup], pa_i[~dup]
        if combined:
            pa_i = pa_rep[pa_key[pa_i]]
        first = np.r_[True, site_i[1:] != site_i[:-1]]
        near_km[site_i] = 0.0
        near_pa[site_i[first]] = pa_i[first]  # inside: the first PA in pa_id order
    in_pa[site_i] = True
    # a nearer protected area may lie outside the box the layer was read for
    edge_km = np.full(n, np.nan)
    beyond = np.zeros(n, dtype=bool)
    if pa_box is not None and len(pas):
        far = np.flatnonzero(~in_pa & (near_km > 0))
        edge_km[far] = _box_edge_m(site_geoms[far], pa_box) / 1000.0
        beyond[far] = near_km[far] * 1000.0 > edge_km[far] * 1000.0 - _EDGE_SLACK_M
        _warn_beyond(sites, protected_areas, pa_box, beyond, near_km)
    has_near = near_pa >= 0
    near_id = np.full(n, "", dtype=object)
    near_name = np.full(n, "", dtype=object)
    near_label = np.full(n, "", dtype=object)
    near_id[has_near] = pa_shown[near_pa[has_near]]
    near_name[has_near] = pa_names[near_pa[has_near]]
    near_label[has_near] = pa_labels[near_pa[has_near]]

    def joined(values: np.ndarray) -> np.ndarray:
        return _join_by_site(site_i, values[pa_i], n)

    pa_desig = _texts(pas["designation"], used)
    pa_iucn = _texts(pas["iucn_category"], used)
    years = pd.array(pas["status_year"], dtype="Int64")
    pa_year = _texts(pas["status_year"].astype("Int64"), used)
    wh = np.zeros(n, dtype=bool)
    np.logical_or.at(wh, hit_site, pas["world_heritage"].fillna(False).to_numpy(dtype=bool)[hit_pa])
    ram = np.zeros(n, dtype=bool)
    np.logical_or.at(ram, hit_site, pas["ramsar"].fillna(False).to_numpy(dtype=bool)[hit_pa])
    origin = (
        _texts(pas["origin"], used)
        if "origin" in pas.columns
        else np.full(len(pas), "", dtype=object)
    )

    # --- share of footprints inside protected areas -----------------------------
    pa_share = np.full(n, np.nan)
    pa_share[~is_point] = 0.0
    foot_hits = ~is_point[hit_site] & ~touch[hit_site]
    if foot_hits.any():
        # a footprint covered by one area lies wholly inside (most footprints that meet
        # one, in practice): only the others are cut (GEOS prepares each area once)
        _, covered = tree.query(pa_geoms[np.unique(hit_pa[foot_hits])], predicate="covers")
        whole = np.zeros(n, dtype=bool)
        whole[covered] = True
        whole &= ~is_point
        pa_share[whole] = 1.0
        foot_hits &= ~whole[hit_site]
    if foot_hits.any():  # every row met: the parcels of one area, its copies in other sources
        fs, fp = hit_site[foot_hits], hit_pa[foot_hits]
        pieces = shapely.intersection(site_geoms[fs], pa_geoms[fp])
        starts = np.flatnonzero(np.r_[True, fs[1:] != fs[:-1]])
        inside = np.array([shapely.union_all(p) for p in np.split(pieces, starts[1:])])
        sites_with = fs[starts]
        # edges follow lon/lat lines (as in the containment test): densify them so
        # the geodesic polygons between vertices trace the same shape
        share = geodesic_area(shapely.segmentize(inside, _AREA_STEP_DEG)) / geodesic_area(
            shapely.segmentize(site_geoms[sites_with], _AREA_STEP_DEG)
        )
        pa_share[sites_with] = np.clip(share, 0.0, 1.0)

    # --- ecoregions --------------------------------------------------------------
    eco_pick = _pick_ecoregion(tree, site_geoms, eco_geoms, eco["is_g200"], n)
    has_eco = eco_pick >= 0
    in_g200 = np.zeros(n, dtype=bool)
    in_g200[has_eco] = eco["is_g200"].fillna(False).to_numpy(dtype=bool)[eco_pick[has_eco]]

    def eco_values(col: str, dtype: str) -> pd.array:
        vals = pd.array(eco[col], dtype=dtype)
        res = pd.array([pd.NA] * n, dtype=dtype)
        res[has_eco] = vals[eco_pick[has_eco]]
        return res

    eco_id = eco_values("eco_id", "Int64")
    biome = eco_values("biome", "Int64")
    eco_name = eco_values("eco_name", "string").fillna("").to_numpy(dtype=object)
    g200 = eco_values("g200_region", "string").fillna("").to_numpy(dtype=object)
    g200[~in_g200] = ""
    if combined:  # a source none of whose areas is near a site (another region?)
        from .pa_sources import warn_far_sources

        warn_far_sources(pas, site_geoms, EXTENT_KM)
    if extent_check:
        _check_extent(
            sites,
            protected_areas if len(pas) else None,
            ecoregions if len(eco) else None,
            site_geoms=site_geoms,
            in_pa=in_pa,
            near_km=near_km,
            has_eco=has_eco,
        )

    # --- priority landscapes -----------------------------------------------------
    landscape = np.full(n, "", dtype=object)
    in_pl = np.zeros(n, dtype=bool)
    pl_unnamed = np.zeros(n, dtype="int64")  # landscapes without a name, per site
    if pls is not None and len(pls):
        pl_geoms = _polygons(pls, "priority_landscapes")
        pl_names = pls["landscape_name"].astype("string").fillna("").str.strip()
        pl_names = pl_names.to_numpy(dtype=object)
        li, si = tree.query(pl_geoms, predicate="intersects")
        in_pl[si] = True
        nameless = pl_names[li] == ""
        np.add.at(pl_unnamed, si[nameless], 1)
        li, si = li[~nameless], si[~nameless]
        order = np.lexsort((pl_names[li], si))
        li, si = li[order], si[order]
        if si.size:  # several parts of one named landscape count once
            dup = np.zeros(si.size, dtype=bool)
            dup[1:] = (si[1:] == si[:-1]) & (pl_names[li[1:]] == pl_names[li[:-1]])
            li, si = li[~dup], si[~dup]
        landscape = _join_by_site(si, pl_names[li], n)

    # --- classes and reasons -------------------------------------------------------
    cls = np.select(
        [in_pa, in_pl, in_g200],
        PACE_CLASSES[:3],
        default=PACE_CLASSES[3],
    ).astype(object)
    if (pa_desig == "Alliance for Zero Extinction site").any():  # AZE sites (kba.py)
        from .kba import _reason_names

        pa_names_said, pa_labels = _reason_names(pa_desig, pa_id, pa_names, pa_labels)
        near_said = near_name.copy()  # the nearest one named as such too
        near_said[has_near] = pa_names_said[near_pa[has_near]]
    else:
        pa_names_said, near_said = pa_names, near_name
    reasons = _reasons(
        n=n,
        cls=cls,
        is_point=is_point,
        site_i=site_i,
        pa_i=pa_i,
        pa_labels=pa_labels,
        pa_names=pa_names_said,
        pa_iucn=pa_iucn,
        pa_year=pa_year,
        origin=origin,
        pa_share=pa_share,
        have_pas=len(pas) > 0,
        near_km=near_km,
        near_name=near_said,
        near_label=near_label,
        near_word=_nearest_word(protected_areas),
        beyond=beyond,
        edge_km=edge_km,
        landscape=landscape,
        pl_unnamed=pl_unnamed,
        have_landscapes=pls is not None,
        has_eco=has_eco,
        eco_id=eco_id,
        eco_name=eco_name,
        g200=g200,
    )
    since = np.full(n, np.nan)  # the earliest known status_year of the areas holding a site
    if combined:  # an area's year: the earliest known among its sources' records
        years = pd.array(pas["group_status_year"], dtype="Int64")
    np.fmin.at(since, hit_site, years.to_numpy(dtype="float64", na_value=np.nan)[hit_pa])
    extra = {}
    if radius is not None:
        certainty, kmin, kmax = _certainty(
            radius, site_geoms, is_point, in_pa, near_km, edge_km, pa_geoms, pa_env
        )
        reasons = reasons + _uncertainty_text(certainty, radius, is_point, in_pa)
        extra = {
            "location_uncertainty_m": radius,
            "pa_certainty": certainty,
            "nearest_pa_km_min": kmin,
            "nearest_pa_km_max": kmax,
        }

    result = sites.copy()
    cols = {
        "pace_class": pd.Categorical(cls, categories=list(PACE_CLASSES)),
        "pa_ids": joined(pa_shown),
        **({"pa_sources": _sources_by_site(pas, hit_site, hit_pa, n)} if combined else {}),
        "pa_names": joined(pa_names),
        "pa_designations": joined(pa_desig),
        "pa_iucn_categories": joined(pa_iucn),
        "pa_status_years": joined(pa_year),
        "protected_since": pd.array(since, dtype="Float64").astype("Int64"),  # NaN: <NA>
        "world_heritage": wh,
        "ramsar": ram,
        "pa_share": pa_share,
        "nearest_pa_km": near_km,
        "nearest_pa_id": near_id,
        "nearest_pa_name": near_name,
        "nearest_pa_beyond_extent": beyond,
        **extra,
        "eco_id": eco_id,
        "eco_name": eco_name,
        "biome": biome,
        "g200_region": g200,
        "priority_landscape": landscape,
        "reason": reasons,
    }
    # a site column named like an output one is replaced by it, also when only its case
    # differs (Pa_Ids): a GeoPackage's field names ignore case, so the output's would be
    # renamed (pa_ids_2) and readers would find the site file's values under its name
    folded = {name.casefold() for name in cols}
    result = result.drop(
        columns=[c for c in result.columns if isinstance(c, str) and c.casefold() in folded]
    )
    for name, values in cols.items():
        result[name] = pd.Series(values, index=result.index)
    return result


# ---------------------------------------------------------------------------------
# uncertain locations


def parse_uncertainty(text: str) -> float:
    """A location uncertainty given as text (``500m``, ``0.5 km``, ``500``) in metres.

    A bare number is metres; only ``m`` and ``km`` are units (case ignored).

    Examples
    --------
    >>> parse_uncertainty("500m"), parse_uncertainty("1.5 km"), parse_uncertainty("20")
    (500.0, 1500.0, 20.0)
    """
    import re

    match = re.fullmatch(
        r"\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?|nan|inf)\s*(m|km)?\s*", str(text), re.I
    )
    if match is None:
        raise InputError(
            f"--uncertainty {text!r} is not a distance in metres or kilometres: give one "
            "such as 500m or 0.5km (a bare number is metres; in Python uncertainty_m= takes "
            "metres)"
        )
    try:
        value = float(match.group(1))
    except ValueError:
        value = float("nan")
    value *= 1000.0 if (match.group(2) or "m").lower() == "km" else 1.0
    return _checked_radius(value, f"{text!r} (--uncertainty, uncertainty_m=)")


def _checked_radius(value: object, what: str) -> float:
    """``value`` as a radius in metres, or InputError naming ``what``."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    radius = float(value) if ok else float("nan")  # type: ignore[arg-type]
    if not (0.0 <= radius <= MAX_UNCERTAINTY_M):
        raise InputError(
            f"{what} is not a location uncertainty: give a radius of 0 to "
            f"{MAX_UNCERTAINTY_M / 1000:g} km (a wider circle is not a location), e.g. "
            "--uncertainty 500m (in Python: uncertainty_m=500, in metres)"
        )
    return radius


def _uncertainty(sites: gpd.GeoDataFrame, uncertainty_m: object) -> np.ndarray | None:
    """Each site's uncertainty radius (m; NaN: none), or None when none is given at all."""
    column = uncertainty_column(sites.columns)
    if uncertainty_m is not None:
        uncertainty_m = _checked_radius(uncertainty_m, f"uncertainty_m={uncertainty_m!r}")
    if column is None:
        return None if uncertainty_m is None else np.full(len(sites), uncertainty_m)
    values, problems = uncertainty_values(sites[column], np.arange(1, len(sites) + 1), column)
    if problems:
        first = problems[:_SHOWN]
        rows = [p.line - 1 for p in first]  # type: ignore[operator]
        labels = _labels(sites.iloc[rows], rows)
        shown = "; ".join(f"{lab}: {p.value!r}" for lab, p in zip(labels, first, strict=True))
        more = f" and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise InputError(
            f"{source_name(sites)}: {len(problems)} value(s) of the column {column!r} are not "
            f"location uncertainties ({shown}{more}): {problems[0].problem}; "
            f"{problems[0].fix} (asm-pace validate lists every one)"
        )
    if uncertainty_m is not None:
        values[np.isnan(values)] = uncertainty_m
    return values


def _certainty(
    radius: np.ndarray,
    site_geoms: np.ndarray,
    is_point: np.ndarray,
    in_pa: np.ndarray,
    near_km: np.ndarray,
    edge_km: np.ndarray,
    pa_geoms: np.ndarray,
    pa_env: Envelopes,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``pa_certainty`` and the nearest-distance interval (km) of each site (class docs).

    ``pa_env``: the envelopes of the protected areas (before any repair: a repaired
    polygon lies within its envelope).
    """
    n = len(radius)
    known = ~np.isnan(radius)
    certainty = np.full(n, "", dtype=object)
    kmin = np.full(n, np.nan)
    kmax = np.full(n, np.nan)
    d = np.where(np.isnan(near_km), np.inf, near_km * 1000.0)
    # outside: possible when a protected area (or the edge of the box read) is within u
    out = known & ~in_pa
    reach = np.fmin(d, np.where(np.isnan(edge_km), np.inf, edge_km * 1000.0))
    certainty[out] = np.where(reach[out] < radius[out], PA_CERTAINTY[2], PA_CERTAINTY[1])
    kmin[out] = np.maximum(0.0, d[out] - radius[out]) / 1000.0
    kmax[out] = (d[out] + radius[out]) / 1000.0
    kmin[np.isnan(near_km)] = kmax[np.isnan(near_km)] = np.nan  # no protected areas given
    # inside: the distance to the edge of the union of the protected areas near the site
    ins = np.flatnonzero(known & in_pa)
    edge_b = np.full(n, np.inf)
    wide = ins[radius[ins] > 0]
    if wide.size:
        boxes = widen_boxes(shapely.bounds(site_geoms[wide]), radius[wide])
        hits = pa_env.hits(boxes)
        union = shapely.union_all(_fix(pa_geoms[hits])[0])
        index = BoundaryIndex(np.array([union]))
        pts = wide[is_point[wide]]
        edge_b[pts] = index.nearest(shapely.get_x(site_geoms[pts]), shapely.get_y(site_geoms[pts]))[
            0
        ]
        feet = wide[~is_point[wide]]
        if feet.size:
            edge_b[feet] = _footprint_distance(site_geoms[feet], index)[0]
            edge_b[feet[~shapely.covered_by(site_geoms[feet], union)]] = 0.0
        edge_b[np.isnan(edge_b)] = np.inf
    certainty[ins] = np.where(edge_b[ins] < radius[ins], PA_CERTAINTY[2], PA_CERTAINTY[0])
    kmin[ins] = 0.0
    kmax[ins] = np.maximum(0.0, radius[ins] - edge_b[ins]) / 1000.0
    return certainty, kmin, kmax


def _uncertainty_text(
    certainty: np.ndarray, radius: np.ndarray, is_point: np.ndarray, in_pa: np.ndarray
) -> np.ndarray:
    """What a ``possible`` site's reason adds: the class may differ within its radius."""
    out = np.full(len(certainty), "", dtype=object)
    for s in np.flatnonzero(certainty == PA_CERTAINTY[2]):
        within = f"; within its {_fmt_m(radius[s])} location uncertainty"
        if not is_point[s]:
            tail = (
                " its protected share may differ"
                if in_pa[s]
                else " it may overlap a protected area"
            )
        else:
            tail = " it may lie outside" if in_pa[s] else " it may lie in a protected area"
        out[s] = within + tail
    return out


def _fmt_m(metres: float) -> str:
    """``500 m``, ``1.5 km``: a radius for reasons.

    >>> _fmt_m(500.0), _fmt_m(1500.0), _fmt_m(12.5)
    ('500 m', '1.5 km', '12.5 m')
    """
    return f"{metres:g} m" if metres < 1000 else f"{metres / 1000:g} km"


# ---------------------------------------------------------------------------------
# input checks


def _prepare(gdf: object, layer: str, required: Sequence[str]) -> gpd.GeoDataFrame:
    """Check a layer's type, columns and CRS; return a 2-D EPSG:4326 copy."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(
            f"{layer} must be a geopandas GeoDataFrame, got {type(gdf).__name__}; "
            f"read it with asm_pace.read_{layer}()"
            if layer != "sites"
            else f"sites must be a geopandas GeoDataFrame, got {type(gdf).__name__}; "
            "read them with asm_pace.read_sites()"
        )
    missing = [c for c in required if c not in gdf.columns]
    if missing:
        raise SchemaError(
            f"the {layer} layer lacks the column(s) {', '.join(missing)} "
            f"(it has: {', '.join(map(str, gdf.columns))}); classify needs "
            f"{', '.join(required)}, which asm_pace.read_{layer}() produces from "
            "the raw file: load the layer with it, or rename your columns"
        )
    if gdf.crs is None:
        raise CRSError(
            f"the {layer} layer has no CRS; set the right one with .set_crs(...) "
            "(asm_pace's loaders always return EPSG:4326)"
        )
    return to_wgs84(gdf, source=gdf.attrs.get("source", f"the {layer} layer"))


def _prepare_pas(protected_areas: object) -> tuple[gpd.GeoDataFrame, Envelopes]:
    """:func:`_prepare` for the protected areas, and their envelopes.

    A reader's layer in EPSG:4326 whose every geometry the reader checked (its
    :class:`asm_pace._vector.ValidMark`) is used as it is: no copy, no check over the
    whole layer; its envelope index is built once and kept with the layer
    (:func:`asm_pace._nearest.layer_envelopes`).
    """
    if (
        isinstance(protected_areas, gpd.GeoDataFrame)
        and protected_areas.crs is not None
        and all(c in protected_areas.columns for c in _PA_COLUMNS)
    ):
        env = layer_envelopes(protected_areas)
        if env.known.all() and protected_areas.crs.to_epsg() == 4326:
            return protected_areas, env
    pas = _prepare(protected_areas, "protected_areas", _PA_COLUMNS)
    return pas, layer_envelopes(pas)


def _texts(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """A column as text (missing: empty) at ``rows``, empty elsewhere (same length).

    >>> _texts(pd.Series([1, None, 3], dtype="Int64"), np.array([1, 2])).tolist()
    ['', '', '3']
    """
    out = np.full(len(column), "", dtype=object)
    out[rows] = column.iloc[rows].astype("string").fillna("").to_numpy(dtype=object)
    return out


def _site_geometries(sites: gpd.GeoDataFrame) -> np.ndarray:
    geoms = np.array(sites.geometry.values, dtype=object)  # a copy: repairs are written in
    bad_missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kinds = shapely.get_type_id(geoms)
    bad_type = ~bad_missing & ~np.isin(kinds, (0, 3, 6))
    bad_coords = ~bad_missing & nonfinite(geoms)
    if bad_missing.any() or bad_type.any() or bad_coords.any():
        labels = _labels(sites)
        problems = [f"{labels[i]}: no geometry" for i in np.flatnonzero(bad_missing)[:10]]
        problems += [f"{labels[i]}: a {geoms[i].geom_type}" for i in np.flatnonzero(bad_type)[:10]]
        problems += [
            f"{labels[i]}: a coordinate is NaN or infinite" for i in np.flatnonzero(bad_coords)[:10]
        ]
        raise InputError(
            f"{source_name(sites)}: sites must be Points or Polygon/MultiPolygon footprints with "
            f"finite coordinates; {int(bad_missing.sum() + bad_type.sum() + bad_coords.sum())} "
            "site(s) are not: "
            + "; ".join(problems)
            + ". Fix or drop them (asm_pace.validate_sites lists every problem)"
        )
    polys = np.flatnonzero(kinds != 0)
    if polys.size:  # the footprints read_sites checked are not checked again
        known = known_valid(sites, geoms)[polys]
        geoms[polys] = _repair(geoms[polys], "sites", sites, known, rows=polys)
    return geoms


def _polygons(gdf: gpd.GeoDataFrame, layer: str, *, repair: bool = True) -> np.ndarray:
    """Valid polygonal geometries of a layer (missing ones become empty).

    Rows a reader repaired (:func:`asm_pace._vector.known_valid`) are not checked again.
    """
    geoms = np.array(gdf.geometry.values, dtype=object)  # a copy: empties are written in
    missing = shapely.is_missing(geoms)
    geoms[missing] = shapely.Polygon()
    return _repair(geoms, layer, gdf, known_valid(gdf)) if repair else geoms


def _fix(geoms: np.ndarray, known: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Valid polygonal geometries (a copy when any was invalid) and the invalid mask.

    ``known``: rows known to be valid (a reader's mark), not checked.
    """
    if known is None:
        invalid = ~shapely.is_valid(geoms)
    else:
        invalid = np.zeros(len(geoms), dtype=bool)
        invalid[~known] = ~shapely.is_valid(geoms[~known])
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = polygonal_parts(shapely.make_valid(geoms[invalid]))
    return geoms, invalid


def _repair(
    geoms: np.ndarray,
    layer: str,
    gdf: gpd.GeoDataFrame,
    known: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`_fix`, warning of the rows repaired; ``rows``: the positions of ``geoms`` in
    ``gdf`` (default: all of it, in order)."""
    geoms, invalid = _fix(geoms, known)
    _warn_repaired(invalid, layer, gdf, rows)
    return geoms


def _repair_near(
    pa_geoms: np.ndarray,
    pas: gpd.GeoDataFrame,
    site_geoms: np.ndarray,
    is_point: np.ndarray,
    hit: np.ndarray,
    env: Envelopes,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Repair the protected areas near the sites; return them and their positions.

    ``hit``: the areas whose envelopes meet a site's; ``env``: the layer's envelopes,
    whose ``known`` rows a reader repaired (:func:`asm_pace._vector.known_valid`), not
    checked again.

    Near: the envelope meets a site's, or lies within the farthest-envelope bound
    of :func:`_nearest.relevant_polygons` of a site. A repaired polygon stays in
    its envelope, so the bound holds for it unless it vanished (then, and when
    most areas are near, every one is repaired and the positions are None).
    """
    bounds, x, y = _query_points(site_geoms, is_point)
    loose = relevant_polygons(pa_geoms, bounds, x, y, exact=False, envelopes=env)
    if loose is not None:
        near = np.union1d(hit, loose)
        fixed, invalid = _fix(pa_geoms[near], env.known[near])
        vanished = shapely.is_empty(fixed) & ~shapely.is_empty(pa_geoms[near])
        if not vanished.any():
            _warn_repaired(invalid, "protected_areas", pas, near, stacklevel=5)
            out = pa_geoms.copy()
            out[near] = fixed
            return out, near
    return _repair(pa_geoms, "protected_areas", pas, env.known), None


def _warn_repaired(
    invalid: np.ndarray,
    layer: str,
    gdf: gpd.GeoDataFrame,
    rows: np.ndarray | None = None,
    stacklevel: int = 6,
) -> None:
    """One RepairedGeometryWarning naming the repaired rows (stacklevel: the user's call).

    ``invalid``: which geometries were repaired, at ``rows`` of ``gdf`` (default: all of
    it, in order); only the first few are named, so only theirs are labelled (labels of
    every row cost the 186,695 areas of the global layer 0.125 s).
    """
    if not invalid.any():
        return
    import warnings

    at = np.flatnonzero(invalid) if rows is None else np.asarray(rows)[invalid]
    shown = ", ".join(map(str, _labels(gdf.iloc[at[:5]], at[:5])))
    more = f" and {int(invalid.sum()) - 5} more" if invalid.sum() > 5 else ""
    warnings.warn(
        f"{int(invalid.sum())} invalid polygon(s) in the {layer} layer ({shown}{more}) "
        "were repaired with shapely.make_valid before classifying",
        RepairedGeometryWarning,
        stacklevel=stacklevel,
    )


def _labels(gdf: gpd.GeoDataFrame, rows: np.ndarray | list[int] | None = None) -> np.ndarray:
    """How messages name features: their id, else their row counted from 1 (``rows``: the
    positions of ``gdf``'s features in the whole layer, for a subset)."""
    for col in ("site_id", "pa_id", "eco_id", "landscape_name"):
        if col in gdf.columns:
            return np.array([f"{col} {v}" for v in gdf[col]], dtype=object)
    pos = np.arange(len(gdf)) if rows is None else np.asarray(rows)
    return np.array([f"row {p + 1}" for p in pos], dtype=object)


# ---------------------------------------------------------------------------------
# helpers


def _natural_rank(ids: np.ndarray) -> np.ndarray:
    """Rank ids so that numeric ones sort as numbers (2 < 10), then the others as text.

    >>> _natural_rank(np.array(["10", "b", "2", "a", "02"], dtype=object)).tolist()
    [2, 4, 0, 3, 1]
    """
    joined = "".join(ids)
    if joined.isascii() and "\x00" not in joined:  # digit strings compared by length
        text = np.asarray(ids, dtype=str)
        digit = np.char.isdigit(text)
        bare = np.char.lstrip(text, "0")
        key = np.where(digit, bare, text)
        length = np.where(digit, np.char.str_len(bare), 0)
        order = np.lexsort((np.arange(len(ids)), key, length, ~digit))
        rank = np.empty(len(ids), dtype="int64")
        rank[order] = np.arange(len(ids))
        return rank
    keys = [(0, int(v), "") if v.isdigit() else (1, 0, v) for v in ids]
    order = sorted(range(len(ids)), key=keys.__getitem__)
    rank = np.empty(len(ids), dtype="int64")
    rank[order] = np.arange(len(ids))
    return rank


def _join_by_site(site_i: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """``;``-join values per site; site_i sorted, values aligned."""
    out = np.full(n, "", dtype=object)
    if site_i.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, site_i[1:] != site_i[:-1]])
    ends = np.r_[starts[1:], site_i.size]
    one = ends - starts == 1  # most sites: one value, taken as it is
    out[site_i[starts[one]]] = np.asarray(values, dtype=object)[starts[one]]
    many = ~one
    vals = values.tolist()
    for s, a, b in zip(site_i[starts[many]], starts[many], ends[many], strict=True):
        out[s] = ";".join(vals[a:b])
    return out


def _pick_ecoregion(
    tree: shapely.STRtree,
    site_geoms: np.ndarray,
    eco_geoms: np.ndarray,
    is_g200: pd.Series,
    n: int,
) -> np.ndarray:
    """Index of the ecoregion reported for each site (-1 for none).

    A Global 200 ecoregion wins over others (a footprint touching one is a
    critical ecosystem); among equals, the largest overlap, then layer order.
    """
    pick = np.full(n, -1, dtype="int64")
    if len(eco_geoms) == 0:
        return pick
    ei, si = tree.query(eco_geoms, predicate="intersects")
    if si.size == 0:
        return pick
    g = is_g200.fillna(False).to_numpy(dtype=bool)[ei]
    area = np.zeros(si.size)
    # the overlap decides only between ecoregions of the same kind met by one footprint:
    # measured for those pairs alone (most footprints lie in one ecoregion)
    foot = shapely.get_type_id(site_geoms[si]) != 0
    key = si * 2 + g
    _, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    foot &= cnt[inv.ravel()] > 1
    if foot.any():
        area[foot] = shapely.area(shapely.intersection(site_geoms[si[foot]], eco_geoms[ei[foot]]))
    order = np.lexsort((ei, -area, ~g, si))
    si, ei = si[order], ei[order]
    first = np.r_[True, si[1:] != si[:-1]]
    pick[si[first]] = ei[first]
    return pick


def _query_points(
    q_geoms: np.ndarray, q_point: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounds of each site and a point of it (the point itself, a footprint's first vertex)."""
    bounds = shapely.bounds(q_geoms)
    x, y = bounds[:, 0].copy(), bounds[:, 1].copy()
    feet = np.flatnonzero(~q_point)
    if feet.size:
        counts = shapely.get_num_coordinates(q_geoms[feet])
        xy = shapely.get_coordinates(q_geoms[feet])[np.r_[0, np.cumsum(counts)[:-1]]]
        x[feet], y[feet] = xy[:, 0], xy[:, 1]
    return bounds, x, y


def _pa_index(
    pa_geoms: np.ndarray, q_geoms: np.ndarray, q_point: np.ndarray, near: np.ndarray | None
) -> BoundaryIndex:
    """The boundary index of the protected areas that can be nearest to the sites.

    ``near``: the positions :func:`_repair_near` repaired (no other can matter), or None
    when every protected area was repaired. Only they are searched (their own envelope
    tree: the layer's holds the unrepaired others, whose boundaries bound nothing).
    """
    bounds, x, y = _query_points(q_geoms, q_point)
    if near is None:
        return BoundaryIndex(pa_geoms, subset=relevant_polygons(pa_geoms, bounds, x, y))
    sub = relevant_polygons(pa_geoms[near], bounds, x, y)
    return BoundaryIndex(pa_geoms, subset=near if sub is None else near[sub])


def _footprint_distance(feet: np.ndarray, index: BoundaryIndex) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (m) from each footprint outline to the nearest PA boundary.

    The closest pair of two polylines has a vertex of one of them at one end, so
    the minimum of (footprint vertices -> PA boundaries) and (PA vertices ->
    footprint outlines) is exact. Each is searched only where it can beat a bound, so
    that a footprint far from every protected area costs about what its centroid does:

    1. the first vertex's segment nearest in chord among a few near ones (no search,
       :meth:`_nearest.BoundaryIndex.chord_nearest`); the distance of the vertex nearest
       that segment in chord to its foot point bounds the footprint's (``U``);
    2. every vertex looks for a boundary within ``U``, among the chunks of boundary
       gathered once for the footprint (:meth:`_nearest.BoundaryIndex.nearest_in_groups`:
       the far side of a footprint finds none and does no work), and only the pairs
       that can beat the footprint's best so far are measured geodesically;
    3. only PA vertices within the best distance so far of the outline can improve on
       it: they lie in the ball around the footprint's vertices (centre, the largest
       chord to a vertex) grown by the longest chord of that distance
       (:func:`_nearest.chord_within`), taken from the chunks step 2 gathered when its
       ball holds this one; each is measured to the outline of every footprint whose
       ball holds it (a neighbour's outline may be nearer to the vertex), only to the
       edges at the front of the footprint and only where it can beat the bound.
    """
    m = len(feet)
    xy, which = shapely.get_coordinates(feet, return_index=True)
    first = np.r_[0, np.flatnonzero(np.diff(which)) + 1]
    # the footprints' outlines (for the second pass): their ECEF vertices are these
    # vertices' unless an edge was densified
    outlines = BoundaryIndex(feet)
    same = outlines.n > 0 and np.array_equal(outlines.coords, xy)
    s = outlines.xyz if same else ecef(xy[:, 0], xy[:, 1])
    # the segment nearest the first vertex in chord among a few near ones (no search)
    seg0, foot0 = index.chord_nearest(xy[first, 0], xy[first, 1])
    bound = index.group_bound(xy[:, 0], xy[:, 1], seg0[which], which, xyz=s)[first]
    bound[~np.isfinite(bound)] = _EARTH_HALF_M
    # a direction per footprint, from its first vertex to that segment's foot point: the
    # boundary lies beyond a plane across it, and the footprint behind its own support
    # plane, which bounds both passes below (any direction is valid, this one tight)
    u = np.zeros((m, 3))
    seen = seg0 >= 0
    u[seen] = foot0[seen] - s[first[seen]]
    u /= np.maximum(np.sqrt(rowdot(u, u)), 1e-9)[:, None]
    d, owner, grp, ch, ball_c, ball_r = index.nearest_in_groups(
        xy[:, 0], xy[:, 1], which, bound, toward=u, gathered=True, xyz=s
    )
    best_d = np.full(m, np.inf)
    best_o = np.full(m, -1, dtype="int64")
    found = owner >= 0
    _take_min(best_d, best_o, which[found], d[found], owner[found])
    # PA vertices near each footprint -> the footprint outlines
    if outlines.n == 0:
        return best_d, best_o
    _, _, fown = outlines.vertices()
    centre = np.zeros((m, 3))
    np.add.at(centre, fown, outlines.xyz)
    centre /= np.maximum(np.bincount(fown, minlength=m), 1)[:, None]
    off = outlines.xyz - centre[fown]
    reach = np.zeros(m)
    np.maximum.at(reach, fown, np.sqrt(rowdot(off, off)))
    beat = chord_within(np.where(np.isfinite(best_d), best_d, _EARTH_HALF_M))
    reach += beat + 1.0
    # along u every point x of the outline has (x - centre) . u <= h, the largest over its
    # vertices (plus the edges' 1 m departure from their chords), so a PA vertex w is at
    # least (w - centre) . u - h from the outline; only those within the chord of the best
    # distance can beat it (the ball keeps a lens of boundary around the nearest point)
    height = rowdot(off, u[fown])
    h = np.full(m, -np.inf)
    np.maximum.at(h, fown, height)
    # the chunks gathered for the first pass hold every chunk meeting this ball when it
    # lies in theirs (the best distance is within the bound): no second search but for
    # the footprints whose ball does not
    moved = ball_c - centre
    held = reach + np.sqrt(rowdot(moved, moved)) <= ball_r
    # the chunks with a vertex in the ball and the lens (their spheres meet both)
    cc, cr = index.chunk_centre[ch], index.chunk_radius[ch]
    rel = cc - centre[grp]
    fits = np.sqrt(rowdot(rel, rel)) - cr <= reach[grp]
    fits &= rowdot(rel, u[grp]) - cr - h[grp] - 1.0 <= beat[grp]
    fits &= held[grp]
    foot, near = index.vertices_of_chunks(centre, reach, grp[fits], ch[fits], pairs=True)
    if not held.all():
        rest = np.flatnonzero(~held)
        f1, n1 = index.vertices_in_balls(centre[rest], reach[rest], pairs=True)
        foot, near = np.r_[foot, rest[f1]], np.r_[near, n1]
        order = np.lexsort((near, foot))
        foot, near = foot[order], near[order]
    lift = rowdot(index.xyz[near] - centre[foot], u[foot])
    keep = lift - h[foot] - 1.0 <= beat[foot]
    foot, near, lift = foot[keep], near[keep], lift[keep]
    if near.size:
        # and from the other side: the chord foot x on an edge of the outline has
        # (x - centre) . u at most its ends' larger, so the edge is at least the lowest
        # kept w's lift less that from every w; only the edges that can be within the
        # chord of the best distance are measured (the front of the footprint)
        low = np.full(m, np.inf)
        np.minimum.at(low, foot, lift)
        cut = chord_within(best_d) + 2.0  # as distance_to_own's, and a margin
        seg_top = np.maximum(height[:-1], height[1:])
        front = np.r_[low[fown[:-1]] - seg_top <= cut[fown[:-1]], False]
        vx, vy, vowner = index.vertices()
        d2 = outlines.distance_to_own(
            vx[near], vy[near], foot, bound=best_d[foot], shared=True, segments=front
        )
        _take_min(best_d, best_o, foot, d2, vowner[near])
    return best_d, best_o


def _take_min(
    best_d: np.ndarray, best_o: np.ndarray, rows: np.ndarray, d: np.ndarray, owner: np.ndarray
) -> None:
    """best_d[r] = min(best_d[r], d) per row, keeping the owner of the minimum."""
    if rows.size == 0:
        return
    order = np.lexsort((d, rows))
    first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
    r = rows[first]
    better = d[first] < best_d[r]
    best_d[r[better]] = d[first][better]
    best_o[r[better]] = owner[first][better]


def _fmt_km(km: float) -> str:
    return f"{km:,.1f} km" if km < 100 else f"{km:,.0f} km"


def _id_labels(
    protected_areas: gpd.GeoDataFrame,
    pas: gpd.GeoDataFrame,
    pa_id: np.ndarray,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """How reasons name each protected area's id: its source and id (only at ``rows``).

    The source is the layer's ``attrs["source_label"]`` (set by
    :func:`asm_pace.read_protected_areas`: "WDPA", or the file's own name, or
    ``source_label=``): "WDPA 478140", "ANP_Definitivas 100". A WDPA row whose id
    is not a WDPAID (generated: ``PA3``) is "id PA3". A layer built in memory
    without the attribute says "WDPA" only for rows whose ``wdpa_pid`` is a parcel
    of their numeric ``pa_id`` (``478140`` or ``478140_A``), else "id 100".
    """
    if "source" in pas.columns and "pa_group" in pas.columns:  # combined: each row's source
        from .pa_sources import group_labels

        return group_labels(pas)
    rows = np.arange(len(pa_id)) if rows is None else rows
    ids = pa_id[rows]
    label = protected_areas.attrs.get("source_label")
    label = label.strip() if isinstance(label, str) else ""
    digits = np.array([p.isdigit() for p in ids], dtype=bool)
    if label and label != "WDPA":
        src = np.full(len(ids), label, dtype=object)
    else:
        if label == "WDPA":
            wdpa = digits
        else:
            pid = (
                _texts(pas["wdpa_pid"], rows)[rows]
                if "wdpa_pid" in pas.columns
                else np.full(len(ids), "", dtype=object)
            )
            wdpa = digits & np.array(
                [
                    q.strip() == p or q.strip().startswith(p + "_")
                    for p, q in zip(ids, pid, strict=True)
                ],
                dtype=bool,
            )
        src = np.where(wdpa, "WDPA", "id").astype(object)
    out = np.full(len(pa_id), "", dtype=object)
    out[rows] = [f"{s} {p}" if p.strip() else f"{s}, no id" for s, p in zip(src, ids, strict=True)]
    return out


def _sources_by_site(
    pas: gpd.GeoDataFrame, hit_site: np.ndarray, hit_pa: np.ndarray, n: int
) -> np.ndarray:
    """``;``-joined sources whose rows hold each site, in source order (empty: none)."""
    names = list(dict.fromkeys(pas.attrs.get("pa_sources") or pas["source"]))
    code = pd.Categorical(pas["source"], categories=names).codes.astype("int64")
    key = np.unique(hit_site.astype("int64") * len(names) + code[hit_pa])
    return _join_by_site(key // len(names), np.array(names, dtype=object)[key % len(names)], n)


def _pa_label(id_label: str, iucn: str, origin: str) -> str:
    bits = [id_label]
    if iucn.strip().lower() not in _IUCN_SILENT:
        bits.append(f"IUCN {iucn}")
    if origin == "point_circle":
        bits.append("a point record drawn as a circle of its reported area")
    return ", ".join(bits)


def _and_list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


#: how a reason names a protected area whose layer gives it no name
_UNNAMED = "an unnamed protected area"


def _nearest_text(word: str, name: str, id_label: str, km: float) -> str:
    """``nearest: Alpha National Park, 6.0 km``; an area without a name by its id.

    >>> _nearest_text("nearest", " ", "WDPA 478140", 6.04)
    'nearest: an unnamed protected area, WDPA 478140, 6.0 km'
    >>> _nearest_text("nearest PER protected area", "", "WDPA 478140", 6.04)
    'nearest PER protected area: an unnamed one, WDPA 478140, 6.0 km'
    """
    if name.strip():
        return f"{word}: {name.strip()}, {_fmt_km(km)}"
    one = "an unnamed one" if "protected area" in word else _UNNAMED
    return f"{word}: {one}, {id_label}, {_fmt_km(km)}"


def _landscape_text(names: list[str], unnamed: int) -> str:
    """``the A and B priority landscapes``; landscapes without a name counted as such.

    >>> _landscape_text(["Madre de Dios"], 0)
    'the Madre de Dios priority landscape'
    >>> _landscape_text([], 1), _landscape_text(["A"], 2)
    ('an unnamed priority landscape', 'the A priority landscape and 2 unnamed ones')
    """
    noun = "priority landscapes" if len(names) > 1 else "priority landscape"
    if not names:
        return "an unnamed priority landscape" if unnamed == 1 else f"{unnamed} unnamed {noun}s"
    text = f"the {_and_list(names)} {noun}"
    if unnamed:
        text += " and an unnamed one" if unnamed == 1 else f" and {unnamed} unnamed ones"
    return text


def _ecoregion_text(eco_name: str, eco_id: str, *, g200: bool = False) -> str:
    """The ecoregion in a reason: ``ecoregion: Dry forests (ECO_ID 7)``, or for a Global
    200 one its parenthesis ``(Dry forests, ECO_ID 7)``; a missing name or id left out.

    >>> _ecoregion_text(" ", "7"), _ecoregion_text("Dry forests", "")
    ('ecoregion: ECO_ID 7 (no name)', 'ecoregion: Dry forests')
    >>> _ecoregion_text("", "", g200=True), _ecoregion_text("", "7", g200=True)
    ('', ' (ECO_ID 7)')
    """
    name = eco_name.strip()
    if g200:
        bits = [b for b in (name, f"ECO_ID {eco_id}" if eco_id else "") if b]
        return f" ({', '.join(bits)})" if bits else ""
    if name:
        return f"ecoregion: {name} (ECO_ID {eco_id})" if eco_id else f"ecoregion: {name}"
    return f"ecoregion: ECO_ID {eco_id} (no name)" if eco_id else "in an ecoregion without a name"


def _reasons(
    *,
    n: int,
    cls: np.ndarray,
    is_point: np.ndarray,
    site_i: np.ndarray,
    pa_i: np.ndarray,
    pa_labels: np.ndarray,
    pa_names: np.ndarray,
    pa_iucn: np.ndarray,
    pa_year: np.ndarray,
    origin: np.ndarray,
    pa_share: np.ndarray,
    have_pas: bool,
    near_km: np.ndarray,
    near_name: np.ndarray,
    near_label: np.ndarray,
    near_word: str,
    beyond: np.ndarray,
    edge_km: np.ndarray,
    landscape: np.ndarray,
    pl_unnamed: np.ndarray,
    have_landscapes: bool,
    has_eco: np.ndarray,
    eco_id: pd.array,
    eco_name: np.ndarray,
    g200: np.ndarray,
) -> np.ndarray:
    """One plain sentence per site saying why it has its class.

    Names that are empty or blank never leave a gap: a protected area is "an
    unnamed protected area" (with its id), a landscape "an unnamed priority
    landscape", an ecoregion "an unnamed ecoregion", a Global 200 ecoregion
    without a region name "a Global 200 ecoregion".
    """
    out = np.full(n, "", dtype=object)
    # protected areas: name them all, or the first few and "N more"
    if site_i.size:
        starts = np.flatnonzero(np.r_[True, site_i[1:] != site_i[:-1]])
        ends = np.r_[starts[1:], site_i.size].tolist()
        every = pa_i.tolist()  # (slices of a list: np.split costs more than the sentences)
        for s, a, b in zip(site_i[starts].tolist(), starts.tolist(), ends, strict=True):
            pas = every[a:b]
            verb = "Inside" if is_point[s] else "Overlaps"
            named = []
            for p in pas[:_MAX_NAMED]:
                label = _pa_label(pa_labels[p], pa_iucn[p], origin[p])
                name = pa_names[p].strip() or _UNNAMED
                if len(pas) == 1:
                    text = f"{name} ({label})"
                    if pa_year[p]:
                        text += f", designated {pa_year[p]}"
                else:
                    year = f", designated {pa_year[p]}" if pa_year[p] else ""
                    text = f"{name} ({label}{year})"
                named.append(text)
            if len(pas) > _MAX_NAMED:
                named.append(f"{len(pas) - _MAX_NAMED} more")
            lead = f"{verb} {len(pas)} protected areas: " if len(pas) > 1 else f"{verb} "
            sentence = lead + _and_list(named)
            if not is_point[s]:
                sentence += f"; {100 * pa_share[s]:.1f} % of the footprint is protected"
            out[s] = sentence
    eco_id_txt = np.array(["" if pd.isna(v) else str(int(v)) for v in eco_id], dtype=object)
    for s in np.flatnonzero(cls != PACE_CLASSES[0]):
        subject = "Not in" if is_point[s] else "Footprint not in"
        if not have_pas:
            near = " (no protected areas given)"
        else:
            near = " (" + _nearest_text(near_word, near_name[s], near_label[s], near_km[s])
            if beyond[s]:
                near += (
                    "; one outside the box the protected areas were read for may be "
                    f"nearer, but at least {_fmt_km(edge_km[s])} away"
                )
            near += ")"
        if cls[s] == PACE_CLASSES[1]:
            names = landscape[s].split(";") if landscape[s] else []
            out[s] = (
                f"{subject} a protected area{near}; inside "
                f"{_landscape_text(names, int(pl_unnamed[s]))}"
            )
        elif cls[s] == PACE_CLASSES[2]:
            pl = " or a priority landscape" if have_landscapes else ""
            region = (
                f"the Global 200 ecoregion {g200[s].strip()}"
                if g200[s].strip()
                else ("a Global 200 ecoregion")
            )
            eco = _ecoregion_text(eco_name[s], eco_id_txt[s], g200=True)
            out[s] = f"{subject} a protected area{near}{pl}; in {region}{eco}"
        else:
            what = (
                "a protected area{near}, priority landscape or Global 200 ecoregion"
                if have_landscapes
                else "a protected area{near} or a Global 200 ecoregion"
            ).format(near=near)
            where = (
                _ecoregion_text(eco_name[s], eco_id_txt[s])
                if has_eco[s]
                else "in no ecoregion (e.g. at sea)"
            )
            out[s] = f"{subject} {what}; {where}"
    return out


# ---------------------------------------------------------------------------------
# extents: sites where the layers were not read, or far from them


def _name(layer: gpd.GeoDataFrame | None, default: str) -> str:
    """The layer's file (``_vector.source_name``), or ``default`` for one built in memory."""
    name = source_name(layer)
    return default if name.startswith("<") else name


def _share(mask: np.ndarray) -> str:
    """A mask's share in percent for messages, never rounded to 0 % or 100 %."""
    share = float(mask.mean())
    if 0.0 < share < 0.01:
        return "<1%"
    if 0.99 < share < 1.0:
        return ">99%"
    return f"{share:.0%}"


def _examples(sites: gpd.GeoDataFrame, site_geoms: np.ndarray | None, mask: np.ndarray) -> str:
    """The first few sites of ``mask`` with a point of each, for messages (``site_geoms``
    None: those few sites' geometries are taken to lon/lat here)."""
    rows = np.flatnonzero(mask)[:_SHOWN]
    if site_geoms is None:
        geoms = np.asarray(to_wgs84(sites.iloc[rows]).geometry.values, dtype=object)
    else:
        geoms = site_geoms[rows]
    _, x, y = _query_points(geoms, shapely.get_type_id(geoms) == 0)
    labels = _labels(sites.iloc[rows], rows)  # only the sites shown
    text = ", ".join(
        f"{lab} at lon {lon:.4f}, lat {lat:.4f}" for lab, lon, lat in zip(labels, x, y, strict=True)
    )
    more = int(mask.sum()) - rows.size
    return text + (f" and {more} more" if more > 0 else "")


def _refuse_outside_box(
    sites: gpd.GeoDataFrame,
    site_geoms: np.ndarray,
    box: tuple[float, float, float, float] | None,
    layer: gpd.GeoDataFrame,
    what: str,
) -> None:
    """InputError for sites not inside the box a layer was read for (their class is unknown)."""
    if box is None or not len(site_geoms):
        return
    outside = ~shapely.covered_by(site_geoms, shapely.box(*box))
    if outside.any():
        src = _name(sites, "the sites")
        layer_name = _name(layer, f"the {what} layer")
        raise InputError(
            f"{src}: {int(outside.sum())} of {len(site_geoms)} site(s) lie outside the box "
            f"{box_text(box)} the {what} of {layer_name} were read for "
            f"({_examples(sites, site_geoms, outside)}), so which {what} they are in is "
            f"unknown; read the {what} with a box that holds every site plus a margin, or "
            "without bbox= (a Python option: the command line reads whole files), or check "
            "the sites' coordinates"
        )


def _box_edge_m(geoms: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Geodesic distance (m) from each site inside ``box`` to the outside of the box.

    A footprint's is its nearest vertex's: along a lon/lat-straight edge the
    distance to a parallel is linear in latitude and the distance to a meridian
    (``asin(sin dlon cos lat)`` on the sphere, a product of positive concave
    functions, hence quasi-concave) has no minimum inside the edge.
    """
    xy, which = shapely.get_coordinates(geoms, return_index=True)
    d = box_edge_distance(xy[:, 0], xy[:, 1], box)
    out = np.full(len(geoms), np.inf)
    np.minimum.at(out, which, d)
    return out


def _warn_beyond(
    sites: gpd.GeoDataFrame,
    layer: gpd.GeoDataFrame,
    box: tuple[float, float, float, float],
    beyond: np.ndarray,
    near_km: np.ndarray,
) -> None:
    """One ExtentWarning counting the sites whose nearest protected area may lie outside the box."""
    if not beyond.any():
        return
    import warnings

    src = _name(sites, "the sites")
    layer_name = _name(layer, "the protected-area layer")
    margin = _fmt_km(float(np.nanmax(near_km[beyond])))
    warnings.warn(
        f"{src}: for {int(beyond.sum())} of {beyond.size} site(s) the nearest protected area "
        f"of {layer_name} is farther than the edge of the box {box_text(box)} it was read "
        "for, so one outside the box may be nearer (column nearest_pa_beyond_extent); read "
        f"the protected areas with a margin of at least {margin} around the sites, or "
        "without bbox= (a Python option: the command line reads whole files)",
        ExtentWarning,
        stacklevel=4,
    )


def _check_extent(
    sites: gpd.GeoDataFrame,
    protected_areas: gpd.GeoDataFrame | None,
    ecoregions: gpd.GeoDataFrame | None,
    *,
    site_geoms: np.ndarray | None,
    in_pa: np.ndarray,
    near_km: np.ndarray,
    has_eco: np.ndarray,
) -> None:
    """The one extent check: are the sites where the layers are?

    A site is outside the ecoregion layer when it lies in none of its polygons
    (TEOW covers all land: at sea, or a clipped file), and outside the
    protected area. Either warns (ExtentWarning) with the count and the first
    sites; no site inside either non-empty layer raises InputError: swapped
    coordinates, a wrong CRS or layers of another region, not a result.
    ``site_geoms`` (lon/lat) name the first sites; None: only those few are reprojected.
    """
    import warnings

    n = len(sites)
    if n == 0:
        return
    no_eco = ~has_eco if ecoregions is not None else np.zeros(n, dtype=bool)
    far = ~in_pa & ~(near_km <= EXTENT_KM) if protected_areas is not None else np.zeros(n, bool)
    src = _name(sites, "the sites")
    eco_name = _name(ecoregions, "the ecoregion layer")
    pa_name = _name(protected_areas, "the protected-area layer")
    causes = "swapped latitude and longitude (lat=/lon=, --lat/--lon) or a wrong crs= (--sites-crs)"
    if ecoregions is not None and no_eco.all() and (protected_areas is None or far.all()):
        pas = f" or within {EXTENT_KM:g} km of a protected area of {pa_name}"
        raise InputError(
            f"{src}: none of the {n} site(s) lies in an ecoregion of {eco_name}"
            f"{pas if protected_areas is not None else ''} "
            f"({_examples(sites, site_geoms, no_eco)}): the sites are not where the layers "
            f"are. Check the coordinates for {causes}, and that the layers cover the sites' "
            "region (countries=, --countries)"
        )
    if no_eco.any():
        warnings.warn(
            f"{src}: {int(no_eco.sum())} of {n} site(s) ({_share(no_eco)}) lie in no "
            f"ecoregion of {eco_name} ({_examples(sites, site_geoms, no_eco)}): at sea, or "
            "outside a clipped ecoregion file, so they cannot be critical_ecosystem (eco_id "
            f"is empty). Check their coordinates for {causes}, or use the whole TEOW layer",
            ExtentWarning,
            stacklevel=4,
        )
    if far.any():
        warnings.warn(
            f"{src}: {int(far.sum())} of {n} site(s) ({_share(far)}) lie more than "
            f"{EXTENT_KM:g} km from every protected area of {pa_name} "
            f"({_examples(sites, site_geoms, far)}): outside the layer's extent. Check their "
            f"coordinates for {causes}, and the protected areas read (countries=, --countries)",
            ExtentWarning,
            stacklevel=4,
        )


def _nearest_word(protected_areas: gpd.GeoDataFrame) -> str:
    """How a reason names the nearest protected area: of the countries read, if filtered."""
    attrs = protected_areas.attrs
    codes = attrs.get("countries")
    if codes:
        codes = [codes] if isinstance(codes, str) else list(codes)
        return f"nearest {'/'.join(map(str, codes))} protected area"
    removed = (attrs.get("counts") or {}).get("removed") or attrs.get("cleaning") or {}
    if "countries" in removed:
        return "nearest protected area of the countries read"
    return "nearest"
