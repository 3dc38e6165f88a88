"""The ``asm-pace`` command: a thin click layer over :mod:`asm_pace.pipeline`.

Commands: ``classify`` (the whole pipeline on your files), ``demo`` (the same on
the bundled samples) and ``validate`` (check a site list). Exit status 0 on
success, 2 on bad input or usage (a short message, no traceback; ``--debug``
shows one), 1 on an unexpected failure, 130 on Ctrl-C and 143 on SIGTERM. Every output
is checked before any work (:func:`asm_pace.pipeline.plan_run_outputs`) and all of a
run's outputs are replaced together or not at all: no partial output is ever left behind.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

__all__ = ["main", "cli"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def _echo(message: str, err: bool = False) -> None:
    """``click.echo`` that survives a stream that cannot be written.

    A reader gone (``asm-pace demo ... | head -1``; Python ignores SIGPIPE, so the write
    raises ``BrokenPipeError`` instead of ending the process) or a full device
    (``> /dev/full``): the rest of that stream goes to the null device and the run carries
    on, so its outputs and its exit status are the same as with the stream there.
    """
    try:
        click.echo(message, err=err)
    except OSError:
        stream = sys.stderr if err else sys.stdout
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())
        finally:
            os.close(null)


class _Ctx:
    """Output settings of one invocation (verbosity, debug, progress)."""

    def __init__(self, quiet: bool, verbose: int, debug: bool):
        self.quiet = quiet
        self.verbose = 0 if quiet else verbose
        self.debug = debug
        #: The run's destination plan (its ``committed`` says whether the outputs are written).
        self.plan: Any = None

    def nothing_or_written(self) -> str:
        """What a failure or an interrupt leaves: nothing, or the outputs already in place."""
        if self.plan is None or not self.plan.committed:
            return "nothing was written"
        return "already written: " + ", ".join(str(p) for p in self.plan.paths)

    def info(self, message: str) -> None:
        if not self.quiet:
            _echo(message)

    def detail(self, message: str) -> None:
        if self.verbose:
            _echo(message, err=True)

    def progress_enabled(self) -> bool:
        stderr = sys.stderr  # None when the command runs with stderr closed (2>&-)
        return not self.quiet and not self.verbose and stderr is not None and stderr.isatty()


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    """-q / -v / --debug on every command, and the error policy."""

    @click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
    @click.option(
        "-v", "--verbose", count=True, help="Print each step and its time (instead of a bar)."
    )
    @click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
    @functools.wraps(func)
    def wrapper(*args: Any, quiet: bool, verbose: int, debug: bool, **kwargs: Any) -> None:
        ctx = _Ctx(quiet, verbose, debug)
        code = _guarded(ctx, functools.partial(func, ctx=ctx), *args, **kwargs)
        sys.exit(code)

    return wrapper


def _guarded(ctx: _Ctx, func: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
    from .errors import AsmPaceError

    try:
        with _signals_as_interrupt(), _show_warnings(ctx):
            code = func(*args, **kwargs)
        return EXIT_OK if code is None else int(code)
    except AsmPaceError as err:
        if ctx.debug:
            traceback.print_exc()
        _echo(f"Error: {err}", err=True)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as err:
        signum = err.signum if isinstance(err, _Terminated) else signal.SIGINT
        name = signal.Signals(signum).name
        _echo(f"Interrupted ({name}); {ctx.nothing_or_written()}.", err=True)
        return 128 + int(signum)
    except click.exceptions.Exit:
        raise
    except click.ClickException:
        raise
    except Exception as err:
        if ctx.debug:
            traceback.print_exc()
        else:
            _echo(
                f"Error: unexpected {type(err).__name__}: {err}\n"
                f"{ctx.nothing_or_written().capitalize()}. Run again with --debug for the "
                "details and please report it with that output.",
                err=True,
            )
        return EXIT_FAILURE


class _Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM, SIGHUP), raised like Ctrl-C so every cleanup runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated(signum)


@contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`_Terminated` while a command runs (main thread).

    Python's default for these signals ends the process at once, leaving temporary files
    behind; raised as an exception, they remove them like Ctrl-C does.
    """
    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {n: signal.signal(getattr(signal, n), _raise_terminated) for n in names}
    try:
        yield
    finally:
        for n, handler in old.items():
            signal.signal(getattr(signal, n), handler)


@contextmanager
def _show_warnings(ctx: _Ctx) -> Iterator[None]:
    """Print asm_pace's warnings as one plain line each (none with -q)."""
    from .errors import AsmPaceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AsmPaceWarning)
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                text = str(w.message)
                if text in seen:
                    continue
                seen.add(text)
                if ctx.quiet:
                    continue
                if issubclass(w.category, AsmPaceWarning) or ctx.verbose or ctx.debug:
                    _echo(f"Warning: {text}", err=True)


