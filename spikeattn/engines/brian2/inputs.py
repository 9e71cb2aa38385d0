"""The input side of a Brian2 population: one input variable per incoming pathway and the
code that sums them into ``a_in``.

Each Synapses pathway into a population adds into its own variable ``a_p<j>`` (``j``: the
projection's index in ``sorted(circuit.projections)``); the population's update sums them in
the summation order of :mod:`spikeattn.dynamics.synapses`, one addition per statement, so
Brian2 cannot reorder a floating-point sum.  Used by the LIF/IF lowering (:mod:`.lowering`)
and the GradedReLU lowering (:mod:`.graded`) alike.
"""
from __future__ import annotations


def input_vars(names: list[str]) -> list[str]:
    """Per-pathway input variables ``a_p<j>`` of a population (``j``: the projection's index in
    ``sorted(circuit.projections)``), in the order their inputs are summed."""
    return [f"a_p{j}" for j in names]


def input_eqs(variables: list[str]) -> str:
    return "".join(f"{var} : 1\n" for var in variables)


def sum_inputs_code(variables: list[str]) -> str:
    """``a_in = 0 + a_p<j1> + a_p<j2> + ...``, one addition per statement (the summation order of
    :mod:`spikeattn.dynamics.synapses`), each pathway variable cleared after it is read."""
    lines = []
    for k, var in enumerate(variables):
        lines.append(f"a_in = {var}" if k == 0 else f"a_in = a_in + {var}")
        lines.append(f"{var} = 0")
    return "\n".join(lines) + ("\n" if lines else "")
