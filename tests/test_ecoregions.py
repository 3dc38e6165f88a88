"""read_ecoregions and read_priority_landscapes on files written here with GDAL's drivers."""

from __future__ import annotations

import warnings
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from asm_pace import read_ecoregions, read_priority_landscapes
from asm_pace.ecoregions import TEOW_BIOMES
from asm_pace.errors import RepairedGeometryWarning, SchemaError

BOXES = [shapely.box(-71, -13, -70, -12), shapely.box(-70, -13, -69, -12), shapely.box(-69, -13, -68, -12)]  # fmt: skip


def teow(tmp_path, *, crs="EPSG:4326", driver="GPKG", name="teow.gpkg"):
    """Three TEOW polygons: G200 #37; the quirk (G200_REGIO filled, G200_NUM 0); plain."""
    gdf = gpd.GeoDataFrame(
        {
            "ECO_NAME": ["Hispaniolan moist forests", "Quirk dry forests", "Mangrove coast"],
            "REALM": ["NT", "NT", "NT"],
            "BIOME": [1.0, 2.0, 14.0],  # doubles, as in the shapefile
            "ECO_ID": [60127.0, 60200.0, 61401.0],
            "G200_REGIO": ["Greater Antillean Moist Forests", "Some Region", None],
            "G200_NUM": [37.0, 0.0, 0.0],
            "G200_BIOME": [1.0, 0.0, 0.0],
            "G200_STAT": [1.0, 0.0, 0.0],
        },
        geometry=BOXES,
        crs="EPSG:4326",
    ).to_crs(crs)
    path = tmp_path / name
    gdf.to_file(path, driver=driver, engine="pyogrio")
    return path


def test_teow_g200_membership_and_quirk(tmp_path):
    eco = read_ecoregions(teow(tmp_path))
    assert list(eco.columns) == [
        "eco_id", "eco_name", "biome", "biome_name", "realm", "g200_region", "g200_num",
        "g200_biome", "g200_status", "is_g200", "geometry",
    ]  # fmt: skip
    assert list(eco["is_g200"]) == [True, False, False]
    assert list(eco["g200_region"]) == ["Greater Antillean Moist Forests", "", ""]
    assert list(eco["eco_id"]) == [60127, 60200, 61401]
    assert eco["eco_id"].dtype == "Int64" and eco["biome"].dtype == "Int64"
    # Olson et al. (2001): biome 14 is mangroves, biome 1 tropical moist broadleaf forests
    assert eco["biome_name"].iloc[2] == "Mangroves"
    assert eco["biome_name"].iloc[0] == "Tropical & Subtropical Moist Broadleaf Forests"
    assert len([k for k in TEOW_BIOMES if 1 <= k <= 14]) == 14
    assert eco.crs.to_epsg() == 4326


def test_zipped_shapefile_and_fiona(tmp_path):
    shp = teow(tmp_path, driver="ESRI Shapefile", name="wwf_terr_ecos.shp")
    zpath = tmp_path / "official_teow.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in tmp_path.glob("wwf_terr_ecos.*"):
            zf.write(f, f.name)
    a = read_ecoregions(zpath)
    b = read_ecoregions(shp, engine="fiona")
    assert list(a["is_g200"]) == list(b["is_g200"]) == [True, False, False]


def test_global200_layer_without_eco_id(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"G200_REGIO": ["Guinean Moist Forests", "Napo Moist Forests"], "AREA": [1.0, 2.0]},
        geometry=BOXES[:2],
        crs="EPSG:4326",
    )
    path = tmp_path / "g200_terr.gpkg"
    gdf.to_file(path)
    eco = read_ecoregions(path)
    assert list(eco["is_g200"]) == [True, True]
    assert list(eco["g200_region"]) == ["Guinean Moist Forests", "Napo Moist Forests"]
    assert eco["eco_id"].isna().all()


def test_no_way_to_tell_g200_is_an_error(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"ECO_NAME": ["a"], "ECO_ID": [1], "BIOME": [1]}, geometry=BOXES[:1], crs="EPSG:4326"
    )
    path = tmp_path / "no_g200.gpkg"
    gdf.to_file(path)
    with pytest.raises(SchemaError, match=r"no_g200\.gpkg.*G200_NUM.*ECO_NAME, ECO_ID, BIOME"):
        read_ecoregions(path)


def test_any_crs(tmp_path):
    custom = CRS.from_proj4("+proj=aea +lat_1=-5 +lat_2=-20 +lon_0=-70 +ellps=WGS84 +units=m")
    for crs in ("EPSG:4979", custom):
        eco = read_ecoregions(teow(tmp_path, crs=crs, name="c.gpkg"))
        assert eco.crs.to_epsg() == 4326
        np.testing.assert_allclose(eco.total_bounds, (-71, -13, -68, -12), atol=1e-6)
        (tmp_path / "c.gpkg").unlink()


