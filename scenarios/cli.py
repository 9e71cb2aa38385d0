"""``spikeattn list`` and ``spikeattn run``: the scenario commands of the CLI."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import spikeattn
from spikeattn.engines.base import ENGINES
from spikeattn.errors import SpikeattnError
from spikeattn.fileio import atomic_write_json

from . import DEFAULT_SCENARIO, ScenarioConfig, load_all


def _int_at_least(minimum: int):
    """argparse type: an integer >= ``minimum``, with a one-line message otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be >= {minimum}")
        return value
    return parse


_positive_int, _non_negative_int = _int_at_least(1), _int_at_least(0)


def register(subparsers) -> None:
    p = subparsers.add_parser("list", help="list the scenarios with one-line descriptions")
    p.set_defaults(handler=cmd_list)

    p = subparsers.add_parser("run", help="run a scenario and write DIR/result.json and figures")
    p.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                   help=f"scenario name (default {DEFAULT_SCENARIO}; see 'spikeattn list')")
    p.add_argument("--engine", default="numpy", choices=sorted(ENGINES), help="simulation engine")
    p.add_argument("--steps", type=_positive_int, default=None, help="time steps (default: the scenario's)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    p.add_argument("--batch", type=_positive_int, default=None, help="samples run at once (default: the scenario's)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default out/SCENARIO)")
    p.add_argument("--hardware", default=None,
                   help="comma-separated hardware models to cost the run on (see 'spikeattn hardware')")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_run)


def cmd_list(args) -> int:
    for spec in load_all().values():
        marker = " (default)" if spec.name == DEFAULT_SCENARIO else ""
        print(f"{spec.name:<24} {spec.description}{marker}")
    return 0


def _hardware_names(text: str | None) -> list[str]:
    if not text:
        return []
    names = [h.strip() for h in text.split(",") if h.strip()]
    try:
        import hardware_models
    except ImportError as exc:
        raise SpikeattnError(f"--hardware needs the hardware_models package ({exc}).") from exc
    known = hardware_models.names()
    bad = [n for n in names if n not in known]
    if bad:
        raise SpikeattnError(f"unknown hardware {bad}; choose from {sorted(known)}.")
    return names


def cmd_run(args) -> int:
    scenarios = load_all()
    if args.scenario not in scenarios:
        print(f"spikeattn: error: unknown scenario '{args.scenario}'; choose from {sorted(scenarios)}",
              file=sys.stderr)
        return 2
    hardware = _hardware_names(args.hardware)
    spec = scenarios[args.scenario]
    out = args.out or Path("out") / spec.name
    cfg = ScenarioConfig(engine=args.engine, steps=args.steps, seed=args.seed, batch=args.batch, out_dir=out,
                         progress=not args.quiet and sys.stderr.isatty(), figures=not args.no_figures)
    t0 = time.perf_counter()
    res = spec.run(cfg)
    wall = time.perf_counter() - t0
    doc = {"scenario": spec.name, "description": spec.description, "engine": args.engine,
           "steps": res.result.steps, "seed": args.seed, "batch": res.result.batch, "wall_s": wall,
           "sim_wall_s": res.result.wall_s, "spikeattn_version": spikeattn.__version__,
           "counts": res.result.counts.to_dict(), "outcome": res.outcome,
           "figures": [str(f) for f in res.figures], "engine_meta": res.result.meta}
    if res.circuit is not None:
        doc["circuit_file"] = str(spikeattn.save(res.circuit, out / "circuit.zip"))
    if hardware:
        from hardware_models.cli import energy_block
        doc["energy"] = energy_block(res.circuit, res.result, hardware)
    path = atomic_write_json(out / "result.json", doc)
    _print_summary(doc, path)
    return 0 if res.outcome.get("passed", True) else 1


def _print_summary(doc: dict, path: Path) -> None:
    t = doc["counts"]["totals"]
    print(f"scenario {doc['scenario']} on {doc['engine']}: {doc['steps']} steps x {doc['batch']} samples "
          f"in {doc['wall_s']:.2f} s")
    print(f"  spikes {t['spikes']:,}  input spikes {t['input_spikes']:,}  synaptic ops {t['synaptic_ops']:,}  "
          f"neuron updates {t['neuron_updates_active']:,} active / {t['neuron_updates_idle']:,} idle")
    outcome = doc["outcome"]
    shown = {k: v for k, v in outcome.items() if k not in ("checks",) and not isinstance(v, (list, dict))}
    for k, v in shown.items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    for name, ok in outcome.get("checks", {}).items():
        print(f"  check {name}: {'ok' if ok else 'FAILED'}")
    for hw, rep in (doc.get("energy") or {}).items():
        if isinstance(rep, dict) and "total_j" in rep:
            print(f"  energy on {hw}: {rep['total_j']:.3e} J (range {rep.get('low_j', float('nan')):.3e} - "
                  f"{rep.get('high_j', float('nan')):.3e} J)")
    for f in doc["figures"]:
        print(f"  figure: {f}")
    print(f"  wrote {path}")