class _Progress:
    """A progress bar over pipeline steps (stderr, only on a terminal), or -v step lines."""

    def __init__(self, ctx: _Ctx, steps: list[str]):
        self.ctx = ctx
        self.bar = None
        self.started = time.perf_counter()
        self.last: tuple[str, float] | None = None
        if ctx.progress_enabled():
            from tqdm import tqdm

            self.bar = tqdm(total=len(steps), file=sys.stderr, unit="step", leave=False)

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self._finish_step(now)
        self.last = (step, now)
        if self.bar is not None:
            self.bar.set_description(step)
        self.ctx.detail(f"- {step} ...")

    def _finish_step(self, now: float) -> None:
        if self.last is not None:
            name, start = self.last
            self.ctx.detail(f"  {name}: {now - start:.2f} s")
            if self.bar is not None:
                self.bar.update(1)

    def close(self) -> None:
        self._finish_step(time.perf_counter())
        self.last = None
        if self.bar is not None:
            self.bar.close()


class _OnceCommand(click.Command):
    """A command that refuses an option taking one value given more than once.

    click keeps the last value of a repeated option and drops the others silently (``-e
    a.gpkg -e b.gpkg`` would read only ``b.gpkg``); this refuses the run instead. ``-p`` is
    repeatable on purpose (several protected-area sources).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing:
            _, _, order = self.make_parser(ctx).parse_args(args=list(args))
            seen: dict[str, int] = {}
            for param in order:
                single = isinstance(param, click.Option) and not (
                    param.multiple or param.count or param.is_flag
                )
                if single and param.name:
                    seen[param.name] = seen.get(param.name, 0) + 1
            for param in self.get_params(ctx):
                n = seen.get(param.name or "", 0)
                if n > 1:
                    names = "/".join(sorted(param.opts, key=len))
                    why = (
                        "several files cannot be combined yet"
                        if isinstance(param.type, click.Path)
                        else "only the last would be used"
                    )
                    raise click.UsageError(
                        f"{names} was given {n} times; it takes one value ({why}): "
                        f"give {names} once",
                        ctx=ctx,
                    )
        return super().parse_args(ctx, args)


def _parse_radii(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    try:
        radii = [float(p) for p in parts]
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a list of distances in km; write e.g. --buffers 1,10,50"
        ) from None
    if not radii:
        raise click.BadParameter(f"{value!r} holds no distance; write e.g. --buffers 1,10,50")
    return radii  # their domain (finite, above 0) is checked by run_pipeline


def _parse_list(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    items = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
    if not items:  # an empty filter would silently keep everything
        raise click.BadParameter(f"{value!r} names nothing; write e.g. --countries PER,BOL")
    return items


_existing = click.Path(exists=True, dir_okay=True, path_type=Path)


def _parse_pa_sources(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]):
    """``-p [NAME=]FILE`` values as ``(name or None, path)``; a file must exist.

    A value that is an existing path is a file even when it holds ``=``; else the text before
    the first ``=`` is the source's name.
    """
    out: list[tuple[str | None, Path]] = []
    for value in values:
        name: str | None = None
        path = value
        if "=" in value and not Path(value).exists():
            name, path = (part.strip() for part in value.split("=", 1))
            if not name:
                raise click.BadParameter(
                    f"{value!r}: the name before '=' is empty; write NAME=FILE, e.g. "
                    "-p SERNANP=ANP_Definitivas.shp, or the file alone",
                    param_hint="-p/--protected-areas",
                )
        if not Path(path).exists():
            raise click.BadParameter(
                f"{path!r} does not exist" + (f" (the file of source {name!r})" if name else ""),
                param_hint="-p/--protected-areas",
            )
        out.append((name, Path(path)))
    return out


# outputs are checked by the destination plan (pipeline.plan_run_outputs), folders included
_new_file = click.Path(path_type=Path)


def _site_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            click.option("--lon", metavar="COLUMN", help="Longitude (or easting) column."),
            click.option("--lat", metavar="COLUMN", help="Latitude (or northing) column."),
            click.option("--id-column", metavar="COLUMN", help="Column with the site ids."),
            click.option(
                "--new-ids",
                is_flag=True,
                help="Ignore the file's site ids (e.g. repeated ones) and number the sites.",
            ),
            click.option(
                "--sites-layer", metavar="NAME", help="Layer or sheet of a multi-layer site file."
            ),
            click.option(
                "--sites-crs",
                metavar="CRS",
                help="CRS of the site coordinates when not lon/lat (e.g. EPSG:32719).",
            ),
        ]
    ):
        func = decorator(func)
    return func


def _given(name: str) -> bool:
    """Whether the option ``name`` was given (not left to its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source not in (None, click.core.ParameterSource.DEFAULT)


def _site_kwargs(lon, lat, id_column, new_ids, sites_layer, sites_crs) -> dict[str, Any]:
    if new_ids and id_column:
        raise click.UsageError("--new-ids and --id-column exclude each other; give one")
    ids = False if new_ids else id_column
    return _without_none(lon=lon, lat=lat, id_column=ids, layer=sites_layer, crs=sites_crs)


def _without_none(**options: Any) -> dict[str, Any]:
    """The options given (``None``: not given, the reader's default applies)."""
    return {k: v for k, v in options.items() if v is not None}


class _Group(click.Group):
    command_class = _OnceCommand


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Run 'asm-pace COMMAND --help' for a command's options and examples.",
)
@click.version_option(package_name="asm-pace", prog_name="asm-pace")
def cli() -> None:
    """Classify artisanal and small-scale mining (ASM) sites under ASM-PACE.

    Each site is put in one class: protected_area, priority_landscape,
    critical_ecosystem (Global 200 ecoregion) or not_eligible; optionally with
    geodesic buffers, protected-area overlaps and forest loss. The result is
    one GeoPackage that QGIS and ArcGIS open styled.

    \b
    Try it on the bundled samples:
      asm-pace demo --output demo.gpkg
    """


