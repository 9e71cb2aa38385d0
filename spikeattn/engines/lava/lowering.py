"""Lowering of spikeattn IR elements to Lava 0.10 processes (runs inside ``.venv-lava``).

One builder per IR type, found by walking the class hierarchy (Nengo's builder registry):
register more with :func:`lowers`.  Each builder returns the Lava process for one element
of one sample; :class:`LavaNetwork` wires one connected part of a circuit.

Mapping (``d`` = our projection delay, in steps):

=========================  ===================================================================
IR element                 Lava process
=========================  ===================================================================
``SpikeSource``            ``lava.proc.io.source.RingBuffer`` holding the encoded input
                           (size, steps); at step t it emits column t (0-based)
``LoihiLIF`` / ``LIF``     :class:`~spikeattn.engines.lava.procs.process.StateLIF` (Lava's LIF,
                           recording ``[s, u, v]`` every step to a ``.npy`` file)
``GradedReLU``             :class:`~spikeattn.engines.lava.procs.process.StateGradedReLU`
                           (``v = a_in``, graded ``s = v - vth`` where ``v > vth``; records
                           ``[s, 0, v]``; ``floating_pt`` only)
``LoihiMultiThresholdIF``  :class:`~spikeattn.engines.lava.procs.process.StateMultiThresholdIF`
                           (integer levels ``n`` as graded spikes on ``s_out``, ``sign(n)`` on
                           ``sign_out``; records ``[n, 0, v]``; ``fixed_pt`` only)
``LoihiGradedReLU``        :class:`~spikeattn.engines.lava.procs.process.StateLoihiGradedReLU`
                           (``v = clip(wrap32(a_in))``, ``s = v - vth`` where ``v > vth``)
projection, ``d == 1``     ``Dense`` (dense weights) or ``Sparse`` (scipy CSR): both delay 1 step
fixed point, ``d > 1``     :class:`~spikeattn.engines.lava.procs.process.DelayLineDense` /
                           ``DelayLineSparse``: Lava's Dense / Sparse arithmetic (quantisation,
                           ``weight_exp``) and a queue of the ``d`` pending outputs: one
                           ``W @ s`` per step, int64 (dense) / int32 (sparse) sums as
                           DelayDense / DelaySparse
float, ``d > 1``           ``DelayDense`` / ``DelaySparse`` with Lava delay ``d - 1``: Lava's
                           delay k arrives k + 1 steps after the spike (read from Lava's
                           ``AbstractPyDelayDenseModel.update_act`` and verified against the
                           numpy engine in ``tests/lava_native``).  Lava rebuilds a
                           (k + 1)-fold weight matrix every step: slow for big, long-delay
                           projections
=========================  ===================================================================

Graded and count projections use ``num_message_bits = 24`` (Lava's graded Dense: ``W @ s``,
the graded values of a ``GradedReLU`` / ``LoihiGradedReLU``, the levels ``n`` of a
``LoihiMultiThresholdIF`` or a graded source; integer sums wrap to int32 before the
``weight_exp`` shift, except DelayDense's, which are int64, as
``spikeattn.dynamics.synapses.SynapseTable.graded_int32_sum`` says), binary ones 0
(``W @ [s != 0]``); a binary projection from a signed-output model (``LoihiMultiThresholdIF``)
is a graded Dense fed from the process's ``sign_out`` port (``W @ sign(s)``);
fixed-point projections pass ``weight_exp``, ``num_weight_bits`` and the sign mode (Lava's
``SignMode``; "auto" lets Lava detect it from the signs, as our numpy engine does).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

from ...dynamics import dynamics_for
from ...dynamics.synapses import signed_output
from ...errors import UnsupportedFeatureError
from ...ir import LIF, Circuit, LoihiLIF, Population, Projection, SpikeSource
from ...ir.neurons_extra import GradedReLU
from ...ir.neurons_loihi_convert import LoihiGradedReLU, LoihiMultiThresholdIF

#: Loihi 2's synaptic delay field is 6 bits: DelayDense/DelaySparse accept 0..63 in fixed
#: point, i.e. our delays 1..64.
MAX_FIXED_DELAY = 64
GRADED_MESSAGE_BITS = 24

LOWERINGS: dict[type, Callable] = {}


def lowers(ir_type: type):
    """Decorator: register ``fn(obj, fixed: bool, **ctx) -> lava process`` for ``ir_type``."""
    def deco(fn):
        LOWERINGS[ir_type] = fn
        return fn
    return deco


def lower(obj, fixed: bool, **ctx):
    """Lower one IR object (dispatch on the type of ``obj``, or of ``obj.model``)."""
    key = obj.model if isinstance(obj, Population) else obj
    for klass in type(key).__mro__:
        if klass in LOWERINGS:
            if isinstance(obj, Population) and dynamics_for(klass) is not dynamics_for(key):
                break       # a subclass with its own dynamics: the parent's lowering would be wrong
            return LOWERINGS[klass](obj, fixed, **ctx)
    raise UnsupportedFeatureError(f"the Lava engine has no lowering of {type(key).__name__} "
                                  f"('{getattr(obj, 'name', obj)}'); register one with "
                                  "spikeattn.engines.lava.lowering.lowers.")


def _per_neuron(value, n: int, dtype) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype), (n,)).copy()


def _initial(pop: Population, dtype) -> dict:
    """The model's initial u and v (from the model-behaviour layer) for one sample."""
    init = dynamics_for(pop.model).init_state(pop, 1)
    return {var: init[var][0].astype(dtype) for var in ("u", "v")}


