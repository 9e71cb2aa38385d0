"""Scenario registry: a scenario declares its parameters, builds circuits, runs them and
checks the outcome.

A scenario module defines ``run(cfg: ScenarioConfig) -> ScenarioOutcome`` and registers it
with :func:`scenario`, giving its parameters (:class:`~scenarios.params.Param`: type,
default, allowed range, description) and its engine parity: ``refuses`` maps an engine to
the reason it cannot run the experiment; everything else runs the same experiment, except
where a run is *reduced* (a smaller batch, a part not run, another arithmetic), which the
scenario records with :meth:`ScenarioConfig.reduce` and which appears on the terminal, in
``result.json`` (``reduced: {key: {what, why}}``) and in the report.

Adding a scenario (e.g. ``energy-vs-gpu``): write ``scenarios/energy_vs_gpu.py`` with a
decorated ``run`` and add the module name to ``scenarios._MODULES``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from spikeattn.errors import ParameterError, SpikeattnError
from spikeattn.registry import Registry
from spikeattn.result import SimResult

from .params import Param


class EngineRefusedError(SpikeattnError):
    """The scenario cannot run its experiment on the chosen engine (the message says why)."""


@dataclass
class ScenarioConfig:
    """Run settings.  ``steps``/``batch`` None mean the scenario's defaults (for the engine);
    ``params`` holds the other declared parameters (missing ones take their defaults).
    After :meth:`ScenarioSpec.run` resolves it, ``p`` has every parameter's value."""

    engine: str = "numpy"
    steps: int | None = None
    seed: int = 0
    batch: int | None = None
    out_dir: Path = Path("out")
    progress: bool = True
    figures: bool = True
    params: dict = field(default_factory=dict)
    p: dict = field(default_factory=dict)
    reduced: dict = field(default_factory=dict)

    def reduce(self, key: str, what: str, why: str, **extra) -> None:
        """Record that this run differs from the full experiment (``key``: what varies)."""
        self.reduced[key] = {"what": what, "why": why, **extra}


@dataclass
class ScenarioOutcome:
    """What a scenario returns.

    ``result``: the main simulation (its counts go to result.json); ``outcome``: the common
    layout of :class:`scenarios.outcome.Outcome` (``passed``, ``checks``, ``metrics``,
    ``per_sample``, ``details``); ``figures``: PNG paths (an SVG beside each);
    ``circuit``: the main circuit; ``reduced`` and ``params`` are filled by the registry;
    ``energy``: an energy block the scenario already made
    (:func:`hardware_models.energy_block` of its own workload), which result.json then carries
    instead of costing ``result``'s counts again.
    """

    result: SimResult
    outcome: dict
    figures: list[Path] = field(default_factory=list)
    circuit: object = None
    reduced: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    energy: dict | None = None


@dataclass
class ScenarioSpec:
    name: str
    description: str
    fn: Callable[[ScenarioConfig], ScenarioOutcome]
    params: dict[str, Param]
    refuses: dict[str, str] = field(default_factory=dict)
    parity: dict[str, str] = field(default_factory=dict)
    check: Callable[[dict], None] | None = None

    @property
    def registry_origin(self) -> str:
        """The scenario function's ``module.qualname`` (two different ones under one name are refused)."""
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    @property
    def default_steps(self) -> int:
        return self.params["steps"].default

    @property
    def default_batch(self) -> int:
        return self.params["batch"].default

    def where(self) -> str:
        return f"scenario '{self.name}'"

    def resolve(self, engine: str, given: dict) -> tuple[dict, dict]:
        """``(values, reduced)``: every parameter's value (validated) and the engine-default
        reductions used.  Unknown keys raise ParameterError listing the known ones."""
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise ParameterError(self.where(), unknown[0], "is not a parameter of this scenario.",
                                 f"use one of {sorted(self.params)} (see 'spikeattn show {self.name}').")
        values, reduced = {}, {}
        for name, prm in self.params.items():
            if given.get(name) is not None:
                values[name] = prm.coerce(given[name], self.where())
            else:
                values[name] = prm.default_for(engine)
                if engine in prm.engine_defaults and prm.engine_defaults[engine] != prm.default:
                    reduced[name] = {"what": f"{name} = {values[name]} instead of {prm.default}",
                                     "why": prm.engine_reason, "used": values[name], "full": prm.default}
        if self.check:
            self.check(values)
        return values, reduced

    def run(self, cfg: ScenarioConfig) -> ScenarioOutcome:
        """Validate and resolve ``cfg``'s parameters, run the scenario, attach ``reduced``."""
        if cfg.engine in self.refuses:
            raise EngineRefusedError(f"{self.where()} cannot run on engine '{cfg.engine}': "
                                     f"{self.refuses[cfg.engine]}")
        given = dict(cfg.params)
        for key in ("steps", "batch"):
            if getattr(cfg, key) is not None:
                given[key] = getattr(cfg, key)
        cfg.out_dir = Path(cfg.out_dir)
        cfg.p, cfg.reduced = self.resolve(cfg.engine, given)
        cfg.steps, cfg.batch = cfg.p["steps"], cfg.p["batch"]
        out = self.fn(cfg)
        out.reduced = dict(cfg.reduced)
        out.params = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.p.items()}
        return out

    def describe(self) -> dict:
        return {"name": self.name, "description": self.description,
                "params": {n: p.as_dict() for n, p in self.params.items()},
                "refuses": dict(self.refuses), "parity": dict(self.parity)}


BUILTIN_MODULES = ("wta_routing", "moe_routing", "hierarchical_attention", "attention_scaling", "energy_vs_gpu",
                   "loihi_lava")

# name -> ScenarioSpec; the built-in modules register on first lookup, plug-ins through the
# entry-point group ``spikeattn.scenarios`` (a module whose ``@scenario`` functions register).
SCENARIOS = Registry("scenario", group="spikeattn.scenarios", builtin=[f"scenarios.{m}" for m in BUILTIN_MODULES])


def load_all() -> Registry:
    """Every registered scenario (built-in and plug-in), name -> :class:`ScenarioSpec`."""
    return SCENARIOS.load()


def scenario(name: str, description: str, params: list[Param], refuses: dict | None = None,
             parity: dict | None = None, check: Callable[[dict], None] | None = None):
    """Decorator registering ``run(cfg)`` as scenario ``name`` with its declared parameters
    (must include ``steps`` and ``batch``), refused engines (engine -> reason), a parity
    note per engine (what differs there, shown by ``spikeattn show``) and an optional
    cross-parameter ``check(values)`` raising ParameterError."""
    table = {p.name: p for p in params}
    for required in ("steps", "batch"):
        if required not in table:
            raise ValueError(f"scenario {name}: declare a '{required}' parameter")

    def deco(fn):
        SCENARIOS.register(name, ScenarioSpec(name, description, fn, table, dict(refuses or {}), dict(parity or {}),
                                              check))
        return fn
    return deco
