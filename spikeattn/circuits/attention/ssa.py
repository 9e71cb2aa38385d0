"""Spikformer spiking self-attention (SSA) as a neuron-level circuit, in both association orders.

Inputs (ports, encoder "spikes"): ``q`` ``(N_q, D)``, ``k`` and ``v`` ``(N_k, D)`` binary
spikes (bind them to LIF populations with :meth:`Circuit.include`).  Output port ``y``:
LIF neurons ``(N_q, D)`` fed with ``scale * X`` where, per step and head (``c = D / H``)::

    X = (Q K^T ⊙ M) V          order "qk_v": N_q x N_k map per head
    X = Q (K^T V)              order "q_kv": c x c map per head (full attention only)

Both orders compute the same integers (associativity); their event costs differ: "qk_v"
needs ``H * P * c`` coincidence neurons (``P`` = attended pairs, ``N_q N_k`` if full),
"q_kv" needs ``H * N_k * c^2`` + ``H * N_q * c^2``.

Pipeline (every projection has delay 1 unless stated), order "qk_v"::

    C[h,p,a] = AND(Q[i_p, h, a], K[j_p, h, a])            coincidence neurons      t+1
    A[h,p]   = sum_a C[h,p,a]                              graded accumulator       t+2
    G[h,p,e] = A[h,p] if V[j_p, h, e] (delay 3) else 0     graded gate, bound c     t+3
    y[i,h,e] = LIF(scale * sum_{p: i_p = i} G[h,p,e])      output LIF               t+4

order "q_kv"::

    P[h,j,a,e] = AND(K[j,h,a], V[j,h,e])                  t+1
    Mkv[h,a,e] = sum_j P[h,j,a,e]                          t+2
    G[h,i,a,e] = Mkv[h,a,e] if Q[i,h,a] (delay 3) else 0   gate bound N_k, t+3
    y[i,h,e]   = LIF(scale * sum_a G[h,i,a,e])             t+4

LIF-only variant (``map_code="unary"``, order "qk_v"): the count ``A`` is kept in unary
code, ``A = sum_{m=1..c} [A >= m]``, so every product is a binary AND and every synapse an
accumulate (no graded neurons; lowers to any LIF engine), at ``c`` times the gate neurons::

    T_m[h,p]   = [sum_a C[h,p,a] >= m]        memoryless LIF, threshold m - 1/2            t+2
    G_m[h,p,e] = AND(T_m[h,p], V[j_p,h,e])     coincidence, V delayed by 3                  t+3
    y[i,h,e]   = LIF(scale * sum_{m,p: i_p = i} G_m[h,p,e])                                t+4

Loihi fixed point (``fixed_point=True``, numpy and Lava ``fixed_pt``, bit-exact; both orders,
``map_code="graded"``): the same pipeline and latency in integers, ``>>`` rounding toward minus
infinity and ``trunc0(x) = sign(x) (|x| >> 12)`` (:class:`~spikeattn.ir.LoihiLIF`)::

    C = AND(., .)     LoihiLIF(du=4095, dv=4095, vth=5), two inputs of weight 3 each: v = (3 n) << 6,
                      spike iff n = 2 (384 > 320 >= 192), v forgotten next step (the routing
                      kit's fixed relay, :mod:`spikeattn.circuits.routing.timers`)
    A = sum_a C       LoihiGradedReLU(vth=0), binary inputs of weight 1: s = A (an integer)
    G = A * V         LoihiGradedReLU(vth=B), A by a count message (weight 1), V binary of
                      weight B: v = A + B V, s = v - B if v > B: s = A if V spiked, else 0
    y = LIF(w G)      LoihiLIF(du=4095, dv=2048, vth=vth_q), count messages of weight w:
                      u = (w sum G) << 6;  v = trunc0(v * 2048) + u;  s = v > vth_q << 6; v[s] = 0

``w`` and ``vth_q`` come from :func:`fixed_point_output`: ``Q`` is the smallest power of two
(>= 2) with ``scale * Q`` an integer, ``w = scale * Q`` and ``vth_q = 0.5 * Q``, so ``y``
spikes iff the halving sum of ``w X`` exceeds ``vth_q`` — the float LIF's ``v = v/2 + scale X
> 0.5`` multiplied by ``Q`` (the integer halving truncates toward 0 at ``1/64`` of a weight unit).
Lava's 8-bit weights bound ``w`` and the gate bound ``B`` (``c``, or ``N_k`` for "q_kv") by 255.
Oracle: ``ssa_reference(..., fixed_point=True)``.

Latency: Q/K/V spikes of step t drive ``y`` at step ``t + 4`` (``meta["latency_steps"]``).
Dense oracle: :func:`spikeattn.circuits.attention.reference.ssa_reference`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...errors import ParameterError
from ...ir import LIF, Circuit, LoihiLIF
from ...ir.neurons_loihi_convert import LoihiGradedReLU
from .. import motifs
from . import patterns

SSA_LATENCY = 4
ORDERS = ("qk_v", "q_kv")
#: Fixed-point coincidence neuron (the routing kit's relay): two inputs of weight FIXED_AND_W.
FIXED_AND = LoihiLIF(du=4095, dv=4095, vth=5)
FIXED_AND_W = 3
#: Largest fixed-point weight Lava keeps exactly (8-bit excitatory mantissa).
MAX_FIXED_WEIGHT = 255


def fixed_point_output(scale: float, threshold: float = 0.5) -> tuple[int, LoihiLIF]:
    """``(w, model)``: the integer gate -> y weight and the default fixed-point output LIF.

    ``Q`` = the smallest power of two >= 2 (up to ``2**12``) with ``scale * Q`` and
    ``threshold * Q`` integers; ``w = scale * Q`` (<= 255), ``model = LoihiLIF(du=4095,
    dv=2048, vth=threshold * Q)`` (no current memory, ``v`` halves every step: float
    ``du = 1, dv = 0.5``).  ``scale = 0.125``: ``Q = 8``, ``w = 1``, ``vth = 4``."""
    where = "SSA (fixed point)"
    if not np.isfinite(scale) or scale <= 0:
        raise ParameterError(where, "scale", f"is {scale!r}; must be a positive number.")
    for q in (2**e for e in range(1, 13)):
        if float(scale * q).is_integer() and float(threshold * q).is_integer():
            w = int(scale * q)
            if w > MAX_FIXED_WEIGHT:
                break
            return w, LoihiLIF(du=4095, dv=2048, vth=int(threshold * q))
    raise ParameterError(where, "scale", f"is {scale!r}: no power of two Q <= 4096 makes scale * Q an integer "
                         f"<= {MAX_FIXED_WEIGHT} (with threshold * Q an integer).",
                         "use a dyadic scale such as 0.125, 0.25 or 1/64.")


def check_dims(where: str, n_query, dim, heads, n_key) -> tuple[int, int, int, int]:
    for name, val in (("n_query", n_query), ("dim", dim), ("heads", heads), ("n_key", n_key)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ParameterError(where, name, f"is {val!r}; must be an int >= 1.")
    if dim % heads:
        raise ParameterError(where, "heads", f"{heads} heads do not divide dim={dim}.",
                             "choose dim as a multiple of heads.")
    return int(n_query), int(dim), int(heads), int(n_key)


def ssa_attention(n_query: int, dim: int, heads: int = 1, n_key: int | None = None, order: str = "qk_v",
                  mask=None, scale: float = 0.125, out_model: LIF | None = None, delay_mode: str = "synaptic",
                  map_code: str = "graded", fixed_point: bool = False, name: str = "ssa") -> Circuit:
    """Build the SSA circuit (see the module docstring).

    ``mask``: ``(N_q, N_k)`` boolean pattern (see :mod:`.patterns`; "qk_v" only);
    ``scale``: the ``s`` of Spikformer (weight of the gate -> output synapses);
    ``out_model``: the output LIF (default ``LIF(du=1, dv=0.5, vth=0.5)``: Spikformer's
    threshold 0.5 with tau = 2 leak); ``delay_mode``: "synaptic" (one projection with
    delay 3 aligns V/Q with the gate) or "relay" (a chain of relay neurons, for engines
    without long delays); ``map_code``: "graded" (accumulator + graded gates, needs
    ``GradedReLU``) or "unary" ("qk_v" only: LIF-only, see the module docstring);
    ``fixed_point``: Loihi fixed point (module docstring; ``out_model`` then a
    :class:`~spikeattn.ir.LoihiLIF` fed ``w * G``, default from :func:`fixed_point_output`).
    Ports: inputs ``q``, ``k``, ``v``; outputs ``y`` and ``map``."""
    n_key = n_query if n_key is None else n_key
    n_q, d, h, n_k = check_dims(f"SSA '{name}'", n_query, dim, heads, n_key)
    if order not in ORDERS:
        raise ParameterError(f"SSA '{name}'", "order", f"is {order!r}.", f"use one of {list(ORDERS)}.")
    if order == "q_kv" and mask is not None:
        raise ParameterError(f"SSA '{name}'", "mask", "the Q(K^T V) order sums over all keys before it "
                             "meets a query, so it cannot apply a token mask.", "use order='qk_v' with a mask.")
    if delay_mode not in ("synaptic", "relay"):
        raise ParameterError(f"SSA '{name}'", "delay_mode", f"is {delay_mode!r}.", "use 'synaptic' or 'relay'.")
    if map_code not in ("graded", "unary") or (map_code == "unary" and order != "qk_v"):
        raise ParameterError(f"SSA '{name}'", "map_code", f"is {map_code!r} with order {order!r}.",
                             "use 'graded', or 'unary' with order='qk_v' (a unary K^T V map would need N_k "
                             "threshold units per entry).")
    if not np.isfinite(scale) or scale <= 0:
        raise ParameterError(f"SSA '{name}'", "scale", f"is {scale!r}; must be a positive number.")
    c = d // h
    if fixed_point:
        out_w, out_model = _fixed_checks(name, out_model, scale, map_code, c if order == "qk_v" else n_k)
    else:
        out_w, out_model = float(scale), out_model or LIF(du=1.0, dv=0.5, vth=0.5)
    fx = _FixedParts() if fixed_point else None
    circ = Circuit(name)
    for port, n in (("q", n_q), ("k", n_k), ("v", n_k)):
        circ.add_source(port, (n, d))
    late = "v" if order == "qk_v" else "q"
    if delay_mode == "relay":
        add_line = fx.delay_line if fixed_point else motifs.add_delay_line
        late_src, late_delay = add_line(circ, f"{late}_delay", late, 3), 1
    else:
        late_src, late_delay = late, 3
    if order == "qk_v":
        m = patterns.as_mask(mask, n_q, n_k)
        m.sort_indices()
        i_p = np.repeat(np.arange(n_q), np.diff(m.indptr))
        j_p = m.indices.astype(np.int64)
        n_pairs = i_p.size
        hh, pp, aa = np.meshgrid(np.arange(h), np.arange(n_pairs), np.arange(c), indexing="ij")
        hh, pp, aa = hh.ravel(), pp.ravel(), aa.ravel()
        (fx or motifs).add_and(circ, "coinc", (h, n_pairs, c),
                               [("q", i_p[pp] * d + hh * c + aa), ("k", j_p[pp] * d + hh * c + aa)])
        post = i_p[pp] * d + hh * c + aa
        if map_code == "unary":
            _unary_map(circ, h, n_pairs, c, hh * n_pairs + pp, (late_src, j_p[pp] * d + hh * c + aa), late_delay,
                       post, n_q * d, scale, out_model)
            circ.meta.update(_meta(order, n_q, n_k, d, h, scale, mask, delay_mode, map_code, n_pairs))
            return circ
        (fx or motifs).add_accumulator(circ, "map", (h, n_pairs), "coinc", np.arange(hh.size),
                                       hh * n_pairs + pp)
        # gate neuron (h, p, e) reuses the same flat layout: e plays the role of a
        (fx or motifs).add_gate(circ, "gate", (h, n_pairs, c), ("map", hh * n_pairs + pp),
                                (late_src, j_p[pp] * d + hh * c + aa), bound=c, gate_delay=late_delay)
        extra = {"pairs": int(n_pairs)}
    else:
        shape = (h, n_k, c, c)
        hh, jj, aa, ee = (x.ravel() for x in np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"))
        (fx or motifs).add_and(circ, "coinc", shape, [("k", jj * d + hh * c + aa), ("v", jj * d + hh * c + ee)])
        (fx or motifs).add_accumulator(circ, "map", (h, c, c), "coinc", np.arange(hh.size),
                                       (hh * c + aa) * c + ee)
        shape = (h, n_q, c, c)
        hh, ii, aa, ee = (x.ravel() for x in np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"))
        (fx or motifs).add_gate(circ, "gate", shape, ("map", (hh * c + aa) * c + ee),
                                (late_src, ii * d + hh * c + aa), bound=n_k, gate_delay=late_delay)
        post = ii * d + hh * c + ee
        extra = {"pairs": int(n_q * n_k)}
    circ.add_population("y", (n_q, d), out_model)
    w = motifs.index_weights(n_q * d, circ.node("gate").size, post, np.arange(post.size), out_w)
    if fixed_point:
        circ.connect("gate", "y", w.astype(np.int64), name="gate->y", message="count")
    else:
        circ.connect("gate", "y", w, name="gate->y", message="graded")
    circ.expose("y", "y")
    circ.expose("map", "map")
    circ.meta.update(_meta(order, n_q, n_k, d, h, scale, mask, delay_mode, map_code, extra["pairs"]))
    if fixed_point:
        del circ.meta["fused"]          # the fused runners implement float LIF / GradedReLU only
        circ.meta["attention"].update(fixed_point=True, out_weight=int(out_w))
    return circ


def _meta(order, n_q, n_k, d, h, scale, mask, delay_mode, map_code, pairs) -> dict:
    c = d // h
    return {"latency_steps": SSA_LATENCY, "fused": "attention",
            "attention": {"kind": "ssa", "order": order, "n_query": n_q, "n_key": n_k, "dim": d, "heads": h,
                          "scale": float(scale), "masked": mask is not None, "delay_mode": delay_mode,
                          "map_code": map_code, "pairs": int(pairs),
                          "map_shape": [h, n_q, n_k] if order == "qk_v" else [h, c, c]}}


def _fixed_checks(name, out_model, scale, map_code, bound) -> tuple[int, LoihiLIF]:
    where = f"SSA '{name}' (fixed_point=True)"
    if map_code != "graded":
        raise ParameterError(where, "map_code", f"is {map_code!r}; the fixed-point SSA has the graded map only.",
                             "use map_code='graded' (LoihiGradedReLU accumulators and gates).")
    if bound > MAX_FIXED_WEIGHT:
        raise ParameterError(where, "dim/heads (n_key for q_kv)", f"the gate bound is {bound}, above the largest "
                             f"8-bit weight {MAX_FIXED_WEIGHT} Lava keeps exactly.",
                             "use more heads (qk_v: c = dim / heads <= 255) or fewer keys (q_kv).")
    w, default = fixed_point_output(scale)
    if out_model is not None and not isinstance(out_model, LoihiLIF):
        raise ParameterError(where, "out_model", f"is a {type(out_model).__name__}; a fixed-point circuit needs a "
                             "LoihiLIF output.", "pass a LoihiLIF or leave out_model=None.")
    return w, out_model or default


class _FixedParts:
    """Fixed-point versions of the :mod:`~spikeattn.circuits.motifs` builders used by SSA
    (same names and index conventions, integer weights, Loihi neuron models)."""

    @staticmethod
    def add_and(circ, name, shape, inputs, delays=None):
        pop = circ.add_population(name, shape, FIXED_AND)
        for (pre, idx), dl in zip(inputs, delays or [1] * len(inputs)):
            w = motifs.index_weights(pop.size, circ.node(pre).size, np.arange(pop.size), idx, FIXED_AND_W)
            circ.connect(pre, name, w.astype(np.int64), name=f"{pre}->{name}", delay=dl)
        circ.meta.setdefault("motifs", []).append({"motif": "and", "population": name, "fixed_point": True,
                                                   "inputs": [p for p, _ in inputs]})

    @staticmethod
    def add_accumulator(circ, name, shape, pre, pre_idx, post_idx):
        pop = circ.add_population(name, shape, LoihiGradedReLU(vth=0))
        w = motifs.index_weights(pop.size, circ.node(pre).size, post_idx, pre_idx, 1)
        circ.connect(pre, name, w.astype(np.int64), name=f"{pre}->{name}")
        circ.meta["motifs"].append({"motif": "accumulator", "population": name, "inputs": [pre],
                                    "fixed_point": True})

    @staticmethod
    def add_gate(circ, name, shape, value, gate, bound, gate_delay=1):
        pop = circ.add_population(name, shape, LoihiGradedReLU(vth=int(bound)))
        (vpre, vidx), (gpre, gidx) = value, gate
        k = np.arange(pop.size)
        circ.connect(vpre, name, motifs.index_weights(pop.size, circ.node(vpre).size, k, vidx, 1).astype(np.int64),
                     name=f"{vpre}->{name}", message="count")
        circ.connect(gpre, name, motifs.index_weights(pop.size, circ.node(gpre).size, k, gidx,
                                                      int(bound)).astype(np.int64),
                     name=f"{gpre}->{name}", delay=gate_delay)
        circ.meta["motifs"].append({"motif": "gate", "population": name, "value": vpre, "gate": gpre,
                                    "bound": int(bound), "fixed_point": True})

    @staticmethod
    def delay_line(circ, name, pre, steps):
        """Fixed relays (``FIXED_AND`` fed one input of weight 6 > 5) re-emitting ``pre``."""
        last, n = pre, circ.node(pre).size
        for i in range(steps - 1):
            relay = f"{name}.{i}"
            circ.add_population(relay, n, FIXED_AND)
            circ.connect(last, relay, (sp.identity(n, format="csr") * 2 * FIXED_AND_W).astype(np.int64),
                         name=f"{last}->{relay}")
            last = relay
        return last


def _unary_map(circ, h, n_pairs, c, map_idx, gate_in, gate_delay, post, n_out, scale, out_model) -> None:
    """LIF-only map stage: ``map{m}[h,p] = [A[h,p] >= m]`` (memoryless LIF, threshold m - 1/2,
    fed by the coincidences with weight 1), ``gate{m}[h,p,e] = AND(map{m}[h,p], V[j_p,h,e])``
    and ``y += scale * sum_m gate{m}`` (binary messages), since ``A = sum_m [A >= m]``."""
    n_coinc = circ.node("coinc").size
    circ.add_population("y", n_out, out_model)
    for m in range(1, c + 1):
        thr = f"map{m}"
        circ.add_population(thr, (h, n_pairs), LIF(du=1.0, dv=1.0, vth=m - 0.5))
        circ.connect("coinc", thr, motifs.index_weights(h * n_pairs, n_coinc, map_idx, np.arange(n_coinc)),
                     name=f"coinc->{thr}")
        motifs.add_and(circ, f"gate{m}", (h, n_pairs, c), [(thr, map_idx), gate_in], delays=[1, gate_delay])
        circ.connect(f"gate{m}", "y", motifs.index_weights(n_out, n_coinc, post, np.arange(n_coinc), float(scale)),
                     name=f"gate{m}->y")
    circ.expose("y", "y")
    circ.expose("map", "map1")


def pair_index(circuit: Circuit, prefix: str = "", spec: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(i_p, j_p)``: the (query, key) pair of every map neuron of a "qk_v" SSA circuit,
    read back from its ``q -> coinc`` and ``k -> coinc`` synapses.  ``prefix``/``spec``: for
    an SSA circuit included in a larger one, its prefix (e.g. ``"l1."``) and its
    ``meta["attention"]`` (default: the circuit's own)."""
    spec = spec or circuit.meta.get("attention", {})
    d, h = spec.get("dim"), spec.get("heads")
    projs = circuit.projections
    wq, wk = projs.get(f"{prefix}q->coinc"), projs.get(f"{prefix}k->coinc")
    if not (d and wq and wk) or spec.get("order") != "qk_v":
        raise ParameterError(f"circuit '{circuit.name}'", "prefix", f"'{prefix}' names no qk_v SSA circuit.",
                             "give the prefix the SSA circuit was included under (e.g. 'attn.').")
    c, n_pairs = d // h, spec["pairs"]
    first = np.arange(n_pairs) * c  # head 0, channel 0 of every pair
    qcol = sp.csr_matrix(wq.weights).indices[first]
    kcol = sp.csr_matrix(wk.weights).indices[first]
    return qcol // d, kcol // d


def spike_map(result, circuit: Circuit, prefix: str = "", spec: dict | None = None) -> np.ndarray:
    """Spike-derived attention map per step: ``(T, B, H, N_q, N_k)`` counts for "qk_v"
    (``A = sum_a C``, i.e. the integer ``Q K^T`` of each step, delayed by 1 step), or
    ``(T, B, H, c, c)`` (``K^T V``) for "q_kv"; read from the coincidence spikes.
    ``prefix``/``spec`` as in :func:`pair_index`."""
    spec = spec or circuit.meta["attention"]
    h, c = spec["heads"], spec["dim"] // spec["heads"]
    s = result.spikes[f"{prefix}coinc"]
    t, b = s.shape[:2]
    if spec["order"] == "q_kv":
        return s.reshape(t, b, h, spec["n_key"], c, c).sum(axis=3)
    i_p, j_p = pair_index(circuit, prefix, spec)
    counts = s.reshape(t, b, h, i_p.size, c).sum(axis=-1)
    out = np.zeros((t, b, h, spec["n_query"], spec["n_key"]), np.int64)
    out[..., i_p, j_p] = counts
    return out
