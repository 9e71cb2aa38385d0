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



def run_scenario(name: str, engine: str = "numpy", **params):
    """Run research scenario ``name`` (see ``spikeattn list``) with its declared parameters
    overridden by ``params``; returns a ``scenarios.results.ScenarioResult`` and writes
    nothing unless ``out=DIR`` is given.  Imports the ``scenarios`` package lazily."""
    from scenarios.results import run_scenario as _run
    return _run(name, engine=engine, **params)


def sweep(name: str, grid: dict, out, **kwargs):
    """Sweep scenario ``name`` over ``grid`` ({key: [values]}) x seeds on Dask into folder
    ``out`` (resumable; see ``scenarios.sweep.run_sweep``).  Needs the ``sweep`` extra."""
    from scenarios.sweep import run_sweep
    return run_sweep(name, grid, out, **kwargs)


__all__ = ["__version__", "run_scenario", "sweep", "Circuit", "Population", "Projection", "SpikeSource", "Probe", "LIF", "IF",
           "LoihiLIF", "simulate", "SimResult", "EventCounts", "SpikeattnError", "save", "load"]
