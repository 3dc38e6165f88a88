"""Every notebook runs top to bottom on a fresh kernel, and is stored without outputs.

The kernel is the interpreter running the tests (jupyter_client's native ``python3``
kernel from ipykernel), started in a temporary working folder so the notebooks'
outputs land there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _kernel_name() -> str:
    """The native kernel runs this interpreter (the project venv)."""
    spec = KernelSpecManager().get_kernel_spec(NATIVE_KERNEL_NAME)
    exe = spec.argv[0]
    if exe not in ("python", "python3") and Path(exe).resolve() != Path(sys.executable).resolve():
        pytest.skip(f"the {NATIVE_KERNEL_NAME} kernel runs {exe}, not this venv's {sys.executable}")
    return NATIVE_KERNEL_NAME


def run_notebook(path: Path, workdir: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name=_kernel_name(),
        timeout=600,
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=False,
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    return nb


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_real_data.ipynb",
        "03_downstream.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has stored outputs"
            assert cell.execution_count is None


@pytest.mark.slow
def test_quickstart_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel uses its inline backend
    nb = run_notebook(ROOT / "notebooks" / "01_quickstart.ipynb", tmp_path)
    assert (tmp_path / "quickstart.gpkg").is_file()
    assert (tmp_path / "quickstart_report.html").is_file()
    # the map cell drew a figure
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 3


@pytest.mark.slow
def test_real_data_notebook_falls_back_to_the_samples(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel uses its inline backend
    for var in ("ASM_PACE_DATA", "ASM_PACE_SITES", "ASM_PACE_WDPA", "ASM_PACE_TEOW"):
        monkeypatch.delenv(var, raising=False)
    nb = run_notebook(ROOT / "notebooks" / "02_real_data.ipynb", tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "falling back to the bundled samples" in text
    # the box read around the sites holds every nearest protected area
    assert "0 site(s) whose nearest protected area may lie outside the box" in text
    assert (tmp_path / "asm_pace_PER.gpkg").is_file()
    assert (tmp_path / "asm_pace_PER.html").is_file()


@pytest.mark.slow
@pytest.mark.realdata
def test_real_data_notebook_on_real_files(tmp_path, monkeypatch, realdata):
    """Sierra de Neiba (DOM): the real WDPA polygon, the TEOW clip and Hansen GFC tiles."""
    folder = realdata / "mapme_dom_sierra_neiba"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_id,lat,lon\nN1,18.66,-71.71\nN2,18.65,-71.70\nN3,18.40,-71.30\n", encoding="utf-8"
    )
    hansen = tmp_path / "hansen"
    hansen.mkdir()
    for kind in ("treecover2000", "lossyear"):
        name = f"Hansen_GFC-2023-v1.11_{kind}_20N_080W.tif"
        (hansen / name).symlink_to(folder / name)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel uses its inline backend
    monkeypatch.setenv("ASM_PACE_SITES", str(sites))
    monkeypatch.setenv("ASM_PACE_WDPA", str(folder / "sierra_de_neiba_478140.gpkg"))
    monkeypatch.setenv("ASM_PACE_TEOW", str(folder / "wwf_terr_ecos_clip_sierra_neiba.gpkg"))
    monkeypatch.setenv("ASM_PACE_HANSEN", str(hansen))
    monkeypatch.setenv("ASM_PACE_COUNTRY", "DOM")
    nb = run_notebook(ROOT / "notebooks" / "02_real_data.ipynb", tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Using your data" in text
    assert "0 site(s) whose nearest protected area may lie outside the box" in text
    import geopandas as gpd

    out = gpd.read_file(tmp_path / "asm_pace_DOM.gpkg", layer="sites")
    # N1 and N2 lie inside Sierra de Neiba National Park; N3 is 40 km south-east of it
    assert dict(zip(out["site_id"], out["pace_class"], strict=True))["N1"] == "protected_area"
    assert dict(zip(out["site_id"], out["pace_class"], strict=True))["N3"] != "protected_area"


@pytest.mark.slow
def test_downstream_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel uses its inline backend
    nb = run_notebook(ROOT / "notebooks" / "03_downstream.ipynb", tmp_path)
    assert (tmp_path / "downstream.gpkg").is_file()
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) == 1  # the map
