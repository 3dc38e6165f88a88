"""Write the corpus of malformed and tricky inputs (``tests/corpus``) into a folder.

Usage: ``python tests/make_corpus.py FOLDER``. Each case gets ``FOLDER/<case name>/`` with its
input files and a ``case.json`` (the ``asm-pace`` arguments and the expected behaviour). The
test suite builds the same cases in temporary folders (``tests/test_corpus.py``); this script
is for looking at them by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import all_cases


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[0])
    cases = all_cases()
    for case in cases:
        folder = root / case.name
        folder.mkdir(parents=True, exist_ok=False)
        args = case.build(folder)
        spec = {
            "name": case.name,
            "argv": ["asm-pace", *args],
            "exit_code": case.exit_code,
            "words": list(case.words),
            "outputs": list(case.outputs),
            "checked_value": case.check is not None,
        }
        (folder / "case.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    print(f"{len(cases)} case(s) written under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