def _stream(ctx: dict) -> dict:
    """Sample boundaries of a streamed run (see :mod:`.procs.process`)."""
    return {"sample_steps": int(ctx.get("sample_steps", 0)), "gap": int(ctx.get("gap", 0))}


def _lif_process(pop: Population, dtype, params: dict | None, **kw):
    """StateLIF, or StateLIFVec where ``params`` (merged populations) gives du, dv, vth per neuron."""
    from .procs.process import StateLIF, StateLIFVec
    m, params = pop.model, params or {}
    const = {k: np.asarray(params.get(k, getattr(m, k))) for k in ("du", "dv", "vth")}
    if all(a.ndim == 0 or np.all(a == a.reshape(-1)[0]) for a in const.values()):
        scal = {k: (int if dtype is np.int64 else float)(a.reshape(-1)[0]) for k, a in const.items()}
        return StateLIF(shape=(pop.size,), **scal, **kw)
    vec = {k: _per_neuron(a, pop.size, np.int32 if dtype is np.int64 else np.float64) for k, a in const.items()}
    return StateLIFVec(shape=(pop.size,), **vec, **kw)


@lowers(LoihiLIF)
def lower_loihi_lif(pop: Population, fixed: bool, *, record_path, record_steps: int, params=None, **ctx):
    """Fixed-point LIF; parameters are given at construction (``Var.set`` on scalar Vars
    is silently ignored by Lava's fixed-point models).  ``params``: per-neuron overrides
    (du, dv, vth, bias_mant, bias_exp) of a merged population."""
    m, params = pop.model, params or {}
    return _lif_process(pop, np.int64, params,
                        bias_mant=_per_neuron(params.get("bias_mant", m.bias_mant), pop.size, np.int64),
                        bias_exp=_per_neuron(params.get("bias_exp", m.bias_exp), pop.size, np.int64),
                        name=pop.name, record_path=record_path, record_steps=record_steps,
                        **_stream(ctx), **_initial(pop, np.int64))


@lowers(LIF)
def lower_lif(pop: Population, fixed: bool, *, record_path, record_steps: int, params=None, **ctx):
    """Float LIF/IF: Lava's floating-point LIF with ``bias_mant = bias`` (reset to 0, scalar
    du/dv/vth, no refractory period: the engine refuses the rest up front)."""
    m, params = pop.model, params or {}
    return _lif_process(pop, np.float64, params,
                        bias_mant=_per_neuron(params.get("bias", m.bias), pop.size, np.float64),
                        bias_exp=np.zeros(pop.size), name=pop.name, record_path=record_path,
                        record_steps=record_steps, **_stream(ctx), **_initial(pop, np.float64))


