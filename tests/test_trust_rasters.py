"""Raster identity and value domains (issue 9): what forest_loss refuses, and what it accepts.

The domain checks are fuzzed against a brute-force per-pixel predicate written from the
rules (tree cover 0-100 percent, loss year 0 or 1 to the current year or those calendar
years, gain 0/1; nodata and non-finite values are missing; a nodata tag inside the domain,
fractions given as percent and a run without any data are refused), on real GeoTIFFs read
through the real paths (the uint8 lookup table and the general path).
"""

from __future__ import annotations

import datetime
import math
import os
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from asm_pace import forest_loss, raster_stats
from asm_pace._raster import LAST_LOSS_YEAR, ROLES, open_layer
from asm_pace.errors import CoverageWarning, RasterError, ReadError
from corpus.rasters import RES, X0, Y0, full, tif

LAST = datetime.date.today().year - 2000


def zone(x0=X0, y0=Y0, n=20):
    """The box of an n x n raster at (x0, y0) (cells of RES degrees)."""
    return gpd.GeoDataFrame(
        geometry=[shapely.box(x0, y0 - n * RES, x0 + n * RES, y0)], crs="EPSG:4326"
    )


def quiet_forest_loss(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CoverageWarning)
        return forest_loss(*args, **kwargs)


# --------------------------------------------------------------------------- fuzzing


def in_domain(role: str, x: float) -> bool:
    """The rules, value by value (written apart from asm_pace's Domain)."""
    if role == "treecover":
        return 0 <= x <= 100
    if role == "gain":
        return x in (0, 1)
    return float(x).is_integer() and (0 <= x <= LAST or 2001 <= x <= 2000 + LAST)


def missing(x: float, nodata) -> bool:
    if isinstance(x, float) and not math.isfinite(x):
        return True
    return nodata is not None and (x == nodata or (math.isnan(nodata) and math.isnan(x)))


def brute_force(role_arrays):
    """(accepted, per-pixel validity, tree cover values) by the rules, pixel by pixel."""
    valid = None
    for role, arr, nodata in role_arrays:
        if nodata is not None and in_domain(role, nodata):
            return False, None
        ok = np.zeros(arr.shape, bool)
        for idx, x in np.ndenumerate(arr):
            x = x.item()
            if missing(x, nodata):
                continue
            if not in_domain(role, x):
                return False, None
            ok[idx] = True
        valid = ok if valid is None else valid & ok
    tc, tc_nodata = role_arrays[0][1], role_arrays[0][2]
    seen = [x.item() for x in tc.ravel() if not missing(x.item(), tc_nodata)]
    if tc.dtype.kind == "f" and seen and 0 < max(seen) <= 1:
        return False, None  # fractions given for percent
    ly = role_arrays[1][1]
    if tc.dtype == ly.dtype and np.array_equal(tc, ly) and tc.any():
        return False, None  # the same values in every pixel: one raster given twice
    if not valid.any():
        return False, None  # no data anywhere: refused, not NaN
    return True, valid


VALUES = {  # role: (values in the domain or missing, values outside it)
    "treecover": ([0, 1, 30, 31, 100, 0.5, 99.5, float("nan")], [101, 255, -1]),
    "lossyear": ([0, 1, LAST, 2001, 2000 + LAST], [LAST + 1, 100, 255, -1, 2001 + LAST, 3.5]),
    "gain": ([0, 1], [2, 255, -1, 0.5]),
}


@st.composite
def layer_case(draw, role):
    dtype = draw(st.sampled_from(["uint8", "uint8", "int16", "float32"]))  # uint8: lookup table
    info = np.iinfo(dtype) if dtype != "float32" else None
    good, bad = (
        [v for v in pool if info is None or (float(v).is_integer() and info.min <= v <= info.max)]
        for pool in VALUES[role]
    )
    clean = draw(st.sampled_from([True, True, False]))
    values = st.sampled_from(good if clean else good + bad)
    arr = np.array(draw(st.lists(values, min_size=9, max_size=9)), dtype=dtype)
    nodata = draw(st.sampled_from([None, None, *bad[:2], good[0]]))
    return arr.reshape(3, 3), nodata