@cli.command(short_help="Classify a site list and write one GeoPackage.")
@click.argument("sites", type=_existing)
@click.option(
    "--protected-areas",
    "-p",
    metavar="[NAME=]FILE",
    multiple=True,  # deliberately: several sources, -p WDPA=wdpa.gdb -p SERNANP=anp.shp
    required=True,
    callback=_parse_pa_sources,
    help="Protected areas (WDPA download: .gdb, .gpkg, .shp, .zip...). Repeat it for several "
    "sources, each optionally named (-p WDPA=wdpa.gdb -p SERNANP=anp.shp); the same area in "
    "two sources counts once.",
)
@click.option(
    "--ecoregions",
    "-e",
    type=_existing,
    required=True,
    help="WWF terrestrial ecoregions with Global 200 fields.",
)
@click.option("--ecoregions-layer", metavar="NAME", help="Layer of a multi-layer ecoregions file.")
@click.option(
    "--priority-landscapes", "-l", type=_existing, help="WWF priority landscape polygons."
)
@click.option(
    "--landscapes-layer", metavar="NAME", help="Layer of a multi-layer priority landscapes file."
)
@click.option(
    "--kbas",
    type=_existing,
    help="Key Biodiversity Areas as BirdLife ships them (the KBA shapefiles, their zip or "
    "folder): a site in an AZE site is protected, one in another KBA is flagged.",
)
@click.option("--kba-layer", metavar="NAME", help="Layer of a multi-layer KBA file.")
@click.option(
    "--kba-all-statuses",
    is_flag=True,
    help="Keep KBAs of every KbaStatus, values asm_pace does not know included "
    "(default: confirmed KBAs only).",
)
@click.option(
    "--output", "-o", type=_new_file, required=True, help="The GeoPackage to write (.gpkg)."
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace existing output files (all together, once every one is written).",
)
@click.option("--csv", "csv_path", type=_new_file, help="Also write the sites table as CSV.")
@click.option(
    "--report",
    "report_path",
    type=_new_file,
    help="Also write a self-contained HTML report (map, counts, tables; needs asm-pace[plot]).",
)
@click.option(
    "--qgis-project",
    is_flag=True,
    help="Also write a QGIS project beside the GeoPackage (same name, .qgz): every layer "
    "styled, sites on top.",
)
@click.option(
    "--buffers",
    "radii",
    metavar="KM,KM,...",
    callback=_parse_radii,
    help="Geodesic buffer radii in km (e.g. 1,10,50): adds 'buffers' and 'overlaps'.",
)
@click.option("--rings", is_flag=True, help="Rings (0-1, 1-10, 10-50 km) instead of discs.")
@click.option("--treecover", type=_existing, help="Tree cover 2000 raster (Hansen GFC).")
@click.option("--lossyear", type=_existing, help="Forest loss year raster (Hansen GFC).")
@click.option("--gain", type=_existing, help="Forest gain raster (optional).")
@click.option(
    "--hansen",
    metavar="VERSION",
    help="Fetch the Hansen GFC tiles (tree cover, loss year, gain) that the buffers touch, "
    "e.g. --hansen GFC-2025-v1.13, instead of --treecover/--lossyear/--gain; cached "
    "(docs/data.md).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The data cache folder for --hansen (default: ASM_PACE_DATA_DIR, else the user's "
    "cache folder).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="With --hansen: use only the data cache; say which files are missing.",
)
@click.option(
    "--drivers",
    type=_existing,
    help="Drivers of tree-cover loss raster (WRI / Sims et al. 2025, 1 km, classes 1-7; "
    "optional): splits each zone's loss by cause (loss_driver_<class>_ha).",
)
@click.option(
    "--canopy",
    type=click.IntRange(0, 99),
    default=30,
    show_default=True,
    help="Forest = tree cover above this percentage.",
)
@click.option(
    "--rivers",
    type=_existing,
    help="River network (HydroRIVERS: .shp, .gdb, .gpkg, .zip): follow each site's river "
    "downstream; adds downstream_* columns, the 'downstream' layer and 'downstream_areas'.",
)
@click.option("--rivers-layer", metavar="NAME", help="Layer of a multi-layer river file.")
@click.option(
    "--downstream-km",
    type=float,
    metavar="KM",
    help="River length followed downstream of each site (default 500; with --rivers).",
)
@click.option(
    "--snap-km",
    type=float,
    metavar="KM",
    help="Farthest a site may be from its river (default 5; with --rivers).",
)
@click.option(
    "--memory",
    metavar="SIZE",
    help="Memory budget of buffers, overlaps and forest loss, e.g. 4GB, 500MB, 4GiB "
    "(default: a quarter of the machine's): the sites are cut into spatial chunks that fit "
    "it; the result is the same (docs/scale.md).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Worker processes for classify (default: every core; 1: serial). Runs of fewer "
    "than 100,000 sites are serial; the result is the same either way (docs/scale.md).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Classify on a dask cluster: the scheduler's address, e.g. tcp://10.0.0.5:8786 "
    "(needs asm-pace[dask]; the workers read the files at the same paths; not with --jobs). "
    "The result is the serial one (docs/distributed.md).",
)
@_site_options
@click.option(
    "--uncertainty",
    metavar="DISTANCE",
    help="Location uncertainty of every site without its own (uncertainty_m column...), "
    "e.g. 500m or 0.5km (a bare number is metres): adds pa_certainty and a nearest-distance "
    "range.",
)
@click.option(
    "--pa-layer",
    multiple=True,
    metavar="NAME",
    help="Protected-area layer(s) to read (with one -p only).",
)
@click.option(
    "--countries",
    metavar="ISO3,...",
    callback=_parse_list,
    help="Only protected areas (and KBAs, with --kbas) of these countries (e.g. PER,BRA).",
)
@click.option(
    "--all-statuses",
    is_flag=True,
    help="Keep protected areas of every STATUS (default: designated, inscribed, established).",
)
@click.option(
    "--pa-points",
    type=click.Choice(["circles", "drop"]),
    default="circles",
    show_default=True,
    help="WDPA point records: circles of their reported area, or drop them.",
)
@click.option(
    "--keep-biosphere-reserves",
    is_flag=True,
    help="Keep UNESCO-MAB Biosphere Reserves (default: left out; their buffer and transition "
    "zones are not protected).",
)
@click.option(
    "--keep-oecms",
    is_flag=True,
    help="Keep OECMs (other effective area-based conservation measures; default: left out).",
)
@click.option(
    "--exclude-marine", is_flag=True, help="Leave out wholly marine protected areas (MARINE 2)."
)
@click.option(
    "--pa-source-name",
    metavar="NAME",
    help="What to call the protected-area source in reasons and the report "
    "(e.g. 'SINANPE 2024'; default: WDPA for a WDPA file, else the file's name; with one -p "
    "only: name several with -p NAME=FILE).",
)
@_common
def classify(
    ctx: _Ctx,
    sites: Path,
    protected_areas: list[tuple[str | None, Path]],
    ecoregions: Path,
    ecoregions_layer: str | None,
    priority_landscapes: Path | None,
    landscapes_layer: str | None,
    kbas: Path | None,
    kba_layer: str | None,
    kba_all_statuses: bool,
    output: Path,
    overwrite: bool,
    csv_path: Path | None,
    report_path: Path | None,
    qgis_project: bool,
    radii: list[float] | None,
    rings: bool,
    treecover: Path | None,
    lossyear: Path | None,
    gain: Path | None,
    hansen: str | None,
    data_dir: Path | None,
    offline: bool,
    drivers: Path | None,
    canopy: int,
    rivers: Path | None,
    rivers_layer: str | None,
    downstream_km: float | None,
    snap_km: float | None,
    memory: str | None,
    jobs: int | None,
    scheduler: str | None,
    lon: str | None,
    lat: str | None,
    id_column: str | None,
    new_ids: bool,
    sites_layer: str | None,
    sites_crs: str | None,
    uncertainty: str | None,
    pa_layer: tuple[str, ...],
    countries: list[str] | None,
    all_statuses: bool,
    pa_points: str,
    keep_biosphere_reserves: bool,
    keep_oecms: bool,
    exclude_marine: bool,
    pa_source_name: str | None,
) -> int:
    """Classify the sites in SITES and write one GeoPackage.

    SITES is a CSV/TSV/Excel table with coordinate columns, or a GeoJSON,
    GeoPackage, shapefile, KML or GeoParquet of points or mining footprints.

    Every output (-o, --csv, --report, the .qgz of --qgis-project) is checked
    before any work: its name must end in .gpkg, .csv, .html or .qgz, its folder
    must exist, and it may not
    be an input, a file inside an input folder, or another output; an existing
    file is replaced only with --overwrite. The outputs are written together:
    either all are replaced or none is. An option taking one value may be
    given once. After the run, one line per layer read gives its counts
    (read, removed by step, repaired, used); they are also in run_info.

    \b
    Examples:
      asm-pace classify sites.csv -p WDPA.gdb -e wwf_terr_ecos.shp -o out.gpkg
      asm-pace classify sites.csv -p WDPA.gdb -e teow.gpkg -l landscapes.gpkg \\
          --countries PER,BOL --buffers 1,10,50 --csv sites_out.csv -o out.gpkg \\
          --qgis-project
      asm-pace classify pits.gpkg -p wdpa.zip -e teow.gpkg --buffers 5 \\
          --treecover treecover2000.tif --lossyear lossyear.tif -o pits.gpkg
    """
    from .classification import parse_uncertainty

    uncertainty_m = None if uncertainty is None else parse_uncertainty(uncertainty)
    # only the options given: run_pipeline passes each on as it is (None included)
    pa_options = _without_none(layer=list(pa_layer) or None, countries=countries)
    if pa_points != "circles":
        pa_options["points"] = pa_points
    if all_statuses:
        pa_options["statuses"] = None  # every status
    if keep_biosphere_reserves:
        pa_options["exclude_mab"] = False
    if keep_oecms:
        pa_options["exclude_oecm"] = False
    if exclude_marine:
        pa_options["exclude_marine"] = True
    if pa_source_name is not None:
        if not pa_source_name.strip():
            raise click.BadParameter(
                "is empty; give a name, e.g. --pa-source-name 'SINANPE 2024'",
                param_hint="--pa-source-name",
            )
        pa_options["source_label"] = pa_source_name.strip()
    return _run(
        ctx,
        sites=sites,
        protected_areas=_pa_argument(protected_areas, pa_options),
        ecoregions=ecoregions,
        priority_landscapes=priority_landscapes,
        output=output,
        overwrite=overwrite,
        csv_path=csv_path,
        report_path=report_path,
        qgis_project=qgis_project,
        radii=radii,
        rings=rings,
        treecover=treecover,
        lossyear=lossyear,
        gain=gain,
        hansen=hansen,
        data_options=_without_none(cache_dir=data_dir, offline=offline or None)
        | ({"progress": ctx.detail} if hansen is not None else {}),
        drivers=drivers,
        canopy=canopy if _given("canopy") else None,
        uncertainty_m=uncertainty_m,
        site_options=_site_kwargs(lon, lat, id_column, new_ids, sites_layer, sites_crs),
        pa_options=pa_options,
        ecoregion_options=_without_none(layer=ecoregions_layer),
        landscape_options=_without_none(layer=landscapes_layer),
        kbas=kbas,
        kba_options={
            **_without_none(layer=kba_layer),
            # the study region: --countries keeps the KBAs of those countries too
            **(_without_none(countries=countries) if kbas is not None else {}),
            **({"statuses": None} if kba_all_statuses else {}),
        },
        rivers=rivers,
        river_options=_without_none(layer=rivers_layer),
        downstream_km=downstream_km,
        snap_km=snap_km,
        memory=memory,
        jobs=jobs,
        scheduler=scheduler,
        command="classify",
    )


