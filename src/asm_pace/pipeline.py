"""The whole ASM-PACE run in one call, shared by the command line and the HTML report.

:func:`run_pipeline` loads the inputs, classifies the sites and, when asked,
builds buffers, measures overlaps and computes forest loss; it returns the
layers to write and the run's parameters and inputs (for the ``run_info``
provenance table) and each reader's record counts. :func:`write_outputs` writes them
(GeoPackage, optional CSV and HTML report) together or not at all.
"""

from __future__ import annotations

import functools
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .errors import InputError

if TYPE_CHECKING:
    from .output import OutputPlan

__all__ = [
    "PipelineResult",
    "run_pipeline",
    "zone_steps",
    "write_outputs",
    "plan_run_outputs",
    "layer_counts",
    "forest_loss_long",
    "loss_columns",
    "planned_steps",
    "analysis_extent",
    "qgis_project_path",
    "STEPS",
    "MAP_COLUMNS",
]

#: Step names reported to ``progress``, in order.
STEPS = (
    "read sites",
    "fetch forest tiles",
    "read protected areas",
    "read ecoregions",
    "read priority landscapes",
    "read KBAs",
    "classify",
    "buffers",
    "overlaps",
    "forest loss",
    "read rivers",
    "downstream",
)


def planned_steps(
    *,
    priority_landscapes: bool,
    buffers: bool,
    forest: bool,
    kbas: bool = False,
    rivers: bool = False,
    hansen: bool = False,
) -> list[str]:
    """The :data:`STEPS` a run with these inputs goes through, in order (for a progress bar).

    Examples
    --------
    >>> planned_steps(priority_landscapes=False, buffers=True, forest=False)
    ['read sites', 'read protected areas', 'read ecoregions', 'classify', 'buffers', 'overlaps']
    """
    skip = set()
    if not (hansen and forest and buffers):
        skip.add("fetch forest tiles")
    if not priority_landscapes:
        skip.add("read priority landscapes")
    if not kbas:
        skip.add("read KBAs")
    if not buffers:
        skip.update(("buffers", "overlaps", "forest loss"))
    if not forest:
        skip.add("forest loss")
    if not rivers:
        skip.update(("read rivers", "downstream"))
    return [s for s in STEPS if s not in skip]


#: Tree cover (percent) above which a pixel is forest, when no threshold is given.
DEFAULT_CANOPY = 30
#: How a loss pixel on a protected area's edge counts in the zones' in_pa split
#: (:func:`asm_pace.forest_loss` ``pa_coverage``; recorded in run_info).
PA_COVERAGE = "center"

#: River length (km) followed downstream of each site, when ``rivers`` is given alone.
DEFAULT_DOWNSTREAM_KM = 500.0
#: The farthest (km) a site may be from its river.
DEFAULT_SNAP_KM = 5.0

_LOSS_COLUMN = re.compile(r"^loss_(\d{4})_ha$")


@dataclass
class PipelineResult:
    """What :func:`run_pipeline` produced.

    Attributes
    ----------
    layers : dict
        Layer name -> GeoDataFrame / DataFrame, in writing order: ``sites``,
        then ``buffers``, ``clusters`` (touching buffers of one radius dissolved),
        ``overlaps`` and ``forest_loss`` when computed.
    parameters : dict
        Every parameter of the run (for ``run_info``).
    inputs : dict
        Input role -> path of each input file (for ``run_info``).
    """

    layers: dict[str, pd.DataFrame]
    parameters: dict[str, object] = field(default_factory=dict)
    inputs: dict[str, object] = field(default_factory=dict)
    #: The layers read (protected_areas, ecoregions, priority_landscapes), for maps.
    context: dict[str, gpd.GeoDataFrame | None] = field(default_factory=dict)
    #: Input role -> the reader's record counts (``source``, ``read``, ``removed`` by step,
    #: ``repaired``, ``used``; see :func:`layer_counts`), for each layer read.
    counts: dict[str, dict[str, object]] = field(default_factory=dict)
    #: Public data fetched by version (``hansen=``): ``run_info`` rows of section ``dataset``
    #: (:func:`asm_pace.data.provenance_rows`).
    datasets: list[dict[str, object]] = field(default_factory=list)
    _map_layers: dict[str, gpd.GeoDataFrame] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def row_counts(self) -> dict[str, int]:
        """Rows of each layer of :attr:`layers`, without reading a streamed one back."""
        if isinstance(self.layers, _Layers):
            return self.layers.row_counts()
        return {name: len(frame) for name, frame in self.layers.items()}

    def close(self) -> None:
        """Remove a streamed run's scratch file (``stream_to``); its layers are gone then."""
        if isinstance(self.layers, _Layers):
            self.layers.close()

    def map_layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers read (after cleaning) within the analysis extent, for the GeoPackage.

        ``protected_areas``, ``ecoregions`` and ``priority_landscapes`` (those read),
        clipped to :func:`analysis_extent`, with the columns that explain a site's class
        (:data:`MAP_COLUMNS`); features outside the box are left out, and so is a layer
        with none inside it.
        """
        if self._map_layers is None:
            box = analysis_extent(self)
            clipped = {
                role: _clipped(gdf, box, MAP_COLUMNS[role])
                for role, gdf in self.context.items()
                if gdf is not None and role in MAP_COLUMNS and box is not None
            }
            self._map_layers = {role: gdf for role, gdf in clipped.items() if len(gdf)}
        return self._map_layers

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The classified sites."""
        return self.layers["sites"]  # type: ignore[return-value]

    def class_counts(self) -> dict[str, int]:
        """Number of sites in each ASM-PACE class (every class listed, zeros included)."""
        from .classification import PACE_CLASSES

        counts = self.sites["pace_class"].value_counts()
        return {c: int(counts.get(c, 0)) for c in PACE_CLASSES}


#: The columns of each layer read that go into the GeoPackage: those that explain a class.
MAP_COLUMNS: dict[str, tuple[str, ...]] = {
    "protected_areas": (
        "pa_id",
        "name",
        "designation",
        "designation_type",
        "iucn_category",
        "status",
        "status_year",
        "iso3",
        "world_heritage",
        "ramsar",
        "origin",
        "source",  # several sources (pa_sources): the source, the area, its representative
        "pa_group",
        "same_as",
    ),
    "ecoregions": ("eco_id", "eco_name", "biome_name", "is_g200", "g200_region"),
    "priority_landscapes": ("landscape_name",),
    "kbas": (
        "kba_id",
        "kba_name",
        "iso3",
        "kba_status",
        "aze",
        "ibastatus",
        "added_date",
        "site_area_km2",
        "origin",
    ),
}

#: A streamed run's zone layers (clusters, overlaps, the long forest_loss table) of at
#: least this many rows are written by a second process while the first writes the
#: sites and the buffers, when the run has ``jobs`` > 1
#: (:class:`asm_pace.output.SideWriter`).
SIDE_MIN_ROWS = 500_000

#: The least margin (km) of the analysis extent around the sites.
MIN_MAP_MARGIN_KM = 10.0


