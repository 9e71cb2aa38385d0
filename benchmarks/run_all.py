"""Run every benchmark script (benchmarks/bench_*.py) in turn and print their tables.

Each script measures spikeattn next to the peers it names (Brian2, Lava, snnTorch, ...)
in the same run and prints ratios; results go to benchmarks/results/ as JSON/CSV/PNG.
Usage: ``python benchmarks/run_all.py [NAME ...]`` (names without ``bench_`` and ``.py``).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        wanted = {f"bench_{a}.py" for a in argv}
        unknown = wanted - {s.name for s in scripts}
        if unknown:
            print(f"unknown benchmarks {sorted(unknown)}; available: "
                  f"{[s.stem[6:] for s in scripts]}", file=sys.stderr)
            return 2
        scripts = [s for s in scripts if s.name in wanted]
    failed = []
    for script in scripts:
        print(f"\n===== {script.stem} =====", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"----- {script.stem}: exit {rc} in {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(script.stem)
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
