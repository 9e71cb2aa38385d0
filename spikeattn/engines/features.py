"""Feature keys: what a circuit needs from an engine, element by element.

Engines declare the keys they support; :func:`required_features` lists what a circuit
uses, so an unsupported circuit is refused up front with the element named (the
Brian2 / Nengo backend-feature pattern).
"""
from __future__ import annotations

import numpy as np

from ..dynamics import dynamics_for
from ..ir import Circuit
from ..ir.neurons import MODEL_REGISTRY

FEATURES = {
    "model:lif": "floating-point LIF neurons",
    "model:if": "integrate-and-fire neurons",
    "model:loihi_lif": "Loihi fixed-point LIF neurons (bit-exact)",
    "lif:refractory": "refractory period",
    "lif:reset_subtract": "reset by subtraction",
    "lif:per_neuron_params": "per-neuron du/dv/vth",
    "projection:delay0": "zero-delay (same-step) projections",
    "projection:long_delay": "projections with delay > 1 step",
    "projection:sparse": "sparse weight matrices",
    "projection:graded": "graded (multiply-accumulate) messages",
    "source:graded": "graded (non-binary) input values",
    "probe": "state probes",
    "model:graded_relu": "memoryless graded ReLU neurons emitting graded spikes (attention accumulators/gates)",
    "model:ternary_if": "integrate-and-fire neurons with signed (+1/-1) spikes",
    "model:multi_threshold_if": "multi-threshold integrate-and-fire neurons emitting integer levels",
    "model:loihi_multi_threshold_if": "Loihi fixed-point multi-threshold IF neurons emitting integer levels",
    "model:loihi_graded_relu": "Loihi fixed-point memoryless graded ReLU neurons",
    "projection:count": "count messages: a level-n spike adds n*w as |n| accumulates per synapse",
    # A conformance feature, never required by simulate(): float sums that round (weights in
    # steps of 0.1, several inputs per neuron) follow the order of spikeattn.dynamics.synapses,
    # so spikes agree bit for bit even at exact threshold ties.
    "float:order_exact": "float input sums in the defined summation order (bit-identical at threshold ties)",
    # Structured (tensor-level) projections, run natively by engines with ``runs_structured``;
    # any other engine runs the circuit's expansion (Circuit.expand), so they are never
    # missing there: required_features(native=False) lists what the expansion needs instead.
    "projection:shared": "one (out, in) matrix applied to every token / group (kron(I, W) stored once)",
    "projection:index": "index-map projections (permutation, gather, head split/merge, concatenation)",
    "projection:conv": "2-D convolution projections",
    "projection:product": "accumulate-only products of two spike trains (einsum, optional mask)",
    "model:own_dynamics": "a neuron model subclass with a Dynamics class of its own (its step is not its "
                          "kind's equations); engines that lower each kind to their own equations refuse it",
}
STRUCTURED_FEATURES = frozenset({"projection:shared", "projection:index", "projection:conv", "projection:product"})
#: Feature keys that describe how an engine computes rather than what a circuit uses.
CONFORMANCE_ONLY = frozenset({"float:order_exact"})


def own_dynamics(model) -> str | None:
    """The Dynamics class name of ``model`` when it is not the one of its kind's registered
    model class (a subclass such as ``class DoubleLIF(LIF)`` with ``@register_dynamics``),
    else None.  An engine that steps through :func:`spikeattn.dynamics.dynamics_for` runs it;
    one that lowers each ``kind`` to equations of its own would silently run the parent's."""
    base = MODEL_REGISTRY.get(model.kind)
    if base is None or type(model) is base:
        return None
    dyn = dynamics_for(model)
    return None if dyn is dynamics_for(base) else type(dyn).__name__


def required_features(circuit: Circuit, native: bool = True) -> list[tuple[str, str]]:
    """``(element description, feature key)`` for everything ``circuit`` uses.

    ``native=False``: for an engine that runs structured projections through the circuit's
    expansion, each one is described by what its expansion needs (a sparse flat projection;
    for a product, graded-ReLU lines and gates and count messages)."""
    out = []
    for n, p in circuit.populations.items():
        el = f"population '{n}'"
        m = p.model
        out.append((el, f"model:{m.kind}"))
        own = own_dynamics(m)
        if own:
            out.append((f"{el} (model {type(m).__name__}, dynamics {own})", "model:own_dynamics"))
        if m.kind in ("lif", "if"):
            if m.refractory:
                out.append((el, "lif:refractory"))
            if m.reset == "subtract":
                out.append((el, "lif:reset_subtract"))
            if any(np.ndim(getattr(m, k)) for k in ("du", "dv", "vth")):
                out.append((el, "lif:per_neuron_params"))
    for n, s in circuit.sources.items():
        if s.encoder == "graded":
            out.append((f"source '{n}'", "source:graded"))
    for n, p in circuit.projections.items():
        el = f"projection '{n}'"
        if getattr(p, "structured", False):
            out.extend(_structured_features(el, p, native))
            continue
        if p.delay == 0:
            out.append((el, "projection:delay0"))
        if p.delay > 1:
            out.append((el, "projection:long_delay"))
        if p.sparse:
            out.append((el, "projection:sparse"))
        if p.message == "graded":
            out.append((el, "projection:graded"))
        if p.message == "count":
            out.append((el, "projection:count"))
    for pr in circuit.probes:
        out.append((f"probe on '{pr.target}'", "probe"))
    return out


def _structured_features(el: str, p, native: bool) -> list[tuple[str, str]]:
    out = [(el, "projection:delay0")] if p.delay == 0 else []
    if p.delay > 1:
        out.append((el, "projection:long_delay"))
    if native:
        out.append((el, f"projection:{p.kind}"))
    elif p.kind == "product":
        out += [(el, "projection:sparse"), (el, "projection:count"), (el, "model:graded_relu"),
                (el, "projection:delay0")]
    else:
        out.append((el, "projection:sparse"))
    if p.message in ("graded", "count"):
        out.append((el, f"projection:{p.message}"))
    return out
