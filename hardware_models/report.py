"""EnergyReport: the cost of one workload on one hardware model, with bounds.

Units: joules (``*_j``), seconds (``*_s``), joule-seconds (``edp_js``).  ``total_j`` is the
central estimate (every constant at its ``value``); ``low_j`` / ``high_j`` are the totals with
every constant at its ``low`` / ``high`` end (all terms are monotone in the constants, so
these are exact bounds of the model).  Energies cover the whole workload (all samples of the
batch); ``per_sample_j`` divides by the batch size.  ``dynamic_j`` leaves out the terms paid per unit
time (``static`` on chips, ``idle`` on GPUs); every table shows it beside the total.
``meta["uncertainty"]`` (when :mod:`hardware_models.uncertainty` ran) holds the Monte Carlo
median and 5-95 % interval, which the tables print instead of the corner bounds.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

STATIC_KEYS = ("static", "idle")   # breakdown terms paid per unit time, not per event or op


@dataclass
class EnergyReport:
    hardware: str
    total_j: float
    low_j: float
    high_j: float
    breakdown: dict[str, float]
    breakdown_low: dict[str, float] = field(default_factory=dict)
    breakdown_high: dict[str, float] = field(default_factory=dict)
    latency_s: float | None = None
    latency_low_s: float | None = None
    latency_high_s: float | None = None
    notes: list[str] = field(default_factory=list)
    title: str = ""
    batch: int = 1
    steps: int = 0
    placement: dict | None = None
    meta: dict = field(default_factory=dict)

    @property
    def per_sample_j(self) -> float:
        return self.total_j / max(self.batch, 1)

    @property
    def static_j(self) -> float:
        """Static / idle energy (power x modelled time) in the central estimate."""
        return float(sum(v for k, v in self.breakdown.items() if k in STATIC_KEYS))

    @property
    def dynamic_j(self) -> float:
        """Energy of the events and operations alone (total minus static / idle power x time)."""
        return float(sum(v for k, v in self.breakdown.items() if k not in STATIC_KEYS))

    @property
    def dynamic_low_j(self) -> float:
        return float(sum(v for k, v in self.breakdown_low.items() if k not in STATIC_KEYS))

    @property
    def dynamic_high_j(self) -> float:
        return float(sum(v for k, v in self.breakdown_high.items() if k not in STATIC_KEYS))

    @property
    def edp_js(self) -> float | None:
        """Energy-delay product ``total_j * latency_s`` (None where latency is not modelled)."""
        return None if self.latency_s is None else self.total_j * self.latency_s

    @property
    def edp_low_js(self) -> float | None:
        return None if self.latency_low_s is None else self.low_j * self.latency_low_s

    @property
    def edp_high_js(self) -> float | None:
        return None if self.latency_high_s is None else self.high_j * self.latency_high_s

    def to_dict(self) -> dict:
        """JSON-ready dict (floats, strings, lists only)."""
        return {"hardware": self.hardware, "title": self.title, "total_j": self.total_j, "low_j": self.low_j,
                "high_j": self.high_j, "per_sample_j": self.per_sample_j, "dynamic_j": self.dynamic_j,
                "dynamic_low_j": self.dynamic_low_j, "dynamic_high_j": self.dynamic_high_j, "static_j": self.static_j,
                "breakdown": dict(self.breakdown),
                "breakdown_low": dict(self.breakdown_low), "breakdown_high": dict(self.breakdown_high),
                "latency_s": self.latency_s, "latency_low_s": self.latency_low_s,
                "latency_high_s": self.latency_high_s, "edp_js": self.edp_js, "edp_low_js": self.edp_low_js,
                "edp_high_js": self.edp_high_js, "steps": self.steps, "batch": self.batch,
                "placement": self.placement, "notes": list(self.notes), "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: dict) -> "EnergyReport":
        keys = ("hardware", "total_j", "low_j", "high_j", "breakdown", "breakdown_low", "breakdown_high",
                "latency_s", "latency_low_s", "latency_high_s", "notes", "title", "batch", "steps",
                "placement", "meta")
        return cls(**{k: d[k] for k in keys if k in d})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def summary_line(self) -> str:
        lat = "n/a" if self.latency_s is None else f"{self.latency_s:.3g} s"
        return (f"{self.hardware:12s} {self.total_j:10.3e} J [{self.low_j:.3e}, {self.high_j:.3e}]  "
                f"latency {lat}")
