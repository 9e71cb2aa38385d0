"""Which SANA-FE core each neuron runs on (used by :mod:`hardware_models.sanafe_engine` and
:mod:`hardware_models.sanafe_arch.compare`): a simple fill of the cores, input units moved to
cores with room, and the map from a spikeattn placement.
"""
from __future__ import annotations

import numpy as np

from spikeattn.errors import ParameterError
from spikeattn.ir import Circuit

from . import arch_spec


def fill_cores(circuit: Circuit, arch: str = "loihi") -> dict[str, np.ndarray]:
    """Simple placement: ``{node: core index per neuron}``.

    Nodes are taken in the circuit's update order; each starts on a fresh core and fills
    cores in order (``neurons_per_core`` for populations, ``inputs_per_core`` for sources).
    Raises :class:`ParameterError` naming the binding limit if the chip runs out of cores."""
    spec = arch_spec(arch)
    out, core = {}, 0
    for name in circuit.update_order():
        node = circuit.node(name)
        cap = spec.inputs_per_core if name in circuit.sources else spec.neurons_per_core
        idx = core + np.arange(node.size) // cap
        out[name] = idx.astype(np.int64)
        core = int(idx[-1]) + 1
    if core > spec.cores:
        raise ParameterError(f"circuit '{circuit.name}'", "placement", f"needs {core} cores on {arch} "
                             f"(one node per core, {spec.neurons_per_core} neurons per core) but the chip has "
                             f"{spec.cores}.", "use a larger architecture or a placement that packs nodes.")
    return out


def fit_inputs(circuit: Circuit, cores: dict, arch: str = "loihi") -> dict[str, np.ndarray]:
    """Move input-source neurons off cores that hold more than the arch's ``inputs_per_core``
    input units (or more than ``neurons_per_core`` neurons in all) to the nearest core index
    with room, keeping every other neuron where it is.  Raises :class:`ParameterError` when the
    chip has no room left."""
    spec = arch_spec(arch)
    out = {n: np.asarray(v, np.int64).copy() for n, v in cores.items()}
    total = np.zeros(spec.cores, np.int64)
    inputs = np.zeros(spec.cores, np.int64)
    for n, v in out.items():
        if n not in circuit.sources:
            np.add.at(total, v, 1)
    for n in circuit.sources:
        v = out.get(n)
        if v is None:
            continue
        for i, c in enumerate(v):
            if inputs[c] < spec.inputs_per_core and total[c] < spec.neurons_per_core:
                inputs[c] += 1
                total[c] += 1
                continue
            room = np.flatnonzero((inputs < spec.inputs_per_core) & (total < spec.neurons_per_core))
            if room.size == 0:
                raise ParameterError(f"circuit '{circuit.name}'", "placement", f"has no core with room for input "
                                     f"neuron {i} of '{n}' on {arch}.", "use a larger architecture.")
            c2 = int(room[np.argmin(np.abs(room - c))])
            v[i] = c2
            inputs[c2] += 1
            total[c2] += 1
    return out


def placement_map(circuit: Circuit, placement, arch: str) -> dict[str, np.ndarray]:
    """``{node: core per neuron}`` from ``placement`` (None: :func:`fill_cores`; a
    :class:`~hardware_models.placement.Placement`, its ``neuron_cores``; or a dict ``{node: core
    or one core per neuron}``), with input neurons moved to cores with room (:func:`fit_inputs`)."""
    if placement is None:
        return fill_cores(circuit, arch)
    for attr in ("neuron_cores", "core_of", "assignment"):
        if hasattr(placement, attr):
            placement = getattr(placement, attr)
            break
    out = {}
    for name, node in circuit.nodes().items():
        if name not in placement:
            raise ParameterError("run_sanafe", "placement", f"has no core for node '{name}'.",
                                 "give a core (int) or one core per neuron for every node.")
        cores = np.broadcast_to(np.asarray(placement[name], np.int64), (node.size,))
        out[name] = cores.copy()
    return fit_inputs(circuit, out, arch)
