"""Flatten a circuit, its encoded inputs and its initial state into the arrays of the loop.

Everything the compiled loop (:mod:`.loop`) reads is a C-contiguous numpy array; the
circuit's structure becomes small int64 tables whose columns are named by the constants
below.  Neurons of all populations share one index space (``lo .. hi`` per population), as
do the accumulator rings, the arrival-flag rings, the outputs and the probes.

* Nodes (``NODE``) are listed in ``circuit.update_order()``; each names its outgoing
  projections (a slice of ``OUTL``).
* A population's incoming projections (a slice of ``INL``) are in
  :func:`spikeattn.dynamics.synapses.incoming_order` (sorted by name): the order in which
  their accumulators are added (float summation order, defined once there).
* Each projection has its own accumulator ring of ``delay + 1`` slots (slot ``t % (delay+1)``)
  and its transposed weights as CSR rows (``INDPTR`` offsets into ``INDICES`` (int32, post
  index) / ``W``) from
  the shared :class:`~spikeattn.dynamics.synapses.SynapseTable` (quantised for fixed point).
* A population has one arrival-flag ring of ``max(delay) + 1`` slots ("received >= 1 event
  for step t", the active-update rule).
* Sources: binary (bool) inputs are read in place as uint8 (one source: no copy), and as
  8-byte words where rows are 8-byte aligned; graded inputs as float64 (int64 for
  fixed-point circuits).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...dynamics import dynamics_for
from ...dynamics.synapses import incoming_order, synapse_tables
from ...errors import UnsupportedFeatureError
from .registry import N_FROWS, N_IROWS, kernel_for

# NODE columns
N_KIND, N_REF, N_OUT0, N_OUT1 = range(4)
N_COLS = 4
KIND_SOURCE, KIND_POP = 0, 1
# POP columns
(P_KERNEL, P_LO, P_HI, P_GRADED, P_OUT_LO, P_IN0, P_IN1, P_ARR_LO, P_ARR_LEN, P_REFRAC, P_SUBTRACT,
 P_PRB0, P_PRB1, P_UNIFORM, P_LEVELS, P_SIGNED) = range(16)
P_COLS = 16
# SRC columns
S_GRADED, S_LO, S_SIZE, S_WORDS = range(4)
S_COLS = 4
# PROJ columns
J_POST, J_DELAY, J_MODE, J_PTR, J_ACC, J_NPOST, J_WEXP, J_INT32 = range(8)
J_COLS = 8
# message modes (PROJ[:, J_MODE])
M_BINARY, M_GRADED, M_COUNT, M_SIGNED = range(4)
# PRB columns
R_SLOT, R_LO = range(2)


@dataclass
class Packed:
    """The arrays of one run (see the module docstring); ``views`` says where each
    population's spikes and each probe live in the output arrays."""

    fixed: bool
    NODE: np.ndarray
    POP: np.ndarray
    SRC: np.ndarray
    PROJ: np.ndarray
    OUTL: np.ndarray
    INL: np.ndarray
    PRB: np.ndarray
    FP: np.ndarray
    IP: np.ndarray
    INDPTR: np.ndarray
    INDICES: np.ndarray
    W: np.ndarray
    SB: np.ndarray
    SB64: np.ndarray
    SV: np.ndarray
    U: np.ndarray
    V: np.ndarray
    REF: np.ndarray
    ACC: np.ndarray
    ARR: np.ndarray
    max_n: int
    n_bin_out: int
    n_grd_out: int
    n_probe: int
    pop_names: list
    src_names: list
    proj_names: list
    spike_slices: dict = field(default_factory=dict)     # pop -> (graded, lo, hi)
    probe_slices: dict = field(default_factory=dict)     # (pop, var) -> (lo, hi)
    flags: dict = field(default_factory=dict)            # pop -> kernel diagnostics flag names
    tables: dict = field(default_factory=dict)           # projection -> SynapseTable


