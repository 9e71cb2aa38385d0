"""Scenario registry: a scenario builds circuits, runs them, checks the outcome.

A scenario is a function ``run(cfg: ScenarioConfig) -> ScenarioOutcome`` registered with
:func:`scenario`.  ``spikeattn run NAME`` calls it and writes ``result.json`` (scenario,
engine, steps, seed, batch, wall_s, counts totals, outcome) and the figures into
``cfg.out_dir``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from spikeattn.result import SimResult


@dataclass
class ScenarioConfig:
    """Run settings; ``steps``/``batch`` None mean the scenario's defaults."""

    engine: str = "numpy"
    steps: int | None = None
    seed: int = 0
    batch: int | None = None
    out_dir: Path = Path("out")
    progress: bool = True
    figures: bool = True


@dataclass
class ScenarioOutcome:
    """What a scenario returns.

    ``result``: the main simulation (its counts go to result.json); ``outcome``: checked
    figures, JSON-ready, including ``passed`` (bool) and ``checks`` (name -> bool);
    ``figures``: PNG paths written; ``circuit``: the main circuit (for placement/energy).
    """

    result: SimResult
    outcome: dict
    figures: list[Path] = field(default_factory=list)
    circuit: object = None


@dataclass
class ScenarioSpec:
    name: str
    description: str
    run: Callable[[ScenarioConfig], ScenarioOutcome]
    default_steps: int
    default_batch: int


SCENARIOS: dict[str, ScenarioSpec] = {}


def scenario(name: str, description: str, default_steps: int = 100, default_batch: int = 1):
    """Decorator registering ``run(cfg)`` as scenario ``name``."""
    def deco(fn):
        SCENARIOS[name] = ScenarioSpec(name, description, fn, default_steps, default_batch)
        return fn
    return deco
