"""Lava 0.10 peer of the plain-LIF benchmark; runs in ``.venv-lava`` (Python 3.10).

    .venv-lava/bin/python benchmarks/lava_worker.py JOB.npz

A hand-written minimal Lava network, no spikeattn code: a source ``RingBuffer`` holding the
input spikes -> ``Dense`` (one-to-one input weights) -> ``LIF`` <- ``Dense`` (recurrent
weights) <- the LIF's own spikes, run on the CPU simulator with
``Loihi2SimCfg(select_tag="fixed_pt")`` (``PyLifModelBitAcc``, ``PyDenseModelBitAcc``).

``JOB.npz`` holds ``w_rec`` ``(n, n)`` and ``w_in`` ``(n,)`` integer weights, ``du``, ``dv``,
``vth``, the input ``spikes`` ``(steps, n)``, ``warm_steps`` and ``timed_steps``.  The first
``run`` (compile, spawning the process models, ``warm_steps`` steps) is timed apart; the
next ``run`` of ``timed_steps`` steps gives the wall time per step.  Then the LIF's ``u`` and
``v`` are read once (reading every step's spikes out of Lava costs tens of microseconds
per value, more than the run), so the caller checks the final state against spikeattn's
bit-exact fixed-point run of the same steps.  Emits one result line (see ``common.py``).
"""
from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

RESULT_MARK = "@@BENCH_RESULT@@ "


def main(job_path: str) -> dict:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF

    job = np.load(job_path)
    spikes = job["spikes"]
    n = spikes.shape[1]
    warm, timed = int(job["warm_steps"]), int(job["timed_steps"])
    src = RingBuffer(data=np.ascontiguousarray(spikes.T.astype(np.int32)))
    d_in = Dense(weights=np.diag(job["w_in"]).astype(np.int32))
    d_rec = Dense(weights=job["w_rec"].astype(np.int32))
    lif = LIF(shape=(n,), du=int(job["du"]), dv=int(job["dv"]), vth=int(job["vth"]), bias_mant=0, bias_exp=0)
    src.s_out.connect(d_in.s_in)
    d_in.a_out.connect(lif.a_in)
    lif.s_out.connect(d_rec.s_in)
    d_rec.a_out.connect(lif.a_in)
    cfg = Loihi2SimCfg(select_tag="fixed_pt")
    t0 = time.perf_counter()
    lif.run(condition=RunSteps(num_steps=warm), run_cfg=cfg)
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    lif.run(condition=RunSteps(num_steps=timed), run_cfg=cfg)
    run_s = time.perf_counter() - t1
    u, v = lif.u.get().astype(np.int64), lif.v.get().astype(np.int64)
    lif.stop()
    import lava
    return {"first_run_s": first, "warm_steps": warm, "timed_steps": timed, "run_s": run_s,
            "s_per_step": run_s / timed, "u": u.tolist(), "v": v.tolist(), "neurons": n,
            "lava_version": getattr(lava, "__version__", "0.10"),
            "worker_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


if __name__ == "__main__":
    out = main(sys.argv[1])
    sys.stdout.write(RESULT_MARK + json.dumps(out) + "\n")
    sys.stdout.flush()
