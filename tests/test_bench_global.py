"""benchmarks/make_global.py writes the scale benchmark's inputs: seeded, of the asked size, readable."""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

import asm_pace

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location(
        "make_global", ROOT / "benchmarks" / "make_global.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_global_inputs_are_seeded_sized_and_readable(tmp_path):
    mg = _module()
    scale = 0.002
    a = mg.write(tmp_path / "a", scale=scale, site_counts=(500,), seed=3)
    mg.write(tmp_path / "b", scale=scale, site_counts=(500,), seed=3)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    mg.write(tmp_path / "c", scale=scale, site_counts=(500,), seed=4)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")

    pa = pyogrio.read_dataframe(tmp_path / "a" / "protected_areas.gpkg")
    assert len(pa) == round(mg.PA_COUNT * scale) == a["protected_areas.gpkg"]["features"]
    vertices = int(shapely.get_num_coordinates(pa.geometry.values).sum())
    assert abs(vertices / (mg.PA_VERTICES * scale) - 1) < 0.15
    assert pa.geometry.total_bounds[0] >= -180 and pa.geometry.total_bounds[2] <= 180
    assert pa["WDPAID"].is_unique

    # the ecoregions are a coverage of the box: no gap, no overlap (planar areas in degrees)
    eco = pyogrio.read_dataframe(tmp_path / "a" / "ecoregions.gpkg")
    box = shapely.box(*mg.ECO_BOX)
    assert np.isclose(shapely.area(eco.geometry.values).sum(), box.area, rtol=1e-9)
    assert np.isclose(shapely.union_all(eco.geometry.values).area, box.area, rtol=1e-9)

    sites = pd.read_csv(tmp_path / "a" / "sites_500.csv")
    assert len(sites) == 500 and sites["site_id"].is_unique
    assert sites["latitude"].between(*mg.LAT_RANGE).all()

    # the library reads them as the real WDPA and TEOW (STATUS Proposed is left out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pas = asm_pace.read_protected_areas(tmp_path / "a" / "protected_areas.gpkg")
        ecos = asm_pace.read_ecoregions(tmp_path / "a" / "ecoregions.gpkg")
    assert len(pas) == (pa["STATUS"] != "Proposed").sum()
    assert len(ecos) == len(eco) and ecos["is_g200"].sum() == (eco["G200_NUM"] > 0).sum()