class _Streamed:
    """A layer of a streamed run: ``table`` of ``spool`` (:class:`asm_pace.chunked.ZoneSpool`)
    read back in batches, each passed through ``make``; ``long``: the long ``forest_loss``
    table made from the zones (a row per zone and year, no geometry)."""

    def __init__(
        self,
        spool: Any,
        table: str,
        make: Callable[[pd.DataFrame], pd.DataFrame],
        *,
        long: bool = False,
    ):
        self.spool, self.table, self.make, self.long = spool, table, make, long

    def batches(self, wkb: bool = False):
        columns = _LONG_KEYS if self.long else None  # and the loss columns (floats)
        for batch in self.spool.batches(
            self.table, geometry=not self.long, wkb=wkb, columns=columns
        ):
            if isinstance(batch, pd.DataFrame):
                yield self.make(batch)
            else:  # geometries as WKB: the columns made, the geometries kept
                yield batch.with_frame(self.make(batch.frame))

    def rows(self) -> int:
        n = self.spool.rows[self.table]
        if self.long:
            return n * len(loss_columns(pd.DataFrame(columns=self.spool.columns["zones"])))
        return n

    def read(self) -> pd.DataFrame:
        parts = list(self.batches())
        if len(parts) == 1:
            return parts[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # all-NA columns of some batches
            frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        if isinstance(parts[0], gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(frame, geometry=parts[0].geometry.name, crs=parts[0].crs)
        frame.attrs = dict(parts[0].attrs)
        return frame

    def stream(self):
        """The layer for :func:`asm_pace.output.write_geopackage` (written in batches)."""
        from .output import LayerStream

        return LayerStream(
            rows=self.rows(),
            batches=functools.partial(self.batches, wkb=True),  # written undecoded
            geometry_types=frozenset()
            if self.long
            else frozenset(self.spool.geom_types[self.table]),
            has_z=not self.long and self.spool.has_z[self.table],
        )


def _is_table(item: Any) -> bool:
    """A layer without geometry: a DataFrame, or a streamed layer of one."""
    if isinstance(item, _Streamed):
        return item.long or item.spool._geometry.get(item.table) is None
    return isinstance(item, pd.DataFrame) and not isinstance(item, gpd.GeoDataFrame)


def _close_streams(spool: Any, side: Any) -> None:
    if side is not None:
        side.close()
    spool.close()


def _as_read(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def _totals(frame: pd.DataFrame) -> pd.DataFrame:
    """The yearly in/outside split lives in the long table; the layers keep the totals."""
    return frame.drop(columns=_protection_by_year(frame))


class _Layers(MutableMapping):
    """A result's layers when the zone layers were streamed (``stream_to``): the others in
    memory, those in the run's spool, read back whole on access."""

    def __init__(self, frames: Mapping[str, Any]):
        self._items: dict[str, Any] = dict(frames)
        self._spool: Any = None
        self._finalizer: Any = None
        self.side: Any = None  # the zone layers a second process writes (SideWriter)

    def stream(self, spool: Any, *, forest: bool, jobs: int = 1, near: Any = None) -> None:
        """Take the zone layers from ``spool``; with ``jobs`` above 1, a second process
        starts writing the large ones at once, beside ``near`` (the output), for
        :func:`write_outputs` to copy in (while this one reads the protected areas again,
        then writes the sites and the buffers)."""
        import weakref

        from .output import SideWriter

        self._spool = spool
        totals = _totals if forest else _as_read
        self._items["buffers"] = _Streamed(spool, "zones", totals)
        self._items["clusters"] = _Streamed(spool, "clusters", totals)
        self._items["overlaps"] = _Streamed(spool, "pairs", _as_read)
        if forest:
            self._items["forest_loss"] = _Streamed(spool, "zones", forest_loss_long, long=True)
        aside = {  # all but the buffers (the largest), when large enough to pay
            name: item
            for name, item in self._items.items()
            if isinstance(item, _Streamed) and name != "buffers" and item.rows() >= SIDE_MIN_ROWS
        }
        if jobs > 1 and near is not None and aside:
            # the largest first (the long forest_loss table), the others in the file's order:
            # ready when this process comes to them (write_outputs writes tables last)
            largest = max(aside, key=lambda name: aside[name].rows())
            self.side = SideWriter(near, {largest: aside.pop(largest), **aside})
        self._finalizer = weakref.finalize(self, _close_streams, spool, self.side)

    def raw(self, name: str) -> Any:
        """The frame, or the :class:`_Streamed` layer (not read back)."""
        return self._items[name]

    def row_counts(self) -> dict[str, int]:
        return {
            name: item.rows() if isinstance(item, _Streamed) else len(item)
            for name, item in self._items.items()
        }

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()

    def __getitem__(self, name: str) -> Any:
        item = self._items[name]
        return item.read() if isinstance(item, _Streamed) else item

    def __setitem__(self, name: str, value: Any) -> None:
        self._items[name] = value

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def _spool_path(output: str | os.PathLike[str] | None) -> Path | None:
    """The scratch file of a streamed run beside ``output`` (a temporary's name, so a
    killed run's is removed by the next: :func:`asm_pace.output.clean_stale_temporaries`)."""
    if output is None:
        return None
    from .output import _temp_sibling

    return _temp_sibling(Path(os.fspath(output)), ".sqlite")


def analysis_extent(result: PipelineResult) -> tuple[float, float, float, float] | None:
    """The lon/lat box the GeoPackage's context layers are clipped to.

    The sites' bounds (:func:`asm_pace.geodesy.box_around`) with a margin of the largest
    buffer radius or the farthest nearest-protected-area distance (so every site's nearest
    protected area reaches into the box), and at least :data:`MIN_MAP_MARGIN_KM`. ``None``
    without sites.

    Examples
    --------
    >>> import shapely
    >>> sites = gpd.GeoDataFrame({"nearest_pa_km": [22.0]}, geometry=[shapely.Point(-70, -12)],
    ...                          crs=4326)
    >>> box = analysis_extent(PipelineResult(layers={"sites": sites},
    ...                                      parameters={"buffers_km": [1.0, 10.0]}))
    >>> [round(v, 3) for v in box]  # 22 km: 0.2 degrees of latitude
    [-70.205, -12.2, -69.795, -11.8]
    """
    from .geodesy import box_around

    sites = result.sites
    if sites.empty or sites.geometry.is_empty.all():
        return None
    margins = [MIN_MAP_MARGIN_KM, *(float(r) for r in result.parameters.get("buffers_km") or [])]
    if "nearest_pa_km" in sites.columns:
        near = pd.to_numeric(sites["nearest_pa_km"], errors="coerce")
        near = near[near.notna() & (near < math.inf)]
        if not near.empty:
            margins.append(float(near.max()))
    return box_around(tuple(sites.total_bounds), max(margins))


def _clipped(
    gdf: gpd.GeoDataFrame, box: tuple[float, float, float, float], columns: Sequence[str]
) -> gpd.GeoDataFrame:
    """The features of ``gdf`` within ``box``, cut to it, with ``columns`` (those present)."""
    import numpy as np
    import shapely

    from ._geometry import polygonal_parts

    rect = shapely.box(*box)
    rows = np.sort(gdf.sindex.query(rect, predicate="intersects"))
    part = gdf.iloc[rows]
    geoms = np.asarray(part.geometry.array, dtype=object).copy()
    # a feature whose bounds lie inside the box is its own cut: kept as it is (the same
    # object, no copy: at a global extent this is nearly the whole layer)
    bounds = shapely.bounds(geoms)
    cut = ~(
        (bounds[:, 0] > box[0]) & (bounds[:, 1] > box[1])
        & (bounds[:, 2] < box[2]) & (bounds[:, 3] < box[3])
    )  # fmt: skip
    geoms[cut] = polygonal_parts(shapely.intersection(geoms[cut], rect))
    keep = ~shapely.is_empty(geoms)
    kept = [c for c in columns if c in part.columns]
    frame = pd.DataFrame(part[kept]).iloc[keep].reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=list(geoms[keep]), crs=gdf.crs)


def _is_path(value: object) -> bool:
    return isinstance(value, str | os.PathLike)


def _radii(radii_km: float | Sequence[float] | None) -> tuple[float, ...] | None:
    if radii_km is None:
        return None
    values = (radii_km,) if isinstance(radii_km, int | float) else tuple(radii_km)
    if not values:
        return None
    out = []
    for r in values:
        try:
            r = float(r)
        except (TypeError, ValueError) as err:
            raise InputError(f"buffer radius {r!r} is not a number of km, e.g. 1,10,50") from err
        if not (math.isfinite(r) and r > 0):
            raise InputError(
                f"buffer radius {r:g} km: every radius must be a finite number of km above 0, "
                "e.g. --buffers 1,10,50"
            )
        out.append(r)
    return tuple(sorted(set(out)))


def run_pipeline(
    sites: str | os.PathLike[str] | pd.DataFrame,
    *,
    protected_areas: str
    | os.PathLike[str]
    | gpd.GeoDataFrame
    | Sequence[Any]
    | Mapping[str, str | os.PathLike[str] | gpd.GeoDataFrame],
    ecoregions: str | os.PathLike[str] | gpd.GeoDataFrame,
    priority_landscapes: str | os.PathLike[str] | gpd.GeoDataFrame | None = None,
    kbas: str | os.PathLike[str] | gpd.GeoDataFrame | None = None,
    radii_km: float | Sequence[float] | None = None,
    rings: bool = False,
    treecover: Any = None,
    lossyear: Any = None,
    gain: Any = None,
    hansen: str | None = None,
    data_options: Mapping[str, Any] | None = None,
    canopy: float | None = None,
    drivers: Any = None,
    uncertainty_m: float | None = None,
    site_options: Mapping[str, Any] | None = None,
    pa_options: Mapping[str, Any] | None = None,
    ecoregion_options: Mapping[str, Any] | None = None,
    landscape_options: Mapping[str, Any] | None = None,
    kba_options: Mapping[str, Any] | None = None,
    rivers: str | os.PathLike[str] | gpd.GeoDataFrame | None = None,
    downstream_km: float | None = None,
    snap_km: float | None = None,
    river_options: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
    memory: int | str | None = None,
    scheduler: str | None = None,
    stream_to: str | os.PathLike[str] | None = None,
) -> PipelineResult:
    """Load, classify and (optionally) buffer, overlap and measure forest loss.

    Parameters
    ----------
    sites : path or DataFrame
        A site list for :func:`asm_pace.read_sites` (or sites already read).
    protected_areas, ecoregions : path or GeoDataFrame
        For :func:`asm_pace.read_protected_areas` and :func:`asm_pace.read_ecoregions`.
        Several protected-area sources: a list (each named by its reader's
        ``source_label``: "WDPA", the file's stem; an item may be a ``(name, source)``
        pair) or a dict of name -> source, in order of precedence; each is read with
        the same ``pa_options`` and they are combined by
        :func:`asm_pace.pa_sources.combine_protected_areas` (docs/sources.md).
    priority_landscapes : path or GeoDataFrame, optional
        For :func:`asm_pace.read_priority_landscapes`.
    kbas : path or GeoDataFrame, optional
        Key Biodiversity Areas for :func:`asm_pace.read_kbas` (options: ``kba_options``,
        e.g. ``layer``, ``countries``): AZE sites count as protected areas, the sites gain
        ``kba_ids``, ``kba_names``, ``aze`` (:func:`asm_pace.classify`, ``kbas``).
    radii_km : float or sequence of float, optional
        Buffer radii; adds a ``buffers`` layer with per-zone overlap columns and
        an ``overlaps`` table (:func:`asm_pace.buffers`, :func:`asm_pace.overlaps`).
    rings : bool
        Rings (annuli) instead of full discs. Footprint sites (polygons) then get a zone of
        their own, the footprint, cut out of the innermost ring (``buffers(...,
        footprint_zone=True)``): on-site and near-site loss.
    treecover, lossyear, gain : path, optional
        Forest-change rasters (Hansen GFC); with ``radii_km``, adds forest
        columns to ``buffers`` and a long ``forest_loss`` table
        (:func:`asm_pace.forest_loss`). ``treecover`` and ``lossyear`` go together.
    hansen : str, optional
        A Hansen GFC version (e.g. ``"GFC-2025-v1.13"``) instead of ``treecover``,
        ``lossyear`` and ``gain``: the tiles of those three layers that the sites' buffers
        touch are fetched into the data cache (:func:`asm_pace.data.hansen_tiles`) and
        recorded in ``run_info`` (section ``dataset``: version, URL, SHA-256).
    data_options : mapping, optional
        For :func:`asm_pace.data.hansen_tiles` with ``hansen``: ``cache_dir``, ``offline``,
        ``base_url``.
    canopy : float, optional
        Tree-cover threshold in percent (forest is canopy > threshold); 30 by default.
        Only with the forest rasters.
    drivers : path, optional
        The drivers-of-loss raster (WRI / Sims et al. 2025); with the forest rasters, adds
        the ``loss_driver_<class>_ha`` columns (:func:`asm_pace.forest_loss`, ``drivers``).
    uncertainty_m : float, optional
        Every site's location uncertainty in metres, for sites without a value in
        an uncertainty column (:func:`asm_pace.classify`, ``uncertainty_m``).
    site_options : mapping, optional
        Extra keywords for :func:`asm_pace.read_sites` (``lon``, ``lat``, ``id_column``...).
    pa_options : mapping, optional
        Extra keywords for :func:`asm_pace.read_protected_areas` (``layer``, ``countries``...),
        for every source; with several sources ``layer`` and ``source_label`` are refused
        (which source they are for is unclear: read such a source yourself and give the
        GeoDataFrame).
    ecoregion_options, landscape_options : mapping, optional
        Extra keywords for :func:`asm_pace.read_ecoregions` and
        :func:`asm_pace.read_priority_landscapes` (``layer``). Every option of these
        four mappings is passed on as given (``None`` too: ``{"statuses": None}`` keeps
        every status) and recorded in ``parameters``.
    rivers : path or GeoDataFrame, optional
        A river network for :func:`asm_pace.read_rivers` (HydroRIVERS; ``river_options``:
        ``layer``, ``id_column``, ``next_column``...), read within ``downstream_km`` of the
        sites: adds the ``downstream_*`` site columns, the ``downstream`` layer (each site's
        path) and the ``downstream_areas`` table (:func:`asm_pace.downstream`, with the
        protected areas and the KBAs).
    downstream_km, snap_km : float, optional
        River length followed (default :data:`DEFAULT_DOWNSTREAM_KM`) and the farthest a
        site may be from its river (default :data:`DEFAULT_SNAP_KM`); only with ``rivers``.
    progress : callable, optional
        Called with each step's name (from :data:`STEPS`) before it starts.
    jobs : int, optional
        Worker processes for classify (:func:`asm_pace.parallel.classify_parallel`: spatial
        chunks, each worker reading its own protected areas; the result is the serial
        one, bit for bit): every core by default, 1 for serial. Runs of fewer than
        :data:`asm_pace.parallel.MIN_PARALLEL_SITES` sites, several protected-area
        sources, KBAs or layers given as GeoDataFrames are classified serially
        (docs/scale.md). The zone steps' chunks (``memory``) run in ``jobs`` workers too,
        from :data:`asm_pace.chunked.MIN_POOL_SITES` sites.
    memory : str or int, optional
        The memory budget of the zone steps (buffers, overlaps, forest loss), e.g.
        ``"4GB"``, ``"500MB"``, ``"4GiB"`` (bytes when a whole number;
        :func:`asm_pace.chunked.parse_memory`): the sites are cut into spatial chunks that
        fit it (touching buffers never cut apart) and, with ``jobs`` above 1 and at least
        :data:`asm_pace.chunked.MIN_POOL_SITES` sites, the chunks run in worker processes.
        The result is the unchunked one (values to floating-point rounding). By default
        a quarter of the machine's memory (:func:`asm_pace.chunked.default_memory`).
    scheduler : str, optional
        A dask scheduler's address (``tcp://10.0.0.5:8786``): classify's spatial chunks run
        on its workers, whatever the number of sites, with the serial result
        (:mod:`asm_pace.distributed`, docs/distributed.md). Checked (reachable, workers
        with the same asm_pace) before any work; refused with ``jobs``.
    stream_to : path, optional
        The GeoPackage the result will be written to (:func:`write_outputs`; the command
        line gives ``-o``). When the zone steps run in several chunks (``memory``), each
        chunk's buffers, clusters and overlaps then go to a scratch file beside it
        (``.<name>.<pid>-<hex>.tmp.sqlite``) as soon as the chunk is done, instead of
        staying in memory: ``result.layers["buffers"]`` (and ``clusters``, ``overlaps``,
        ``forest_loss``) reads them back on access, :func:`write_outputs` copies them in
        batches, and the file goes with the result (:meth:`PipelineResult.close`, or when
        the result is freed). Without it, or in one chunk, the layers are in memory.

    Returns
    -------
    PipelineResult

    Examples
    --------
    >>> import warnings
    >>> from asm_pace.datasets import sample_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     result = run_pipeline(
    ...         sample_path("sites.csv"),
    ...         protected_areas=sample_path("protected_areas.gpkg"),
    ...         ecoregions=sample_path("ecoregions.gpkg"))
    >>> list(result.layers)
    ['sites']
    """
    import asm_pace

    radii = _radii(radii_km)
    from .parallel import check_jobs

    if scheduler is not None:  # refused before any work: unreachable, no dask, with jobs
        from .distributed import check_scheduler

        check_scheduler(scheduler, jobs=jobs)
    jobs = check_jobs(jobs)
    if memory is not None:
        from .chunked import parse_memory

        parse_memory(memory)  # refused before any work
    if hansen is not None:  # the rasters are fetched once the sites are read
        treecover = lossyear = gain = _hansen_pending(hansen, treecover, lossyear, gain)
    elif data_options:
        raise InputError(
            f"options for fetched data ({', '.join(data_options)}; --data-dir, --offline) "
            "were given without a Hansen version: give it too (--hansen GFC-2025-v1.13), or "
            "drop them"
        )
    if (treecover is None) != (lossyear is None):
        raise InputError(
            "forest loss needs both rasters: give the tree cover 2000 raster (--treecover) "
            "and the loss year raster (--lossyear)"
        )
    if gain is not None and treecover is None:
        raise InputError("a gain raster (--gain) needs --treecover and --lossyear too")
    if rings and radii is None:
        raise InputError(
            "rings are made of the buffer radii: give radii too (--buffers 1,10,50 --rings), "
            "or drop rings (--rings)"
        )
    if priority_landscapes is None and landscape_options:
        raise InputError(
            f"options for priority landscapes ({', '.join(landscape_options or {})}; "
            "--landscapes-layer) were given without priority landscapes: give the file too "
            "(-l/--priority-landscapes), or drop them"
        )
    if kbas is None and kba_options:
        raise InputError(
            f"options for KBAs ({', '.join(kba_options or {})}; --kba-layer, "
            "--kba-all-statuses) were given without KBAs: give the file too (--kbas), or "
            "drop them"
        )
    forest = treecover is not None
    if forest and radii is None:
        raise InputError(
            "forest loss is measured in buffers around the sites: give radii too (--buffers 1,10)"
        )
    if drivers is not None and treecover is None:
        raise InputError(
            "a drivers raster (--drivers) splits forest loss by cause: give the forest "
            "rasters too (--treecover, --lossyear, --buffers), or drop it"
        )
    if canopy is not None and treecover is None:
        raise InputError(
            f"a canopy threshold ({canopy}; --canopy) applies to forest loss only: give the "
            "forest rasters too (--treecover, --lossyear), or drop it"
        )
    canopy = DEFAULT_CANOPY if canopy is None else canopy
    if rivers is None and (downstream_km is not None or snap_km is not None or river_options):
        given = [o for o, v in (("--downstream-km", downstream_km), ("--snap-km", snap_km))
                 if v is not None] + [f"{k}=" for k in river_options or {}]  # fmt: skip
        raise InputError(
            f"{', '.join(given)}: these say how to follow each site's river, but no river "
            "network was given: give it too (--rivers, e.g. HydroRIVERS), or drop them"
        )
    if rivers is not None:
        from .flowpaths import check_km

        for value, name, option in (
            (downstream_km, "downstream_km", "--downstream-km"),
            (snap_km, "snap_km", "--snap-km"),
        ):
            if value is not None:
                check_km(value, name, option)
    if not 0 <= float(canopy) < 100:
        raise InputError(f"canopy threshold {canopy} must be a percentage from 0 to 99")
    # options are passed on as given: an explicit None means what the reader says it means
    # (statuses=None: every status), so None is never dropped
    site_options = dict(site_options or {})
    pa_options = dict(pa_options or {})
    eco_options = dict(ecoregion_options or {})
    land_options = dict(landscape_options or {})
    kba_opts = dict(kba_options or {})

    def step(name: str) -> None:
        if progress is not None:
            progress(name)

    inputs: dict[str, object] = {}
    datasets: list[dict[str, object]] = []  # public data fetched by version (--hansen)
    pa_sources = _pa_sources(protected_areas, pa_options)
    pa_paths = [value for _, value in pa_sources]
    for role, value in (
        ("sites", sites),
        ("protected_areas", pa_paths if len(pa_sources) > 1 else protected_areas),
        ("ecoregions", ecoregions),
        ("priority_landscapes", priority_landscapes),
        ("kbas", kbas),
        ("treecover", treecover),
        ("lossyear", lossyear),
        ("gain", gain),
        ("drivers", drivers),
        ("rivers", rivers),
    ):
        if _is_path(value) or (
            isinstance(value, Sequence) and value and all(_is_path(v) for v in value)
        ):
            inputs[role] = value
    if stream_to is not None:  # its folder takes the scratch file: checked before any work
        from .output import check_destination

        check_destination(stream_to, True, "stream_to=", kind="gpkg", inputs=inputs)

    parameters: dict[str, object] = {
        "buffers_km": list(radii) if radii else None,
        "rings": rings if radii else None,
        "canopy_pct": float(canopy) if forest else None,
        # how a loss pixel on a park's edge counts in the in_pa split (forest_loss's default)
        "forest_pa_coverage": PA_COVERAGE if forest and radii else None,
        "uncertainty_m": uncertainty_m,
    }
    parameters = {k: v for k, v in parameters.items() if v is not None}
    for prefix, given in (
        ("sites", site_options),
        ("protected_areas", pa_options),
        ("ecoregions", eco_options),
        ("priority_landscapes", land_options),
        ("kbas", kba_opts),
        ("rivers", dict(river_options or {})),
    ):
        parameters.update({f"{prefix}_{k}": "None" if v is None else v for k, v in given.items()})

    step("read sites")
    site_gdf = asm_pace.read_sites(sites, **site_options)
    if forest:  # who the rasters are is checked now, not after the long steps
        from .forest import open_forest_layers
        from .geodesy import box_around

        near = box_around(tuple(site_gdf.total_bounds), max(radii or (0.0,)))
        if hansen is not None:
            step("fetch forest tiles")
            treecover, lossyear, gain, datasets = _fetch_hansen(
                hansen, site_gdf, max(radii or (0.0,)), data_options
            )
        forest_layers = open_forest_layers(treecover, lossyear, gain, bounds=near)
        if drivers is not None:
            from .drivers import open_drivers_layer

            open_drivers_layer(drivers, forest_layers, bounds=near, warn=False)
    step("read protected areas")
    if len(pa_sources) == 1:  # one source, named or not: read as ever, never combined
        pa_gdf = _read_source(pa_sources[0], pa_options)
        pa_read = {"protected_areas": pa_gdf}
    else:
        from .pa_sources import combine_protected_areas

        layers_read = [_read_source(source, pa_options) for source in pa_sources]
        pa_gdf = combine_protected_areas(layers_read)
        names = pa_gdf.attrs["pa_sources"]
        # the names of run_info's protected_areas_1, _2... inputs, in order
        parameters["protected_areas_sources"] = list(names)
        pa_read = {
            f"protected_areas:{name}": layer for name, layer in zip(names, layers_read, strict=True)
        }
    step("read ecoregions")
    eco_gdf = asm_pace.read_ecoregions(ecoregions, **eco_options)
    landscapes = None
    if priority_landscapes is not None:
        step("read priority landscapes")
        landscapes = asm_pace.read_priority_landscapes(priority_landscapes, **land_options)
    kba_gdf = None
    if kbas is not None:
        step("read KBAs")
        kba_gdf = asm_pace.read_kbas(kbas, **kba_opts)
    # the protected areas of the zones' overlaps and forest loss: with the AZE sites, as in
    # classify (which adds them itself, from kbas=)
    pa_zones = pa_gdf if kba_gdf is None else _with_aze(pa_gdf, kba_gdf)
    step("classify")
    from .parallel import classify_run

    classified = classify_run(
        site_gdf,
        (pa_gdf, eco_gdf, landscapes, kba_gdf),
        (pa_sources, ecoregions, priority_landscapes),
        (pa_options, eco_options, land_options),
        uncertainty_m=uncertainty_m,
        jobs=jobs,
        scheduler=scheduler,
        memory=memory,
    )
    layers: dict[str, pd.DataFrame] = {"sites": classified}

    if radii:
        zone_forest = dict(treecover=treecover, lossyear=lossyear, gain=gain, canopy=canopy,
                           drivers=drivers, pa_coverage=PA_COVERAGE) if forest else None  # fmt: skip
        files = (pa_sources, ecoregions, pa_options, eco_options, kba_gdf)
        pool = _zone_pool(site_gdf, jobs, scheduler, zone_forest, files, pa_zones)
        reread = None
        if stream_to is not None and pool and rivers is None and pa_zones is pa_gdf:
            # the workers read their chunks' protected areas: the parent lets its copy go
            # while they work and reads the layer again for the GeoPackage's context layer
            reread = _reader(pa_sources[0], pa_options)
            pa_gdf = pa_zones = pa_read = None
            _release_memory()
        zones = _zone_layers(
            site_gdf, radii, rings, reread or pa_zones, eco_gdf, step, memory, jobs,
            forest=zone_forest, files=files, scheduler=scheduler,
            spool=_spool_path(stream_to), pool=pool,
        )  # fmt: skip
        if not isinstance(zones, tuple):  # streamed: the layers stay in the spool
            layers = _Layers(layers)
            layers.stream(zones, forest=forest, jobs=jobs, near=stream_to)
        if reread is not None:
            pa_gdf = pa_zones = reread()
            pa_read = {"protected_areas": pa_gdf}
        if isinstance(zones, tuple):
            zones, clusters, pairs = zones
            layers["buffers"] = zones
            layers["clusters"] = clusters
            layers["overlaps"] = pairs
        if forest and isinstance(layers, dict):
            layers["forest_loss"] = forest_loss_long(zones)
            # the yearly in/outside split lives in the long table; the layers keep the totals
            layers["buffers"] = zones.drop(columns=_protection_by_year(zones))
            layers["clusters"] = clusters.drop(columns=_protection_by_year(clusters))
    river_gdf = None
    if rivers is not None:
        river_gdf = _downstream_layers(
            layers, parameters, step, site_gdf, rivers, pa_gdf, kba_gdf,
            downstream_km, snap_km, river_options,
        )  # fmt: skip
    context = {"protected_areas": pa_gdf, "ecoregions": eco_gdf, "priority_landscapes": landscapes}
    if kba_gdf is not None:
        context["kbas"] = kba_gdf
    read = {
        "sites": site_gdf,
        **pa_read,
        **{k: v for k, v in context.items() if k != "protected_areas"},
    }
    if river_gdf is not None:
        read["rivers"] = river_gdf
    counts = {role: layer_counts(gdf) for role, gdf in read.items() if gdf is not None}
    return PipelineResult(
        layers=layers,
        parameters=parameters,
        inputs=inputs,
        context=context,
        counts=counts,
        datasets=datasets,
    )


def zone_steps(
    sites: gpd.GeoDataFrame,
    *,
    radii: Sequence[float],
    rings: bool,
    pa_zones: gpd.GeoDataFrame,
    eco_gdf: gpd.GeoDataFrame,
    forest: Mapping[str, Any] | None = None,
    step: Callable[[str], None] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """The zone steps of a run on ``sites``: buffers, overlaps (dissolved) and forest loss.

    Returns the buffers (with the overlap and forest columns), the clusters and the
    overlaps table. ``forest``: ``treecover``, ``lossyear``, ``gain``, ``canopy`` and
    ``drivers`` for :func:`asm_pace.forest_loss`. The pipeline calls it on all the sites,
    or on each spatial chunk of them (:func:`asm_pace.chunked.zone_layers`).

    Examples
    --------
    >>> import warnings, asm_pace
    >>> from asm_pace.datasets import sample_path
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sites = asm_pace.read_sites(sample_path("sites.csv"))
    ...     zones, clusters, pairs = zone_steps(
    ...         sites, radii=(1.0,), rings=False,
    ...         pa_zones=asm_pace.read_protected_areas(sample_path("protected_areas.gpkg")),
    ...         eco_gdf=asm_pace.read_ecoregions(sample_path("ecoregions.gpkg")))
    >>> len(zones) == len(sites), "cluster_id" in zones.columns
    (True, True)
    """
    import asm_pace

    def progress(name: str) -> None:
        if step is not None:
            step(name)

    progress("buffers")
    zones = asm_pace.buffers(sites, radii_km=radii, rings=rings, footprint_zone=rings)
    progress("overlaps")
    result = asm_pace.overlaps(zones, pa_zones, ecoregions=eco_gdf, dissolve=True)
    zones = _join_columns(zones, result.zones)
    clusters = result.clusters
    if forest is not None:
        progress("forest loss")
        # buffers and their clusters (touching buffers dissolved: each hectare once, the
        # report's totals) in one call, so every raster block is read once for both
        both = gpd.GeoDataFrame(
            {"zone_id": [*zones["zone_id"], *clusters["cluster_id"]]},
            geometry=[*zones.geometry, *clusters.geometry],
            crs=zones.crs,
        )
        stats = asm_pace.forest_loss(
            both, **forest, protected_areas=_with_group_years(pa_zones)
        ).drop(columns="zone_id", errors="ignore")
        n = len(zones)
        zones = _join_columns(zones, stats.iloc[:n].set_axis(zones.index))
        clusters = _join_columns(clusters, stats.iloc[n:].set_axis(clusters.index))
    return zones, clusters, result.pairs


def _zone_layers(
    site_gdf: gpd.GeoDataFrame,
    radii: Sequence[float],
    rings: bool,
    pa_zones: gpd.GeoDataFrame,
    eco_gdf: gpd.GeoDataFrame,
    step: Callable[[str], None],
    memory: object,
    jobs: int,
    *,
    forest: dict[str, Any] | None,
    files: tuple[Any, ...],
    scheduler: str | None = None,
    spool: Path | None = None,
    pool: bool,
) -> Any:
    """:func:`zone_steps` in chunks that fit ``memory``, in worker processes where the layers
    are files the workers can read and the run is large enough to pay (docs/scale.md); with
    ``scheduler`` (a dask cluster's address) on its workers, whatever the number of sites.
    Returns ``(zones, clusters, pairs)``, or with ``spool`` a streamed run's
    :class:`asm_pace.chunked.ZoneSpool`. ``pa_zones`` may be a function that reads the
    layer (a streamed run's parent lets it go while the workers work; ``pool``: decided
    by :func:`_zone_pool`)."""
    from .chunked import ZoneSpec, zone_layers

    pa_sources, ecoregions, pa_options, eco_options, _ = files
    name, path = pa_sources[0]
    options = dict(pa_options) if name is None else {**pa_options, "source_label": name}
    spec = ZoneSpec(
        radii=tuple(radii),
        rings=rings,
        forest=forest,
        protected_areas=os.fspath(path) if pool else None,
        ecoregions=os.fspath(ecoregions) if pool else None,
        pa_options=options,
        eco_options=dict(eco_options),
    )
    return zone_layers(
        site_gdf, spec=spec, layers=(pa_zones, eco_gdf), memory=memory, jobs=jobs,
        pool=pool, scheduler=scheduler if pool else None, step=step, spool=spool,
    )  # fmt: skip


def _zone_pool(
    site_gdf: gpd.GeoDataFrame,
    jobs: int,
    scheduler: str | None,
    forest: Mapping[str, Any] | None,
    files: tuple[Any, ...],
    pa_zones: gpd.GeoDataFrame,
) -> bool:
    """Whether the zone steps' chunks run in worker processes that read the layers."""
    from .chunked import MIN_POOL_SITES
    from .parallel import workers_can_read

    pa_sources, ecoregions, pa_options, _, kba_gdf = files
    return bool(
        (scheduler is not None or (jobs > 1 and len(site_gdf) >= MIN_POOL_SITES))
        and all(_files(v) for v in (forest or {}).values())
        and workers_can_read(pa_sources, ecoregions, pa_options, kba_gdf, pa_zones)
    )


def _read_source(source: tuple[str | None, Any], pa_options: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """One protected-area source ``(name or None, path or frame)`` read with the run's options."""
    import asm_pace

    name, value = source
    label = {} if name is None else {"source_label": name}
    return asm_pace.read_protected_areas(value, **pa_options, **label)


def _reader(source: tuple[str | None, Any], pa_options: Mapping[str, Any]):
    """A function that reads the protected areas again, as the run read them (quietly:
    the reader's warnings were given on the first read); once, however often it is
    called (a one-chunk run reads it for its zones, the context layer reads it after)."""
    import functools

    @functools.cache
    def read() -> gpd.GeoDataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _read_source(source, pa_options)

    return read


def _release_memory() -> None:
    """Give freed memory back to the system (glibc keeps it otherwise; a no-op elsewhere)."""
    import contextlib
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _downstream_layers(
    layers: dict[str, pd.DataFrame],
    parameters: dict[str, object],
    step: Callable[[str], None],
    site_gdf: gpd.GeoDataFrame,
    rivers: Any,
    pa_gdf: gpd.GeoDataFrame,
    kba_gdf: gpd.GeoDataFrame | None,
    downstream_km: float | None,
    snap_km: float | None,
    river_options: Mapping[str, Any] | None,
) -> gpd.GeoDataFrame:
    """Read the rivers near the sites and follow them: site columns, ``downstream`` layers."""
    from .flowpaths import downstream
    from .geodesy import box_around
    from .rivers import read_rivers

    max_km = DEFAULT_DOWNSTREAM_KM if downstream_km is None else downstream_km
    snap = DEFAULT_SNAP_KM if snap_km is None else snap_km
    options = dict(river_options or {})
    parameters["downstream_km"] = max_km
    parameters["snap_km"] = snap
    step("read rivers")
    if "bbox" not in options and not isinstance(rivers, gpd.GeoDataFrame):
        try:  # a path of max_km river-km stays within max_km (geodesic) of its site
            reach = float(max_km) + float(snap)
        except (TypeError, ValueError):
            reach = None  # downstream refuses it, naming the option
        if reach is not None and math.isfinite(reach) and reach > 0:
            options["bbox"] = box_around(tuple(site_gdf.total_bounds), reach)
    river_gdf = read_rivers(rivers, **options)
    step("downstream")
    result = downstream(site_gdf, river_gdf, pa_gdf, max_km=max_km, snap_km=snap, kbas=kba_gdf)
    layers["sites"] = _join_columns(layers["sites"], result.sites)
    layers["downstream"] = result.paths
    layers["downstream_areas"] = result.areas
    return river_gdf


def _files(value: object) -> bool:
    """A worker can read it: a path, paths, a number or nothing (not a layer in memory)."""
    if isinstance(value, list | tuple):
        return all(_files(v) for v in value)
    return value is None or isinstance(value, str | os.PathLike | int | float)


def _pa_sources(
    protected_areas: object, pa_options: Mapping[str, Any]
) -> list[tuple[str | None, Any]]:
    """The protected-area sources as ``(name or None, path or GeoDataFrame)``, in order."""
    if isinstance(protected_areas, Mapping):
        pairs = [(str(k), v) for k, v in protected_areas.items()]
    elif isinstance(protected_areas, list | tuple):
        pairs = [
            (str(item[0]), item[1]) if isinstance(item, tuple) and len(item) == 2 else (None, item)
            for item in protected_areas
        ]
    else:
        return [(None, protected_areas)]
    if not pairs:
        raise InputError("no protected-area source given: give at least one (-p/--protected-areas)")
    if len(pairs) == 1 and pairs[0][0] is not None and "source_label" in pa_options:
        raise InputError(
            f"the protected-area source is named twice: {pairs[0][0]!r} (-p NAME=FILE, a dict "
            f"key in Python) and source_label={pa_options['source_label']!r} "
            "(--pa-source-name); give one name"
        )
    if len(pairs) > 1:
        for key, option in (("layer", "--pa-layer"), ("source_label", "--pa-source-name")):
            if key in pa_options:
                raise InputError(
                    f"{key}= ({option}) was given with {len(pairs)} protected-area sources, "
                    "so which one it is for is unclear; name each source with -p NAME=FILE "
                    "(a dict in Python), and for a layer read that source with "
                    "asm_pace.read_protected_areas and its --pa-layer and give the "
                    "GeoDataFrame (in Python), or give one source"
                )
    return pairs


def _with_aze(pa_gdf: gpd.GeoDataFrame, kbas: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The protected areas with the AZE sites of ``kbas`` (``asm_pace.kba``), combined."""
    from .kba import with_aze_source
    from .pa_sources import combine_protected_areas

    sources = with_aze_source(pa_gdf, kbas)
    return sources if isinstance(sources, gpd.GeoDataFrame) else combine_protected_areas(sources)


def _with_group_years(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A combined layer for forest_loss: each record dated by its area's earliest known year
    (the same area in two sources was designated when the first of them says)."""
    if "group_status_year" not in layer.columns:
        return layer
    out = layer.assign(status_year=layer["group_status_year"])
    out.attrs = dict(layer.attrs)
    return out


class _HansenPending:
    """Stands for a forest raster that ``hansen=`` fetches once the sites are read."""

    def __repr__(self) -> str:
        return "<fetched by --hansen>"


def _hansen_pending(hansen: str, *given: Any) -> _HansenPending:
    """Check ``hansen=`` (a version, and no raster files with it); the rasters' stand-in."""
    from .data import check_version

    if any(g is not None for g in given):
        raise InputError(
            "--hansen fetches the forest rasters (tree cover, loss year, gain): give either "
            "--hansen or the files (--treecover, --lossyear, --gain), not both"
        )
    check_version(hansen)
    return _HansenPending()


def _fetch_hansen(
    version: str,
    sites: gpd.GeoDataFrame,
    radius_km: float,
    options: Mapping[str, Any] | None,
) -> tuple[list[Path], list[Path], list[Path], list[dict[str, object]]]:
    """The tiles (tree cover, loss year, gain) within ``radius_km`` of each site, fetched."""
    import numpy as np
    import shapely

    from ._nearest import widen_boxes
    from ._vector import to_wgs84
    from .data import hansen_tiles, provenance_rows

    geoms = np.asarray(to_wgs84(sites).geometry.values, dtype=object)
    boxes = widen_boxes(shapely.bounds(geoms), np.full(len(geoms), radius_km * 1000.0))
    tiles = hansen_tiles(
        boxes[np.isfinite(boxes).all(axis=1)],
        layers=("treecover2000", "lossyear", "gain"),
        version=version,
        **dict(options or {}),
    )
    rows = provenance_rows(tiles.files)
    return tiles["treecover2000"], tiles["lossyear"], tiles["gain"], rows


def layer_counts(gdf: pd.DataFrame) -> dict[str, object]:
    """A reader's record counts (``attrs["counts"]``) with the layer's ``source``.

    Keys: ``source`` (file name), ``read`` (features read), ``removed`` (step -> records
    left out), ``repaired`` (geometries repaired but kept) and ``used`` (rows returned:
    always the layer's length). Counts a reader did not set are left out.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 2]})
    >>> frame.attrs = {"source": "pas.gpkg",
    ...                "counts": {"read": 5, "removed": {"statuses": 3}, "repaired": 1}}
    >>> layer_counts(frame)
    {'source': 'pas.gpkg', 'read': 5, 'removed': {'statuses': 3}, 'repaired': 1, 'used': 2}
    """
    found = gdf.attrs.get("counts") or {}
    out: dict[str, object] = {"source": str(gdf.attrs.get("source", ""))}
    if found.get("read") is not None:
        out["read"] = int(found["read"])
    removed = found.get("removed") or {}
    if removed:
        out["removed"] = {str(k): int(v) for k, v in removed.items()}
    if found.get("repaired") is not None:
        out["repaired"] = int(found["repaired"])
    out["used"] = len(gdf)
    return out


def _join_columns(zones: gpd.GeoDataFrame, extra: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """Add ``extra``'s new columns to ``zones`` (same index and order)."""
    if extra is None:
        return zones
    new = [c for c in extra.columns if c not in zones.columns and c != "geometry"]
    if isinstance(extra, gpd.GeoDataFrame):
        new = [c for c in new if c != extra.geometry.name]
    if not new:
        return zones
    return zones.join(pd.DataFrame(extra[new]))


def loss_columns(frame: pd.DataFrame) -> list[tuple[int, str]]:
    """The ``loss_YYYY_ha`` columns of ``frame`` as ``(year, column)`` pairs, by year.

    Examples
    --------
    >>> loss_columns(pd.DataFrame(columns=["loss_2002_ha", "site_id", "loss_2001_ha"]))
    [(2001, 'loss_2001_ha'), (2002, 'loss_2002_ha')]
    """
    return sorted(
        (int(m.group(1)), str(c)) for c in frame.columns if (m := _LOSS_COLUMN.match(str(c)))
    )


def forest_loss_long(zones: pd.DataFrame) -> pd.DataFrame:
    """The ``loss_YYYY_ha`` columns as a long table: one row per zone and year.

    Columns ``zone_id`` (``site_id`` and radius, e.g. ``"S0001_10km"``),
    ``site_id``, ``radius_km`` (and ``inner_km`` for rings), ``year`` and
    ``loss_ha``; every year is listed for every zone, zeros included. Zones measured
    with protected areas (``forest_loss(..., protected_areas=)``) add ``in_pa_ha``
    (inside areas designated before that year), ``in_pa_unknown_year_ha`` and
    ``outside_pa_ha``, which add up to ``loss_ha``.

    Examples
    --------
    >>> z = pd.DataFrame({"site_id": ["A"], "radius_km": [1.0],
    ...                   "loss_2001_ha": [0.5], "loss_2002_ha": [0.0]})
    >>> forest_loss_long(z)
      zone_id site_id  radius_km  year  loss_ha
    0  A_1km       A        1.0  2001      0.5
    1  A_1km       A        1.0  2002      0.0
    """
    years = [year for year, _ in loss_columns(zones)]
    keys = [c for c in _LONG_KEYS[1:] if c in zones.columns]
    frame = pd.DataFrame(zones[keys]).reset_index(drop=True)
    frame.insert(0, "zone_id", _zone_ids(frame))
    long = frame.loc[frame.index.repeat(len(years))].reset_index(drop=True)
    long["year"] = pd.array(years * len(frame), dtype="int64")
    for name, part in _LONG_LOSS:
        columns = [f"loss_{year}{part}_ha" for year in years]
        if part == "" or (years and all(c in zones.columns for c in columns)):
            long[name] = zones[columns].to_numpy(dtype="float64").ravel()
    return long


#: The zones' columns the long table takes besides their loss columns.
_LONG_KEYS = ("zone_id", "site_id", "radius_km", "inner_km")
#: The long table's loss columns and the part of the wide column names they come from
#: (``loss_YYYY<part>_ha``); the protection split is there when forest_loss made it.
_LONG_LOSS = (
    ("loss_ha", ""),
    ("in_pa_ha", "_in_pa"),
    ("in_pa_unknown_year_ha", "_in_pa_unknown_year"),
    ("outside_pa_ha", "_outside_pa"),
)
_PROTECTION_COLUMN = re.compile(r"^loss_\d{4}_(in_pa|in_pa_unknown_year|outside_pa)_ha$")


def _protection_by_year(frame: pd.DataFrame) -> list[str]:
    """The yearly protection columns (``loss_2005_in_pa_ha``...) of ``frame``."""
    return [c for c in frame.columns if _PROTECTION_COLUMN.match(str(c))]


def _zone_ids(frame: pd.DataFrame) -> pd.Series:
    if "zone_id" in frame.columns:
        return frame["zone_id"].astype(str)
    if "radius_km" not in frame.columns or frame.empty:  # empty: a streamed run's batch
        return frame["site_id"].astype(str)
    radius = frame["radius_km"].map(lambda r: f"{float(r):g}km")
    return frame["site_id"].astype(str) + "_" + radius


#: How messages name each output and input (the command line's options).
OUTPUT_OPTIONS = {
    "gpkg": "-o/--output",
    "csv": "--csv",
    "html": "--report",
    "qgz": "--qgis-project",
}
INPUT_OPTIONS = {
    "sites": "SITES",
    "protected_areas": "-p/--protected-areas",
    "ecoregions": "-e/--ecoregions",
    "priority_landscapes": "-l/--priority-landscapes",
    "kbas": "--kbas",
    "treecover": "--treecover",
    "lossyear": "--lossyear",
    "gain": "--gain",
    "drivers": "--drivers",
    "rivers": "--rivers",
}
_OVERWRITE = "--overwrite (overwrite=True)"


def plan_run_outputs(
    output: str | os.PathLike[str],
    *,
    csv: str | os.PathLike[str] | None = None,
    report: str | os.PathLike[str] | None = None,
    qgis_project: bool = False,
    inputs: Mapping[str, object] | None = None,
    overwrite: bool = False,
    hint: str = _OVERWRITE,
) -> OutputPlan:
    """The destination plan of a run: every output checked against the others and the inputs.

    Made before any work (the command line calls it before reading an input) and again by
    :func:`write_outputs`; see :func:`asm_pace.output.plan_outputs` for the checks. Messages
    name the command line's options; ``hint`` is how they name the overwrite option.
    ``qgis_project`` adds the QGIS project beside the GeoPackage (:func:`qgis_project_path`).
    A ``report`` needs matplotlib: without it the plan is refused
    (:class:`~asm_pace.errors.MissingDependencyError`), before any work too.

    Examples
    --------
    >>> plan_run_outputs("out.csv")
    Traceback (most recent call last):
    asm_pace.errors.OutputError: out.csv (-o/--output): a GeoPackage file name must end in .gpkg; ...
    """
    from .output import Destination, plan_outputs

    roles = {INPUT_OPTIONS.get(str(k), str(k)): v for k, v in (inputs or {}).items()}
    project = qgis_project_path(output) if qgis_project else None
    if project is not None and "|" in Path(os.fspath(output)).name:
        from .errors import OutputError

        raise OutputError(
            f"{output} (-o/--output): QGIS cannot read layers from a file whose name holds "
            "'|', so the QGIS project (--qgis-project) could not open it; choose a name "
            "without '|'"
        )
    destinations = [
        Destination(Path(os.fspath(path)), kind, OUTPUT_OPTIONS[kind])
        for kind, path in (("gpkg", output), ("csv", csv), ("html", report), ("qgz", project))
        if path is not None
    ]
    plan = plan_outputs(destinations, inputs=roles, overwrite=overwrite, hint=hint)
    if report is not None:
        from .plotting import _require

        _require("matplotlib")
    return plan


def qgis_project_path(output: str | os.PathLike[str]) -> Path:
    """The QGIS project written beside a GeoPackage: same folder and stem, ``.qgz``.

    Examples
    --------
    >>> qgis_project_path("results/peru.gpkg").as_posix()
    'results/peru.qgz'
    """
    return Path(os.fspath(output)).with_suffix(".qgz")


#: The order of the layers in the QGIS project, top first (others follow as written).
PROJECT_ORDER = (
    "sites",
    "downstream",
    "buffers",
    "clusters",
    "priority_landscapes",
    "kbas",
    "protected_areas",
    "ecoregions",
)


def write_outputs(
    result: PipelineResult,
    output: str | os.PathLike[str],
    *,
    csv: str | os.PathLike[str] | None = None,
    report: str | os.PathLike[str] | None = None,
    qgis_project: bool = False,
    overwrite: bool = False,
    extra_parameters: Mapping[str, object] | None = None,
    report_info: Mapping[str, object] | None = None,
    plan: OutputPlan | None = None,
) -> Path:
    """Write a :class:`PipelineResult`: the GeoPackage, the sites as CSV, the report, a project.

    The GeoPackage holds the result's layers (a streamed run's, ``stream_to``, copied
    from its scratch file in batches, in order: never all in memory), then the layers
    read within the analysis extent (:meth:`PipelineResult.map_layers`: ``protected_areas``, ``ecoregions``,
    ``priority_landscapes``), each with its default QGIS style.

    Every destination is checked before anything is written (:func:`plan_run_outputs`:
    none may be an input of the run or another output); all are written to temporaries and
    moved into place together only when all are written, so on any failure no output is
    replaced or left behind.

    Parameters
    ----------
    result : PipelineResult
    output : path
        The GeoPackage (``.gpkg``).
    csv : path, optional
        The sites table (``.csv``).
    report : path, optional
        The HTML report (``.html``; needs ``asm-pace[plot]``).
    qgis_project : bool
        Also write a QGIS project beside the GeoPackage (same stem, ``.qgz``;
        :func:`asm_pace.output.write_qgis_project`): every layer styled, sites on top,
        opening at the sites' extent.
    overwrite : bool
        Replace existing outputs.
    extra_parameters : mapping, optional
        More ``run_info`` parameters (e.g. the command line).
    report_info : mapping, optional
        More provenance items for the report.
    plan : OutputPlan, optional
        The plan :func:`plan_run_outputs` made for these outputs before the run (its
        ``committed`` tells afterwards whether they were written); existing files are
        checked again. By default a new plan is made.

    Returns
    -------
    pathlib.Path
        The GeoPackage written.
    """
    from .output import write_csv, write_geopackage, write_qgis_project

    output = Path(os.fspath(output))
    project = qgis_project_path(output) if qgis_project else None
    wanted = [Path(os.fspath(p)) for p in (output, csv, report, project) if p is not None]
    if plan is None:
        plan = plan_run_outputs(
            output,
            csv=csv,
            report=report,
            qgis_project=qgis_project,
            inputs=result.inputs,
            overwrite=overwrite,
        )
    elif plan.paths != wanted:
        raise InputError(f"the plan {plan!r} is not for these outputs ({wanted})")
    else:
        plan.check_existing()
    parameters = {**result.parameters, **(extra_parameters or {})}
    if isinstance(result.layers, _Layers):  # streamed layers are copied in batches
        raw = {name: result.layers.raw(name) for name in result.layers}
        tables = [name for name, item in raw.items() if _is_table(item)]
        kept = {k: v.stream() if isinstance(v, _Streamed) else v for k, v in raw.items()}
        if result.layers.side is not None:  # written by a second process: copied in
            kept.update(result.layers.side.layers)  # in their places: the keys are kept
    else:
        kept = dict(result.layers)
        tables = [name for name, item in kept.items() if _is_table(item)]
    # feature layers, then tables, as GDAL lists a GeoPackage's layers: the context layers
    # are written while a second process finishes the long tables
    layers = {k: v for k, v in kept.items() if k not in tables}
    layers.update(result.map_layers())
    layers.update({k: kept[k] for k in tables})
    with plan.transaction():
        write_geopackage(
            output,
            layers,
            overwrite=overwrite,
            run_info=parameters,
            inputs=result.inputs,
            counts={role: _stored_counts(c) for role, c in result.counts.items()},
            datasets=result.datasets,
        )
        if csv is not None:
            write_csv(csv, result.sites, overwrite=overwrite)
        if report is not None:
            from .report import write_pipeline_report

            info = {**(report_info or {}), "output": str(output)}
            write_pipeline_report(report, result, run_info=info, overwrite=overwrite)
        if project is not None:
            from .output import LayerStream, SideLayer

            top = [name for name in PROJECT_ORDER if name in layers]
            ordered = {
                name: layers[name].stand_in()
                if isinstance(layers[name], LayerStream | SideLayer)
                else layers[name]
                for name in [*top, *layers]
                if name in layers
            }
            write_qgis_project(project, output, ordered, overwrite=overwrite)
    return output


def _stored_counts(counts: Mapping[str, object]) -> dict[str, object]:
    return {k: v for k, v in counts.items() if k != "source"}
