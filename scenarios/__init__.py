"""Research scenarios runnable with ``spikeattn run NAME``.  Importing this package
registers every scenario module listed in ``_MODULES``."""
import importlib

from .base import SCENARIOS, ScenarioConfig, ScenarioOutcome, ScenarioSpec, scenario

_MODULES = ["wta_routing", "moe_routing", "hierarchical_attention", "attention_scaling", "energy_vs_gpu", "loihi_lava"]

DEFAULT_SCENARIO = "energy-vs-gpu"   # what `spikeattn run` and `make demo` run


def load_all() -> dict:
    for m in _MODULES:
        importlib.import_module(f"{__name__}.{m}")
    return SCENARIOS


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