@lowers(GradedReLU)
def lower_graded_relu(pop: Population, fixed: bool, *, record_path, record_steps: int, params=None, **ctx):
    """Memoryless graded ReLU: a float model (a circuit holding one is never fixed-point)."""
    from .procs.process import StateGradedReLU
    if fixed:
        raise UnsupportedFeatureError(f"population '{pop.name}': GradedReLU is a floating-point model; "
                                      "the Lava engine runs it with select_tag='floating_pt' only.")
    vth = (params or {}).get("vth", pop.model.vth)
    return StateGradedReLU(shape=(pop.size,), vth=_per_neuron(vth, pop.size, np.float64),
                           name=pop.name, record_path=record_path, record_steps=record_steps, **_stream(ctx))


@lowers(LoihiMultiThresholdIF)
def lower_loihi_multi_threshold_if(pop: Population, fixed: bool, *, record_path, record_steps: int, params=None,
                                   **ctx):
    """Fixed-point multi-threshold IF; every parameter per neuron (``params``: a merged
    population's per-neuron values)."""
    from .procs.process import StateMultiThresholdIF
    m, params, n = pop.model, params or {}, pop.size
    vals = {k: _per_neuron(params.get(k, getattr(m, k)), n, np.int64)
            for k in ("vth", "levels", "signed", "bias_mant", "bias_exp")}
    v0 = dynamics_for(m).init_state(pop, 1)["v"][0].astype(np.int64)
    return StateMultiThresholdIF(shape=(n,), **vals, v=v0, name=pop.name, record_path=record_path,
                                 record_steps=record_steps, **_stream(ctx))


@lowers(LoihiGradedReLU)
def lower_loihi_graded_relu(pop: Population, fixed: bool, *, record_path, record_steps: int, params=None, **ctx):
    """Fixed-point memoryless graded ReLU, ``vth`` per neuron."""
    from .procs.process import StateLoihiGradedReLU
    vth = (params or {}).get("vth", pop.model.vth)
    return StateLoihiGradedReLU(shape=(pop.size,), vth=_per_neuron(vth, pop.size, np.int64), name=pop.name,
                                record_path=record_path, record_steps=record_steps, **_stream(ctx))


@lowers(SpikeSource)
def lower_source(src: SpikeSource, fixed: bool, *, data: np.ndarray, **ctx):
    """``data``: this sample's encoded input, (steps, size); Lava wants (size, steps)."""
    from lava.proc.io.source import RingBuffer
    arr = np.asarray(data)
    arr = arr.astype(np.int64) if fixed else arr.astype(np.float64)
    return RingBuffer(data=np.ascontiguousarray(arr.T))


def _sign_mode(declared: str):
    if declared == "auto":
        return None
    from lava.utils.weightutils import SignMode
    return {"mixed": SignMode.MIXED, "excitatory": SignMode.EXCITATORY,
            "inhibitory": SignMode.INHIBITORY}[declared]


@lowers(Projection)
def lower_projection(proj: Projection, fixed: bool, *, signed_pre: bool = False, **ctx):
    """Dense/Sparse (delay 1) or DelayDense/DelaySparse; graded (``num_message_bits > 0``) for
    graded and count messages and for binary messages from a signed-output pre (fed
    ``sign(s)``, see :class:`LavaNetwork`), binary otherwise."""
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.sparse.process import DelaySparse, Sparse
    graded = proj.message in ("graded", "count") or (signed_pre and proj.message == "binary")
    kw = {"num_message_bits": GRADED_MESSAGE_BITS if graded else 0, "name": proj.name}
    dtype = np.int64 if fixed else np.float64
    if fixed:
        kw.update(weight_exp=int(proj.weight_exp), num_weight_bits=int(proj.num_weight_bits))
        mode = _sign_mode(proj.sign_mode)
        if mode is not None:
            kw["sign_mode"] = mode
    if proj.delay < 1:
        raise UnsupportedFeatureError(f"projection '{proj.name}': Lava's Dense/Sparse delay every "
                                      "spike by at least one step; delay 0 cannot be lowered.")
    lava_delay = proj.delay - 1
    if fixed and lava_delay > 0:        # one W @ s per step (DelayDense/DelaySparse: a d-fold stack)
        from .procs.process import DelayLineDense, DelayLineSparse
        if proj.sparse:
            return DelayLineSparse(weights=sp.csr_matrix(proj.weights, dtype=dtype), delay_steps=proj.delay, **kw)
        return DelayLineDense(weights=np.asarray(proj.weights, dtype), delay_steps=proj.delay, **kw)
    if proj.sparse:
        w = sp.csr_matrix(proj.weights, dtype=dtype)
        if lava_delay == 0:
            return Sparse(weights=w, **kw)
        delays = sp.csr_matrix((np.full(w.nnz, lava_delay, int), w.indices, w.indptr), shape=w.shape)
        return DelaySparse(weights=w, delays=delays, max_delay=lava_delay, **kw)
    w = np.asarray(proj.weights, dtype)
    if lava_delay == 0:
        return Dense(weights=w, **kw)
    return DelayDense(weights=w, delays=np.full(w.shape, lava_delay, int), max_delay=lava_delay, **kw)


