"""Layers written by a second process (:class:`asm_pace.output.SideWriter`) and copied into
the GeoPackage at their turn: the file a write in one process makes; a failure there is
said here, and nothing is left behind. And a spool's layer written with its WKB as stored."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from asm_pace.errors import AsmPaceError, InputError, OutputError
from asm_pace.output import LayerStream, SideWriter, write_geopackage
from test_output import _sites
from test_pipeline_stream import _same_file


class _Table:
    """A table to write aside, in parts (picklable: the other process makes its stream);
    an item of the parts that is an exception is raised there, ``crash`` ends it."""

    def __init__(self, parts, geometry_types=frozenset(), crash: bool = False):
        self.parts, self.kinds, self.crash = parts, geometry_types, crash

    def stream(self) -> LayerStream:
        if self.crash:
            os._exit(3)

        def batches():
            for part in self.parts:
                if isinstance(part, Exception):
                    raise part
                yield part

        rows = sum(len(p) for p in self.parts if not isinstance(p, Exception))
        return LayerStream(rows=rows, batches=batches, geometry_types=self.kinds)


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "zone_id": [f"Z{i:05d}" for i in range(n)],
            "year": np.arange(n) % 23 + 2001,
            "loss_ha": rng.random(n),
            "status_year": pd.array(np.where(rng.random(n) < 0.3, None, 1990), dtype="Int64"),
            "inside": rng.random(n) < 0.5,
            "Área (km²)": rng.random(n),  # renamed in the file, noted in run_info
        }
    )


def _parts(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size].reset_index(drop=True) for i in range(0, len(frame), size)]


def _zones(n: int, seed: int) -> gpd.GeoDataFrame:
    """Boxes by radius, some multi-polygons, one empty and one missing geometry."""
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(-170, 170, n), rng.uniform(-80, 80, n)
    geoms = np.array(shapely.box(x, y, x + 0.5, y + 0.5), dtype=object)
    geoms[::7] = [shapely.MultiPolygon([g, shapely.box(0, 0, 1, 1)]) for g in geoms[::7]]
    geoms[3], geoms[5] = shapely.Polygon(), None
    return gpd.GeoDataFrame({"zone_id": [f"Z{i}" for i in range(n)],
                             "radius_km": rng.choice([1.0, 10.0], n), "v": rng.random(n)},
                            geometry=geoms, crs=4326)  # fmt: skip


def test_layers_written_aside_make_the_file_of_one_write(tmp_path):
    """Three tables (one in several parts, one empty) and a feature layer in parts (mixed
    polygons and multi-polygons: promoted), written by the other process and copied in
    between layers written here: the same layers in the same order, the same rows, fids, types, feature
    counts, spatial index (checked by SQLite's rtreecheck), triggers, styles, renamed
    columns and run_info as the file written here alone."""
    first, second, zones = _table(2_500, 1), _table(40, 2), _zones(1_000, 3)
    sites = _sites()[["site_id", "pace_class", "nearest_pa_km", "geometry"]]
    empty = _table(0, 4)
    layers = {"sites": sites, "zones": zones, "loss": first, "pairs": second,
              "none": empty, "more_sites": sites}  # fmt: skip
    write_geopackage(tmp_path / "one.gpkg", layers)
    kinds = frozenset({"Polygon", "MultiPolygon"})
    side = SideWriter(tmp_path / "two.gpkg", {"zones": _Table(_parts(zones, 300), kinds),
                                             "loss": _Table(_parts(first, 900)),
                                             "pairs": _Table([second]),
                                             "none": _Table([empty])})  # fmt: skip
    try:
        write_geopackage(tmp_path / "two.gpkg", {**layers, **side.layers})
    finally:
        side.close()
    assert [side.layers[n].rows for n in ("zones", "loss", "pairs", "none")] == [
        1_000, 2_500, 40, 0]  # fmt: skip
    _same_file(tmp_path / "one.gpkg", tmp_path / "two.gpkg")
    # the copied spatial index finds what the written one finds
    for box in ((0, 0, 10, 10), (-100, -50, 20, 30)):
        one, two = (pyogrio.read_dataframe(tmp_path / f, layer="zones", bbox=box)
                    for f in ("one.gpkg", "two.gpkg"))  # fmt: skip
        assert len(one) > 0 and one["zone_id"].tolist() == two["zone_id"].tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.gpkg", "two.gpkg"]


def test_a_table_failing_aside_says_why_and_leaves_nothing(tmp_path):
    """The other process's own error, raised here; or, when it dies, what happened; no
    output, no file of the other process left behind."""
    sites = _sites()[["site_id", "geometry"]]
    good = _table(30, 3)
    out = tmp_path / "out.gpkg"
    for item, error, match in (
        (_Table([good, AsmPaceError("the scratch file is gone")]), AsmPaceError, "scratch"),
        (_Table([good, good.assign(year="late")]), OutputError, r"layer 'loss'.*year"),
        (_Table([good], crash=True), OutputError, r"ended before it was written \(exit code 3"),
    ):
        side = SideWriter(out, {"loss": item})
        try:
            with pytest.raises(error, match=match):
                write_geopackage(out, {"sites": sites, "loss": side.layers["loss"]})
        finally:
            side.close()
        assert list(tmp_path.iterdir()) == []


class _Slow(_Table):
    """A table whose second part never comes (the other process waits, mid-write)."""

    def stream(self) -> LayerStream:
        import time

        def batches():
            yield self.parts[0]
            time.sleep(600)

        return LayerStream(rows=2 * len(self.parts[0]), batches=batches)


def test_closing_stops_a_write_midway_and_leaves_nothing(tmp_path):
    """Closed while the other process is writing (its temporary begun): the process is
    stopped and its files, the temporary included, removed."""
    import time

    side = SideWriter(tmp_path / "out.gpkg", {"loss": _Slow([_table(50, 5)])})
    try:
        for _ in range(300):  # its temporary appears once GDAL has begun the file
            if any(tmp_path.iterdir()):
                break
            time.sleep(0.1)
        assert any(p.name.endswith(".tmp.gpkg") for p in tmp_path.iterdir())
    finally:
        side.close()
    assert not side._process.is_alive()
    assert list(tmp_path.iterdir()) == []


def test_a_table_written_aside_is_not_the_first_layer(tmp_path):
    side = SideWriter(tmp_path / "out.gpkg", {"loss": _Table([_table(3, 4)])})
    try:
        with pytest.raises(InputError, match="cannot be the first layer"):
            write_geopackage(tmp_path / "out.gpkg", {"loss": side.layers["loss"]})
    finally:
        side.close()
    assert list(tmp_path.iterdir()) == []


def test_a_spool_layer_written_undecoded_is_the_decoded_layer(tmp_path):
    """Zones of mixed polygons and multipolygons, an empty one and a missing one, spooled
    in two chunks and written with their WKB as read back (types and bounds from the
    spool): the input's geometries (polygons made multi-polygons) and extent, and the file
    and the stand-in of the same layer decoded and written whole."""
    from asm_pace.chunked import ZoneSpool
    from asm_pace.pipeline import _as_read, _Streamed

    n = 12
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)]},
                             geometry=shapely.points(np.arange(n), np.zeros(n)), crs=4326)  # fmt: skip
    geoms = [shapely.box(i, 0, i + 0.5, 0.5) for i in range(n)]
    geoms[3] = shapely.MultiPolygon([geoms[3], shapely.box(40, 40, 41, 41)])
    geoms[5], geoms[7] = shapely.Polygon(), None
    zones = gpd.GeoDataFrame({"site_id": sites["site_id"], "radius_km": 1.0,
                              "cluster_id": [f"C{i // 2}" for i in range(n)],
                              "loss_ha": np.linspace(0, 1, n)}, geometry=geoms, crs=4326)  # fmt: skip
    clusters = gpd.GeoDataFrame({"cluster_id": [f"C{i}" for i in range(n // 2)],
                                 "radius_km": 1.0},
                                geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n // 2)],
                                crs=4326)  # fmt: skip
    pairs = pd.DataFrame({"site_id": ["S1", "S8"], "pa_id": ["P1", "P2"]})
    spool = ZoneSpool(tmp_path / "spool.sqlite", sites, 1)
    try:
        for rows, cl in ((slice(0, 6), slice(0, 3)), (slice(6, n), slice(3, 6))):
            spool.add(zones.iloc[rows], clusters.iloc[cl], pairs[pairs.site_id.isin(
                zones.site_id.iloc[rows])])  # fmt: skip
        spool.finish()
        layer = _Streamed(spool, "zones", _as_read)
        whole = layer.read()
        assert isinstance(whole.geometry.values[0], shapely.Polygon)  # decoded
        undecoded = layer.stream()
        write_geopackage(tmp_path / "a.gpkg", {"buffers": whole})
        write_geopackage(tmp_path / "b.gpkg", {"buffers": undecoded})
        _same_file(tmp_path / "a.gpkg", tmp_path / "b.gpkg")
        # against the input: each zone's geometry (site order), its extent
        written = np.asarray(
            pyogrio.read_dataframe(tmp_path / "b.gpkg", layer="buffers").geometry.values
        )
        given = np.asarray(zones.geometry.values, dtype=object)
        live = ~(shapely.is_missing(given) | shapely.is_empty(given))
        assert shapely.equals(written[live], given[live]).all()
        assert (shapely.get_type_id(written[live]) == 6).all()  # MultiPolygon
        assert shapely.is_missing(written[7]) and shapely.is_empty(written[5])
        extent = undecoded.stand_in().total_bounds
        np.testing.assert_array_equal(extent, zones.geometry[live].total_bounds)
        decoded = LayerStream(rows=n, batches=layer.batches,
                              geometry_types=undecoded.geometry_types)  # fmt: skip
        write_geopackage(tmp_path / "c.gpkg", {"buffers": decoded})
        pd.testing.assert_frame_equal(undecoded.stand_in(), decoded.stand_in())
    finally:
        spool.close()
