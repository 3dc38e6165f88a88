"""Shared fixtures.

``realdata`` points at ``../shared/realdata`` beside the project root and skips the test
cleanly when that folder is absent (a user's fresh machine has none).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("ASM_PACE_REALDATA", ROOT.parent / "shared" / "realdata"))
SAMPLES = ROOT / "data" / "samples"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real-data folder; skips when absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder {REALDATA} is absent")
    return REALDATA


@pytest.fixture(scope="session")
def samples() -> Path:
    """The bundled sample folder (data/samples)."""
    return SAMPLES
