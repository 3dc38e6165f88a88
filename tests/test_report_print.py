"""The report and the map in a real browser: headless Chromium prints the report to PDF
(every site on paper, headers repeated, A4 pages) and draws the offline map without a network.

Chromium and poppler's ``pdftotext`` come from the system (``.ci/run`` installs them);
without them these tests skip with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import asm_pace
from asm_pace import plotting
from asm_pace.datasets import sample_path
from asm_pace.report import write_report

#: No request leaves the browser: every host name fails to resolve.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"]


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run installs it)")


@pytest.fixture(scope="module")
def pdftotext() -> str:
    exe = shutil.which("pdftotext")
    if not exe:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    return exe


def browse(chromium: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile and no network."""
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *OFFLINE,
        *args,
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory):
    """The report of the bundled samples classified (203 sites), and the sites."""
    with warnings.catch_warnings():  # the samples hold records the loader drops or repairs
        warnings.simplefilter("ignore", asm_pace.errors.AsmPaceWarning)
        pas = asm_pace.read_protected_areas(sample_path("protected_areas.gpkg"))
    eco = asm_pace.read_ecoregions(sample_path("ecoregions.gpkg"))
    sites = asm_pace.classify(asm_pace.read_sites(sample_path("sites.csv")), pas, eco)
    out = tmp_path_factory.mktemp("report") / "report.html"
    return write_report(out, sites, protected_areas=pas, ecoregions=eco), sites


def test_report_on_the_bundled_samples(sample_report):
    from test_report import read_page

    report, sites = sample_report
    page = read_page(report)
    assert [r[0] for r in page.tables["sites"][1:]] == list(sites["site_id"])
    assert sum(int(r[2]) for r in page.tables["summary"][1:]) == len(sites) == 203
    # the samples' protected areas: 13 read, 3 left out (a Proposed one, a MAB reserve, a point
    # without an area), 1 repaired, 10 used (samples README); 2 points became circles
    cleaning = {r[0]: r for r in page.tables["cleaning"][1:]}
    assert cleaning["Protected areas"][2:4] == ["13", "3"]
    assert cleaning["Protected areas"][5:] == ["1", "10"]
    text = report.read_text(encoding="utf-8")
    assert "2 protected-area point record(s) were turned into circles" in text
    footer = text[text.index("<footer>") :]
    assert "WDPA (UNEP-WCMC" in footer and "Hansen" not in footer  # no rasters in this run


def pages_text(pdftotext: str, pdf: Path) -> list[str]:
    """The PDF's text, page by page (pdftotext separates pages with a form feed)."""
    text = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]


def test_printed_report_has_every_site_on_a4_pages(tmp_path, chromium, pdftotext, sample_report):
    report, sites = sample_report
    pdf = tmp_path / "report.pdf"
    browse(chromium, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    pages = pages_text(pdftotext, pdf)
    ids = list(sites["site_id"])
    assert len(ids) == 203
    # every site id is printed, on a line of its own row (the screen's scroll box printed one)
    found = {m for page in pages for m in re.findall(r"\bMDD-\d{4}\b", page)}
    assert found >= set(ids)
    # each page holding site rows starts them under the table's header row, repeated
    with_sites = [p for p in pages if re.search(r"^\s*MDD-\d{4}\b", p, re.M)]
    assert len(with_sites) >= 5
    for page in with_sites:
        head = page.index("Reason") if "Reason" in page else len(page)
        first = re.search(r"^\s*MDD-\d{4}\b", page, re.M).start()
        assert head < first, page[:300]
    # plausible: at most one site row per 2 cm of a page, at least a dozen rows per page
    assert len(ids) / 30 < len(pages) < len(ids) / 12 + 12
    # the last sections are printed whole
    tail = "".join(pages[-3:])
    assert "What was read and cleaned" in tail and "Provenance" in tail
    sizes = subprocess.run(["pdfinfo", "-l", "99", str(pdf)], capture_output=True, text=True)
    if sizes.returncode == 0:  # A4, portrait or landscape: 595 x 842 points
        dims = re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", sizes.stdout)
        assert dims and all(sorted(map(float, d)) == pytest.approx([595, 842], abs=2) for d in dims)


def test_offline_map_draws_its_layers_without_a_network(tmp_path, chromium):
    sites = gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2"],
            "pace_class": ["protected_area", "not_eligible"],
            "reason": ["Inside Alpha National Park (WDPA 900001, IUCN II)", "Outside"],
        },
        geometry=[shapely.Point(-70.0, -12.0), shapely.Point(-69.5, -12.3)],
        crs=4326,
    )
    pas = gpd.GeoDataFrame(
        {"name": ["Alpha NP"]}, geometry=[shapely.box(-70.2, -12.2, -69.8, -11.8)], crs=4326
    )
    page = tmp_path / "map.html"
    plotting.explore_sites(sites, protected_areas=pas).save(str(page))
    html = page.read_text(encoding="utf-8")
    # nothing is loaded from elsewhere: no script or stylesheet link outside the page
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+stylesheet", html)
    dom = browse(chromium, tmp_path, "--dump-dom", page.as_uri())
    # Leaflet ran: it drew each site and the protected area as SVG paths in their colours
    fills = re.findall(
        r'<path class="leaflet-interactive"[^>]*fill="(#[0-9a-fA-F]{6})"', dom.stdout
    )
    colours = {c.lower() for c in fills}
    palette = plotting.PACE_COLOURS
    assert {palette["protected_area"], palette["not_eligible"]} <= colours
    assert "#74c476" in colours  # the protected area's fill
    assert plotting.OFFLINE_TILES_NOTE in dom.stdout
