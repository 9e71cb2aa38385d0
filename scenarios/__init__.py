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


__all__ = ["SCENARIOS", "ScenarioConfig", "ScenarioOutcome", "ScenarioSpec", "scenario", "load_all",
           "DEFAULT_SCENARIO"]