@cli.command(short_help="Run the whole pipeline on the bundled samples.")
@click.option(
    "--output",
    "-o",
    type=_new_file,
    default=Path("asm_pace_demo.gpkg"),
    show_default=True,
    help="The GeoPackage to write.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace existing output files (all together, once every one is written).",
)
@click.option("--csv", "csv_path", type=_new_file, help="Also write the sites table as CSV.")
@click.option(
    "--report",
    "report_path",
    type=_new_file,
    help="Also write a self-contained HTML report (map, counts, tables; needs asm-pace[plot]).",
)
@click.option(
    "--qgis-project",
    is_flag=True,
    help="Also write a QGIS project beside the GeoPackage (same name, .qgz): every layer "
    "styled, sites on top.",
)
@click.option(
    "--buffers",
    "radii",
    metavar="KM,KM,...",
    callback=_parse_radii,
    default="1,10",
    show_default=True,
    help="Buffer radii in km.",
)
@click.option("--no-forest", is_flag=True, help="Skip the forest-loss step.")
@_common
def demo(
    ctx: _Ctx,
    output: Path,
    overwrite: bool,
    csv_path: Path | None,
    report_path: Path | None,
    qgis_project: bool,
    radii: list[float],
    no_forest: bool,
) -> int:
    """Run the whole pipeline on the bundled sample data (a few seconds).

    Classifies about 200 sample ASM sites against sample protected areas,
    Key Biodiversity Areas (an AZE site counts as protected), priority
    landscapes and Global 200 ecoregions, follows each site's river 500 km
    downstream, adds 1 and 10 km buffers with protected-area overlaps and
    forest loss (split by cause) from sample Hansen-style rasters, and writes
    one GeoPackage. Open it in QGIS: the sites are coloured by class.

    \b
    Examples:
      asm-pace demo
      asm-pace demo --output demo.gpkg --overwrite --csv demo_sites.csv
      asm-pace demo --qgis-project    # asm_pace_demo.qgz: open it in QGIS
    """
    from .datasets import sample_path

    return _run(
        ctx,
        sites=sample_path("sites.csv"),
        protected_areas=sample_path("protected_areas.gpkg"),
        ecoregions=sample_path("ecoregions.gpkg"),
        priority_landscapes=sample_path("priority_landscapes.gpkg"),
        output=output,
        overwrite=overwrite,
        csv_path=csv_path,
        report_path=report_path,
        qgis_project=qgis_project,
        radii=radii,
        rings=False,
        treecover=None if no_forest else sample_path("treecover2000.tif"),
        lossyear=None if no_forest else sample_path("lossyear.tif"),
        gain=None,
        drivers=None if no_forest else sample_path("drivers.tif"),
        canopy=None,
        site_options={},
        pa_options={},
        kbas=sample_path("kbas.zip"),
        rivers=sample_path("rivers.gpkg"),
        command="demo",
    )


