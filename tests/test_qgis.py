"""QGIS, the real client: the written GeoPackage opens valid and styled.

Runs a small script with the system Python (``/usr/bin/python3``, where Debian's
``python3-qgis`` lives) and ``QT_QPA_PLATFORM=offscreen``. Skipped cleanly where
QGIS is not installed (``apt-get install qgis python3-qgis``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache

import geopandas as gpd
import pytest
import shapely

from asm_pace.output import write_geopackage
from asm_pace.plotting import PACE_COLOURS

pytestmark = pytest.mark.qgis

SYSTEM_PYTHON = "/usr/bin/python3"

SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsRenderContext, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
result = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    info = {"valid": layer.isValid(), "count": layer.featureCount()}
    message, ok = layer.loadDefaultStyle()
    renderer = layer.renderer()
    info["style_loaded"] = bool(ok)
    info["renderer"] = renderer.type()
    if renderer.type() == "categorizedSymbol":
        info["attr"] = renderer.classAttribute()
        info["categories"] = [[c.value(), c.label()] for c in renderer.categories()]
        ctx = QgsRenderContext()
        renderer.startRender(ctx, layer.fields())
        info["colors"] = {}
        for feature in layer.getFeatures():
            symbol = renderer.symbolForFeature(feature, ctx)
            key = str(feature[renderer.classAttribute()])
            info["colors"][key] = symbol.color().name() if symbol else None
        renderer.stopRender(ctx)
    result[name] = info
print("RESULT " + json.dumps(result), flush=True)
# QGIS 3.22 can crash while tearing down offscreen; the result is already out
import os
os._exit(0)
"""


@cache
def _qgis_available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"],
        capture_output=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    return proc.returncode == 0


@pytest.fixture
def qgis(tmp_path):
    if not _qgis_available():
        pytest.skip("QGIS is not installed (apt-get install qgis python3-qgis)")

    def run(gpkg, *layers):
        script = tmp_path / "open_in_qgis.py"
        script.write_text(SCRIPT, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path))
        proc = subprocess.run(
            [SYSTEM_PYTHON, str(script), str(gpkg), *layers],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
        return json.loads(lines[-1][len("RESULT ") :])

    return run


CLASSES = ["protected_area", "priority_landscape", "critical_ecosystem", "not_eligible"]


def test_qgis_opens_sites_and_buffers_styled(tmp_path, qgis):
    sites = gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "S3", "S4", "S5"], "pace_class": [*CLASSES, "not_eligible"]},
        geometry=shapely.points([-60, -59, -58, -57, -56], [-3, -3, -3, -3, -3]),
        crs="EPSG:4326",
    )
    centre = shapely.Point(-60, -3)
    buffers = gpd.GeoDataFrame(
        {"site_id": ["S1", "S1"], "radius_km": [1.0, 10.0]},
        geometry=[centre.buffer(0.01), centre.buffer(0.1)],
        crs="EPSG:4326",
    )
    out = write_geopackage(tmp_path / "out.gpkg", {"sites": sites, "buffers": buffers})
    result = qgis(out, "sites", "buffers")

    s = result["sites"]
    assert s["valid"] and s["count"] == 5
    assert s["style_loaded"]
    assert s["renderer"] == "categorizedSymbol" and s["attr"] == "pace_class"
    assert [c[0] for c in s["categories"]] == CLASSES
    assert s["categories"][0][1] == "Protected area"
    # every class drawn, each in its own colour
    assert set(s["colors"]) == set(CLASSES) and None not in s["colors"].values()
    assert len(set(s["colors"].values())) == 4
    # QGIS draws each class in the colour of asm_pace's own maps (the two must agree)
    assert s["colors"] == {c: PACE_COLOURS[c].lower() for c in CLASSES}

    b = result["buffers"]
    assert b["valid"] and b["count"] == 2 and b["style_loaded"]
    assert b["renderer"] == "categorizedSymbol" and b["attr"] == "radius_km"
    assert [c[0] for c in b["categories"]] == ["1", "10"]
    assert None not in b["colors"].values() and len(set(b["colors"].values())) == 2


def test_qgis_opens_footprint_polygons_styled(tmp_path, qgis):
    sites = gpd.GeoDataFrame(
        {"site_id": ["F1", "F2"], "pace_class": ["protected_area", "not_eligible"]},
        geometry=[shapely.box(0, 0, 0.01, 0.01), shapely.box(1, 1, 1.01, 1.01)],
        crs="EPSG:4326",
    )
    out = write_geopackage(tmp_path / "fp.gpkg", {"sites": sites})
    s = qgis(out, "sites")["sites"]
    assert s["valid"] and s["count"] == 2 and s["style_loaded"]
    assert s["renderer"] == "categorizedSymbol"
    assert None not in s["colors"].values()


def test_qgis_opens_a_classified_sample_run(tmp_path, qgis, samples):
    import warnings

    from asm_pace.pipeline import run_pipeline, write_outputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the samples' documented dropped/repaired records
        result = run_pipeline(
            samples / "sites.csv",
            protected_areas=samples / "protected_areas.gpkg",
            ecoregions=samples / "ecoregions.gpkg",
            priority_landscapes=samples / "priority_landscapes.gpkg",
        )
    out = write_outputs(result, tmp_path / "run.gpkg")
    s = qgis(out, "sites")["sites"]
    assert s["valid"] and s["count"] == len(result.sites)
    assert s["style_loaded"] and s["renderer"] == "categorizedSymbol"
    present = set(result.sites["pace_class"])
    assert set(s["colors"]) == present and None not in s["colors"].values()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