@settings(max_examples=30, deadline=None)
@given(
    tc=layer_case("treecover"),
    ly=layer_case("lossyear"),
    gain=st.none() | layer_case("gain"),
)
def test_forest_loss_accepts_iff_every_value_is_in_its_domain(tmp_path_factory, tc, ly, gain):
    folder = tmp_path_factory.mktemp("fuzz")
    (tca, tcn), (lya, lyn) = tc, ly
    layers = [("treecover", tca, tcn), ("lossyear", lya, lyn)]
    paths = {
        "treecover": tif(folder / "tc.tif", tca, nodata=tcn),
        "lossyear": tif(folder / "ly.tif", lya, nodata=lyn),
    }
    if gain is not None:
        paths["gain"] = tif(folder / "gain.tif", gain[0], nodata=gain[1])
        layers.append(("gain", *gain))
    accepted, valid = brute_force(layers)
    event("accepted" if accepted else "refused")
    if not accepted:
        with pytest.raises(RasterError):
            quiet_forest_loss(zone(n=3), **paths)
        return
    out = quiet_forest_loss(zone(n=3), **paths).iloc[0]
    geod = Geod(ellps="WGS84")
    area = np.array(
        [
            [
                abs(geod.geometry_area_perimeter(shapely.box(x, y - RES, x + RES, y))[0])
                for x in X0 + RES * np.arange(3)
            ]
            for y in Y0 - RES * np.arange(3)
        ]
    )
    forest = area[valid & (tca > 30)].sum()
    assert out["forest_2000_ha"] == pytest.approx(forest / 1e4, rel=1e-6, abs=1e-9)
    assert out["data_coverage"] == pytest.approx(area[valid].sum() / area.sum(), rel=1e-6)


def test_last_loss_year_is_the_current_year():
    assert LAST_LOSS_YEAR == LAST
    assert ROLES["lossyear"].domain.contains(LAST) and not ROLES["lossyear"].domain.contains(
        LAST + 1
    )


# --------------------------------------------------------------------------- refusals


def test_gain_outside_0_1_names_the_likely_mix_up(tmp_path):
    tc = tif(tmp_path / "tc.tif", full(80))
    ly = tif(tmp_path / "ly.tif", full(5))
    wrong = tif(tmp_path / "loss_copy.tif", full(5))
    with pytest.raises(
        RasterError, match=r"loss_copy\.tif: value 5 .* loss-year raster given as --gain"
    ):
        forest_loss(zone(), treecover=tc, lossyear=ly, gain=wrong)


@pytest.mark.parametrize(
    ("arr", "nodata", "value"),
    [
        (full(LAST + 1), 255, LAST + 1),  # a year after this one
        (full(4.5, "float32"), None, 4.5),  # not a whole year
        (full(1999, "int16"), -1, 1999),  # a calendar year before 2001
    ],
)
def test_loss_years_outside_the_product(tmp_path, arr, nodata, value):
    tc = tif(tmp_path / "tc.tif", full(80))
    ly = tif(tmp_path / "ly.tif", arr, nodata=nodata)
    with pytest.raises(RasterError, match=rf"ly\.tif: value {value:g} .*--lossyear"):
        forest_loss(zone(), treecover=tc, lossyear=ly)


def test_bad_value_in_the_second_tile_names_that_tile(tmp_path):
    """The uint8 lookup table finds it; the message names the tile holding the pixel."""
    h = tmp_path / "h"
    east = X0 + 10 * RES
    ly_east = np.full((20, 10), 5, "uint8")
    ly_east[7, 3] = 200
    for tag, x0, ly in (("w", X0, np.full((20, 10), 5, "uint8")), ("e", east, ly_east)):
        tif(h / f"treecover2000_{tag}.tif", np.full((20, 10), 80, "uint8"), x0=x0)
        tif(h / f"lossyear_{tag}.tif", ly, x0=x0)
    with pytest.raises(RasterError, match=r"lossyear_e\.tif: value 200 \(pixel row 7, column 3"):
        forest_loss(zone(), treecover=h, lossyear=h)


