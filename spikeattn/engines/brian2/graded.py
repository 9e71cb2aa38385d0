"""Brian2 lowering of :class:`~spikeattn.ir.neurons_extra.GradedReLU` populations and of the
graded messages they send.

A GradedReLU population is a ``NeuronGroup`` whose update (``run_regularly`` in the slot
``10k + 1`` of :mod:`.lowering`) overwrites ``v`` with the input of the step and computes
the graded output ``out``::

    out_h{K} = out_h{K-1} ; ... ; out_h1 = out      (history of the output, see below)
    v = a_in ; a_in = 0
    out = clip(v - vth, 0, inf)                     == v - vth if v > vth else 0 (exactly)

The threshold ``v > vth`` (slot ``10k + 2``) emits an event wherever ``out != 0``
(``v > vth`` <=> ``v - vth > 0`` in IEEE arithmetic); there is no reset and no memory.
``out`` is recorded every step: it is the population's ``SimResult.spikes`` (float64).

Values on delayed pathways.  Brian2 runs a pathway's ``on_pre`` code when the event is
*delivered*, reading the pre-synaptic variables at that time, but a graded message must
carry the value of the *emission* step t.  With Brian2 delay ``d_b2`` (:func:`brian2_delay`)
the delivery happens when the pre-synaptic group's latest update is exactly ``d_b2`` steps
after t, in both cases of the update order:

* pre before post (forward): delivered at step ``t + D`` after pre's update of that step:
  age ``D = d_b2``;
* pre at or after post (backward, recurrent): delivered at step ``t + D`` before pre's
  update of that step, whose latest update is ``t + D - 1``: age ``D - 1 = d_b2``.

So the group keeps the last ``K = max d_b2`` outputs (``out_h1 .. out_hK``, ``out_h0 =
out``) and a graded pathway adds ``w * out_h{d_b2}_pre``.  A binary message adds ``w`` per
non-zero output (``Projection.message``), as the numpy engine does.
"""
from __future__ import annotations

import numpy as np

from ...ir import Circuit, Population
from ...ir.neurons_extra import GradedReLU
from .inputs import input_eqs, sum_inputs_code

GRADED_EQS = """
v : 1
a_in : 1
out : 1
vth : 1 (constant)
"""
VALUE_VAR = "out"


def is_graded_relu(node) -> bool:
    return isinstance(node, Population) and isinstance(node.model, GradedReLU)


def brian2_delay(delay: int, pre_pos: int, post_pos: int) -> int:
    """Brian2 delay in steps of a projection of ``delay`` steps (see :mod:`.lowering`)."""
    return delay if pre_pos < post_pos else delay - 1


def history_depths(circuit: Circuit, pos: dict) -> dict[str, int]:
    """GradedReLU population -> how many past outputs its graded pathways need."""
    depth: dict[str, int] = {}
    nodes = circuit.nodes()
    for p in circuit.projections.values():
        if p.message == "graded" and is_graded_relu(nodes[p.pre]):
            d_b2 = brian2_delay(p.delay, pos[p.pre], pos[p.post])
            depth[p.pre] = max(depth.get(p.pre, 0), d_b2)
    return depth


def value_expression(depth: int) -> str:
    """The pre-synaptic variable holding the output emitted ``depth`` updates ago."""
    return VALUE_VAR if depth == 0 else f"{VALUE_VAR}_h{depth}"


def lower_graded_relu(b2, pop: Population, k: int, batch: int, dt, low, probed: tuple, depth: int,
                      order_stride: int, inputs: list[str] = ()) -> None:
    """Add the NeuronGroup, its update, and the StateMonitor of ``out`` (and probes);
    ``inputs``: the per-pathway input variables, summed in order into ``a_in``."""
    n = pop.size
    history = [value_expression(h) for h in range(1, depth + 1)]
    eqs = GRADED_EQS + "".join(f"{var} : 1\n" for var in history) + input_eqs(list(inputs))
    shift = [f"{value_expression(h)} = {value_expression(h - 1)}" for h in range(depth, 0, -1)]
    code = sum_inputs_code(list(inputs)) + "\n".join(
        shift + ["v = a_in", "a_in = 0", f"{VALUE_VAR} = clip(v - vth, 0, inf)"])
    g = b2.NeuronGroup(n * batch, eqs, threshold="v > vth", reset="", dt=dt, name=f"pop{k}_*")
    g.vth = np.tile(np.broadcast_to(np.asarray(pop.model.vth, np.float64), (n,)), batch)
    update = g.run_regularly(code, when="groups", order=order_stride * k + 1, name=f"pop{k}_update_*")
    g.thresholder["spike"].when, g.thresholder["spike"].order = "groups", order_stride * k + 2
    recorded = [VALUE_VAR] + [v for v in probed if v != VALUE_VAR]
    states = b2.StateMonitor(g, recorded, record=True, when="end", dt=dt, name=f"pop{k}_state_*")
    low.objects += [g, update, states]
    low.groups[pop.name] = g
    low.state_monitors[pop.name] = states
    low.recorded[pop.name] = tuple(probed)
    low.graded_pops.add(pop.name)
