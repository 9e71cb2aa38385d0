"""Compile the compiled engine's loop once, into numba's on-disk cache, before a first real run.

    python -m spikeattn.engines.compiled.warm           # float and fixed point, in two processes

runs a tiny circuit through each driver of :mod:`.loop` (float / fixed point, serial /
parallel), so that later runs load the cache (about 0.5 s) instead of compiling (15-35 s).
``make demo`` and ``make test`` run it after building the virtual environment (and again
after an edit of this package).  The float and fixed-point drivers compile in two processes
at once (numba compiles on one core).  Prints the seconds each took; exits 0 without numba
(nothing to compile).
"""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np


def warm(fixed: bool) -> float:
    """Run every driver for ``fixed`` (serial: batch 1, parallel: batch 2); returns seconds."""
    from ...engines.compiled.engine import numba_available
    from ...ir import LIF, Circuit, LoihiLIF
    from ...simulate import simulate

    if not numba_available():
        return 0.0
    c = Circuit("warm")
    c.add_source("x", 8)
    c.add_population("h", 8, LoihiLIF(du=100, dv=100, vth=10) if fixed else LIF(du=0.5, vth=0.5))
    c.connect("x", "h", np.eye(8, dtype=np.int64) if fixed else np.eye(8))
    t0 = time.perf_counter()
    for batch in (1, 2):
        simulate(c, {"x": np.ones((3, batch, 8), bool)}, steps=3, engine="compiled")
    return time.perf_counter() - t0


def main(argv: list[str]) -> int:
    if argv:
        print(f"compiled engine, {argv[0]} drivers: {warm(argv[0] == 'fixed'):.1f} s", flush=True)
        return 0
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "spikeattn.engines.compiled.warm", kind])
             for kind in ("float", "fixed")]
    rc = max(p.wait() for p in procs)
    print(f"compiled engine: numba cache warm ({time.perf_counter() - t0:.1f} s)")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