def _sources(inputs, names, fixed, steps, batch):
    """Binary inputs as one uint8 (steps, batch, n) array, graded ones as one value array."""
    dtype = np.int64 if fixed else np.float64
    SRC = np.zeros((len(names), S_COLS), np.int64)
    binary, graded = [], []
    nb = nv = 0
    for i, n in enumerate(names):
        arr = inputs[n]
        if arr.dtype == bool:
            SRC[i] = (0, nb, arr.shape[2], 0)
            binary.append(arr)
            nb += arr.shape[2]
        else:
            SRC[i] = (1, nv, arr.shape[2], 0)
            graded.append(arr)
            nv += arr.shape[2]

    def join(arrs):
        return arrs[0] if len(arrs) == 1 else np.concatenate(arrs, axis=2)
    SB = np.ascontiguousarray(join(binary)).view(np.uint8) if binary else np.zeros((steps, batch, 0), np.uint8)
    SV = np.ascontiguousarray(join(graded), dtype) if graded else np.zeros((steps, batch, 0), dtype)
    # 8-byte words of the binary inputs (scanned 8 spikes at a time) where rows allow it
    if nb and nb % 8 == 0:
        SB64 = SB.view(np.uint64)
        SRC[:, S_WORDS] = (SRC[:, S_GRADED] == 0) & (SRC[:, S_LO] % 8 == 0)
    else:
        SB64 = np.zeros((steps, batch, 0), np.uint64)
    return SRC, SB, SB64, SV


