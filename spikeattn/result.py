"""SimResult: what every engine returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .counts import EventCounts
from .errors import InputError


@dataclass
class SimResult:
    """Outcome of one simulation.

    ``spikes[name]``: spikes of every population and source, shape ``(steps, batch, size)``
    (bool, or the graded values of graded sources).  ``probes[name][var]``: recorded state
    after each step, ``(steps, batch, size)``.  ``counts``: the :class:`EventCounts`.
    ``wall_s``: seconds spent running (lowering included, encoding excluded).
    ``meta``: engine name, version, mode and options.  ``diagnostics[pop][flag]``: neurons per
    step and sample whose state wrapped, saturated or became non-finite, ``(steps, batch)``
    int64, for the flags that occurred (see :mod:`spikeattn.engines.overflow`).
    """

    spikes: dict[str, np.ndarray]
    probes: dict[str, dict[str, np.ndarray]]
    counts: EventCounts
    steps: int
    batch: int
    dt: float
    engine: str
    wall_s: float
    meta: dict = field(default_factory=dict)
    diagnostics: dict = field(default_factory=dict)

    def _get(self, name: str) -> np.ndarray:
        if name not in self.spikes:
            raise InputError(f"no spikes recorded for '{name}'; recorded: {sorted(self.spikes)}")
        return self.spikes[name]

    def spike_counts(self, name: str) -> np.ndarray:
        """Spikes per neuron and sample, ``(batch, size)`` int64."""
        return (self._get(name) != 0).sum(axis=0).astype(np.int64)

    def rates(self, name: str) -> np.ndarray:
        """Mean firing rate per neuron and sample in Hz, ``(batch, size)``."""
        return self.spike_counts(name) / (self.steps * self.dt)

    def first_spike(self, name: str) -> np.ndarray:
        """Step of the first spike per neuron and sample, ``(batch, size)``; -1 if none."""
        s = self._get(name) != 0
        first = s.argmax(axis=0)
        return np.where(s.any(axis=0), first, -1)

    def summary(self) -> dict:
        """JSON-ready summary (no per-step arrays)."""
        return {"engine": self.engine, "steps": self.steps, "batch": self.batch, "dt": self.dt,
                "wall_s": self.wall_s, "meta": self.meta, "counts": self.counts.to_dict(),
                "diagnostics": {p: {f: int(a.sum()) for f, a in d.items()} for p, d in self.diagnostics.items()}}
