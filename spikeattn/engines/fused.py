"""Registry of fused fast paths, filled by the circuit libraries that define them.

A circuit names its fused runner in ``circuit.meta["fused"]``; the library that builds such
circuits registers the runner under that key (``register_fused("attention", run_fused)`` in
:mod:`spikeattn.circuits.attention.fused`).  ``simulate(..., fused=True)`` on the numpy
engine runs it.  A runner returns a :class:`~spikeattn.SimResult`, or a string saying why it
cannot run this circuit (then the engine runs it neuron by neuron and says so); a library
typically puts its specialised runners in front of the generic one,
:func:`spikeattn.engines.numpy.vectorised.run_vectorised`.  A runner must give
spikes and counts identical to the neuron-level run, and it uses the model-behaviour layer
(:mod:`spikeattn.dynamics`) for every neuron it steps, refusing any model whose Dynamics
class it does not implement.
"""
from __future__ import annotations

from typing import Callable

FUSED_RUNNERS: dict[str, Callable] = {}


def register_fused(key: str, runner: Callable) -> None:
    """``runner(circuit, inputs, steps, batch, seed, progress) -> SimResult | str``."""
    FUSED_RUNNERS[key] = runner


def fused_runner(circuit):
    """``(runner or None, reason)`` for ``circuit``."""
    key = circuit.meta.get("fused")
    if key is None:
        return None, "the circuit declares no fused runner (meta['fused'] is unset)"
    if key not in FUSED_RUNNERS:
        return None, (f"no fused runner is registered under '{key}'; import the circuit library that "
                      f"defines it (e.g. spikeattn.circuits.attention), which registers it")
    return FUSED_RUNNERS[key], ""
