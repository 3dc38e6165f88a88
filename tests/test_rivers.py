"""read_rivers: the HydroRIVERS schema, a mapped network, and every refusal.

Expected values are independent of the code: geodesic lengths from ``pyproj.Geod``
directly, ids and flags worked out by hand from the tiny networks written here.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Geod

import asm_pace
from asm_pace.errors import (
    ExtentWarning,
    InconsistentValueWarning,
    InputError,
    ReadError,
    SchemaError,
)
from asm_pace.rivers import RIVER_COLUMNS, line_lengths_km, read_rivers

GEOD = Geod(ellps="WGS84")


def _km(line) -> float:
    return GEOD.geometry_length(line) / 1000.0


def hydrorivers(**overrides) -> gpd.GeoDataFrame:
    """Three reaches along the equator: 11 -> 12 -> 13 -> outlet, and 14 -> 12 (a confluence)."""
    lines = [
        shapely.LineString([(0, 0), (0.1, 0)]),
        shapely.LineString([(0.1, 0), (0.2, 0)]),
        shapely.LineString([(0.2, 0), (0.3, 0)]),
        shapely.LineString([(0.1, 0.1), (0.1, 0)]),
    ]
    cols = {
        "HYRIV_ID": [11, 12, 13, 14],
        "NEXT_DOWN": [12, 13, 0, 12],
        "MAIN_RIV": [13, 13, 13, 13],
        "LENGTH_KM": [round(_km(g), 2) for g in lines],
        "DIST_DN_KM": [22.26, 11.13, 0.0, 22.26],
        "ENDORHEIC": [0, 0, 0, 0],
        "DIS_AV_CMS": [1.0, 3.0, 3.5, 2.0],
    }
    cols.update(overrides)
    return gpd.GeoDataFrame(cols, geometry=lines, crs="EPSG:4326")


def test_reads_the_hydrorivers_schema(tmp_path):
    path = tmp_path / "HydroRIVERS_v10_test.shp"
    hydrorivers().to_file(path)
    got = read_rivers(path)
    assert list(got.columns) == [*RIVER_COLUMNS, "geometry"]
    assert got["reach_id"].tolist() == [11, 12, 13, 14]
    assert got["next_id"].tolist() == [12, 13, 0, 12]
    assert got["discharge_cms"].tolist() == [1.0, 3.0, 3.5, 2.0]
    assert not got["truncated"].any() and not got["endorheic"].any()
    assert got.attrs["counts"] == {"read": 4, "used": 4, "truncated": 0}
    assert got.crs.to_epsg() == 4326


def test_geodesic_lengths_against_geod():
    lines = np.array(
        [
            shapely.LineString([(-70, -12), (-69.5, -12.3), (-69.4, -12.31)]),
            shapely.MultiLineString([[(10, 60), (11, 60)], [(12, 60), (12, 61)]]),
            None,
        ]
    )
    got = line_lengths_km(lines)
    assert got[0] == pytest.approx(_km(lines[0]), rel=1e-9)
    assert got[1] == pytest.approx(_km(lines[1]), rel=1e-9)
    assert got[2] == 0.0


def test_missing_lengths_and_discharge():
    """No LENGTH_KM: the geodesic length; no DIS_AV_CMS: NaN."""
    raw = hydrorivers().drop(columns=["LENGTH_KM", "DIS_AV_CMS"])
    got = read_rivers(raw)
    expected = [_km(g) for g in raw.geometry]
    assert got["length_km"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert got["discharge_cms"].isna().all()


def test_another_network_mapped_with_keywords():
    raw = hydrorivers().rename(columns={"HYRIV_ID": "seg", "NEXT_DOWN": "to_seg"})
    with pytest.raises(SchemaError, match="HYRIV_ID and NEXT_DOWN"):
        read_rivers(raw)
    got = read_rivers(raw, id_column="seg", next_column="to_seg")
    assert got["next_id"].tolist() == [12, 13, 0, 12]


def test_truncated_network_is_kept_and_flagged():
    """A NEXT_DOWN naming a reach not in the file: the network was cut, not broken."""
    got = read_rivers(hydrorivers(NEXT_DOWN=[12, 13, 99, 12]))
    assert got["truncated"].tolist() == [False, False, True, False]
    assert got.attrs["counts"]["truncated"] == 1


def test_endorheic_flag():
    got = read_rivers(hydrorivers(ENDORHEIC=[0, 0, 1, 0]))
    assert got["endorheic"].tolist() == [False, False, True, False]


def test_bbox_reads_part_and_flags_the_cut(tmp_path):
    path = tmp_path / "rivers.gpkg"
    hydrorivers().to_file(path, layer="rivers")
    got = read_rivers(path, bbox=(-0.01, -0.01, 0.12, 0.2))
    # 11 (0..0.1), 12 (touches 0.1..0.2) and 14 meet the box; 13 does not: 12 is cut
    assert sorted(got["reach_id"]) == [11, 12, 14]
    assert got.set_index("reach_id").loc[12, "truncated"]
    assert got.attrs["bbox"] == (-0.01, -0.01, 0.12, 0.2)
    with pytest.raises(InputError, match="no reach meets the box"):
        read_rivers(path, bbox=(50, 50, 51, 51))


def test_bbox_on_a_projected_layer(tmp_path):
    """The box is lon/lat; a layer in UTM is filtered after reprojection, not by GDAL."""
    path = tmp_path / "utm.gpkg"
    hydrorivers().to_crs("EPSG:32631").to_file(path, layer="rivers")
    got = read_rivers(path, bbox=(0.25, -0.01, 0.4, 0.01))
    assert got["reach_id"].tolist() == [13]


def test_the_sample_network(samples):
    rivers = asm_pace.read_rivers(samples / "rivers.gpkg")
    # Rio Alfa's last reach flows on past the sample extent; the creek ends in an outlet
    assert rivers["truncated"].sum() == 1
    assert (rivers["next_id"] == 0).sum() == 1
    assert rivers["reach_id"].is_unique
    # LENGTH_KM is the geodesic length rounded to 10 m
    assert np.abs(rivers["length_km"] - line_lengths_km(rivers.geometry.values)).max() <= 0.005


# --------------------------------------------------------------------------- refusals
def test_refuses_a_polygon_layer(tmp_path):
    path = tmp_path / "pas.gpkg"
    gpd.GeoDataFrame(
        {"HYRIV_ID": [1], "NEXT_DOWN": [0]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
    ).to_file(path, layer="areas")
    with pytest.raises(InputError, match=r"no line layer.*--rivers"):
        read_rivers(path)


def test_refuses_points_in_a_mixed_layer():
    raw = hydrorivers()
    raw.loc[2, "geometry"] = shapely.Point(0.25, 0)
    with pytest.raises(InputError, match="rows 3 are not lines"):
        read_rivers(raw)


def test_refuses_a_reach_of_no_length():
    raw = hydrorivers()
    raw.loc[1, "geometry"] = shapely.LineString([(0.1, 0), (0.1, 0)])
    with pytest.raises(InputError, match="rows 2 are lines of no length"):
        read_rivers(raw)


def test_refuses_duplicate_ids():
    with pytest.raises(InputError, match=r"HYRIV_ID repeats in rows 2, 3 \(ids \[12\]\)"):
        read_rivers(hydrorivers(HYRIV_ID=[11, 12, 12, 14]))


def test_refuses_ids_that_are_not_whole_numbers():
    with pytest.raises(InputError, match=r"NEXT_DOWN .* rows 2 "):
        read_rivers(hydrorivers(NEXT_DOWN=[12, 13.5, 0, 12]))
    with pytest.raises(InputError, match=r"NEXT_DOWN .* rows 1 "):
        read_rivers(hydrorivers(NEXT_DOWN=[-1, 13, 0, 12]))
    with pytest.raises(InputError, match=r"HYRIV_ID .* rows 4 "):
        read_rivers(hydrorivers(HYRIV_ID=[11, 12, 13, None]))


def test_refuses_negative_lengths_and_discharge():
    with pytest.raises(InputError, match=r"LENGTH_KM \(reach length in km\).* rows 2 "):
        read_rivers(hydrorivers(LENGTH_KM=[11.13, -1.0, 11.13, 11.13]))
    with pytest.raises(InputError, match=r"DIS_AV_CMS .* rows 4 "):
        read_rivers(hydrorivers(DIS_AV_CMS=[1.0, 3.0, 3.5, -2.0]))


def test_warns_when_length_km_is_not_the_length():
    """LENGTH_KM in metres, say: 1000 times the line's length."""
    with pytest.warns(InconsistentValueWarning, match="LENGTH_KM differs .* 4 reach"):
        got = read_rivers(hydrorivers(LENGTH_KM=[11132.0, 11132.0, 11132.0, 11132.0]))
    assert got["length_km"].tolist() == [11132.0] * 4  # kept: the user was told


