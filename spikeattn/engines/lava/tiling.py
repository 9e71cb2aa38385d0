"""Tile a circuit ``batch`` times side by side (the ``tile`` and ``stream`` batch modes, :mod:`.batching`).

Tiling builds one circuit whose every population and source holds ``batch`` copies (neuron
``b * size + i`` is neuron i of sample b) and whose projections are block-diagonal CSR
matrices (``batch`` copies of W); the engine splits the recorded ``(steps, 3, batch * size)``
trace back into samples.  The dynamics of each copy are those of the original (LIF
parameters are per-neuron or shared, weights are quantised element-wise, the sign mode of a
block-diagonal matrix is that of W), so spikes, u and v are the same as the loop's; the
only difference is that every projection runs as Lava's ``Sparse`` / ``DelaySparse``.
Where dense graded projections with delay > 1 would sum in int64 (``DelayDense``),
``DelaySparse`` sums in int32: the two differ only when a graded sum exceeds 2**31 and
weight_exp < 0.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...ir import Circuit, Population, Projection, SpikeSource


def _tile_param(value, batch: int):
    arr = np.asarray(value)
    return np.tile(arr, batch) if arr.ndim == 1 else value


def tile_circuit(circuit: Circuit, batch: int) -> Circuit:
    """``batch`` independent copies of ``circuit`` as one circuit with the same node names."""
    from dataclasses import replace
    out = Circuit(circuit.name, circuit.dt)
    for name, obj in circuit.nodes().items():
        if isinstance(obj, Population):
            m = obj.model
            params = {k: _tile_param(v, batch) for k, v in m.params().items()}
            model = replace(m, **params)
            initial = {k: _tile_param(np.broadcast_to(v, (obj.size,)), batch) for k, v in obj.initial.items()}
            out.add(Population(name, (obj.size * batch,), model, initial))
        else:
            out.add(SpikeSource(name, (obj.size * batch,), obj.encoder, obj.seed, obj.window))
    for p in circuit.projections.values():
        w = sp.csr_matrix(p.weights) if p.sparse else sp.csr_matrix(np.asarray(p.weights))
        tiled = sp.block_diag([w] * batch, format="csr")
        out.add(Projection(p.name, p.pre, p.post, tiled, p.delay, p.message, p.weight_exp,
                           p.num_weight_bits, p.sign_mode))
    return out


def tile_inputs(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(steps, batch, size) -> (steps, batch * size), sample-major."""
    return {n: a.reshape(a.shape[0], -1) for n, a in inputs.items()}

