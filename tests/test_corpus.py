"""Every case of the tricky-input corpus (``tests/corpus``) behaves exactly as it says.

Refused inputs exit 2 with one ``Error:`` line holding the case's words; accepted ones exit 0
with the correct value (each case's own ``check``); no input file changes, and a refused run
leaves no output behind.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from asm_pace.cli import cli
from corpus import all_cases

CASES = all_cases()


def _hashes(folder: Path, skip: set[str]) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and str(p.relative_to(folder)) not in skip
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case, tmp_path):
    folder = tmp_path / "case"
    folder.mkdir()
    args = case.build(folder)
    before = _hashes(folder, set(case.outputs))
    existed = {o for o in case.outputs if (folder / o).exists()}
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    text = (result.stdout or "") + (result.stderr or "")
    assert result.exit_code == case.exit_code, text
    after = _hashes(folder, set(case.outputs))
    assert {k: after.get(k) for k in before} == before, "an input file changed"
    if case.exit_code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert errors, text
        line = errors[0].casefold()
        missing = [w for w in case.words if w.casefold() not in line]
        assert not missing, f"{missing} not in {errors[0]!r}"
        for out in case.outputs:  # nothing half-written by a refused run
            if out not in existed:
                assert not (folder / out).exists(), f"{out} left behind"
    else:
        missing = [w for w in case.words if w.casefold() not in text.casefold()]
        assert not missing, f"{missing} not in output:\n{text}"
        if case.check is not None:
            case.check(folder, text)


def test_corpus_names_are_unique_and_grouped(monkeypatch):
    import corpus
    import corpus.rasters

    # every module gives cases, each named after its module
    assert {c.name.split("/")[0] for c in CASES} == set(corpus.MODULES)
    assert len({c.name for c in CASES}) == len(CASES)
    # a repeated name is refused when the cases are gathered (it would hide a case's id)
    monkeypatch.setattr(corpus.rasters, "CASES", corpus.rasters.CASES * 2)
    with pytest.raises(ValueError, match="corpus case names repeat"):
        corpus.all_cases()
