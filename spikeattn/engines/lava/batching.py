"""How a batch becomes Lava runs (``batch_mode``): loop, tile, or stream (the default).

A job is one Lava run: ``Job(circuit, inputs, run_steps, sample_steps, gap, blocks)`` where
``inputs`` are the run's source inputs ``(run_steps, block * size)``, ``blocks`` lists
``(period, samples)``: the samples (a slice of the batch) whose trace is in period
``period`` (steps ``period * (S + G)`` to ``period * (S + G) + S``, ``S = steps``,
``G = gap``), tiled ``block`` samples side by side (:mod:`.tiling`).

- ``loop``: one run per sample (one compile per sample);
- ``tile``: one run per chunk of ``block`` samples tiled block-diagonally;
- ``stream``: **one** run for the whole batch: the chunks of ``block`` tiled samples follow
  each other in time, ``G = max delay - 1`` silent steps apart, the models restoring the
  initial state at every sample boundary (:mod:`.procs.process`).

``block`` (tile and stream) is the largest number of samples whose tiled network holds at
most ``tile_neurons`` neurons and ``tile_synapses`` synapses (at least 1): tiling
vectorises a step over samples (Lava's per-step cost is mostly per process, not per
neuron), but a tiled dense matrix costs ``block`` times the work per sample.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir import Circuit
from .tiling import tile_circuit, tile_inputs

TILE_NEURONS = 200_000
TILE_SYNAPSES = 1_000_000


@dataclass
class Job:
    circuit: Circuit
    inputs: dict
    run_steps: int
    sample_steps: int
    gap: int
    blocks: list


def block_size(circuit: Circuit, batch: int, tile_neurons: int = TILE_NEURONS,
               tile_synapses: int = TILE_SYNAPSES) -> int:
    neurons = max(1, sum(p.size for p in circuit.populations.values()))
    synapses = max(1, sum(int(np.count_nonzero(p.weights)) if not p.sparse else int(p.weights.nnz)
                          for p in circuit.projections.values()))
    return max(1, min(batch, tile_neurons // neurons, tile_synapses // synapses))


def _block(circuit: Circuit, inputs: dict, samples: slice, block: int, steps: int):
    """Inputs of ``block`` tiled samples (samples past the batch are silent padding)."""
    out = {}
    for n in circuit.sources:
        x = np.asarray(inputs[n][:, samples])
        if x.shape[1] < block:
            pad = np.zeros((steps, block - x.shape[1]) + x.shape[2:], x.dtype)
            x = np.concatenate([x, pad], axis=1)
        out[n] = x
    return tile_inputs(out) if block > 1 else {n: a[:, 0] for n, a in out.items()}


def jobs(circuit: Circuit, inputs: dict, steps: int, batch: int, mode: str, block: int):
    if mode == "loop" or batch == 1:
        block = 1
    chunks = [slice(s, min(batch, s + block)) for s in range(0, batch, block)]
    tiled = tile_circuit(circuit, block) if block > 1 else circuit
    if mode in ("loop", "tile") or len(chunks) == 1:
        for sl in chunks:
            yield Job(tiled, _block(circuit, inputs, sl, block, steps), steps, 0, 0, [(0, sl)])
        return
    gap = max([p.delay for p in circuit.projections.values()] + [1]) - 1
    period = steps + gap
    run_steps = len(chunks) * period - gap
    stream = {}
    for j, sl in enumerate(chunks):
        for n, x in _block(circuit, inputs, sl, block, steps).items():
            if n not in stream:
                stream[n] = np.zeros((run_steps,) + x.shape[1:], x.dtype)
            stream[n][j * period: j * period + steps] = x
    yield Job(tiled, stream, run_steps, steps, gap, list(enumerate(chunks)))