def _run(
    ctx: _Ctx,
    *,
    output: Path,
    overwrite: bool,
    csv_path: Path | None,
    radii: list[float] | None,
    command: str,
    report_path: Path | None = None,
    qgis_project: bool = False,
    **options: Any,
) -> int:
    from .pipeline import (
        INPUT_OPTIONS,
        plan_run_outputs,
        planned_steps,
        run_pipeline,
        write_outputs,
    )

    # every output checked before any work: names, folders, inputs, each other, existing
    inputs = {role: options[role] for role in INPUT_OPTIONS if options.get(role) is not None}
    if isinstance(inputs.get("protected_areas"), list):  # several sources: (name, path) pairs
        inputs["protected_areas"] = [
            item[1] if isinstance(item, tuple) else item for item in inputs["protected_areas"]
        ]
    ctx.plan = plan_run_outputs(
        output,
        csv=csv_path,
        report=report_path,
        qgis_project=qgis_project,
        inputs=inputs,
        overwrite=overwrite,
        hint="--overwrite",
    )

    steps = planned_steps(
        priority_landscapes=options["priority_landscapes"] is not None,
        kbas=options.get("kbas") is not None,
        rivers=options.get("rivers") is not None,
        buffers=bool(radii),
        forest=options["treecover"] is not None or options.get("hansen") is not None,
        hansen=options.get("hansen") is not None,
    )
    steps.append("write")
    progress = _Progress(ctx, steps)
    try:
        # a chunked run streams its zone layers to a scratch file beside the output
        result = run_pipeline(radii_km=radii, progress=progress, stream_to=output, **options)
        progress("write")
        path = write_outputs(
            result,
            output,
            csv=csv_path,
            report=report_path,
            qgis_project=qgis_project,
            overwrite=overwrite,
            extra_parameters={"command": _command_line(command)},
            report_info={"command": _command_line(command)},
            plan=ctx.plan,
        )
    finally:
        progress.close()
    for role, counts in result.counts.items():
        ctx.info(_counts_line(role, counts))
    _summary(ctx, result, path, csv_path)
    if report_path is not None:
        ctx.info(f"Wrote {report_path}")
    if qgis_project:
        from .pipeline import qgis_project_path

        ctx.info(
            f"Wrote {qgis_project_path(path)} (QGIS project: every layer of {path.name}, styled)"
        )
    return EXIT_OK


