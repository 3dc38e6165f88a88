"""The self-contained HTML report: structure, figures, tables, provenance, atomic writing."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

import geopandas as gpd
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import shapely

from asm_pace.errors import OutputError, OutputExistsError, SchemaError
from asm_pace.report import write_report

CLASSES = ["protected_area", "priority_landscape", "critical_ecosystem", "not_eligible"]
#: The report's sections, in order, when every input is given.
ALL_SECTIONS = ["summary", "map", "sites", "buffers", "overlaps", "forest", "provenance"]


class Page(HTMLParser):
    """Collects what a test needs from the report: sections, images, tables, links."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.images: list[dict[str, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.scripts = 0
        self.external: list[str] = []
        self._section: str | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if key in a and not str(a[key]).startswith(("data:", "#")):
                self.external.append(a[key])
        if tag == "section":
            self._section = a.get("id")
            self.sections.append(self._section)
        elif tag == "img":
            self.images.append({**a, "section": self._section})
        elif tag == "script":
            self.scripts += 1
        elif tag == "table":
            self._rows = []
            key = self._section
            n = 1
            while key in self.tables:
                n += 1
                key = f"{self._section}#{n}"
            self.tables[key] = self._rows
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def make_sites(n=12):
    rng = np.random.default_rng(1)
    lon = -70.0 + rng.uniform(0, 0.5, n)
    lat = -12.0 + rng.uniform(0, 0.4, n)
    classes = [CLASSES[i % 3] for i in range(n)]  # no priority_landscape... then one below
    classes[-1] = "priority_landscape"
    reasons = [f"Reason {i}: <class> & {c}" for i, c in enumerate(classes)]
    return gpd.GeoDataFrame(
        {
            "site_id": [f"S{i:04d}" for i in range(n)],
            "pace_class": classes,
            "reason": reasons,
            "nearest_pa_km": np.round(rng.uniform(0, 20, n), 3),
            "eco_name": "Southwest Amazon moist forests",
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def make_buffers(sites, radii=(1.0, 10.0)):
    rows = []
    for r in radii:
        for sid, geom in zip(sites["site_id"], sites.geometry, strict=True):
            rows.append(
                {
                    "site_id": sid,
                    "radius_km": r,
                    "zone_id": f"{sid}_{r:g}km",
                    "geometry": geom.buffer(r / 111.0),
                }
            )
    zones = gpd.GeoDataFrame(rows, crs=4326)
    zones["pa_share"] = np.where(np.arange(len(zones)) % 2 == 0, 0.25, 0.0)
    zones["pa_area_km2"] = zones["pa_share"] * 3.0
    return zones


def make_forest(zones):
    n = len(zones)
    rng = np.random.default_rng(2)
    table = pd.DataFrame(
        {
            "site_id": zones["site_id"].to_numpy(),
            "radius_km": zones["radius_km"].to_numpy(),
            "zone_area_ha": 100.0,
            "forest_2000_ha": rng.uniform(50, 90, n),
            "loss_2001_ha": rng.uniform(0, 2, n),
            "loss_2002_ha": rng.uniform(0, 2, n),
            "loss_2003_ha": rng.uniform(0, 2, n),
        }
    )
    table["loss_total_ha"] = table[["loss_2001_ha", "loss_2002_ha", "loss_2003_ha"]].sum(axis=1)
    return table


def read_page(path):
    return Page(path.read_text(encoding="utf-8"))


def decode_png(img):
    src = img["src"]
    assert src.startswith("data:image/png;base64,")
    data = base64.b64decode(src.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return mpimg.imread(io.BytesIO(data), format="png")


def test_minimal_report_is_self_contained(tmp_path):
    sites = make_sites()
    out = write_report(tmp_path / "r.html", sites)
    assert out == tmp_path / "r.html"
    page = read_page(out)
    assert page.sections == ["summary", "map", "sites", "provenance"]
    assert page.scripts == 0 and page.external == []
    (img,) = page.images
    pixels = decode_png(img)
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    # a real map, not a blank image: the class colours are in it
    rgb = (pixels[..., :3] * 255).round().astype(int).reshape(-1, 3)
    colours = {tuple(c) for c in np.unique(rgb, axis=0)}
    assert (0xD7, 0x30, 0x1F) in colours and (0xFD, 0xD8, 0x35) in colours
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary left


def test_counts_by_class_match_the_sites(tmp_path):
    sites = make_sites(13)
    page = read_page(write_report(tmp_path / "r.html", sites))
    rows = page.tables["summary"]
    assert rows[0] == ["Class", "Meaning", "Sites", "Share (%)"]
    expected = sites["pace_class"].value_counts()
    labels = ["Protected area", "WWF priority landscape", "Critical ecosystem", "Not eligible"]
    for row, cls, label in zip(rows[1:], CLASSES, labels, strict=True):
        assert row[0].startswith(label)
        n = int(expected.get(cls, 0))
        assert int(row[2]) == n
        assert float(row[3]) == pytest.approx(100 * n / 13, abs=0.05)


def test_site_table_has_every_site_and_its_reason_unmangled(tmp_path):
    sites = make_sites()
    page = read_page(write_report(tmp_path / "r.html", sites))
    rows = page.tables["sites"]
    header = rows[0]
    assert header[:3] == ["Site", "Class", "Reason"]
    body = rows[1:]
    assert [r[0] for r in body] == list(sites["site_id"])
    assert [r[2] for r in body] == list(sites["reason"])  # '<' and '&' escaped, then read back
    km = header.index("Nearest PA (km)")
    assert [float(r[km]) for r in body] == pytest.approx(list(sites["nearest_pa_km"]), abs=0.005)


def test_max_rows_truncates_with_a_note(tmp_path):
    sites = make_sites(12)
    text = write_report(tmp_path / "r.html", sites, max_rows=5).read_text(encoding="utf-8")
    page = Page(text)
    assert len(page.tables["sites"]) == 1 + 5
    assert "The first 5 of 12 sites" in text


def test_buffers_overlaps_forest_and_provenance(tmp_path):
    sites = make_sites()
    zones = make_buffers(sites)
    forest = make_forest(zones)
    overlaps = pd.DataFrame(  # the pairs table of asm_pace.overlaps
        {
            "zone_id": ["S0000_1km", "S0000_10km", "S0001_1km", "S0001_10km", "S0002_10km"],
            "pa_id": ["900002", "900001", "900001", "900001", "900002"],
            "name": ["Beta FR", "Alpha NP", "Alpha NP", "Alpha NP", "Beta FR"],
            "designation": ["Forest Reserve", "National Park", "National Park"] + ["x"] * 2,
            "overlap_km2": [0.5, 12.4, 2.0, 30.1, 7.0],
        }
    )
    pa = gpd.GeoDataFrame(
        {"name": ["Alpha National Park"]},
        geometry=[shapely.box(-70.0, -12.0, -69.8, -11.8)],
        crs=4326,
    )
    pa.attrs["source_label"] = "WDPA"  # as read_protected_areas labels a WDPA-schema layer
    info = pd.DataFrame({"key": ["command", "canopy_pct"], "value": ["asm-pace demo", "30"]})
    page = read_page(
        write_report(
            tmp_path / "r.html",
            sites,
            buffers=zones,
            overlaps=overlaps,
            forest=forest,
            run_info=info,
            protected_areas=pa,
        )
    )
    assert page.sections == ALL_SECTIONS
    # buffers: one row per radius, zones touching a PA counted by hand
    rows = page.tables["buffers"]
    assert [r[0] for r in rows[1:]] == ["within 1 km", "within 10 km"]
    for row, r in zip(rows[1:], (1.0, 10.0), strict=True):
        sub = zones[zones["radius_km"] == r]
        assert int(row[1]) == len(sub)
        assert int(row[2]) == int((sub["pa_share"] > 0).sum())
        assert float(row[3]) == pytest.approx(100 * sub["pa_share"].mean(), abs=0.05)
    # overlaps: one row per protected area, sites within each radius counted by hand
    rows = page.tables["overlaps"]
    assert rows[0] == [
        "WDPA id",
        "Name",
        "Designation",
        "Sites within 1 km",
        "Sites within 10 km",
        "Largest overlap with one zone (km²)",
    ]
    assert rows[1] == ["900001", "Alpha NP", "National Park", "1", "2", "30.10"]
    assert rows[2] == ["900002", "Beta FR", "Forest Reserve", "1", "1", "7.00"]
    # forest: totals per radius, one chart per radius
    rows = page.tables["forest"]
    header = rows[0]
    for row, r in zip(rows[1:], (1.0, 10.0), strict=True):
        sub = forest[forest["radius_km"] == r]
        loss = float(row[header.index("Loss (ha)")].replace(",", ""))
        assert loss == pytest.approx(sub["loss_total_ha"].sum(), abs=0.05)
        pct = float(row[header.index("Loss (% of 2000 forest)")])
        assert pct == pytest.approx(
            100 * sub["loss_total_ha"].sum() / sub["forest_2000_ha"].sum(), abs=0.005
        )
    charts = [img for img in page.images if img["section"] == "forest"]
    assert len(charts) == 2
    for img in charts:
        decode_png(img)
    # provenance: the run's items and the version
    prov = dict(tuple(r) for r in page.tables["provenance"][1:])
    assert prov["command"] == "asm-pace demo" and prov["canopy_pct"] == "30"
    assert "asm_pace version" in prov and "report written" in prov


def test_existing_report_is_not_overwritten_without_overwrite(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_report(out, make_sites())
    assert out.read_text(encoding="utf-8") == "keep me"
    write_report(out, make_sites(), overwrite=True)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_bad_destination_and_bad_input_leave_nothing(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.html", make_sites())
    with pytest.raises(OutputError, match="folder"):
        write_report(tmp_path, make_sites())
    with pytest.raises(SchemaError, match="loss_YYYY_ha"):
        write_report(tmp_path / "r.html", make_sites(), forest=pd.DataFrame({"x": [1.0]}))
    assert list(tmp_path.iterdir()) == []


def test_cli_demo_writes_the_report_and_refuses_to_overwrite(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("asm-pace")
    args = [str(exe), "demo", "-q"]
    report = tmp_path / "r.html"
    run = subprocess.run(
        [*args, "-o", str(tmp_path / "d.gpkg"), "--report", str(report)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    page = read_page(report)
    # the demo has KBAs and rivers: their sections come after the sites
    assert page.sections == [*ALL_SECTIONS[:3], "kbas", "downstream", *ALL_SECTIONS[3:-1],
                             "cleaning", "provenance"]  # fmt: skip
    demo_sites = gpd.read_file(tmp_path / "d.gpkg", layer="sites")
    in_kba = sum(bool(str(v or "").strip()) for v in demo_sites["kba_ids"])
    assert sum(int(r[3]) for r in page.tables["kbas"][1:]) >= in_kba > 0
    walks = {r[0]: int(r[1]) for r in page.tables["downstream"][1:]}
    assert walks == demo_sites["downstream_status"].value_counts().to_dict()
    prov = dict(tuple(r) for r in page.tables["provenance"][1:])
    assert prov["command"].startswith("asm-pace demo")
    assert prov["input: sites"].endswith("sites.csv")
    # the buffers section lists the demo's default radii
    assert [r[0] for r in page.tables["buffers"][1:]] == ["within 1 km", "within 10 km"]
    before = report.read_bytes()
    again = subprocess.run(
        [*args, "-o", str(tmp_path / "d2.gpkg"), "--report", str(report)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert "Traceback" not in again.stderr
    assert report.read_bytes() == before
    assert not (tmp_path / "d2.gpkg").exists()


@pytest.mark.parametrize(
    ("extra", "counts_once"),
    [
        ({"cluster_id": "C0001_1km"}, True),  # the clusters layer: touching buffers merged
        ({"cluster_id": "C0001_1km", "zone_id": "S0000_1km"}, False),  # buffers after dissolve
        ({}, False),  # plain per-site buffers
    ],
)
def test_forest_text_says_whether_hectares_count_once(tmp_path, extra, counts_once):
    sites = make_sites()
    forest = make_forest(make_buffers(sites)).assign(**extra)
    text = (write_report(tmp_path / "r.html", sites, forest=forest)).read_text(encoding="utf-8")
    assert ("each hectare counts once" in text) is counts_once
    assert ("the same hectare can count in several zones" in text) is not counts_once


# --------------------------------------------------------------- issue 11: coverage, credits


def write_rasters(folder, box, res=0.0025):
    """Hansen-style tree cover (80 % everywhere) and loss year (2005 in the north half)
    GeoTIFFs (DEFLATE) over ``box``, in ``folder``."""
    import rasterio
    from rasterio.transform import from_origin

    width = round((box[2] - box[0]) / res)
    height = round((box[3] - box[1]) / res)
    tc = np.full((height, width), 80, dtype="uint8")
    ly = np.zeros((height, width), dtype="uint8")
    ly[: height // 2] = 5
    paths = {}
    for name, data in (("treecover2000", tc), ("lossyear", ly)):
        paths[name] = folder / f"{name}.tif"
        with rasterio.open(
            paths[name],
            "w",
            driver="GTiff",
            width=width,
            height=height,
            count=1,
            dtype="uint8",
            crs="EPSG:4326",
            transform=from_origin(box[0], box[3], res, res),
            compress="deflate",
        ) as ds:
            ds.write(data, 1)
    return paths


def test_forest_coverage_matches_geodesic_areas_of_the_clusters(tmp_path):
    """Coverage per radius = the clusters' area on the rasters' box / their whole area,
    both measured by pyproj.Geod on the clusters' own polygons."""
    import warnings

    from pyproj import Geod

    import asm_pace
    from asm_pace.pipeline import run_pipeline
    from asm_pace.report import write_pipeline_report
    from corpus import tiny_inputs

    paths = tiny_inputs(tmp_path)
    # S4 5.4 km east of S1: their 5 km buffers overlap (one cluster), their 1 km ones do not
    with paths["sites"].open("a", encoding="utf-8") as f:
        f.write("S4,-12.0,-69.95\n")
    box = (-70.03, -12.03, -69.97, -11.97)  # S1 (-70, -12): 1 km inside, 5 km partly off
    rasters = write_rasters(tmp_path, box)
    with warnings.catch_warnings():  # S2 and S3 lie off the rasters: said, and measured
        warnings.simplefilter("ignore", asm_pace.errors.CoverageWarning)
        result = run_pipeline(
            paths["sites"],
            protected_areas=paths["protected_areas"],
            ecoregions=paths["ecoregions"],
            radii_km=[1, 5],
            treecover=rasters["treecover2000"],
            lossyear=rasters["lossyear"],
        )
    clusters = result.layers["clusters"]
    geod = Geod(ellps="WGS84")
    raster_box = shapely.box(*box)

    def area_ha(geom):
        return abs(geod.geometry_area_perimeter(geom)[0]) / 1e4

    out = write_pipeline_report(tmp_path / "r.html", result)
    text = out.read_text(encoding="utf-8")
    page = Page(text)
    rows = page.tables["forest"]
    header = rows[0]
    assert header[1] == "Clusters"  # the run's totals come from clusters
    col = {h: header.index(h) for h in header}
    for row, radius in zip(rows[1:], (1.0, 5.0), strict=True):
        sub = clusters[clusters["radius_km"] == radius]
        whole = sum(area_ha(g) for g in sub.geometry)
        covered = sum(area_ha(g.intersection(raster_box)) for g in sub.geometry)

        def num(name, row=row):
            return float(row[col[name]].replace(",", ""))

        assert int(row[col["Clusters"]]) == len(sub) == (4 if radius == 1 else 3)
        # each hectare once: the union of the run's buffers, not their sum
        zones = result.layers["buffers"]
        union = shapely.union_all(zones[zones["radius_km"] == radius].geometry.values)
        assert num("Zone area (ha)") == pytest.approx(area_ha(union), rel=2e-3)
        assert num("Zone area (ha)") == pytest.approx(whole, rel=2e-3)
        assert num("Area with raster data (ha)") == pytest.approx(covered, rel=2e-3)
        assert num("Data coverage (%)") == pytest.approx(100 * covered / whole, abs=0.15)
        # every covered pixel is forest (80 % > 30 %): forest counts only covered pixels
        assert num("Forest 2000 (ha)") == pytest.approx(covered, rel=2e-3)
        # and a caveat names the row's coverage (every row is below 100 % here)
        assert f"{row[0]}: the forest rasters cover {row[col['Data coverage (%)']]} %" in text
    assert "Shown: clusters: each hectare once." in text
    # the 1 km row is one quarter (S1's zone of four equal ones); at 5 km the S1+S4 cluster
    # is larger than the others, so area weighting differs from a plain mean of the clusters
    cov = [float(r[col["Data coverage (%)"]]) for r in rows[1:]]
    assert cov[0] == pytest.approx(25.0, abs=0.15)
    five = clusters[clusters["radius_km"] == 5.0]
    assert abs(cov[1] - 100 * five["data_coverage"].mean()) > 1.0
    # credits: the WDPA-schema layer, WWF ecoregions and Hansen rasters were all used
    footer = text[text.index("<footer>") :]
    assert "WDPA (UNEP-WCMC" in footer and "Hansen" in footer and "Olson" in footer
    # what was read and cleaned: one row per input, from the run's counts
    cleaning = {r[0]: r for r in page.tables["cleaning"][1:]}
    assert set(cleaning) == {"Sites", "Protected areas", "Ecoregions"}
    assert cleaning["Sites"][1:4] == ["sites.csv", "4", "0"]
    assert cleaning["Protected areas"][-1] == "1" and cleaning["Ecoregions"][-1] == "2"


def test_coverage_is_rounded_down_and_full_coverage_has_no_caveat(tmp_path):
    sites = make_sites(4)
    forest = make_forest(make_buffers(sites)).assign(data_coverage=1.0)
    # one 1 km zone of 100 ha 0.4 ha short: 399.6 / 400 ha = 99.9 %, never rounded up
    forest.loc[0, "data_coverage"] = 0.996
    text = write_report(tmp_path / "r.html", sites, forest=forest).read_text(encoding="utf-8")
    rows = Page(text).tables["forest"]
    cov = rows[0].index("Data coverage (%)")
    assert [r[cov] for r in rows[1:]] == ["99.9", "100.0"]
    assert text.count('class="caveat"') == 1
    assert (
        "within 1 km: the forest rasters cover 99.9 % of the zone area (399.6 of 400.0 ha)" in text
    )
    assert "Shown: per buffer, overlapping buffers counted once each." in text
    assert rows[0][1] == "Buffers"


def test_credits_and_labels_follow_the_sources_used(tmp_path):
    """A national layer, no rasters: no WDPA, no Hansen anywhere in the credits or headers."""
    sites = make_sites(4).drop(columns="eco_name")
    pa = gpd.GeoDataFrame(
        {"pa_id": ["100"], "name": ["Reserva Uno"], "origin": ["polygon"]},
        geometry=[shapely.box(-70.0, -12.0, -69.8, -11.8)],
        crs=4326,
    )
    pa.attrs = {
        "source": "snap_2024.shp",
        "source_label": "SNAP Ecuador",
        "counts": {"read": 7, "removed": {"statuses": 2, "exclude_mab": 0}, "repaired": 1},
    }
    overlaps = pd.DataFrame({"zone_id": ["S0000_1km"], "pa_id": ["100"], "name": ["Reserva Uno"]})
    text = write_report(
        tmp_path / "r.html", sites, protected_areas=pa, overlaps=overlaps
    ).read_text(encoding="utf-8")
    page = Page(text)
    footer = text[text.index("<footer>") :]
    assert "SNAP Ecuador" in footer
    for word in ("WDPA", "Hansen", "Olson", "UNEP"):
        assert word not in footer
    assert page.tables["overlaps"][0][0] == "SNAP Ecuador id"
    assert "(SNAP Ecuador)" in page.tables["summary"][1][1]
    # the cleaning counts come from the layer's attrs: 7 read, 2 left out by status, 1 used
    (row,) = page.tables["cleaning"][1:]
    assert row == [
        "Protected areas",
        "snap_2024.shp",
        "7",
        "2",
        "status not kept (e.g. Proposed): 2",
        "1",
        "1",
    ]
    # without a label or a layer, the report names no source
    text = write_report(tmp_path / "r2.html", sites, overlaps=overlaps).read_text(encoding="utf-8")
    assert Page(text).tables["overlaps"][0][0] == "Protected area id"
    assert "Data:" not in text[text.index("<footer>") :]


def test_kba_section_counts_the_sites_inside_each_kba(tmp_path):
    sites = make_sites(9)
    # ;-joined ids as classify writes them; one site in two KBAs, several in none
    ids = ["K1", "", "K1;K2", "K2", "", "K3", "K1", "", ""]
    sites["kba_ids"] = ids
    sites["kba_names"] = ""
    sites["aze"] = [i.startswith("K1") for i in ids]
    kbas = gpd.GeoDataFrame(
        {"kba_id": ["K1", "K2", "K3"], "kba_name": ["One", "Two", "Three"],
         "aze": [True, False, False]},
        geometry=[shapely.box(0, 0, 1, 1)] * 3, crs=4326,
    )  # fmt: skip
    page = read_page(write_report(tmp_path / "r.html", sites, kbas=kbas))
    assert page.sections.index("kbas") == page.sections.index("sites") + 1
    rows = page.tables["kbas"]
    assert rows[0][:3] == ["KBA", "Name", "AZE site"]
    got = {r[0]: (r[1], r[2], int(r[3]), int(r[4])) for r in rows[1:]}
    expected = {}  # by hand from the lists above, one site at a time
    for site_ids, cls in zip(ids, sites["pace_class"], strict=True):
        for k in filter(None, site_ids.split(";")):
            name, aze, n, prot = expected.get(k, ({"K1": "One", "K2": "Two", "K3": "Three"}[k],
                                                  "yes" if k == "K1" else "no", 0, 0))  # fmt: skip
            expected[k] = (name, aze, n + 1, prot + (cls == "protected_area"))
    assert got == expected
    assert [r[0] for r in rows[1:]] == ["K1", "K2", "K3"]  # most sites first
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "5 of 9 site(s) lie inside a Key Biodiversity Area; 3 inside" in text


def test_downstream_section_lists_statuses_and_areas_reached(tmp_path):
    sites = make_sites(6)
    sites["downstream_status"] = ["outlet", "outlet", "max_km reached", None, "outlet", "outlet"]
    sites["downstream_first_pa_km"] = [3.0, np.nan, 12.5, np.nan, 40.0, np.nan]
    sid = list(sites["site_id"])
    areas = pd.DataFrame(
        {
            "site_id": [sid[0], sid[0], sid[2], sid[4], sid[4], sid[1]],
            "area": ["protected_area", "kba", "protected_area", "protected_area", "protected_area",
                     "kba"],
            "area_id": ["P1", "K1", "P1", "P1", "P2", "K1"],
            "area_name": ["Park", "Key", "Park", "Park", "Other", "Key"],
            "river_km": [3.0, 8.0, 12.5, 41.0, 40.0, 2.0],
            "entry_reach_id": 1,
            "dilution": 0.5,
        }
    )  # fmt: skip
    page = read_page(write_report(tmp_path / "r.html", sites, downstream_areas=areas))
    status = {r[0]: int(r[1]) for r in page.tables["downstream"][1:]}
    assert status == {"outlet": 4, "max_km reached": 1, "not followed": 1}
    rows = page.tables["downstream#2"]
    assert rows[0][:4] == ["Area", "Id", "Name", "Sites upstream"]
    got = {r[1]: (r[0], int(r[3]), float(r[4]), float(r[5])) for r in rows[1:]}
    assert got == {
        "P1": ("Protected area", 3, 3.0, 12.5),  # km 3.0, 12.5, 41.0: min and median
        "K1": ("Key Biodiversity Area", 2, 2.0, 5.0),
        "P2": ("Protected area", 1, 40.0, 40.0),
    }
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "3 of 6 site(s) drain into a protected area" in text


def test_pa_certainty_counts_in_the_summary(tmp_path):
    sites = make_sites(7)
    sites["pa_certainty"] = ["possible", "certain_inside", None, "certain_outside", "possible",
                             "possible", None]  # fmt: skip
    page = read_page(write_report(tmp_path / "r.html", sites))
    rows = page.tables["summary#2"]
    assert {r[0]: int(r[2]) for r in rows[1:]} == {
        "certain_inside": 1, "possible": 3, "certain_outside": 1,
    }  # fmt: skip
    plain = read_page(write_report(tmp_path / "p.html", make_sites(7)))
    assert "summary#2" not in plain.tables and "kbas" not in plain.sections
