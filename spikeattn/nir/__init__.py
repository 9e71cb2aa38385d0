"""NIR interchange (the Neuromorphic Intermediate Representation, ``nir`` 1.0.x; extra ``nir``).

``export(circuit) -> nir.NIRGraph`` and ``import_(graph, dt=...) -> Circuit`` for the subset
that maps both ways; ``write(circuit, path)`` / ``read(path, ...)`` go through NIR's HDF5
files.  ``nir`` is imported lazily (:func:`spikeattn.errors.require`).

Mapping (``dt``: the circuit's step in seconds; NIR nodes are continuous-time ODEs, discretised
here by forward Euler with step ``dt``, the discretisation snnTorch's exporter assumes):

==============================  ==============================================================
spikeattn                       NIR
==============================  ==============================================================
``SpikeSource``                 ``Input`` (``input_type = {"input": [size]}``)
``LIF`` du = 1, dv > 0          ``LIF(tau = dt/dv, r = 1/dv, v_leak = bias/dv, v_threshold = vth,
                                v_reset)``: ``v += dt/tau (v_leak - v + r I)`` is
                                ``v = v (1 - dv) + I + bias``
``LIF`` du = 1, dv = 0, bias 0  ``IF(r = 1/dt, v_threshold, v_reset)``: ``v += dt r I``
``LIF`` du < 1, dv > 0          ``CubaLIF(tau_syn = dt/du, tau_mem = dt/dv, r = 1/dv,
                                w_in = 1/du, v_leak = bias/dv, ...)``: the current
                                ``I = I (1 - du) + x`` is our ``u``
projection, delay 0             ``Linear(weight)`` (post, pre): NIR edges are instantaneous
projection, delay d > 0         ``Linear`` then ``Delay(delay = d dt)``
==============================  ==============================================================

Every node also carries ``metadata["spikeattn"]`` (a JSON string: the exact model
parameters, initial state, projection attributes; on the graph: name, dt, probes, outputs,
circuit meta), so circuit -> NIR -> circuit is exact.  A graph without it (another tool's)
is imported from the ODE parameters with the ``dt`` given (snnTorch's exporter writes its
Leaky/Synaptic layers with ``dt = 1e-4``); ``reset`` says which discrete reset is assumed
(NIR's LIF resets ``v`` to ``v_reset``): ``"zero"`` (to ``v_reset``, right after the
spike), ``"subtract"`` (``v -= v_threshold``), or ``"snntorch"`` (snnTorch's default
``Leaky``: the threshold is subtracted at the *next* step, before the leak: ``mem[t] =
beta mem[t-1] + I[t] - thr s[t-1]``; imported exactly as reset "subtract" plus a one-step
self-projection ``-(1 - beta) thr``, see :mod:`.importer`).  ``Affine`` biases become the
population's bias; scale factors (``dv r``, ``dt r``, ``du w_in``) are folded into the
incoming weights.

Not in the subset (an error names the node and the nearest construction that maps):
fixed-point ``LoihiLIF``, graded/ternary/multi-threshold models, reset by subtraction and
refractory periods on export; ``Conv*``, pooling, ``Flatten``, ``Scale``, ``LI``,
``Integrator``, ``Threshold`` and nested graphs on import.
"""
from __future__ import annotations

from .export import export, write
from .importer import import_, read

__all__ = ["export", "import_", "write", "read"]