@pytest.mark.parametrize("dtype", ["uint8", "int16"])  # the lookup table and the general path
def test_a_bad_loss_year_under_gain_nodata_is_still_refused(tmp_path, dtype):
    ly = full(5, dtype)
    ly[3, 3] = 200
    gain = full(1)
    gain[3, 3] = 255
    with pytest.raises(RasterError, match=r"ly\.tif: value 200 \(pixel row 3, column 3"):
        forest_loss(
            zone(),
            treecover=tif(tmp_path / "tc.tif", full(80, dtype)),
            lossyear=tif(tmp_path / "ly.tif", ly),
            gain=tif(tmp_path / "gain.tif", gain, nodata=255),
        )


def test_layers_of_one_file_or_mixed_tiles(tmp_path):
    tc = tif(tmp_path / "tc.tif", full(80))
    ly = tif(tmp_path / "ly.tif", full(5))
    link = tmp_path / "link.tif"
    os.symlink(tc, link)
    with pytest.raises(RasterError, match="same raster is given as --treecover and --lossyear"):
        forest_loss(zone(), treecover=tc, lossyear=link)
    with pytest.raises(RasterError, match="listed twice for --treecover"):
        forest_loss(zone(), treecover=[tc, tc], lossyear=ly)
    rgb = tif(tmp_path / "rgb.tif", np.stack([full(80)] * 3))
    with pytest.raises(RasterError, match=r"rgb\.tif: .* has 3 bands"):
        forest_loss(zone(), treecover=rgb, lossyear=ly)
    half = tif(tmp_path / "tc_e.tif", np.full((20, 10), 80, "int16"), x0=X0 + 10 * RES)
    west = tif(tmp_path / "tc_w.tif", np.full((20, 10), 80, "uint8"))
    with pytest.raises(RasterError, match=r"tc_e\.tif: tree-cover tiles must share one data type"):
        forest_loss(zone(), treecover=[west, half], lossyear=ly)
    gain = tif(tmp_path / "gain.tif", full(1), nodata=0)
    with pytest.raises(RasterError, match=r"gain\.tif: the nodata tag 0 .*-unsetnodata"):
        forest_loss(zone(), treecover=tc, lossyear=ly, gain=gain)


def vrt(path, source, role_word="Byte"):
    path.write_text(
        f"<VRTDataset rasterXSize='20' rasterYSize='20'><SRS>EPSG:4326</SRS>"
        f"<GeoTransform>{X0}, {RES}, 0, {Y0}, 0, {-RES}</GeoTransform>"
        f"<VRTRasterBand dataType='{role_word}' band='1'><SimpleSource>"
        f"<SourceFilename relativeToVRT='1'>{source}</SourceFilename><SourceBand>1</SourceBand>"
        "</SimpleSource></VRTRasterBand></VRTDataset>"
    )
    return path


def test_vrt_sources_count_as_the_files_they_read(tmp_path):
    tc = tif(tmp_path / "Hansen_GFC-2024-v1.12_treecover2000_x.tif", full(80))
    ly = tif(tmp_path / "Hansen_GFC-2024-v1.12_lossyear_x.tif", full(5))
    mosaic = vrt(tmp_path / "mosaic.vrt", ly.name)
    with pytest.raises(RasterError, match=r"mosaic\.vrt: the VRT's sources say 'lossyear'"):
        forest_loss(zone(), treecover=mosaic, lossyear=ly)
    loss_vrt = vrt(tmp_path / "lossyear.vrt", tc.name)  # named for its role, reads the tree cover
    with pytest.raises(RasterError, match="same raster is given as --treecover and --lossyear"):
        forest_loss(zone(), treecover=tc, lossyear=loss_vrt)
    with pytest.raises(RasterError, match=r"mosaic\.vrt: the VRT reads .*_lossyear_x\.tif, which"):
        forest_loss(zone(), treecover=tc, lossyear=[ly, mosaic])
    ok = forest_loss(zone(), treecover=tc, lossyear=vrt(tmp_path / "ly.vrt", ly.name))
    assert ok["loss_2005_ha"].iloc[0] == pytest.approx(ok["zone_area_ha"].iloc[0], rel=1e-12)


