"""spikeattn: event-driven simulation of spiking attention circuits, with event counts
for neuromorphic energy accounting.

Data path: ``Circuit`` (IR) -> ``simulate(..., engine=)`` -> ``SimResult`` with
``EventCounts`` -> ``hardware_models`` cost -> report.
"""
__version__ = "0.1.0"

from .counts import EventCounts  # noqa: E402
from .errors import SpikeattnError  # noqa: E402
from .ir import IF, LIF, Circuit, LoihiLIF, Population, Probe, Projection, SpikeSource, load, save  # noqa: E402
from .result import SimResult  # noqa: E402
from .simulate import simulate  # noqa: E402

__all__ = ["__version__", "Circuit", "Population", "Projection", "SpikeSource", "Probe", "LIF", "IF",
           "LoihiLIF", "simulate", "SimResult", "EventCounts", "SpikeattnError", "save", "load"]
