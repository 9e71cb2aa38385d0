"""Fewer Lava processes: merge populations that share a model into one process (``merge=True``).

Lava 0.10 runs every process in its own OS process and synchronises all of them at every
time step, so a circuit of 10 small populations and 21 projections (33 processes) takes
about 30 ms per step on two cores, while a 3-process network of 1000 neurons takes under
1 ms.  This module rewrites a circuit into an equivalent one with few nodes, which
:class:`~spikeattn.engines.lava.lowering.LavaNetwork` then lowers as usual:

- **populations** of the same model class whose other parameters (reset, refractory) are
  equal become one population; ``du``, ``dv``, ``vth``, the bias and the initial ``u``, ``v``
  are concatenated per neuron and the population runs as
  :class:`~spikeattn.engines.lava.procs.process.StateLIFVec` (Lava's LIF models with vector
  ``du``/``dv``/``vth`` Vars) where they differ;
- **sources** become one source (the encoded inputs, concatenated);
- **projections** become one ``Sparse``/``DelaySparse`` per (slot, pre group, post group,
  delay, message, ``weight_exp``, ``num_weight_bits``, effective sign mode).  In floating
  point the slot is the projection's *rank* among its post population's inputs in summation
  order (:func:`spikeattn.dynamics.synapses.incoming_order`); in fixed point (integer sums,
  any order) the first slot that holds no other projection into the same post population.
  Two projections in one merged
  matrix therefore never share a post neuron: every row of the merged matrix is the row of
  exactly one original projection, so its quantisation (Lava's ``clip_weights`` and
  ``truncate_weights`` are element-wise, the sign mode is resolved per original
  projection), its integer sum, its ``weight_exp`` shift and its float summation order
  (ascending pre neuron within the row) are those of the original.  Merged projections
  are named so that Lava adds them into a population's input in rank order, the order of
  :mod:`spikeattn.dynamics.synapses`.
- A fixed-point dense graded or count projection with delay > 1 stays on its own (dense, embedded):
  ``DelayDense`` sums graded spikes in int64 where ``DelaySparse`` wraps at int32.
  Fixed-point conversion neurons (``LoihiMultiThresholdIF``, ``LoihiGradedReLU``) merge
  like the LIFs: every parameter per neuron.  Other
  fixed-point merged matrices run as ``Dense`` when at least :data:`DENSE_FRACTION` of
  their entries are non-zero (integer sums: the same values), else as ``Sparse``; float
  ones always as ``Sparse`` (CSR rows sum in ascending pre order, as the numpy engine).

The engine splits the merged ``(steps, 3, n)`` record back into the original populations
with the layout returned by :func:`merge_circuit`.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ...dynamics import dynamics_for
from ...dynamics import fixed_point as fx
from ...dynamics.synapses import incoming_order
from ...ir import IF, LIF, Circuit, LoihiLIF, Population, Projection, SpikeSource
from ...ir.neurons_extra import GradedReLU
from ...ir.neurons_loihi_convert import LoihiGradedReLU, LoihiMultiThresholdIF

#: Parameters each lowering passes to Lava per neuron (the rest must be equal to merge).
PER_NEURON = {LoihiLIF: ("du", "dv", "vth", "bias_mant", "bias_exp"), IF: ("du", "dv", "vth", "bias"),
              LIF: ("du", "dv", "vth", "bias"), GradedReLU: ("vth",), LoihiGradedReLU: ("vth",),
              LoihiMultiThresholdIF: ("vth", "levels", "signed", "bias_mant", "bias_exp")}
SOURCE = "merged_src"
#: Messages that Lava's DelayDense sums in int64 where DelaySparse wraps at int32 (graded Dense).
INT64_DENSE = ("graded", "count")
#: Fixed point: a merged matrix with at least this fraction of non-zeros runs as Lava's Dense.
DENSE_FRACTION = 0.2


def _per_neuron_fields(model):
    return PER_NEURON.get(type(model))          # exact class: a subclass may have its own dynamics


def _scalar(v):
    arr = np.asarray(v)
    return arr.reshape(-1)[0].item() if arr.ndim else arr.item()


def group_key(pop: Population):
    """Populations with equal keys run as one Lava process."""
    fields = _per_neuron_fields(pop.model)
    if fields is None:
        return ("alone", pop.name)
    shared = []
    for k, v in pop.model.params().items():
        if k in fields:
            continue
        arr = np.asarray(v)
        if arr.ndim and arr.size and not np.all(arr == arr.reshape(-1)[0]):
            return ("alone", pop.name)
        shared.append((k, _scalar(v)))
    return (type(pop.model).__module__, type(pop.model).__qualname__, tuple(shared))


def _merge_pops(name: str, pops: list[Population]) -> tuple[Population, dict]:
    """The merged population (the first population's model) and its per-neuron parameters."""
    m0 = pops[0].model
    fields = _per_neuron_fields(m0) or ()
    params = {f: np.concatenate([np.broadcast_to(np.asarray(getattr(p.model, f)), (p.size,)) for p in pops])
              for f in fields}
    initial = {}
    for var in m0.state:
        parts = [dynamics_for(p.model).init_state(p, 1).get(var) for p in pops]
        if all(x is not None for x in parts):
            initial[var] = np.concatenate([np.asarray(x)[0] for x in parts])
    size = sum(p.size for p in pops)
    placeholder = {f: _scalar(getattr(m0, f)) for f in fields if np.ndim(getattr(m0, f))}   # real values: params
    model = replace(m0, **placeholder) if placeholder else m0
    return Population(name, (size,), model, initial), params


def _effective_sign_mode(proj: Projection) -> str:
    """The sign mode Lava resolves for ``proj`` alone (declared, else from its weights)."""
    data = proj.weights.tocsr().data if proj.sparse else np.asarray(proj.weights)
    return fx.sign_mode(np.asarray(data), proj.sign_mode)


def merge_circuit(circuit: Circuit):
    """``(merged circuit, pop_layout, source_layout, params)``.

    ``pop_layout``: merged population -> ``[(original population, start, stop), ...]``;
    ``source_layout``: ``[(original source, start, stop), ...]`` in the merged source;
    ``params``: merged population -> per-neuron parameters for the lowering."""
    fixed = circuit.fixed_point
    groups: dict = {}
    for name, pop in circuit.populations.items():
        groups.setdefault(group_key(pop), []).append(name)
    out = Circuit(circuit.name, circuit.dt)
    where: dict[str, tuple[str, int]] = {}          # original node -> (merged node, offset)
    pop_layout: dict[str, list] = {}
    params: dict[str, dict] = {}
    for k, names in enumerate(groups.values()):
        gname = f"merged_pop{k}"
        pops = [circuit.populations[n] for n in names]
        merged, params[gname] = _merge_pops(gname, pops)
        out.add(merged)
        off, lay = 0, []
        for p in pops:
            where[p.name] = (gname, off)
            lay.append((p.name, off, off + p.size))
            off += p.size
        pop_layout[gname] = lay
    source_layout = []
    if circuit.sources:
        off = 0
        for n, s in circuit.sources.items():
            where[n] = (SOURCE, off)
            source_layout.append((n, off, off + s.size))
            off += s.size
        s0 = next(iter(circuit.sources.values()))
        graded = any(s.encoder == "graded" for s in circuit.sources.values())
        out.add(SpikeSource(SOURCE, (off,), "graded" if graded else s0.encoder, s0.seed, s0.window))
    rank = {p: i for names in incoming_order(circuit).values() for i, p in enumerate(names)}
    buckets: dict = {}
    slots: dict = {}                                # fixed point: key -> [set of post pops per slot]
    for pname in sorted(circuit.projections):
        p = circuit.projections[pname]
        alone = fixed and p.message in INT64_DENSE and p.delay > 1 and not p.sparse
        key = (where[p.pre][0], where[p.post][0], p.delay, p.message, int(p.weight_exp),
               int(p.num_weight_bits), _effective_sign_mode(p) if fixed else "auto", pname if alone else "")
        if fixed:       # integer sums: any order; a slot never holds two projections into one population
            used = slots.setdefault(key, [])
            r = next((i for i, posts in enumerate(used) if p.post not in posts), len(used))
            if r == len(used):
                used.append(set())
            used[r].add(p.post)
        else:           # float: a population adds its inputs in rank (name) order
            r = rank[pname]
        buckets.setdefault((r,) + key, []).append(p)
    sizes = {n: o.size for n, o in out.nodes().items()}
    for j, (key, projs) in enumerate(sorted(buckets.items(), key=lambda kv: (kv[0][0], str(kv[0][1:])))):
        r, pre_g, post_g, delay, message, wexp, nbits, sign, alone = key
        shape = (sizes[post_g], sizes[pre_g])
        rows, cols, vals = [], [], []
        for p in projs:
            w = sp.coo_matrix(p.weights)
            rows.append(w.row + where[p.post][1])
            cols.append(w.col + where[p.pre][1])
            vals.append(w.data)
        dtype = np.int64 if fixed else np.float64
        w = sp.csr_matrix((np.concatenate(vals).astype(dtype), (np.concatenate(rows), np.concatenate(cols))),
                          shape=shape)
        w.sum_duplicates()
        w.sort_indices()
        # fixed point: a dense enough matrix runs as Dense (faster in Lava); sparse graded
        # projections with delay > 1 stay DelaySparse (int32 sums), see the module docstring
        keep_sparse = message in INT64_DENSE and delay > 1 and any(p.sparse for p in projs)
        dense = alone or (fixed and not keep_sparse and w.nnz >= DENSE_FRACTION * shape[0] * shape[1])
        weights = w.toarray() if dense else w
        out.add(Projection(f"r{r:05d}_{j:05d}", pre_g, post_g, weights, delay, message, wexp, nbits, sign))
    return out, pop_layout, source_layout, params


def merge_inputs(sample_inputs: dict[str, np.ndarray], source_layout) -> dict[str, np.ndarray]:
    """Concatenate the sources' encoded inputs (last axis) in the merged source's order."""
    if not source_layout:
        return {}
    return {SOURCE: np.concatenate([np.asarray(sample_inputs[n]) for n, _, _ in source_layout], axis=-1)}


def split_trace(trace: dict[str, np.ndarray], pop_layout) -> dict[str, np.ndarray]:
    """Merged ``(steps, 3, n)`` records -> one record per original population."""
    out = {}
    for gname, arr in trace.items():
        for name, a, b in pop_layout[gname]:
            out[name] = arr[..., a:b]
    return out