def test_invalid_ecoregion_repaired(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"ECO_ID": [1], "G200_NUM": [5]},
        geometry=[shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])],
        crs="EPSG:4326",
    )
    path = tmp_path / "bow.gpkg"
    gdf.to_file(path)
    with pytest.warns(RepairedGeometryWarning, match="1 invalid"):
        eco = read_ecoregions(path)
    assert eco.is_valid.all() and eco.geometry.iloc[0].area == pytest.approx(0.5)


def test_samples(samples):
    eco = read_ecoregions(samples / "ecoregions.gpkg")
    # data/samples/README.md: G200_NUM 47 and 43 are Global 200; one quirk row is not
    assert sorted(eco.loc[eco["is_g200"], "g200_num"]) == [43, 47]
    assert (eco.loc[~eco["is_g200"], "g200_region"] == "").all()
    pl = read_priority_landscapes(samples / "priority_landscapes.gpkg")
    assert sorted(pl["landscape_name"]) == ["Madre de Dios Landscape", "Tambo Alfa Corridor"]


def test_priority_landscapes_name_column(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"code": ["L1", "L2"], "titulo": ["Uno", "Dos"], "zona": ["a", "b"]},
        geometry=BOXES[:2],
        crs="EPSG:4326",
    )
    path = tmp_path / "pl.gpkg"
    gdf.to_file(path)
    with pytest.raises(SchemaError, match=r"Pass name_column"):
        read_priority_landscapes(path)
    pl = read_priority_landscapes(path, name_column="TITULO")
    assert list(pl["landscape_name"]) == ["Uno", "Dos"]
    with pytest.raises(SchemaError, match="code, titulo, zona"):
        read_priority_landscapes(path, name_column="nombre")
    gdf.rename(columns={"titulo": "LANDSCAPE"}).to_file(tmp_path / "pl2.gpkg")
    assert list(read_priority_landscapes(tmp_path / "pl2.gpkg")["landscape_name"]) == [
        "Uno",
        "Dos",
    ]


@pytest.mark.realdata
def test_realdata_teow_clip(realdata):
    path = realdata / "mapme_dom_sierra_neiba" / "wwf_terr_ecos_clip_sierra_neiba.gpkg"
    eco = read_ecoregions(path)
    # SOURCE.md: moist forests G200 #37, pine forests G200 #62, dry forests not G200
    got = dict(zip(eco["eco_name"], eco["g200_num"].where(eco["is_g200"]), strict=True))
    assert got["Hispaniolan moist forests"] == 37
    assert got["Hispaniolan pine forests"] == 62
    assert pd.isna(got["Hispaniolan dry forests"])


@pytest.mark.realdata
def test_realdata_teow_attribute_table(realdata):
    """The G200 rule on the full TEOW table (14,458 polygons, no geometry: boxes stand in)."""
    table = pd.read_csv(realdata / "teow_attribute_table" / "teow_polygons_attributes_14458.csv")
    n = len(table)
    boxes = shapely.box(np.arange(n) * 0.01 - 179, 0, np.arange(n) * 0.01 - 179 + 0.005, 0.005)
    gdf = gpd.GeoDataFrame(table, geometry=boxes, crs="EPSG:4326")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eco = read_ecoregions(gdf)
    # SOURCE.md counts 394 of 827 ECO_IDs with G200_NUM != 0: that includes "Rock and Ice"
    # (-9999) and "Lake" (-9998), which are not Global 200; G200_NUM > 0 leaves 392
    per_eco = table.groupby("ECO_ID")["G200_NUM"].max()
    assert int((per_eco != 0).sum()) == 394
    assert eco.loc[eco["is_g200"], "eco_id"].nunique() == int((per_eco > 0).sum()) == 392
    assert eco["eco_id"].nunique() == 827
    assert eco.loc[eco["is_g200"], "g200_num"].nunique() == 142
    quirk = (table["G200_NUM"] == 0) & table["G200_REGIO"].notna()
    assert int(quirk.sum()) == 772
    assert (eco.loc[quirk.to_numpy(), "g200_region"] == "").all()
    assert not eco.loc[quirk.to_numpy(), "is_g200"].any()


def test_geodataframe_input_is_left_untouched():
    bowtie = shapely.Polygon([(0, 0), (1e5, 1e5), (1e5, 0), (0, 1e5)])
    gdf = gpd.GeoDataFrame({"ECO_ID": [1], "G200_NUM": [5]}, geometry=[bowtie], crs="EPSG:32719")
    gdf.attrs["source"] = "memory"
    before = gdf.copy()
    with pytest.warns(RepairedGeometryWarning, match="memory: 1 invalid"):
        eco = read_ecoregions(gdf)
    assert eco.crs.to_epsg() == 4326 and eco.is_valid.all()
    assert gdf.crs.to_epsg() == 32719 and gdf.attrs == {"source": "memory"}
    assert shapely.equals_exact(gdf.geometry.values, before.geometry.values, tolerance=0).all()
    assert not gdf.is_valid.any()
