"""Inference latency: steps until a spiking readout reaches its final, stable decision.

``DecisionLatency(readout, onset=0, dt=1e-3, step_s=None)`` accumulates output spike
trains ``(steps, batch, n)`` (one decision per sample) and computes, per sample, the
**decision step** ``t*``: the first step from which the readout's decision never changes
again until the end of the train.  Two readouts:

``"first_spikes"`` (one-shot winners, e.g. :func:`spikeattn.circuits.routing.kwta`)
    decision at step t = the set of neurons that have spiked at steps ``<= t``;
    ``t* = max_i first_spike_i`` (the last first spike).
``"count_argmax"`` (rate readouts)
    decision at step t = ``argmax_i C_i(t)`` with ``C_i(t)`` the spikes of neuron i at
    steps ``<= t`` (lowest index on ties); ``t*`` = first step with ``C(t) != 0`` from which
    the argmax equals the final one.

A sample whose readout never spikes has no decision (``decided = False``).  Latency is
``t* - onset + 1`` steps (a decision made in the onset step takes one step) and
``latency_steps * step_s`` modelled seconds, ``step_s`` defaulting to ``dt`` (the circuit's
step); give a hardware step time (e.g. a chip's time per step) to model that chip.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError, ParameterError
from .base import AccumulatedMetric

READOUTS = ("first_spikes", "count_argmax")


def decision_steps(spikes: np.ndarray, readout: str = "first_spikes") -> np.ndarray:
    """``(steps, batch, n)`` -> ``(batch,)`` int decision step ``t*``, ``-1`` if undecided."""
    s = np.asarray(spikes)
    if s.ndim != 3:
        raise InputError(f"decision_steps: spikes have shape {s.shape}; expected (steps, batch, n).")
    s = s != 0
    steps, batch, _ = s.shape
    fired = s.any(axis=0)
    if readout == "first_spikes":
        first = np.where(fired, s.argmax(axis=0), -1)
        return first.max(axis=1).astype(np.int64)
    if readout != "count_argmax":
        raise ParameterError("DecisionLatency", "readout", f"is {readout!r}.", f"use one of {list(READOUTS)}.")
    cum = np.cumsum(s, axis=0)                                   # (steps, batch, n)
    arg = cum.argmax(axis=2)                                     # (steps, batch)
    any_spike = cum.any(axis=2)
    stable = (arg == arg[-1][None]) & any_spike
    # last step where the decision differs from the final one, + 1
    unstable = ~stable
    last_bad = np.where(unstable.any(axis=0), steps - 1 - unstable[::-1].argmax(axis=0), -1)
    return np.where(any_spike[-1], last_bad + 1, -1).astype(np.int64)


class DecisionLatency(AccumulatedMetric):
    """Accumulating decision latency (see the module docstring); ``compute()`` returns
    ``mean_steps``, ``median_steps``, ``max_steps``, ``mean_s``, ``decided_fraction`` and
    ``samples``.  Units: steps and modelled seconds."""

    name = "decision_latency"
    unit = "steps"

    def __init__(self, readout: str = "first_spikes", onset: int = 0, dt: float = 1e-3, step_s: float | None = None):
        if readout not in READOUTS:
            raise ParameterError("DecisionLatency", "readout", f"is {readout!r}.", f"use one of {list(READOUTS)}.")
        if not isinstance(onset, (int, np.integer)) or onset < 0:
            raise ParameterError("DecisionLatency", "onset", f"is {onset!r}; must be an int >= 0 (step).")
        self.readout, self.onset, self.dt = readout, int(onset), float(dt)
        self.step_s = float(step_s) if step_s is not None else float(dt)
        super().__init__()

    def reset(self) -> None:
        self.latencies: list[np.ndarray] = []
        self.undecided = 0

    def accumulate(self, spikes) -> None:
        """Add the samples of one output spike train ``(steps, batch, n)``."""
        t = decision_steps(spikes, self.readout)
        ok = t >= 0
        self.undecided += int((~ok).sum())
        self.latencies.append(t[ok] - self.onset + 1)

    def values(self) -> np.ndarray:
        """Latency in steps of every decided sample seen so far."""
        return np.concatenate(self.latencies) if self.latencies else np.zeros(0, np.int64)

    def compute(self) -> dict:
        v = self.values()
        n = v.size + self.undecided
        if v.size == 0:
            return {"mean_steps": None, "median_steps": None, "max_steps": None, "mean_s": None,
                    "decided_fraction": 0.0, "samples": int(n)}
        return {"mean_steps": float(v.mean()), "median_steps": float(np.median(v)), "max_steps": int(v.max()),
                "mean_s": float(v.mean() * self.step_s), "decided_fraction": float(v.size / n), "samples": int(n)}
