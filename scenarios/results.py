"""Running a scenario from Python and writing its results.

:func:`run_scenario` resolves and validates the parameters, runs the scenario and returns
a :class:`ScenarioResult`; it writes nothing unless ``out`` is given (or
:meth:`ScenarioResult.write` is called).  Written files, all atomic with the user's umask:

- ``result.json`` -- schema :mod:`spikeattn.schema` (version 1), validated before writing;
- ``counts.csv`` -- per-step, per-element counts;
- ``circuit.zip`` -- the main circuit (``spikeattn.load`` reads it back);
- figures as PNG (200 dpi) and SVG, and ``report.html`` (self-contained).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import spikeattn
from spikeattn.errors import ParameterError
from spikeattn.schema import SCHEMA_VERSION, provenance, write_counts_csv, write_result

from .base import ScenarioConfig, ScenarioOutcome, ScenarioSpec, load_all


DEFAULT_HARDWARE = ("loihi", "loihi2", "truenorth")


@dataclass
class ScenarioResult:
    """One scenario run: ``doc`` is the result.json document (schema version 1)."""

    spec: ScenarioSpec
    outcome: ScenarioOutcome
    doc: dict
    paths: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.doc["outcome"]["passed"])

    @property
    def result(self):
        """The main :class:`~spikeattn.SimResult` (spikes, counts)."""
        return self.outcome.result

    @property
    def metrics(self) -> dict:
        return {k: v["value"] for k, v in self.doc["outcome"]["metrics"].items()}

    @property
    def checks(self) -> dict:
        return {k: v["passed"] for k, v in self.doc["outcome"]["checks"].items()}

    @property
    def reduced(self) -> dict:
        return self.doc["reduced"]

    def add_energy(self, hardware=DEFAULT_HARDWARE) -> dict:
        """Cost the run on ``hardware`` models and store the block under ``doc["energy"]``
        (:func:`hardware_models.energy_block`; skipped when that package is missing).  A
        scenario that made its own block (``outcome.energy``: its recorded workload, e.g. a
        converted model's whole test split and dense model) is stored as it is, so result.json
        carries the numbers the scenario printed; otherwise the main circuit's counts and its
        dense equivalent are costed.  No ``hardware`` (``--hardware none``): nothing is stored."""
        if not hardware:
            return {}
        if self.outcome.energy is not None:
            self.doc["energy"] = self.outcome.energy
            return self.doc["energy"]
        if self.outcome.circuit is None:
            return {}
        try:
            from hardware_models.estimator import run_energy_block
        except ImportError:
            return {}
        self.doc["energy"] = run_energy_block(self.outcome.circuit, self.result, list(hardware))
        return self.doc["energy"]

    def write(self, out_dir, circuit: bool = True, report: bool = True) -> Path:
        """Write result.json, counts.csv, circuit.zip and report.html into ``out_dir``;
        return the result.json path."""
        out = Path(out_dir)
        self.doc["counts_csv"] = str(write_counts_csv(self.result.counts, out / "counts.csv"))
        if circuit and self.outcome.circuit is not None:
            self.doc["circuit_file"] = str(spikeattn.save(self.outcome.circuit, out / "circuit.zip"))
        if report:
            from spikeattn.report import run_report
            self.doc["report"] = str(out / "report.html")
            run_report(self.doc, out / "report.html")
        self.paths["result"] = write_result(out / "result.json", self.doc)
        return self.paths["result"]

    def __repr__(self) -> str:
        return (f"ScenarioResult({self.spec.name!r}, engine={self.doc['engine']!r}, passed={self.passed}, "
                f"metrics={len(self.doc['outcome']['metrics'])}, reduced={sorted(self.reduced)})")


def get_spec(name: str) -> ScenarioSpec:
    specs = load_all()
    if name not in specs:
        raise ParameterError("run_scenario", "name", f"is {name!r}: unknown scenario.",
                             f"choose from {sorted(specs)}.")
    return specs[name]


def build_document(spec: ScenarioSpec, cfg: ScenarioConfig, out: ScenarioOutcome, wall_s: float) -> dict:
    res = out.result
    from spikeattn.plots.common import svg_path
    return {
        "schema_version": SCHEMA_VERSION, "kind": "run", "scenario": spec.name, "description": spec.description,
        "engine": cfg.engine, "seed": int(cfg.seed), "steps": int(res.steps), "batch": int(res.batch),
        "params": out.params, "reduced": out.reduced, "provenance": provenance(cfg.engine, res.meta),
        "spikeattn_version": spikeattn.__version__, "wall_s": float(wall_s), "sim_wall_s": res.wall_s,
        "outcome": out.outcome, "counts": res.counts.to_dict(),
        "figures": [str(f) for f in out.figures],
        "figures_svg": [str(svg_path(f)) for f in out.figures if svg_path(f).exists()],
        "engine_meta": res.meta,
    }


def run_scenario(name: str, engine: str = "numpy", seed: int = 0, out=None, figures: bool | None = None,
                 progress: bool = False, config=None, hardware=None, **params) -> ScenarioResult:
    """Run scenario ``name`` on ``engine`` with its declared parameters overridden by
    ``params`` (and by a TOML ``config`` file, ``params`` winning); return a
    :class:`ScenarioResult`.  Nothing is written unless ``out`` (a folder) is given;
    ``figures`` defaults to ``out is not None``; ``hardware`` (model names) adds energy
    estimates, by default :data:`DEFAULT_HARDWARE` when ``out`` is given (``()``: none)."""
    from spikeattn.engines.base import ENGINES
    if engine not in ENGINES:
        raise ParameterError("run_scenario", "engine", f"is {engine!r}.", f"choose from {sorted(ENGINES)}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError("run_scenario", "seed", f"is {seed!r}.", "give an integer >= 0.")
    spec = get_spec(name)
    given = {}
    if config is not None:
        from .config import load_config
        given.update(load_config(config, spec))
    given.update(params)
    figures = out is not None if figures is None else bool(figures)
    cfg = ScenarioConfig(engine=engine, seed=seed, out_dir=Path(out) if out is not None else Path("."),
                         progress=progress, figures=figures, params=given)
    if figures and out is None:
        raise ParameterError("run_scenario", "figures", "is True but no out folder was given.",
                             "give out=DIR to write figures.")
    t0 = time.perf_counter()
    outcome = spec.run(cfg)
    doc = build_document(spec, cfg, outcome, time.perf_counter() - t0)
    result = ScenarioResult(spec, outcome, doc)
    if hardware is None:
        hardware = DEFAULT_HARDWARE if out is not None else ()
    result.add_energy(hardware)
    if out is not None:
        result.write(out)
    return result