def _pa_argument(sources: list[tuple[str | None, Path]], pa_options: dict[str, Any]) -> Any:
    """What run_pipeline takes for the -p values: one file as before, else a list.

    Several sources with --pa-layer or --pa-source-name are refused: which source they are
    for is unclear.
    """
    several = len(sources) > 1
    for key, option in (("layer", "--pa-layer"), ("source_label", "--pa-source-name")):
        if several and key in pa_options:
            fix = "name each with -p NAME=FILE" if key == "source_label" else "give one source"
            raise click.UsageError(
                f"{option} was given with {len(sources)} protected-area sources (-p), so which "
                f"one it is for is unclear; {fix}"
            )
    if len(sources) == 1 and sources[0][0] is None:
        return sources[0][1]
    if len(sources) == 1 and "source_label" in pa_options:
        raise click.UsageError(
            f"the protected-area source is named twice ({sources[0][0]}= in -p and "
            "--pa-source-name); give one name"
        )
    return [path if name is None else (name, path) for name, path in sources]


def _counts_line(role: str, counts: dict[str, Any]) -> str:
    """``protected areas (wdpa.gpkg): 1,204 read, 1,100 removed (countries 1,000; ...``."""
    parts = []
    if counts.get("read") is not None:
        parts.append(f"{counts['read']:,} read")
        removed = counts.get("removed") or {}
        steps = "; ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in removed.items() if n)
        total = sum(removed.values())
        parts.append(f"{total:,} removed" + (f" ({steps})" if steps else ""))
        gap = counts["read"] - total - counts["used"]
        if gap:  # a reader's steps do not add up: show it rather than hide it
            parts.append(f"{gap:,} not accounted for")
    if counts.get("repaired") is not None:
        parts.append(f"{counts['repaired']:,} repaired")
    parts.append(f"{counts['used']:,} used")
    source = f" ({Path(counts['source']).name})" if counts.get("source") else ""
    what, _, name = role.partition(":")  # protected_areas:SERNANP, one of several sources
    what = what.replace("_", " ") + (f" {name}" if name else "")
    return f"{what}{source}: {', '.join(parts)}"


