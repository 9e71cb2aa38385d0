"""``Circuit.expand()``: a structured circuit as the equivalent neuron-level circuit.

The neuron-level engines (numpy, compiled, Brian2, Lava) and the conformance oracle run flat
projections only; this is how they run structured circuits, and why the expansion is the
oracle of the torch engine (``tests/engines``): the same spikes and, element by element,
the same counts.

* ``shared``, ``index``, ``conv``: one flat :class:`~spikeattn.ir.Projection` of the same name
  whose ``(post, pre)`` CSR is ``expand_matrix()`` — the same synapses, so the same counts.
* ``product`` (``a`` x ``b``, equation, mask): neurons cannot multiply, so unit spikes of
  ``a`` gate count messages of ``b`` (the accumulate-only gate of the mapping layer).  With
  ``a`` in ``[-L_a, L_a]`` and ``b`` in ``[-L_b, L_b]`` (integer levels):

  - ``<P>.lines``: ``GradedReLU(vth = m - 1)`` for every a element, sign ``s_a`` (``±1``) and
    level ``m = 1..L_a``, fed ``s_a * a`` (projection ``<P>.a_lines``, count): it fires iff
    ``s_a * a >= m``;
  - ``<P>.gates``: ``GradedReLU(vth = L_b)`` for every unmasked term and combination
    ``(s_a, m, s_b)``, fed ``L_b`` by its line (``<P>.lines_gates``, binary) and ``s_b * b``
    (``<P>.b_gates``, count): it emits ``max(s_b * b, 0)`` when the line fired, else 0;
  - ``<P>`` itself: gates -> post, count messages, weight ``s_a * s_b * weight``, the product's
    delay.  Summed: ``sum_{s_a, m, s_b} s_a s_b [s_a a >= m] max(s_b b, 0) = a * b``.

  Its ``synaptic_acs`` are ``sum |a| |b|`` and its ``messages`` ``sum |a| [b != 0]`` over the
  unmasked terms, the product's counts by definition; the lines and gates are the extra cost
  of realising a product on a chip that only adds (they exist only in the expansion).
  ``L`` comes from the pre model: ``MultiThresholdIF`` its levels (signed or not), a
  binary-spiking model 1, ``TernaryIF`` 1 signed, a Poisson/rate/TTFS source 1, or the
  product's declared ``levels`` (e.g. a GradedReLU accumulator of c binary inputs, or binary
  ``spikes`` sources).  Products of unbounded values without a declared bound have no such
  form and are refused.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import scipy.sparse as sp

from ..errors import MemoryLimitError, UnsupportedFeatureError
from ..validation import MAX_BYTES, available_bytes
from .neurons_convert import MultiThresholdIF, TernaryIF
from .neurons_extra import GradedReLU
from .population import Population
from .projection import Projection
from .structured import ProductProjection, StructuredProjection

#: bytes per synapse of a flat projection as the engines hold it: the (post, pre) CSR
#: (8 B value + 4-8 B index), the transposed SynapseTable with its structure copy (~2x that)
BYTES_PER_SYNAPSE = 48
BYTES_PER_NEURON = 64


def levels_of(node, declared: int | None = None) -> tuple[int, bool]:
    """``(L, signed)``: the output of ``node`` is an integer in ``[-L, L]`` (``[0, L]`` if not
    signed).  ``declared``: a product's declared bound for this input (its ``levels``), used
    with the sign the model allows (a rectifying GradedReLU or binary model is unsigned,
    anything else counted signed).  Raises :class:`UnsupportedFeatureError` for unbounded
    (graded) outputs without a declared bound."""
    if declared is not None:
        m = getattr(node, "model", None)
        unsigned = m is not None and (isinstance(m, GradedReLU) or not m.graded_output
                                      or (isinstance(m, MultiThresholdIF) and not m.signed))
        return int(declared), not unsigned
    if isinstance(node, Population):
        m = node.model
        if isinstance(m, MultiThresholdIF):
            return int(m.levels), bool(m.signed)
        if isinstance(m, TernaryIF):
            return 1, True
        if not m.graded_output:
            return 1, False
        what = f"population '{node.name}' ({m.kind}, graded output)"
    else:
        if node.encoder in ("poisson", "rate", "ttfs"):
            return 1, False
        what = f"source '{node.name}' (encoder '{node.encoder}', values of any size)"
    raise UnsupportedFeatureError(
        f"expand(): a product reads {what}, whose values are unbounded, so it has no accumulate-only "
        "neuron-level form. Fix: feed products from MultiThresholdIF, TernaryIF or binary-spiking populations, "
        "or run the structured circuit on engine='torch' without expanding.")


def product_combos(La: int, signed_a: bool, signed_b: bool):
    """The gate neurons of one product term: ``(sign index, sign of a, level m of a, sign of b)``
    for ``m = 1 .. La`` (both signs of an operand only when it is signed)."""
    return [(si, sa, m, sb) for si, sa in enumerate((1.0, -1.0)[:2 if signed_a else 1]) for m in range(1, La + 1)
            for sb in ((1.0, -1.0) if signed_b else (1.0,))]


def estimate_expand_bytes(circuit) -> int:
    """Bytes the expansion allocates (Python ints): ``BYTES_PER_SYNAPSE`` per synapse of every
    expanded projection and ``BYTES_PER_NEURON`` per added gate or line neuron."""
    total = 0
    for p in circuit.projections.values():
        if not isinstance(p, ProductProjection):
            total += BYTES_PER_SYNAPSE * (p.synapse_count() if isinstance(p, StructuredProjection)
                                          else int(p.weights.nnz if p.sparse else p.weights.size))
            continue
        La, sa = levels_of(circuit.node(p.pre), (p.levels or (None, None))[0])
        Lb, sb = levels_of(circuit.node(p.pre_b), (p.levels or (None, None))[1])
        combos = len(product_combos(La, sa, sb))
        n_lines = (2 if sa else 1) * La * math.prod(p.pre_shape)
        gates = combos * p.terms
        total += BYTES_PER_NEURON * (n_lines + gates) + BYTES_PER_SYNAPSE * (n_lines + 3 * gates)
    return total


def check_expand_memory(circuit, max_bytes: int | None = None) -> int:
    need = estimate_expand_bytes(circuit)
    limit = max_bytes if max_bytes is not None else available_bytes()
    if need > MAX_BYTES or (limit is not None and need > limit):
        shown = f"{limit / 2**30:.2f} GiB" if limit is not None else "the limit"
        raise MemoryLimitError(f"expand(): circuit '{circuit.name}' would need about {need:,} bytes "
                               f"({need / 2**30:.3g} GiB) as a neuron-level circuit, more than {shown}. Fix: run "
                               "the structured circuit on engine='torch' (it never expands), or expand a smaller "
                               "circuit (fewer tokens or features).")
    return need


def expand_circuit(circuit, max_bytes: int | None = None):
    """See :meth:`spikeattn.ir.Circuit.expand` and the module docstring."""
    circuit.validate()
    check_expand_memory(circuit, max_bytes)
    out = type(circuit)(circuit.name, circuit.dt)
    for obj in circuit.nodes().values():
        out.add(copy.deepcopy(obj))
    for name in sorted(circuit.projections):
        p = circuit.projections[name]
        if not isinstance(p, StructuredProjection):
            out.add(copy.copy(p))
        elif isinstance(p, ProductProjection):
            _expand_product(circuit, out, p)
        else:
            out.add(Projection(p.name, p.pre, p.post, p.expand_matrix(), p.delay, p.message))
    for pr in circuit.probes:
        out.add(copy.deepcopy(pr))
    out.outputs = dict(circuit.outputs)
    out.meta = copy.deepcopy(circuit.meta)
    return out.validate()


def _expand_product(circuit, out, p: ProductProjection) -> None:
    La, signed_a = levels_of(circuit.node(p.pre), (p.levels or (None, None))[0])
    Lb, signed_b = levels_of(circuit.node(p.pre_b), (p.levels or (None, None))[1])
    n_a, n_b, n_out = (math.prod(s) for s in (p.pre_shape, p.pre_b_shape, p.post_shape))
    ia, ib, io = p.term_indices()
    P = len(ia)
    signs_a = 2 if signed_a else 1
    # threshold lines of a: neuron (si, m, k) fires iff s_a * a[k] >= m
    n_lines = signs_a * La * n_a
    line_sign = np.repeat([1.0, -1.0][:signs_a], La * n_a)
    line_vth = np.tile(np.repeat(np.arange(La, dtype=np.float64), n_a), signs_a)
    lines, gates = f"{p.name}.lines", f"{p.name}.gates"
    out.add_population(lines, n_lines, GradedReLU(vth=line_vth))
    w_lines = sp.csr_matrix((line_sign, (np.arange(n_lines), np.tile(np.arange(n_a), signs_a * La))),
                            shape=(n_lines, n_a))
    out.add(Projection(f"{p.name}.a_lines", p.pre, lines, w_lines, 0, "count"))
    combos = product_combos(La, signed_a, signed_b)
    G = P * len(combos)
    out.add_population(gates, (len(combos), P) if P else G or 1, GradedReLU(vth=float(Lb)))
    rows = np.arange(G)
    line_col = np.concatenate([(si * La + (m - 1)) * n_a + ia for si, _, m, _ in combos]) if P else np.zeros(0, int)
    b_val = np.concatenate([np.full(P, sb) for *_, sb in combos]) if P else np.zeros(0)
    out_val = np.concatenate([np.full(P, sa * sb * p.weight) for _, sa, _, sb in combos]) if P else np.zeros(0)
    n_gates = out.node(gates).size
    out.add(Projection(f"{p.name}.lines_gates", lines, gates,
                       sp.csr_matrix((np.full(G, float(Lb)), (rows, line_col)), shape=(n_gates, n_lines)), 0, "binary"))
    out.add(Projection(f"{p.name}.b_gates", p.pre_b, gates,
                       sp.csr_matrix((b_val, (rows, np.tile(ib, len(combos)))), shape=(n_gates, n_b)), 0, "count"))
    out.add(Projection(p.name, gates, p.post,
                       sp.csr_matrix((out_val, (np.tile(io, len(combos)), rows)), shape=(n_out, n_gates)),
                       p.delay, "count"))