def test_no_zone_with_data_is_refused_and_says_why(tmp_path):
    tcp = tif(tmp_path / "tc.tif", full(255), nodata=255)
    ly = tif(tmp_path / "ly.tif", full(5))
    with pytest.raises(RasterError, match=r"tc\.tif: none of the 1 zone\(s\) .*\(nodata, or off"):
        forest_loss(zone(), treecover=tcp, lossyear=ly)
    far = tif(tmp_path / "far_ly.tif", full(5), x0=10.0)
    with pytest.raises(
        RasterError, match=r"far_ly\.tif: .*outside the loss-year raster .*--lossyear"
    ):
        forest_loss(zone(), treecover=tif(tmp_path / "tc80.tif", full(80)), lossyear=far)
    with pytest.raises(RasterError, match=r"none of the 1 zone\(s\) .*outside the input raster"):
        raster_stats(zone(x0=5.0), ly)


def test_raster_stats_takes_any_raster_of_a_folder(tmp_path):
    tif(tmp_path / "r" / "a.tif", np.full((20, 10), 3, "uint8"))
    tif(tmp_path / "r" / "b.tif", np.full((20, 10), 5, "uint8"), x0=X0 + 10 * RES)
    out = raster_stats(zone(), tmp_path / "r", stats=("min", "max"))
    assert (out["min"].iloc[0], out["max"].iloc[0]) == (3, 5)
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        ReadError, match=r"empty: the folder holds no input raster \(it holds nothing"
    ):
        raster_stats(zone(), tmp_path / "empty")
    (tmp_path / "empty" / "lossyear.tif.gz").write_bytes(b"")
    with pytest.raises(ReadError, match=r"holds lossyear\.tif\.gz; only \.tif, \.tiff and \.vrt"):
        open_layer(tmp_path / "empty", role=ROLES["lossyear"])


def test_open_layer_picks_by_name_case_insensitively(tmp_path):
    tif(tmp_path / "HANSEN_TreeCover2000_x.tif", full(80))
    tif(tmp_path / "bargain.tif", full(1))  # 'gain' inside a word is not the gain layer
    layer = open_layer(tmp_path, role=ROLES["treecover"])
    assert [os.path.basename(t.path) for t in layer.tiles] == ["HANSEN_TreeCover2000_x.tif"]
    with pytest.raises(ReadError, match="no gain raster"):
        open_layer(tmp_path, role=ROLES["gain"])


def test_damaged_or_mislabelled_files(tmp_path):
    tc = tif(tmp_path / "tc.tif", full(80))
    rng = np.random.default_rng(0)
    whole = tif(tmp_path / "whole.tif", rng.integers(0, 24, (20, 20)).astype("uint8")).read_bytes()
    (tmp_path / "cut.tif").write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(ReadError, match=r"cut\.tif: could not read .* damaged or truncated"):
        forest_loss(zone(), treecover=tc, lossyear=tmp_path / "cut.tif")
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.tif: cannot open it as a raster"):
        forest_loss(zone(), treecover=tc, lossyear=tmp_path / "empty.tif")
    with pytest.raises(ReadError, match=r"gone\.vrt: the VRT's source .*missing\.tif does not"):
        forest_loss(zone(), treecover=tc, lossyear=vrt(tmp_path / "gone.vrt", "missing.tif"))
    cplx = tif(tmp_path / "c.tif", full(5, "complex64"))
    with pytest.raises(RasterError, match=r"c\.tif: the loss-year raster holds complex64"):
        forest_loss(zone(), treecover=tc, lossyear=cplx)
    # named for the 10-degree tile 00N_010E, but it lies at lon -70: it would be skipped
    wrong = tif(tmp_path / "Hansen_GFC-2024-v1.12_lossyear_00N_010E.tif", full(5))
    with pytest.raises(RasterError, match=r"says Hansen tile 00N_010E .* rename the file"):
        forest_loss(zone(), treecover=tc, lossyear=wrong)