def _command_line(command: str) -> str:
    import shlex

    args = sys.argv[1:] if sys.argv and "asm" in Path(sys.argv[0]).name else [command]
    return "asm-pace " + " ".join(shlex.quote(a) for a in args)


def _summary(ctx: _Ctx, result: Any, path: Path, csv_path: Path | None) -> None:
    from ._styles import PACE_CLASS_LABELS

    counts = result.class_counts()
    total = sum(counts.values())
    width = max(len(v) for v in PACE_CLASS_LABELS.values())
    ctx.info(f"Classified {total} site(s):")
    for key, n in counts.items():
        share = f"{100 * n / total:5.1f} %" if total else ""
        ctx.info(f"  {PACE_CLASS_LABELS.get(key, key):<{width}}  {n:>6}  {share}")
    written = {**result.row_counts(), **{k: len(v) for k, v in result.map_layers().items()}}
    layers = ", ".join(f"{name} ({n})" for name, n in written.items())
    ctx.info(f"Wrote {path} (layers: {layers}; run_info; styled for QGIS)")
    if csv_path is not None:
        ctx.info(f"Wrote {csv_path}")


@cli.group(cls=_Group, short_help="Download public data (Hansen GFC, TEOW, WDPA) into the cache.")
def fetch() -> None:
    """Download public data by version into the data cache, for later runs (also offline).

    Files are cached in --data-dir (default: ASM_PACE_DATA_DIR, else the user's cache
    folder); each file's SHA-256 is recorded on its first download and checked on every
    later use. A cut download resumes when run again. See docs/data.md.

    \b
    Examples:
      asm-pace fetch hansen --bounds -71,-13,-69,-12 --version GFC-2025-v1.13
      asm-pace fetch ecoregions
      asm-pace fetch wdpa --month Nov2025
    """


def _data_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        [
            click.option(
                "--data-dir",
                type=click.Path(file_okay=False, path_type=Path),
                help="The data cache folder (default: ASM_PACE_DATA_DIR, else the user's "
                "cache folder).",
            ),
            click.option(
                "--offline", is_flag=True, help="Use only the cache; say which files are missing."
            ),
        ]
    ):
        func = decorator(func)
    return func


def _fetched(ctx: _Ctx, files: Any) -> int:
    for f in files:
        ctx.info(f"{f.path} ({f.size:,} bytes, SHA-256 {f.sha256})")
    return EXIT_OK


