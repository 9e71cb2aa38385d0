"""Run one Lava job in ``.venv-lava``: ``python -m spikeattn.engines.lava.worker IN OUT``.

Reads the job folder ``IN`` written by :func:`spikeattn.engines.lava.exchange.write_job`,
runs :class:`~spikeattn.engines.lava.engine.LavaEngine` in-process and writes the result
to ``OUT``.  A :class:`~spikeattn.errors.SpikeattnError` is written to ``OUT/error.json``
(exit status 3) so the bridge can re-raise it with its message; anything else ends with a
traceback on stderr (exit status 1), which the bridge quotes.  ``--serve`` keeps one worker
for many jobs (:mod:`.server`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def serve() -> int:
    """``--serve``: run jobs named on stdin (``JOB<TAB>OUT`` per line) until end of input,
    answering ``@@spikeattn-lava-worker@@ RC`` per job (see :mod:`.server`)."""
    import traceback
    from .server import MARK
    for line in sys.stdin:
        if not line.strip():
            continue
        job, out = line.rstrip("\n").split("\t")
        try:
            rc = main([job, out])
        except BaseException:                # not a SpikeattnError: report, then do not reuse this process
            traceback.print_exc()
            rc = 1
        sys.stderr.flush()
        print(f"{MARK} {rc}", flush=True)
        if rc == 1:
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--serve"]:
        return serve()
    if len(argv) != 2:
        print("usage: python -m spikeattn.engines.lava.worker JOB_FOLDER RESULT_FOLDER", file=sys.stderr)
        return 2
    from ...errors import SpikeattnError
    from .engine import LavaEngine
    from .exchange import read_job, write_error, write_result
    job, out = Path(argv[0]), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    try:
        circuit, inputs, steps, batch, seed, options = read_job(job)
        options = {**options, "bridge": "never"}
        cls = LavaEngine
        if options.pop("engine", "lava") == "loihi2":
            from .hardware import Loihi2Engine as cls
        res = cls(**options).run(circuit, inputs, steps, batch, seed)
        res.meta["in_process"] = False
        res.meta["worker_python"] = sys.executable
        res.meta["worker_pid"] = os.getpid()
    except SpikeattnError as exc:
        write_error(out, exc)
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    write_result(out, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