def test_refuses_an_empty_layer(tmp_path):
    path = tmp_path / "empty.gpkg"
    hydrorivers().iloc[:0].to_file(path, layer="rivers")
    with pytest.raises(ReadError, match="holds no reaches"):
        read_rivers(path)


def test_asks_which_of_two_line_layers(tmp_path):
    path = tmp_path / "two.gpkg"
    hydrorivers().to_file(path, layer="streams_a")
    hydrorivers().to_file(path, layer="streams_b")
    with pytest.raises(InputError, match="--rivers-layer"):
        read_rivers(path)
    assert len(read_rivers(path, layer="streams_b")) == 4
    assert pyogrio.list_layers(path).shape[0] == 2  # the input is untouched


def test_sites_off_the_network_warn_extent():
    """Sites far from every reach of the network: a network of another region."""
    sites = gpd.GeoDataFrame({"site_id": ["far"]}, geometry=[shapely.Point(20, 20)], crs=4326)
    with pytest.warns(ExtentWarning, match="1 site\\(s\\) lie outside the network's extent"):
        out = asm_pace.downstream(sites, read_rivers(hydrorivers()), None)
    assert out.sites["downstream_status"].tolist() == ["no river within 5 km"]


def test_no_warning_on_a_clean_network():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_rivers(hydrorivers())