def pack(circuit, inputs: dict, steps: int, batch: int) -> Packed:
    """Lower ``circuit`` (already validated and checked) for a run of ``batch`` samples."""
    fixed = circuit.fixed_point
    dtype = np.int64 if fixed else np.float64
    order = circuit.update_order()
    pops = circuit.populations
    pop_names = [n for n in order if n in pops]
    src_names = [n for n in order if n not in pops]
    tables = synapse_tables(circuit)
    proj_names = sorted(tables)
    pidx = {n: i for i, n in enumerate(pop_names)}
    sidx = {n: i for i, n in enumerate(src_names)}
    jidx = {n: i for i, n in enumerate(proj_names)}
    incoming = incoming_order(circuit)

    n_neurons = sum(pops[n].size for n in pop_names)
    POP = np.zeros((len(pop_names), P_COLS), np.int64)
    FP = np.zeros((N_FROWS, n_neurons), np.float64)
    IP = np.zeros((N_IROWS, n_neurons), np.int64)
    U = np.zeros((batch, n_neurons), dtype)
    V = np.zeros((batch, n_neurons), dtype)
    REF = np.zeros((batch, n_neurons), np.int64)
    packed_flags, spike_slices = {}, {}
    lo = nb_out = ng_out = arr_lo = 0
    inl: list[int] = []
    for n in pop_names:
        pop = pops[n]
        spec = kernel_for(pop.model)
        if spec is None:   # engine.check refuses these first; this guards direct use
            raise UnsupportedFeatureError(f"compiled engine: no kernel for population '{n}'.")
        dyn = dynamics_for(pop.model)
        params = dyn.params(pop)
        state = dyn.init_state(pop, batch)
        hi = lo + pop.size
        for name, row in spec.float_rows.items():
            FP[row, lo:hi] = params[name]
        for name, row in spec.int_rows.items():
            IP[row, lo:hi] = params[name]
        scal = {}
        for name in spec.scalars:
            vals = np.asarray(params[name])
            if vals.size and np.any(vals != vals.flat[0]):
                raise UnsupportedFeatureError(f"compiled engine: population '{n}' has per-neuron '{name}'; "
                                              "the kernel takes one value per population. Use engine='numpy'.")
            scal[name] = int(vals.flat[0]) if vals.size else 0
        for var, slot in spec.state_slots.items():
            (U if slot == 0 else V)[:, lo:hi] = state[var]
        if "ref" in state:
            REF[:, lo:hi] = state["ref"]
        graded = bool(dyn.graded_output)
        out_lo = ng_out if graded else nb_out
        if graded:
            ng_out += pop.size
        else:
            nb_out += pop.size
        spike_slices[n] = (graded, out_lo, out_lo + pop.size)
        ins = [jidx[p] for p in incoming[n]]
        arr_len = 1 + max([tables[p].delay for p in incoming[n]], default=0)
        POP[pidx[n]] = (spec.code, lo, hi, graded, out_lo, len(inl), len(inl) + len(ins), arr_lo, arr_len,
                        scal.get("refractory", 0), scal.get("subtract", 0), 0, 0,
                        all(np.all(FP[r, lo:hi] == FP[r, lo]) for r in spec.float_rows.values()),
                        scal.get("levels", 0), scal.get("signed", 0))
        inl += ins
        arr_lo += arr_len * pop.size
        packed_flags[n] = spec.flags
        lo = hi

    # probes: unique (population, variable) in the order the numpy engine records them
    probe_vars: dict[str, list[str]] = {}
    for pr in circuit.probes:
        for var in pr.variables:
            if var not in probe_vars.setdefault(pr.target, []):
                probe_vars[pr.target].append(var)
    PRB, probe_slices, n_probe = [], {}, 0
    for n in pop_names:
        POP[pidx[n], P_PRB0] = len(PRB)
        spec = kernel_for(pops[n].model)
        for var in probe_vars.get(n, []):
            PRB.append((spec.state_slots[var], n_probe))
            probe_slices[(n, var)] = (n_probe, n_probe + pops[n].size)
            n_probe += pops[n].size
        POP[pidx[n], P_PRB1] = len(PRB)
    PRB = np.array(PRB, np.int64).reshape(-1, 2)

    PROJ = np.zeros((len(proj_names), J_COLS), np.int64)
    indptr, indices, weights = [], [], []
    ptr = syn = acc = 0
    for j, n in enumerate(proj_names):
        tab = tables[n]
        w_t = tab.w_t
        indptr.append(w_t.indptr[:-1].astype(np.int64) + syn)
        indptr.append(np.array([syn + w_t.nnz], np.int64))
        indices.append(w_t.indices.astype(np.int32))   # post index < n_post: 4 bytes a synapse
        weights.append(w_t.data.astype(dtype))
        mode = (M_GRADED if tab.graded else M_COUNT if getattr(tab, "count", False)
                else M_SIGNED if getattr(tab, "signed_pre", False) else M_BINARY)
        PROJ[j] = (pidx[tab.post], tab.delay, mode, ptr, acc, tab.n_post, tab.weight_exp,
                   tab.graded_int32_sum)
        ptr += tab.n_pre + 1
        syn += w_t.nnz
        acc += (tab.delay + 1) * tab.n_post

    NODE = np.zeros((len(order), N_COLS), np.int64)
    outl: list[int] = []
    outgoing = {n: [] for n in order}
    for n in proj_names:
        outgoing[tables[n].pre].append(jidx[n])
    for k, n in enumerate(order):
        kind = KIND_POP if n in pops else KIND_SOURCE
        NODE[k] = (kind, pidx[n] if n in pops else sidx[n], len(outl), len(outl) + len(outgoing[n]))
        outl += outgoing[n]

    SRC, SB, SB64, SV = _sources(inputs, src_names, fixed, steps, batch)
    sizes = [circuit.node(n).size for n in order]

    def cat(parts, dt):
        return np.ascontiguousarray(np.concatenate(parts), dt) if parts else np.zeros(0, dt)
    return Packed(
        fixed=fixed, NODE=NODE, POP=POP, SRC=SRC, PROJ=PROJ, OUTL=np.array(outl, np.int64),
        INL=np.array(inl, np.int64), PRB=PRB, FP=FP, IP=IP, INDPTR=cat(indptr, np.int64),
        INDICES=cat(indices, np.int32), W=cat(weights, dtype), SB=SB, SB64=SB64, SV=SV, U=U, V=V, REF=REF,
        ACC=np.zeros((batch, acc), dtype), ARR=np.zeros((batch, arr_lo), np.uint8), max_n=max(sizes),
        n_bin_out=nb_out, n_grd_out=ng_out, n_probe=n_probe, pop_names=pop_names, src_names=src_names,
        proj_names=proj_names, spike_slices=spike_slices, probe_slices=probe_slices, flags=packed_flags,
        tables=tables)

