"""Lower a float :class:`~spikeattn.ir.Circuit` to Brian2 objects that step exactly as the
numpy engine does.

One step of the circuit is one Brian2 time step ``dt = Circuit.dt``.  All objects run in
Brian2's ``groups`` slot, ordered by ``order`` numbers that follow
``Circuit.update_order()``: node k of that order owns the orders ``10k .. 10k+3``::

    10k + 0   every Synapses pathway *into* node k: push the spikes its pre-synaptic group
              holds now, then deliver the ones that are due into the pathway's own input
              variable (``a_p<j>_post += w``); the update sums them in projection-name order
              (the summation order of :mod:`spikeattn.dynamics.synapses`)
    10k + 1   population: ``run_regularly`` update (below), consumes and clears ``a_in``;
              graded source: ``g = values(t, i)`` (a TimedArray)
    10k + 2   threshold (``v > vth``; ``g != 0``); SpikeGeneratorGroup emits its spikes
    10k + 3   reset (``v = v_reset`` / ``v = v - vth``, refractory counter)
    end       SpikeMonitor; StateMonitor of ``zero_state`` (every population, 1 byte per
              neuron and step, for the EventCounts) and of the probed variables (state
              after reset, as Lava's Monitor)

The update code of an LIF/IF population (``ku = 1 - du``, ``kv = 1 - dv`` computed once in
float64 by numpy, exactly as the numpy engine does; one binary operation per statement,
so Brian2's sympy rewriting cannot reorder a floating-point sum)::

    zero_state = (u*ku == 0) and (v*kv == 0)        (for EventCounts: state zero before the update)
    u = u*ku + a_in ; a_in = 0 ; v = v*kv + u ; v = v + bias
    [refractory r:  held = int(ref > 0) ; v = v*(1 - held) + v_reset*held ; ref = ref - int(held)]

Why the delays line up.  A spike emitted at step t sits in its group's spike space until
the group's next threshold, at step t+1.  A pathway into node k runs before node k's
update, so an event it delivers at step t' is consumed at step t'.  If the pre-synaptic
node comes earlier in the update order than the post-synaptic one (every delay-0
projection does), the pathway pushes the spike at step t itself, and a Brian2 delay of
``D * dt`` delivers it at ``t + D``: our delay D exactly, including D = 0 (same step).
If it comes later (or is the same node: recurrent projections), the pathway sees the spike
one step later, at t + 1, so the Brian2 delay is ``(D - 1) * dt`` (D >= 1 is guaranteed,
since delay-0 projections always point forward in the update order).

Graded messages from a graded source carry the value at the emission step: the pathway
reads it from a TimedArray holding the source's values shifted by D steps (Brian2 would
otherwise read the pre-synaptic variable at delivery time).  Graded messages from a
``GradedReLU`` population read the pre-synaptic output of the emission step from a short
history the group keeps (:mod:`.graded`).  LIF/IF spikes are binary, so a graded
projection from an LIF population adds ``w`` (``w * 1``), as in numpy; a binary projection
from a graded population adds ``w`` per non-zero output.

Batch: the network is replicated B times inside the same groups (neuron ``b * N + j`` is
neuron j of sample b; the synapses are block-diagonal), so one Brian2 run (and, for
``cpp_standalone``, one compilation) simulates the whole batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ...ir import Circuit, Population
from ...dynamics import dynamics_for
from ...dynamics.synapses import incoming_order
from .graded import brian2_delay, history_depths, is_graded_relu, lower_graded_relu, value_expression
from .inputs import input_eqs, input_vars, sum_inputs_code

ORDER_STRIDE = 10

NEURON_EQS = """
u : 1
v : 1
a_in : 1
zero_state : boolean
ku : 1 (constant)
kv : 1 (constant)
bias : 1 (constant)
vth : 1 (constant)
v_reset : 1 (constant)
"""
REFRACTORY_EQS = """
ref : integer
held : 1
"""
UPDATE_CODE = """
zero_state = (u*ku == 0) and (v*kv == 0)
u = u*ku + a_in
a_in = 0
v = v*kv + u
v = v + bias
"""
REFRACTORY_CODE = """
held = int(ref > 0)
v = v*(1 - held) + v_reset*held
ref = ref - int(held)
"""


@dataclass
class LoweredCircuit:
    """Brian2 objects of one circuit plus what is needed to read the results back."""

    objects: list = field(default_factory=list)
    groups: dict = field(default_factory=dict)          # node name -> Brian2 group
    spike_monitors: dict = field(default_factory=dict)  # population -> SpikeMonitor
    state_monitors: dict = field(default_factory=dict)  # population -> StateMonitor(zero_state, probed)
    recorded: dict = field(default_factory=dict)        # population -> probed variable names
    namespace: dict = field(default_factory=dict)       # TimedArrays by identifier
    brian2_delays: dict = field(default_factory=dict)   # projection -> delay in Brian2 steps
    graded_pops: set = field(default_factory=set)       # GradedReLU populations (record ``out``)


def _per_neuron(value, n: int, batch: int) -> np.ndarray:
    """Scalar or (n,) parameter -> (batch * n,) float64, sample-major."""
    return np.tile(np.broadcast_to(np.asarray(value, np.float64), (n,)), batch)


def _place(obj, order: int) -> None:
    obj.when, obj.order = "groups", int(order)


def lower_population(b2, pop: Population, k: int, batch: int, dt, low: LoweredCircuit,
                     probed: tuple = (), inputs: list[str] = ()) -> None:
    m = pop.model
    n = pop.size
    refractory = int(m.refractory)
    eqs = NEURON_EQS + (REFRACTORY_EQS if refractory else "") + input_eqs(list(inputs))
    if m.reset == "subtract":
        reset = "v = v - vth"
    else:
        reset = "v = v_reset" + (f"\nref = {refractory}" if refractory else "")
    g = b2.NeuronGroup(n * batch, eqs, threshold="v > vth", reset=reset, dt=dt, name=f"pop{k}_*")
    g.ku = _per_neuron(np.float64(1.0) - np.asarray(m.du, np.float64), n, batch)
    g.kv = _per_neuron(np.float64(1.0) - np.asarray(m.dv, np.float64), n, batch)
    g.bias = _per_neuron(m.bias, n, batch)
    g.vth = _per_neuron(m.vth, n, batch)
    g.v_reset = _per_neuron(m.v_reset, n, batch)
    init = dynamics_for(m).init_state(pop, batch)   # the model-behaviour layer's initial state
    g.u = init["u"].ravel()
    g.v = init["v"].ravel()
    update = g.run_regularly(sum_inputs_code(list(inputs)) + UPDATE_CODE + (REFRACTORY_CODE if refractory else ""),
                             when="groups", order=ORDER_STRIDE * k + 1, name=f"pop{k}_update_*")
    _place(g.thresholder["spike"], ORDER_STRIDE * k + 2)
    _place(g.resetter["spike"], ORDER_STRIDE * k + 3)
    spikes = b2.SpikeMonitor(g, record=True, when="end", name=f"pop{k}_spikes_*")
    states = b2.StateMonitor(g, ["zero_state", *probed], record=True, when="end", dt=dt,
                             name=f"pop{k}_state_*")
    low.objects += [g, update, spikes, states]
    low.groups[pop.name] = g
    low.spike_monitors[pop.name] = spikes
    low.state_monitors[pop.name] = states
    low.recorded[pop.name] = tuple(probed)


def lower_source(b2, name: str, values: np.ndarray, k: int, dt, low: LoweredCircuit) -> None:
    """Binary inputs -> SpikeGeneratorGroup; graded values -> NeuronGroup fed by a TimedArray."""
    steps, batch, n = values.shape
    if values.dtype == bool:
        t_idx, b_idx, j_idx = np.nonzero(values)
        g = b2.SpikeGeneratorGroup(n * batch, (b_idx * n + j_idx).astype(np.int64), t_idx * dt,
                                   dt=dt, when="groups", order=ORDER_STRIDE * k + 2, name=f"src{k}_*")
        low.objects.append(g)
    else:
        ident = f"_values_src{k}"
        low.namespace[ident] = b2.TimedArray(values.reshape(steps, batch * n).astype(np.float64), dt=dt)
        g = b2.NeuronGroup(n * batch, "g : 1", threshold="g != 0", dt=dt, name=f"src{k}_*")
        update = g.run_regularly(f"g = {ident}(t, i)", when="groups", order=ORDER_STRIDE * k + 1,
                                 name=f"src{k}_values_*")
        _place(g.thresholder["spike"], ORDER_STRIDE * k + 2)
        low.objects += [g, update]
    low.groups[name] = g


def lower_projection(b2, circuit: Circuit, pname: str, inputs: dict, pos: dict, batch: int, dt,
                     low: LoweredCircuit, j: int) -> None:
    p = circuit.projections[pname]
    w = sp.coo_matrix(p.weights, dtype=np.float64)
    keep = w.data != 0
    post_idx, pre_idx, data = w.row[keep], w.col[keep], w.data[keep]
    if data.size == 0:
        return                                  # no synapse: nothing is ever delivered
    n_pre, n_post = circuit.node(p.pre).size, circuit.node(p.post).size
    offsets = np.arange(batch)[:, None]
    pre_i = (offsets * n_pre + pre_idx[None]).ravel()
    post_i = (offsets * n_post + post_idx[None]).ravel()
    d_b2 = brian2_delay(p.delay, pos[p.pre], pos[p.post])
    target = f"a_p{j}_post"                     # this pathway's own input variable
    on_pre = f"{target} += w"
    pre_values = inputs.get(p.pre)
    if p.message == "graded" and p.pre in low.graded_pops:
        on_pre = f"{target} += w * {value_expression(d_b2)}_pre"
    elif p.message == "graded" and pre_values is not None and pre_values.dtype != bool:
        steps = pre_values.shape[0]
        shifted = np.zeros((steps, batch * n_pre), np.float64)
        if p.delay < steps:
            shifted[p.delay:] = pre_values[: steps - p.delay].reshape(steps - p.delay, batch * n_pre)
        ident = f"_emitted_proj{j}"
        low.namespace[ident] = b2.TimedArray(shifted, dt=dt)
        on_pre = f"{target} += w * {ident}(t, i)"
    syn = b2.Synapses(low.groups[p.pre], low.groups[p.post], model="w : 1 (constant)", on_pre=on_pre,
                      delay=d_b2 * dt, dt=dt, name=f"proj{j}_*")
    syn.connect(i=pre_i, j=post_i)
    syn.w = np.tile(data, batch)
    _place(syn.pre, ORDER_STRIDE * pos[p.post])
    low.objects.append(syn)
    low.brian2_delays[pname] = d_b2


def lower_circuit(b2, circuit: Circuit, inputs: dict, batch: int) -> LoweredCircuit:
    """Build every Brian2 object of ``circuit`` (sources fed with the encoded ``inputs``)."""
    dt = circuit.dt * b2.second
    order = circuit.update_order()
    pos = {n: k for k, n in enumerate(order)}
    low = LoweredCircuit()
    nodes = circuit.nodes()
    probed: dict[str, list] = {}
    for pr in circuit.probes:
        probed.setdefault(pr.target, [])
        probed[pr.target] += [v for v in pr.variables if v not in probed[pr.target]]
    depths = history_depths(circuit, pos)
    index = {pname: j for j, pname in enumerate(sorted(circuit.projections))}
    pathways = {n: input_vars([index[pn] for pn in names]) for n, names in incoming_order(circuit).items()}
    for k, name in enumerate(order):
        if is_graded_relu(nodes[name]):
            lower_graded_relu(b2, nodes[name], k, batch, dt, low, tuple(probed.get(name, ())),
                              depths.get(name, 0), ORDER_STRIDE, pathways[name])
        elif isinstance(nodes[name], Population):
            lower_population(b2, nodes[name], k, batch, dt, low, tuple(probed.get(name, ())), pathways[name])
        else:
            lower_source(b2, name, np.asarray(inputs[name]), k, dt, low)
    for pname, j in index.items():
        lower_projection(b2, circuit, pname, inputs, pos, batch, dt, low, j)
    return low
