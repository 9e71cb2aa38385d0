"""Overflow and saturation reporting, shared by the engines.

Fixed-point models keep the wrap that Lava and Loihi perform (bit-exactness), and float
models compute what IEEE arithmetic gives; neither is ever silent.  Each step, an engine
passes the model's diagnostics (:meth:`spikeattn.dynamics.Dynamics.check`: ``(batch, size)``
bool arrays named ``"<kind>:<variable>"``, e.g. ``"overflow:u"``, ``"saturation:v"``,
``"nonfinite:v"``) to :class:`OverflowMonitor`, which counts the affected neurons per step
and sample.  ``on_overflow``:

``"warn"`` (default)  one :class:`~spikeattn.errors.SpikeattnWarning` per population and
                      flag after the run, naming the population, the first step and the variable;
``"wrap"``            count only (the run is known to rely on the wrap);
``"raise"``           :class:`~spikeattn.errors.FixedPointOverflowError` at the first step.

The counts end up in ``SimResult.diagnostics``: population -> flag -> ``(steps, batch)`` int64,
only for flags that occurred.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import FixedPointOverflowError, ParameterError, SpikeattnWarning

MODES = ("warn", "wrap", "raise")


class OverflowMonitor:
    def __init__(self, circuit, steps: int, batch: int, mode: str = "warn"):
        if mode not in MODES:
            raise ParameterError("simulate()", "on_overflow", f"is {mode!r}.", f"use one of {list(MODES)}.")
        self.circuit, self.steps, self.batch, self.mode = circuit, steps, batch, mode
        self.counts: dict[str, dict[str, np.ndarray]] = {}

    def record(self, pop: str, t: int, flags: dict) -> None:
        for flag, mask in flags.items():
            n = np.asarray(mask).sum(axis=-1)
            if not n.any():
                continue
            if self.mode == "raise":
                raise FixedPointOverflowError(self.message(pop, flag, t, int(n.sum())))
            arr = self.counts.setdefault(pop, {}).setdefault(flag, np.zeros((self.steps, self.batch), np.int64))
            arr[t] = n

    def record_counts(self, pop: str, flag: str, per_step: np.ndarray) -> None:
        """Add a whole ``(steps, batch)`` count array (engines that count in compiled code)."""
        per_step = np.asarray(per_step, np.int64)
        if not per_step.any():
            return
        if self.mode == "raise":
            t = int(np.flatnonzero(per_step.sum(axis=1))[0])
            raise FixedPointOverflowError(self.message(pop, flag, t, int(per_step[t].sum())))
        self.counts.setdefault(pop, {})[flag] = per_step

    def message(self, pop: str, flag: str, t: int, n: int) -> str:
        kind, _, var = flag.partition(":")
        what = {"overflow": "wrapped (fixed-point overflow; Lava and Loihi wrap the same way)",
                "saturation": "saturated (clipped at the register's limit)",
                "nonfinite": "became inf or NaN"}.get(kind, kind)
        if kind == "nonfinite":
            fix = ("Fix: scale the inputs or weights down (float64 overflows beyond 1.8e308), or give the "
                   "state a leak (du, dv > 0) so it cannot grow without bound.")
        else:
            fix = ("Fix: scale weights down (or lower weight_exp), or pass on_overflow='wrap' if the "
                   "wrap is intended.")
        return f"population '{pop}': state '{var}' {what} in {n} neuron update(s), first at step {t}. {fix}"

    def finish(self) -> dict:
        if self.mode == "warn":
            for pop, flags in self.counts.items():
                for flag, arr in flags.items():
                    per_step = arr.sum(axis=1)
                    t = int(np.flatnonzero(per_step)[0])
                    warnings.warn(self.message(pop, flag, t, int(arr.sum())), SpikeattnWarning, stacklevel=4)
        return self.counts
