"""Time classify and forest_loss on the bundled samples, to compare two source trees.

The optional inputs added since (KBAs, several sources, rivers, drivers) are left out, so the
times show what those additions cost a run that does not use them. Run it once per tree,
alternating, and compare the best times::

    git worktree add /tmp/base <old-commit>
    PYTHONPATH=/tmp/base/src .venv/bin/python benchmarks/bench_samples.py
    .venv/bin/python benchmarks/bench_samples.py
"""

from __future__ import annotations

import sys
import time
import warnings

import asm_pace
from asm_pace.datasets import sample_path


def best(fn, repeat: int) -> float:
    """The fastest of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"asm_pace from {asm_pace.__file__}", file=sys.stderr)
    sites = asm_pace.read_sites(sample_path("sites.csv"))
    pas = asm_pace.read_protected_areas(sample_path("protected_areas.gpkg"))
    eco = asm_pace.read_ecoregions(sample_path("ecoregions.gpkg"))
    pls = asm_pace.read_priority_landscapes(sample_path("priority_landscapes.gpkg"))
    zones = asm_pace.buffers(sites, (1, 10, 50))
    c = best(lambda: asm_pace.classify(sites, pas, eco, priority_landscapes=pls), 7)
    f = best(
        lambda: asm_pace.forest_loss(
            zones,
            treecover=sample_path("treecover2000.tif"),
            lossyear=sample_path("lossyear.tif"),
            protected_areas=pas,
        ),
        5,
    )
    print(f"classify {c * 1000:.1f} ms  forest_loss {f * 1000:.1f} ms")


if __name__ == "__main__":
    main()
