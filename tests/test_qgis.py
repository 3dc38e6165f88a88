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
    if renderer.type() == "RuleRenderer":
        # the symbols drawn for each feature zoomed in (1:10 000) and out (1:1 000 000)
        info["rules"] = {}
        for scale in (10000, 1000000):
            ctx = QgsRenderContext()
            ctx.setRendererScale(scale)
            renderer.startRender(ctx, layer.fields())
            for feature in layer.getFeatures():
                symbols = renderer.symbolsForFeature(feature, ctx)
                key = f"{feature.attribute(0)}@{scale}"
                info["rules"][key] = [
                    [s.symbolLayer(0).layerType(), s.color().name()] for s in symbols
                ]
            renderer.stopRender(ctx)
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

    def run(gpkg, *layers, script_text=SCRIPT):
        script = tmp_path / "open_in_qgis.py"
        script.write_text(script_text, encoding="utf-8")
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
    assert s["renderer"] == "RuleRenderer"
    # zoomed in, the footprint in its class's colour; zoomed out (a 1 km footprint is a
    # speck at country scale), also a marker at its centre in the same colour
    red, grey = PACE_COLOURS["protected_area"].lower(), PACE_COLOURS["not_eligible"].lower()
    assert s["rules"] == {
        "1@10000": [["SimpleFill", red]],
        "1@1000000": [["SimpleFill", red], ["CentroidFill", red]],
        "2@10000": [["SimpleFill", grey]],
        "2@1000000": [["SimpleFill", grey], ["CentroidFill", grey]],
    }


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


PROJECT_SCRIPT = r"""
import json, sys
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform,
                       QgsMapRendererParallelJob, QgsMapSettings, QgsPointXY, QgsProject)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
result = {"read": project.read(sys.argv[1])}
root = project.layerTreeRoot()
result["tree"] = [node.name() for node in root.findLayers()]
result["layers"] = {}
for layer in project.mapLayers().values():
    info = {"valid": layer.isValid(), "count": layer.featureCount(),
            "spatial": layer.isSpatial(), "source": layer.source()}
    if layer.isSpatial():
        info["renderer"] = layer.renderer().type()
    result["layers"][layer.name()] = info
view = project.viewSettings().defaultViewExtent()
result["crs"] = project.crs().authid()
result["view"] = [view.xMinimum(), view.yMinimum(), view.xMaximum(), view.yMaximum()]
settings = QgsMapSettings()
settings.setLayers([n.layer() for n in root.findLayers() if n.isVisible() and n.layer().isSpatial()])
settings.setDestinationCrs(project.crs())
settings.setOutputSize(QSize(600, 400))
settings.setOutputDpi(96)
settings.setBackgroundColor(QColor("white"))
settings.setExtent(view)
job = QgsMapRendererParallelJob(settings)
job.start()
job.waitForFinished()
image = job.renderedImage()
image.save(sys.argv[2])
result["scale"] = settings.scale()
to_pixel = settings.mapToPixel()
result["probes"] = {}
for name, (x, y) in json.loads(sys.argv[3]).items():
    p = to_pixel.transform(QgsPointXY(x, y))
    c = QColor(image.pixel(int(p.x()), int(p.y())))
    result["probes"][name] = [c.red(), c.green(), c.blue()]
colours = set()
for i in range(0, image.width(), 3):
    for j in range(0, image.height(), 3):
        colours.add(image.pixel(i, j))
result["colours"] = len(colours)
print("RESULT " + json.dumps(result), flush=True)
import os
os._exit(0)
"""


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))


def test_qgis_project_opens_every_layer_styled_and_renders(tmp_path, qgis):
    import warnings

    from asm_pace.pipeline import run_pipeline, write_outputs
    from corpus import tiny_inputs

    paths = tiny_inputs(tmp_path / "in")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_pipeline(
            paths["sites"],
            protected_areas=paths["protected_areas"],
            ecoregions=paths["ecoregions"],
            radii_km=[1, 10],
        )
    # a name with an accent, a space and an ampersand: escaped in the project's XML
    out = write_outputs(result, tmp_path / "Perú & co.gpkg", qgis_project=True)
    project = tmp_path / "Perú & co.qgz"
    png = tmp_path / "render.png"
    sites = result.sites.set_index("site_id")
    probes = {sid: [g.x, g.y] for sid, g in sites.geometry.items()}
    # inside Parque Uno (lon -70.5..-69.5), clear of S1's 10 km buffer (0.09 degrees) and
    # of the markers: the park's green over the Global 200 ecoregion's light yellow
    probes["park"] = [-69.7, -12.0]
    # the non-Global 200 ecoregion west of -70.5: no fill, white background
    probes["plain"] = [-70.9, -12.0]
    got = qgis(project, png, json.dumps(probes), script_text=PROJECT_SCRIPT)

    assert got["read"] is True and got["crs"] == "EPSG:4326"
    assert got["tree"] == [
        "sites",
        "buffers",
        "clusters",
        "protected_areas",
        "ecoregions",
        "overlaps",
    ]
    layers = got["layers"]
    assert all(info["valid"] for info in layers.values()), layers
    assert {k: v.get("renderer") for k, v in layers.items()} == {
        "sites": "categorizedSymbol",
        "buffers": "categorizedSymbol",
        "clusters": "categorizedSymbol",
        "protected_areas": "RuleRenderer",
        "ecoregions": "RuleRenderer",
        "overlaps": None,
    }
    # the project reads the GeoPackage beside it: counts as written
    assert layers["sites"]["count"] == 3 and layers["buffers"]["count"] == 6
    assert layers["protected_areas"]["count"] == 1 and layers["ecoregions"]["count"] == 2
    assert all(info["source"].startswith(str(out)) for info in layers.values())
    # it opens where every site is
    west, south, east, north = got["view"]
    for x, y in probes.values():
        assert west < x < east and south < y < north
    # the render: each site's pixel has its class's colour, the park is green
    for sid in ("S1", "S2", "S3"):
        want = _rgb(PACE_COLOURS[sites.loc[sid, "pace_class"]])
        assert got["probes"][sid] == pytest.approx(list(want), abs=2), sid
    r, g, b = got["probes"]["park"]
    assert g > r + 20 and g > b + 20, got["probes"]["park"]
    assert got["probes"]["plain"] == [255, 255, 255]
    assert got["colours"] > 10
    assert png.stat().st_size > 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
