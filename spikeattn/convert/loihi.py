"""Loihi quantisation of a converted model (``quantise="loihi8"``): 8-bit weights, integer neurons, pipelined.

A converted ``accumulate``-mode model is one circuit of float ``MultiThresholdIF`` quantiser
populations and ``GradedReLU`` threshold lines and product gates, joined by delay-0
projections (a whole forward pass per step).  Loihi (and Lava's Dense) delays every spike
by at least one step and computes in integers, so :func:`quantise_loihi8` rewrites it:

* **Integer units.** Each quantiser population ``p`` (float threshold ``vth_p``) gets the
  integer threshold ``Θ`` (``threshold``, default ``2**12``): its values are scaled by
  ``σ_p = Θ / vth_p``.  It becomes ``LoihiMultiThresholdIF(vth=Θ, levels, signed)`` with
  initial ``v = round(σ_p v0)``.  Lines and gates already compute on integer levels with
  integer weights (``±1``, ``L``): they become ``LoihiGradedReLU`` with ``σ = 1``.
* **8-bit weights.** The float weights into ``p`` scaled by ``σ_p`` are written, per
  projection, as ``m · 2**e``: ``e`` the smallest exponent with ``max|σ W| / 2**e`` within
  the 8-bit mantissa range, ``m = round(σ W / 2**e)``, even where the matrix has both
  signs (Lava's mixed sign mode drops the lowest mantissa bit), zeros dropped.  The
  projection's ``weight_exp = e`` (``acc << e``, or ``acc >> -e`` with the floor applied to
  the integer sum, as Loihi does).
* **Pipelining.** Node depths ``d`` (sources 0; a population one more than its deepest
  input) give each projection ``delay = d_post - d_pre >= 1``, so all paths into a node
  have the same latency and population ``p`` at step ``t + d_p`` computes what the delay-0
  circuit computed at step ``t``.  Before its first input arrives a population receives
  nothing and (initial ``v < Θ``) emits nothing.
* **Biases** arrive through the same pipeline: a graded source ``bias`` (value 1 during
  the sample's T steps) projects into ``p`` with delay ``d_p``, the integer bias
  ``σ_p · b`` written as a coarse and a fine 8-bit mantissa (two projections, 16-bit
  precision; Loihi's own bias register has a 13-bit mantissa, but it integrates from step
  1, before the pipeline has filled).
* **Bias correction** (``calib_means``, on by default in :func:`convert`): weight rounding
  shifts each population's mean input by ``sum (W_q - σW) @ mean(out_pre)`` over the
  calibration set; the bias absorbs it (Nagel et al., ICCV 2019, "Data-free quantization").
  Biases are then rounded to integer input units (1/Θ of a threshold).
* The readout stays the float affine decoder of the recorded levels on the host; a node's
  record is read in its own window ``[d, d + T)``.  The samples run ``T + D`` steps
  (``D`` = the deepest node's depth); inputs are presented for the first T.

The result runs bit-exactly on every engine that claims the fixed-point models (numpy,
Lava); it differs from the float spiking model only by the 8-bit weights, the integer
rounding of biases and initial states, and the floor of negative weight exponents
(``agreement`` in the fidelity report states by how much).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError
from ..ir import Circuit
from .registry import ConversionError

QUANTISERS = ("loihi8",)
MANTISSA = {"mixed": (-256, 254, 2), "excitatory": (0, 255, 1), "inhibitory": (-255, 0, 1)}
MAX_DELAY = 64          # Loihi 2 synaptic delay (6 bits), as the Lava engine enforces
EXP_RANGE = (-16, 16)   # Projection.weight_exp


def quantise_matrix(w, bits: int = 8) -> tuple[sp.csr_matrix, int]:
    """``(m, e)`` with integer mantissas ``m`` (CSR, zeros dropped) and exponent ``e`` such
    that ``m * 2**e`` is the nearest representable value of the float matrix ``w`` (see the
    module docstring; ``bits`` = 8 only: Loihi's weight width).  Integer matrices within
    7 bits are kept exact with the smallest exponent (0, or -1 with doubled mantissas where
    odd values would lose Lava's dropped bit in mixed sign mode)."""
    if bits != 8:
        raise ParameterError("quantise_loihi8", "bits", f"is {bits!r}.", "use 8 (Loihi's weight mantissa).")
    w = sp.csr_matrix(w, dtype=np.float64)
    w.eliminate_zeros()
    if w.nnz == 0:
        return sp.csr_matrix(w.shape, dtype=np.int64), 0
    lo_v, hi_v = float(w.data.min()), float(w.data.max())
    mode = "mixed" if lo_v < 0 < hi_v else ("excitatory" if lo_v >= 0 else "inhibitory")
    lo, hi, step = MANTISSA[mode]
    if np.all(w.data == np.round(w.data)) and np.abs(w.data).max() <= 127:
        e = 0 if step == 1 or np.all(w.data % 2 == 0) else -1   # integers: exact, smallest exponent
        m = (w.data * 2 ** -e).astype(np.int64)
        return sp.csr_matrix((m, w.indices.copy(), w.indptr.copy()), shape=w.shape, dtype=np.int64), e
    peak = max(abs(lo_v), abs(hi_v))
    e = math.ceil(math.log2(peak / min(abs(lo), abs(hi)) if mode == "mixed" else peak / 255.0))
    e = int(np.clip(e, *EXP_RANGE))
    if peak / 2.0 ** e > (254 if mode == "mixed" else 255) and e < EXP_RANGE[1]:
        e += 1
    m = np.clip(step * np.round(w.data / (2.0 ** e * step)), lo, hi).astype(np.int64)
    out = sp.csr_matrix((m, w.indices.copy(), w.indptr.copy()), shape=w.shape, dtype=np.int64)
    out.eliminate_zeros()
    return out, e


def depths(circuit: Circuit) -> dict[str, int]:
    """Pipeline depth of every node of a delay-0 circuit (sources 0)."""
    import networkx as nx
    g = nx.DiGraph()
    g.add_nodes_from(list(circuit.sources) + list(circuit.populations))
    for p in circuit.projections.values():
        if p.delay != 0:
            raise ConversionError(f"projection '{p.name}': delay {p.delay}; loihi8 quantisation pipelines a "
                                  "converted (delay-0) circuit. Fix: quantise the circuit convert() returned.")
        g.add_edge(p.pre, p.post)
    d = {}
    for n in nx.topological_sort(g):
        preds = list(g.predecessors(n))
        d[n] = 0 if not preds else 1 + max(d[q] for q in preds)
    return d


def mean_outputs(float_model, x, steps: int = 1, engine: str = "numpy") -> dict[str, np.ndarray]:
    """Mean output of every node of a one-segment float converted model over samples ``x``
    and ``steps`` steps (the calibration statistics of :func:`quantise_loihi8`)."""
    from ..simulate import simulate
    c = float_model.program.segments[0].circuit
    inputs = float_model._encode(x)
    r = simulate(c, inputs, steps=steps, engine=engine)
    out = {k: np.asarray(v, np.float64).mean(axis=(0, 1)) for k, v in r.spikes.items()}
    for k, v in inputs.items():
        out[k] = np.asarray(v, np.float64).mean(axis=0)
    return out


def quantise_loihi8(program, threshold: int = 1 << 12, calib_means: dict | None = None):
    """The Loihi-quantised copy of a one-segment converted :class:`Program` (module docstring).

    ``calib_means`` (node -> mean output on a calibration set, :func:`mean_outputs`) turns on
    bias correction (Nagel et al. 2019): each population's bias absorbs the mean input
    shift ``sum (W_q - σW) @ mean(out_pre)`` that weight rounding causes.  Returns a new
    Program with ``latency`` (node -> depth) and ``constants`` (the bias
    source -> its per-step value) set, which :class:`SpikingModel` runs pipelined."""
    from ..ir.neurons_convert import MultiThresholdIF
    from ..ir.neurons_extra import GradedReLU
    from ..ir.neurons_loihi_convert import LoihiGradedReLU, LoihiMultiThresholdIF
    if len(program.segments) != 1:
        kinds = sorted({h.kind for h in program.host_stages})
        raise ConversionError(f"quantise='loihi8': the model keeps floating-point host stages ({', '.join(kinds)}) "
                              "that a neuromorphic chip cannot run. Fix: convert with mode='accumulate' (ReLU "
                              "attention, folded LayerNorm: one circuit).")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 2 <= threshold < 1 << 22:
        raise ParameterError("quantise_loihi8", "threshold", f"is {threshold!r}.", "use an int in [2, 2**22).")
    src_c = program.segments[0].circuit
    for name, info in program.inputs.items():
        if info["kind"] != "count":
            raise ConversionError(f"input '{name}': its values are not integers (kind {info['kind']!r}); Loihi takes "
                                  "integer inputs. Fix: pass input_scale= so that x / input_scale is integer.")
    depth = depths(src_c)
    sigma, c = {}, Circuit(src_c.name)
    for name in src_c.sources:
        c.add_source(name, src_c.sources[name].size, encoder="graded")
    bias_src = "bias"
    while bias_src in src_c.sources or bias_src in src_c.populations:
        bias_src = "_" + bias_src
    c.add_source(bias_src, 1, encoder="graded")
    biases = {}
    for name, pop in src_c.populations.items():
        m = pop.model
        if type(m) is MultiThresholdIF:
            vth = float(np.asarray(m.vth).reshape(-1)[0])
            if np.ndim(m.vth) and np.any(np.asarray(m.vth) != vth):
                raise ConversionError(f"population '{name}': per-neuron thresholds do not quantise to one Θ.")
            s = threshold / vth
            v0 = np.asarray(pop.initial.get("v", 0.0), np.float64) * s
            model = LoihiMultiThresholdIF(vth=threshold, levels=int(m.levels), signed=bool(m.signed))
            initial = {"v": np.round(v0).astype(np.int64)} if np.any(v0 != 0) else {}
            if np.any(np.asarray(m.bias) != 0):
                biases[name] = np.broadcast_to(np.asarray(m.bias, np.float64) * s, (pop.size,))
        elif type(m) is GradedReLU:
            s, vth = 1.0, np.asarray(m.vth, np.float64)
            if np.any(vth != np.round(vth)) or np.any(vth < 0) or np.any(np.asarray(getattr(m, "bias", 0)) != 0):
                raise ConversionError(f"population '{name}': GradedReLU with a non-integer threshold or a bias; "
                                      "loihi8 expects the converter's integer threshold lines and gates.")
            vth_i = np.round(vth).astype(np.int64)
            model = LoihiGradedReLU(vth=int(vth_i) if vth_i.ndim == 0 else vth_i)
            initial = {}
        else:
            raise ConversionError(f"population '{name}': model {type(m).__name__} has no loihi8 form "
                                  "(MultiThresholdIF and GradedReLU have).")
        sigma[name] = s
        c.add_population(name, pop.size, model, initial=initial)
    shift = {}
    for p in src_c.projections.values():
        w = sp.csr_matrix(p.weights) * sigma[p.post]
        if sigma[p.post] == 1.0:
            wi = sp.csr_matrix(w)
            if np.any(wi.data != np.round(wi.data)) or (wi.nnz and np.abs(wi.data).max() > 127):
                raise ConversionError(f"projection '{p.name}': non-integer or over-8-bit weights into an integer "
                                      "gate.")
        q, e = quantise_matrix(w)
        delay = depth[p.post] - depth[p.pre]
        _check_delay(p.name, delay)
        if q.nnz:
            c.connect(p.pre, p.post, q, name=p.name, delay=delay, message=p.message, weight_exp=e)
        if calib_means is not None and p.pre in calib_means and sigma[p.post] != 1.0:
            err = (sp.csr_matrix(q, dtype=np.float64) * 2.0 ** e - w) @ calib_means[p.pre]
            shift[p.post] = shift.get(p.post, 0.0) + err
    for name, err in shift.items():
        size = src_c.populations[name].size
        biases[name] = np.broadcast_to(biases.get(name, np.zeros(size)), (size,)) - err
    for name, b in biases.items():
        b = np.round(b)            # integer input units (1 / Θ of a threshold): no fractional shifts
        _check_delay(f"{bias_src}->{name}", depth[name])
        hi, e_hi = quantise_matrix(sp.csr_matrix(b.reshape(-1, 1)))
        rest = b - hi.toarray().reshape(-1) * 2.0 ** e_hi
        lo, e_lo = quantise_matrix(sp.csr_matrix(rest.reshape(-1, 1)))
        for part, (q, e) in (("hi", (hi, e_hi)), ("lo", (lo, e_lo))):
            if q.nnz:
                c.connect(bias_src, name, q, name=f"{bias_src}_{part}->{name}", delay=depth[name],
                          message="count", weight_exp=e)
    out = copy.copy(program)
    out.segments = [copy.copy(program.segments[0])]
    out.segments[0].circuit = c
    out.node_seg = dict(program.node_seg, **{bias_src: 0})
    out.latency = {n: d for n, d in depth.items()}
    out.constants = {bias_src: np.ones(1)}
    out.quantisation = {"quantise": "loihi8", "threshold": threshold, "bias_correction": calib_means is not None, "pipeline_depth": max(depth.values()),
                        "sigma": {k: float(v) for k, v in sigma.items()}}
    return out


def _check_delay(name: str, delay: int) -> None:
    if delay > MAX_DELAY:
        raise ConversionError(f"projection '{name}': the pipeline needs a delay of {delay} steps, over Loihi 2's "
                              f"{MAX_DELAY}. Fix: a shallower model (fewer layers), or relay neurons.")
