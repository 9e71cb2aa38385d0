"""spikeattn: event-driven simulation of spiking attention circuits, with event counts
for neuromorphic energy accounting.

Data path: ``Circuit`` (IR) -> ``simulate(..., engine=)`` -> ``SimResult`` with
``EventCounts`` -> ``hardware_models`` cost -> report.

This package root exposes the core API only; research scenarios and sweeps live in the
``scenarios`` package (``scenarios.run_scenario``, ``scenarios.run_sweep``), which imports
spikeattn and never the other way round.
"""
from .version import __version__
from .counts import EventCounts
from .errors import SpikeattnError
from .ir import IF, LIF, Circuit, LoihiLIF, Population, Probe, Projection, SpikeSource, load, save
from .result import SimResult
from .simulate import simulate

__all__ = ["__version__", "Circuit", "Population", "Projection", "SpikeSource", "Probe", "LIF", "IF",
           "LoihiLIF", "simulate", "SimResult", "EventCounts", "SpikeattnError", "save", "load"]
