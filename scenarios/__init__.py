"""Research scenarios runnable with ``spikeattn run NAME``.  ``SCENARIOS`` (a
:class:`spikeattn.registry.Registry`) imports the built-in scenario modules listed in
``scenarios.base.BUILTIN_MODULES`` on first lookup, and plug-ins through the entry-point
group ``spikeattn.scenarios``."""
from .base import SCENARIOS, ScenarioConfig, ScenarioOutcome, ScenarioSpec, load_all, scenario

DEFAULT_SCENARIO = "energy-vs-gpu"   # what `spikeattn run` and `make demo` run


def run_scenario(name: str, engine: str = "numpy", **params):
    """Run research scenario ``name`` (see ``spikeattn list``) with its declared parameters
    overridden by ``params``; returns a :class:`scenarios.results.ScenarioResult` and writes
    nothing unless ``out=DIR`` is given."""
    from .results import run_scenario as _run
    return _run(name, engine=engine, **params)


def run_sweep(name: str, grid: dict, out, **kwargs):
    """Sweep scenario ``name`` over ``grid`` ({key: [values]}) x seeds on Dask into folder
    ``out`` (resumable; see :func:`scenarios.sweep.run_sweep`).  Needs the ``sweep`` extra."""
    from .sweep import run_sweep as _run
    return _run(name, grid, out, **kwargs)


__all__ = ["SCENARIOS", "ScenarioConfig", "ScenarioOutcome", "ScenarioSpec", "scenario", "load_all",
           "DEFAULT_SCENARIO", "run_scenario", "run_sweep"]
