"""The documentation site builds with ``mkdocs build --strict`` and documents the whole public API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

import asm_pace

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_files(nav) -> list[str]:
    out = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            out += _nav_files(value)
        else:
            out.append(value)
    return out


def _config() -> dict:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    # mkdocs.yml may hold !!python/name tags (e.g. for pymdownx): read them as plain text
    text = re.sub(r"!!python/\S+", "", text)
    return yaml.safe_load(text)


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    nav = _nav_files(_config()["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages
    assert nav[0] == "index.md"


def test_api_page_covers_every_public_module():
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: asm_pace\.(\w+)", text, flags=re.MULTILINE))
    modules = set(asm_pace._EXPORTS.values()) | {"errors", "datasets", "geodesy"}
    assert modules <= documented, f"not in docs/api.md: {sorted(modules - documented)}"


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.skip(f"mkdocs is not installed beside {sys.executable} (the [docs] extra)")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "WARNING" not in output, output
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name, module in asm_pace._EXPORTS.items():
        assert f'id="asm_pace.{module}.{name}"' in api, f"{name} is missing from the API page"
    # the docstrings' Sphinx roles are rendered as code (docs/hooks/sphinx_roles.py), not as text
    for page in site.rglob("index.html"):
        html = page.read_text(encoding="utf-8")
        raw = re.findall(r":(?:func|class|data|meth|mod|attr|exc):<code>", html)
        assert not raw, f"{page.relative_to(site)} shows raw Sphinx roles: {raw[:3]}"


# pages whose python blocks are complete programs on the bundled samples
RUNNABLE_PAGES = ["index.md", "getting-started.md", "classification.md"]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_examples_run(page, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from asm_pace.errors import AsmPaceWarning

    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert blocks, f"{page} has no python block"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    try:
        with warnings.catch_warnings():
            # the samples are built to trigger asm_pace's warnings (dropped, repaired, coverage)
            warnings.simplefilter("ignore", AsmPaceWarning)
            for i, block in enumerate(blocks):
                exec(compile(block, f"{page} python block {i + 1}", "exec"), namespace)
    finally:
        plt.close("all")
