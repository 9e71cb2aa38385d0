"""The attention library's fused runner for the numpy engine (``simulate(circuit, ...,
engine="numpy", fused=True)`` on a circuit whose ``meta["fused"] == "attention"``).

An SSA circuit that is exactly what :func:`.ssa.ssa_attention` builds from its recorded
parameters, with dyadic weights and thresholds (whose sums are exact, so factoring them
changes no bit), runs in closed form (:mod:`.fused_ssa`); every other attention circuit
(SDSA, relay delay lines, composed blocks, modified SSA circuits) runs on the numpy engine's
vectorised runner (:mod:`spikeattn.engines.numpy.vectorised`).  Both give the spikes and
EventCounts of the neuron-level run.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ...engines.fused import register_fused
from ...engines.numpy.vectorised import run_vectorised, why_not_fusable
from ...errors import SpikeattnError
from ...ir import Circuit
from ...result import SimResult
from ...version import __version__
from .fused_ssa import ssa_fused
from .ssa import pair_index, ssa_attention


def _ssa_mask(circuit: Circuit, spec: dict):
    """The token mask of a "qk_v" SSA circuit, read from its ``q -> coinc`` / ``k -> coinc``
    synapses, or None when every pair is present."""
    i_p, j_p = pair_index(circuit)
    nq, nk = spec["n_query"], spec["n_key"]
    if i_p.size == nq * nk:
        return None
    return sp.csr_matrix((np.ones(i_p.size, bool), (i_p, j_p)), shape=(nq, nk))


def _run_ssa(circuit: Circuit, inputs, steps, batch, seed):
    """Closed-form SSA run (:mod:`.fused_ssa`) after checking that ``circuit`` is exactly what
    :func:`.ssa.ssa_attention` builds from its recorded parameters (else None)."""
    spec = circuit.meta["attention"]
    if spec.get("delay_mode") != "synaptic" or spec.get("map_code", "graded") != "graded" or circuit.probes:
        return None
    if why_not_fusable(circuit, dyadic=True) is not None or "y" not in circuit.populations:
        return None
    try:
        mask = _ssa_mask(circuit, spec) if spec["order"] == "qk_v" else None
        out_model = circuit.node("y").model
        ref = ssa_attention(spec["n_query"], spec["dim"], spec["heads"], spec["n_key"], spec["order"], mask,
                            spec["scale"], out_model, name=circuit.name)
    except (SpikeattnError, KeyError):     # recorded parameters that no longer build an SSA circuit
        return None
    if not (ref.nodes() == circuit.nodes() and ref.projections == circuit.projections):
        return None
    t0 = time.perf_counter()
    spikes, counts = ssa_fused(spec, inputs["q"], inputs["k"], inputs["v"], out_model, mask, record=True)
    spikes.update({n: inputs[n] for n in circuit.sources})
    return SimResult(spikes=spikes, probes={}, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                     engine="numpy", wall_s=time.perf_counter() - t0,
                     meta={"engine": "numpy", "version": __version__, "mode": "floating_pt", "seed": seed,
                           "fused": "attention:ssa-closed-form"})


def run_fused(circuit: Circuit, inputs, steps: int, batch: int, seed: int, progress: bool = False):
    """Run ``circuit`` fused; returns a :class:`SimResult`, or the reason it cannot.

    SSA circuits use the closed-form runner of :mod:`.fused_ssa` when the circuit is exactly
    what :func:`.ssa.ssa_attention` builds; the others (SDSA, relay delay lines, composed
    blocks) and modified SSA circuits the vectorised gather/scatter runner."""
    if circuit.meta.get("attention", {}).get("kind") == "ssa":
        result = _run_ssa(circuit, inputs, steps, batch, seed)
        if result is not None:
            return result
    return run_vectorised(circuit, inputs, steps, batch, seed, progress)


register_fused("attention", run_fused)
