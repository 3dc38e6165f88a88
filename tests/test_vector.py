"""The shared vector reader: zip layouts as real downloads ship them, errors, CRS policy."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from asm_pace._vector import (
    layer_refs,
    list_layers,
    named_refs,
    read_vector,
    repair_polygons,
    to_wgs84,
)
from asm_pace.errors import (
    CRSError,
    LayerNotFoundError,
    NoCRSWarning,
    ReadError,
    RepairedGeometryWarning,
)


def _layer(n: int, x0: float = -70.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [f"P{i}" for i in range(n)]},
        geometry=[shapely.Point(x0 + i * 0.1, -12.0) for i in range(n)],
        crs="EPSG:4326",
    )


def _zip(folder: Path, out: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, prefix + str(f.relative_to(folder)))
    return out


def test_zip_with_shapefiles_in_a_subfolder(tmp_path: Path) -> None:
    """WWF's TEOW zip holds official/wwf_terr_ecos.shp."""
    src = tmp_path / "src"
    src.mkdir()
    _layer(3).to_file(src / "wwf_terr_ecos.shp")
    z = _zip(src, tmp_path / "official_teow.zip", prefix="official/")
    assert list_layers(z) == [("wwf_terr_ecos", "Point")]
    got = read_vector(z)
    assert list(got["code"]) == ["P0", "P1", "P2"]


def test_zip_of_zips_lists_every_part(tmp_path: Path) -> None:
    """Protected Planet's shapefile download: a zip holding three zips of shapefiles."""
    outer_dir = tmp_path / "outer"
    outer_dir.mkdir()
    for k in range(3):
        part = tmp_path / f"part{k}"
        part.mkdir()
        _layer(k + 1, x0=-70.0 + k).to_file(part / "WDPA_poly.shp")
        _zip(part, outer_dir / f"WDPA_shp_{k}.zip")
    z = _zip(outer_dir, tmp_path / "WDPA_shp.zip")
    refs = layer_refs(z)
    assert [r.name for r in refs] == ["WDPA_poly"] * 3
    assert [r.display.rsplit("!", 1)[1] for r in refs] == [f"WDPA_shp_{k}.zip" for k in range(3)]
    # read_vector takes the first part of the name; each part reads on its own via its ref
    assert len(read_vector(z, layer="WDPA_poly")) == 1
    # named_refs gives every part of that name (case ignored) and lists names once when missing
    assert named_refs(refs, "wdpa_POLY", source=z) == refs
    with pytest.raises(LayerNotFoundError, match=r"its layers are: WDPA_poly$"):
        named_refs(refs, "points", source=z)


def test_zipped_file_geodatabase(tmp_path: Path) -> None:
    gdb = tmp_path / "x.gdb"
    _layer(2).to_file(gdb, driver="OpenFileGDB", layer="pts")
    z = _zip(tmp_path / "x.gdb", tmp_path / "x.gdb.zip", prefix="x.gdb/")
    assert list_layers(z) == [("pts", "Point")]
    assert len(read_vector(z, layer="PTS")) == 2  # layer names match case-insensitively


def test_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="no such file"):
        read_vector(tmp_path / "absent.gpkg")
    empty = tmp_path / "empty.gpkg"
    empty.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.gpkg.*empty"):
        read_vector(empty)
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not a geopackage")
    with pytest.raises(ReadError, match=r"junk\.gpkg"):
        read_vector(junk)
    badzip = tmp_path / "bad.zip"
    badzip.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ReadError, match="not a valid zip"):
        read_vector(badzip)
    good = tmp_path / "good.gpkg"
    _layer(1).to_file(good, layer="sites")
    with pytest.raises(LayerNotFoundError, match="its layers are: sites"):
        read_vector(good, layer="nope")
    with pytest.raises(LayerNotFoundError):
        read_vector(good, layer=3)


def test_fiona_engine_reads_the_same(tmp_path: Path) -> None:
    f = tmp_path / "a.gpkg"
    _layer(4).to_file(f)
    a = read_vector(f, engine="pyogrio")
    b = read_vector(f, engine="fiona")
    assert list(a["code"]) == list(b["code"])
    assert a.geometry.geom_equals(b.geometry).all()


def test_crs_policy() -> None:
    lonlat = gpd.GeoDataFrame(geometry=[shapely.Point(-70.0, -12.0)])
    with pytest.warns(NoCRSWarning, match="read as EPSG:4326"):
        out = to_wgs84(lonlat, source="x.shp")
    assert out.crs.to_epsg() == 4326
    metres = gpd.GeoDataFrame(geometry=[shapely.Point(500000.0, 8600000.0)])
    with pytest.raises(CRSError, match=r"x\.shp.*not longitude/latitude"):
        to_wgs84(metres, source="x.shp")
    # 3-D geographic CRS with Z values -> 2-D EPSG:4326, same lon/lat
    z = gpd.GeoDataFrame(geometry=[shapely.Point(-70.0, -12.0, 250.0)], crs="EPSG:4979")
    out = to_wgs84(z)
    assert out.crs.to_epsg() == 4326
    assert not out.geometry.has_z.any()
    assert out.geometry.iloc[0].equals_exact(shapely.Point(-70.0, -12.0), 1e-9)


def test_repair_warns_with_the_count() -> None:
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    g = gpd.GeoDataFrame(geometry=[bowtie, shapely.box(2, 2, 3, 3)], crs="EPSG:4326")
    with pytest.warns(RepairedGeometryWarning, match="1 invalid polygon"):
        out = repair_polygons(g)
    assert out.is_valid.all()
    # the bow-tie's two triangles each have area 0.25 (hand-worked)
    assert out.geometry.iloc[0].area == pytest.approx(0.5)


@pytest.mark.parametrize("missing", [".dbf", ".shx"])
@pytest.mark.parametrize("zipped", [False, True])
def test_a_shapefile_without_its_dbf_or_shx_is_refused(tmp_path, missing, zipped):
    """GDAL reads a .shp without its .dbf as bare shapes: ids and WDPA fields silently lost."""
    from asm_pace import read_sites

    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame(
        {"site_id": ["A", "B"]},
        geometry=[shapely.Point(-70, -12), shapely.Point(-69, -12)],
        crs="EPSG:4326",
    ).to_file(folder / "sites.shp")
    assert read_sites(folder / "sites.shp")["site_id"].tolist() == ["A", "B"]
    (folder / f"sites{missing}").unlink()
    source = folder / "sites.shp"
    if zipped:
        source = tmp_path / "sites.zip"
        with zipfile.ZipFile(source, "w") as zf:
            for part in folder.iterdir():
                zf.write(part, part.name)
    with pytest.raises(ReadError, match=rf"sites{missing} \(.*\) is missing"):
        read_sites(source)