@fetch.command("hansen", short_help="Hansen GFC tiles of an area.")
@click.option(
    "--bounds",
    metavar="W,S,E,N",
    required=True,
    callback=lambda ctx, param, value: [p.strip() for p in value.split(",")],
    help="The area in degrees: west, south, east, north (west > east across 180).",
)
@click.option(
    "--version",
    "version",
    default=None,
    metavar="VERSION",
    help="The GFC version (default: GFC-2025-v1.13).",
)
@click.option(
    "--layers",
    metavar="LAYER,...",
    callback=_parse_list,
    help="Among treecover2000, lossyear, gain, datamask (default: all four).",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="A mirror of the GFC folders (default: ASM_PACE_HANSEN_URL, else Google Cloud Storage).",
)
@_data_options
@_common
def fetch_hansen(
    ctx: _Ctx,
    bounds: list[str],
    version: str | None,
    layers: list[str] | None,
    base_url: str | None,
    data_dir: Path | None,
    offline: bool,
) -> int:
    """Fetch the Hansen GFC tiles (10 degrees each) that the box W,S,E,N touches.

    \b
    Examples:
      asm-pace fetch hansen --bounds -71,-13,-69,-12
      asm-pace fetch hansen --bounds 175,-20,-175,-15 --layers treecover2000,lossyear
    """
    from .data import DEFAULT_HANSEN_VERSION, HANSEN_LAYERS, hansen_tiles

    tiles = hansen_tiles(
        bounds,
        layers=layers or HANSEN_LAYERS,
        version=version or DEFAULT_HANSEN_VERSION,
        cache_dir=data_dir,
        offline=offline or None,
        base_url=base_url,
        progress=ctx.detail,
    )
    return _fetched(ctx, tiles.files)


@fetch.command("ecoregions", short_help="WWF Terrestrial Ecoregions of the World (zip).")
@click.option(
    "--url",
    metavar="URL",
    help="Another address of the zip (default: ASM_PACE_ECOREGIONS_URL, else WWF's).",
)
@_data_options
@_common
def fetch_ecoregions(ctx: _Ctx, url: str | None, data_dir: Path | None, offline: bool) -> int:
    """Fetch WWF's Terrestrial Ecoregions of the World (official_teow.zip)."""
    from .data import fetch_ecoregions as fetch_teow

    found = fetch_teow(cache_dir=data_dir, offline=offline or None, url=url, progress=ctx.detail)
    return _fetched(ctx, [found])


@fetch.command("wdpa", short_help="A monthly WDPA release of Protected Planet (zip).")
@click.option("--month", required=True, metavar="MonYYYY", help="The release, e.g. Nov2025.")
@click.option("--country", metavar="ISO3", help="One country's file instead of the world's.")
@click.option(
    "--base-url",
    metavar="URL",
    help="A mirror of the release folder (default: ASM_PACE_WDPA_URL, else Protected Planet's).",
)
@_data_options
@_common
def fetch_wdpa(
    ctx: _Ctx,
    month: str,
    country: str | None,
    base_url: str | None,
    data_dir: Path | None,
    offline: bool,
) -> int:
    """Fetch one monthly WDPA release (non-commercial use, with attribution).

    \b
    Examples:
      asm-pace fetch wdpa --month Nov2025
      asm-pace fetch wdpa --month Nov2025 --country PER
    """
    from .data import fetch_wdpa as fetch_month

    found = fetch_month(
        month,
        country=country,
        cache_dir=data_dir,
        offline=offline or None,
        base_url=base_url,
        progress=ctx.detail,
    )
    return _fetched(ctx, [found])


@cli.command(short_help="Report every problem in a site list.")
@click.argument("sites", type=_existing)
@_site_options
@_common
def validate(
    ctx: _Ctx,
    sites: Path,
    lon: str | None,
    lat: str | None,
    id_column: str | None,
    new_ids: bool,
    sites_layer: str | None,
    sites_crs: str | None,
) -> int:
    """Report every problem in the site list SITES, without classifying.

    Exit status 0 when the list is clean, 2 when it has problems (each one
    printed with its line, column, value and what to do).

    \b
    Examples:
      asm-pace validate sites.csv
      asm-pace validate survey.xlsx --sites-layer 2024 --lon X --lat Y
    """
    from .errors import SiteValidationError
    from .sites import read_sites

    kwargs = _site_kwargs(lon, lat, id_column, new_ids, sites_layer, sites_crs)
    try:  # one reading: the error carries every problem
        n = len(read_sites(sites, **kwargs))
    except SiteValidationError as err:
        first, *rest = err.lines()  # every problem, not only the first 50
        _echo(f"Error: {first}", err=True)
        for line in rest:
            _echo(line, err=True)
        return EXIT_BAD_INPUT
    ctx.info(f"{sites}: {n} site(s), no problems found.")
    return EXIT_OK


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``asm-pace`` script."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli.main(args=argv, prog_name="asm-pace")


if __name__ == "__main__":  # pragma: no cover
    main()