def components(circuit: Circuit) -> list[list[str]]:
    """Node names of each connected part of ``circuit`` that holds a population.

    ``process.run`` in Lava runs the processes connected to ``process`` only, so each part
    is built and run on its own; a source without projections is not built at all."""
    import networkx as nx
    pops = set(circuit.populations)
    parts = [sorted(p) for p in nx.weakly_connected_components(circuit.graph) if p & pops]
    return sorted(parts)


class LavaNetwork:
    """The Lava processes of one connected part of a circuit for one sample, wired.

    Every population records ``[s, u, v]`` per step into ``folder/pop<k>.npy`` (see
    :class:`~spikeattn.engines.lava.procs.process.StateLIF`); ``any_process`` is a process
    to call ``run``/``stop`` on.  ``params``: population -> per-neuron parameter overrides
    (merged populations, :mod:`.merging`); ``sample_steps``, ``gap``: samples streamed
    through one run of ``steps`` steps (:mod:`.procs.process`).
    """

    def __init__(self, circuit: Circuit, nodes: list[str], sample_inputs: dict[str, np.ndarray], steps: int,
                 fixed: bool, folder, params: dict | None = None, sample_steps: int = 0, gap: int = 0):
        from pathlib import Path
        part = set(nodes)
        self.procs: dict[str, object] = {}
        self.records: dict[str, Path] = {}
        pops = [n for n in circuit.populations if n in part]
        for k, name in enumerate(pops):
            self.records[name] = Path(folder) / f"pop{k}.npy"
            self.procs[name] = lower(circuit.populations[name], fixed, record_path=self.records[name],
                                     record_steps=steps, params=(params or {}).get(name),
                                     sample_steps=sample_steps, gap=gap)
        projections = [circuit.projections[n] for n in sorted(circuit.projections)   # summation order
                       if circuit.projections[n].post in part]
        used = {p.pre for p in projections}
        for name, src in circuit.sources.items():
            if name in used:
                self.procs[name] = lower(src, fixed, data=sample_inputs[name])
        self.projections = {}
        for proj in projections:
            signed = proj.message == "binary" and signed_output(circuit, proj.pre)
            conn = lower(proj, fixed, signed_pre=signed)
            pre = self.procs[proj.pre]
            if signed and not hasattr(pre, "sign_out"):
                raise UnsupportedFeatureError(f"projection '{proj.name}': binary messages from the signed-output "
                                              f"population '{proj.pre}' need a sign(s) port, which its Lava "
                                              "process lacks.")
            (pre.sign_out if signed else pre.s_out).connect(conn.s_in)
            conn.a_out.connect(self.procs[proj.post].a_in)
            self.projections[proj.name] = conn
        self.any_process = self.procs[pops[0]]

    def read_states(self) -> dict[str, np.ndarray]:
        """``pop -> (steps, 3, size)`` array of s, u, v after every step (int32 in fixed
        point, float64 in floating point)."""
        from ...errors import EngineError
        out = {}
        for name, path in self.records.items():
            if not path.is_file():
                raise EngineError(f"Lava ran, but population '{name}' wrote no state record ({path}).")
            out[name] = np.load(path, allow_pickle=False)
        return out