def test_a_copy_of_the_loss_years_given_as_tree_cover(tmp_path):
    """Loss years 0-24 are valid percents: only the identical pixels give the copy away."""
    ly = np.random.default_rng(1).integers(0, 25, (20, 20)).astype("uint8")
    lyp = tif(tmp_path / "ly.tif", ly)
    with pytest.raises(RasterError, match=r"ly\.tif: the loss-year raster .* exactly the values"):
        forest_loss(zone(), treecover=tif(tmp_path / "ly_copy.tif", ly), lossyear=lyp)
    # all zero in both (no trees, no loss) is a true answer, not a copy
    zero = forest_loss(
        zone(),
        treecover=tif(tmp_path / "tc0.tif", full(0)),
        lossyear=tif(tmp_path / "ly0.tif", full(0)),
    )
    assert zero["forest_2000_ha"].iloc[0] == 0 and zero["data_coverage"].iloc[0] == 1


@pytest.mark.realdata
def test_realdata_uint16_clip_passes_the_domains_as_uint8_does(realdata, tmp_path):
    """mapme's uint16 GFC clip (nodata tag 65535) takes the general path; as uint8 (nodata
    tag 255) the lookup table: both accept it and agree. Swapped, the names refuse it."""
    import pandas as pd
    import rasterio

    folder = realdata / "mapme_vnm_wdpa_gfc"
    zones = gpd.read_file(folder / "aoi_polys.gpkg")
    tc, ly = folder / "gfc_treecover2000_clip.tif", folder / "gfc_lossyear_clip.tif"
    out = forest_loss(zones, treecover=tc, lossyear=ly)
    as_uint8 = {}
    for role, path in (("treecover2000", tc), ("lossyear", ly)):
        with rasterio.open(path) as ds:
            arr, profile = ds.read(1), ds.profile
        profile.update(dtype="uint8", nodata=255)
        as_uint8[role] = tmp_path / f"{role}_u8.tif"
        with rasterio.open(as_uint8[role], "w", **profile) as dst:
            dst.write(np.where(arr == 65535, 255, arr).astype("uint8"), 1)
    ref = forest_loss(zones, treecover=as_uint8["treecover2000"], lossyear=as_uint8["lossyear"])
    pd.testing.assert_frame_equal(out, ref, rtol=1e-12)
    assert out["loss_total_ha"].gt(0).all() and np.allclose(out["data_coverage"], 1.0)
    with pytest.raises(RasterError, match=r"gfc_lossyear_clip\.tif: the file name says 'lossyear'"):
        forest_loss(zones, treecover=ly, lossyear=tc)


def test_the_pipeline_refuses_a_wrong_raster_before_the_long_steps(tmp_path):
    """Who the rasters are is checked right after reading the sites, before classify."""
    from asm_pace.pipeline import run_pipeline
    from corpus import tiny_inputs

    inputs = tiny_inputs(tmp_path)
    # the file names say lossyear / treecover2000, but they are given the other way round
    lossyear = tif(tmp_path / "Hansen_GFC-2024-v1.12_lossyear_10S_080W.tif", full(3))
    treecover = tif(tmp_path / "Hansen_GFC-2024-v1.12_treecover2000_10S_080W.tif", full(80))
    steps: list[str] = []
    with pytest.raises(RasterError, match=r"lossyear.*--treecover"):
        run_pipeline(
            inputs["sites"],
            protected_areas=inputs["protected_areas"],
            ecoregions=inputs["ecoregions"],
            radii_km=[1],
            treecover=lossyear,
            lossyear=treecover,
            progress=steps.append,
        )
    assert steps == ["read sites"]
