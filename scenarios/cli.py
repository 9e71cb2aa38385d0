"""``spikeattn list``, ``show``, ``run`` and ``sweep``: the scenario commands of the CLI.

``run NAME --set key=value ... --config file.toml`` overrides declared parameters (see
``spikeattn show NAME``); a reduced run (e.g. a smaller batch on Lava) is announced on the
terminal and recorded in result.json and report.html.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from spikeattn.cli_types import non_negative_int as _non_negative_int, positive_int as _positive_int
from spikeattn.engines.base import ENGINES
from spikeattn.errors import SpikeattnError

from . import DEFAULT_SCENARIO, ScenarioConfig, load_all
from .config import load_config, parse_grid, parse_sets


def _common(p, default_scenario: str | None = DEFAULT_SCENARIO) -> None:
    if default_scenario:
        p.add_argument("scenario", nargs="?", default=default_scenario,
                       help=f"scenario name (default {default_scenario}; see 'spikeattn list')")
    else:
        p.add_argument("scenario", help="scenario name (see 'spikeattn list')")
    p.add_argument("--engine", default="numpy", choices=sorted(ENGINES), help="simulation engine")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", default=[],
                   help="set a declared parameter (repeatable; see 'spikeattn show NAME')")
    p.add_argument("--config", type=Path, default=None, help="TOML file of parameters (top level or [NAME])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def register(subparsers) -> None:
    p = subparsers.add_parser("list", help="list the scenarios with one-line descriptions")
    p.set_defaults(handler=cmd_list)

    p = subparsers.add_parser("show", help="show a scenario's parameters, defaults, allowed values and parity")
    p.add_argument("scenario", help="scenario name (see 'spikeattn list')")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_show)

    p = subparsers.add_parser("run", help="run a scenario and write DIR/result.json, counts.csv, figures, report")
    _common(p)
    p.add_argument("--steps", type=_positive_int, default=None, help="time steps (default: the scenario's)")
    p.add_argument("--seed", type=_non_negative_int, default=None, help="random seed (default 0)")
    p.add_argument("--batch", type=_positive_int, default=None, help="samples run at once (default: the scenario's)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default out/SCENARIO)")
    p.add_argument("--hardware", default=None,
                   help="comma-separated hardware models to cost the run on (default loihi,loihi2,truenorth; "
                        "'none' to skip; see 'spikeattn hardware')")
    p.add_argument("--no-figures", action="store_true", help="skip the figures")
    p.set_defaults(handler=cmd_run)

    p = subparsers.add_parser("sweep", help="run a scenario over a parameter grid x seeds (Dask), resumable")
    _common(p, default_scenario=None)
    p.add_argument("--grid", action="append", metavar="KEY=V1,V2", default=[], required=True,
                   help="grid axis (repeatable; int_list values separated by '/')")
    p.add_argument("--seeds", type=_positive_int, default=3, help="seeds per grid point: 0 .. N-1 (default 3)")
    p.add_argument("--seed-start", type=_non_negative_int, default=0, help="first seed (default 0)")
    p.add_argument("--workers", type=_positive_int, default=None, help="local Dask workers (default: CPU count)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="use this running Dask scheduler instead of a local cluster")
    p.add_argument("--out", type=Path, required=True, help="sweep folder (re-run with it to resume)")
    p.set_defaults(handler=cmd_sweep)


def cmd_list(args) -> int:
    for spec in load_all().values():
        marker = " (default)" if spec.name == DEFAULT_SCENARIO else ""
        print(f"{spec.name:<24} {spec.description}{marker}")
    return 0


def _spec(name: str):
    scenarios = load_all()
    if name not in scenarios:
        raise SpikeattnError(f"unknown scenario '{name}'; choose from {sorted(scenarios)}")
    return scenarios[name]


def cmd_show(args) -> int:
    spec = _spec(args.scenario)
    if args.json:
        print(json.dumps(spec.describe(), indent=2, default=list))
        return 0
    print(f"{spec.name}: {spec.description}\n\nparameters (--set KEY=VALUE):")
    for p in spec.params.values():
        default = "auto" if p.default is None else p.default
        extra = "".join(f"; on {e}: {v} ({p.engine_reason})" for e, v in p.engine_defaults.items())
        unit = f" [{p.unit}]" if p.unit else ""
        print(f"  {p.name:<20} {p.type:<8} default {default!s:<10} {p.allowed()}{unit}")
        print(f"  {'':<20} {p.description}{extra}")
    print("\nengines:")
    for eng in sorted(ENGINES):
        if eng in spec.refuses:
            print(f"  {eng:<9} refused: {spec.refuses[eng]}")
        else:
            print(f"  {eng:<9} {spec.parity.get(eng, spec.parity.get('*', 'same experiment'))}")
    return 0


def _given(args, spec) -> tuple[dict, dict]:
    """(parameters, run keys) from --config then --set then the dedicated flags."""
    given = load_config(args.config, spec, with_run_keys=True) if args.config else {}
    run_keys = {k: given.pop(k) for k in ("seed", "engine") if k in given}
    given.update(parse_sets(args.sets, spec))
    for key in ("steps", "batch"):
        if getattr(args, key, None) is not None:
            given[key] = getattr(args, key)
    return given, run_keys


def _hardware_names(text: str | None) -> list[str]:
    if not text or text.strip().lower() == "none":
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


def print_reduced(reduced: dict, engine: str, stream=sys.stderr) -> None:
    for key, r in reduced.items():
        print(f"spikeattn: note: reduced on {engine}: {key}: {r['what']} ({r['why']})", file=stream)


def cmd_run(args) -> int:
    from .results import ScenarioResult, build_document
    spec = _spec(args.scenario)
    from .results import DEFAULT_HARDWARE
    hardware = _hardware_names(args.hardware) if args.hardware is not None else DEFAULT_HARDWARE
    given, run_keys = _given(args, spec)
    engine = args.engine if args.engine != "numpy" or "engine" not in run_keys else run_keys["engine"]
    if engine not in ENGINES:
        raise SpikeattnError(f"--config: engine '{engine}' unknown; choose from {sorted(ENGINES)}")
    seed = args.seed if args.seed is not None else int(run_keys.get("seed", 0))
    out = args.out or Path("out") / spec.name
    cfg = ScenarioConfig(engine=engine, seed=seed, out_dir=out, params=given,
                         progress=not args.quiet and sys.stderr.isatty(), figures=not args.no_figures)
    t0 = time.perf_counter()
    res = spec.run(cfg)
    print_reduced(res.reduced, engine)
    result = ScenarioResult(spec, res, build_document(spec, cfg, res, time.perf_counter() - t0))
    result.add_energy(hardware)
    path = result.write(out)
    _print_summary(result.doc, path)
    return 0 if result.passed else 1


def _print_summary(doc: dict, path: Path) -> None:
    t = doc["counts"]["totals"]
    print(f"scenario {doc['scenario']} on {doc['engine']}: {doc['steps']} steps x {doc['batch']} samples "
          f"in {doc['wall_s']:.2f} s" + (" (REDUCED: see 'reduced' in result.json)" if doc["reduced"] else ""))
    print(f"  spikes {t['spikes']:,}  input spikes {t['input_spikes']:,}  synaptic ops {t['synaptic_ops']:,}  "
          f"neuron updates {t['neuron_updates_active']:,} active / {t['neuron_updates_idle']:,} idle")
    o = doc["outcome"]
    print(f"  passed: {o['passed']}")
    for k, m in o["metrics"].items():
        v = m["value"]
        print(f"  {k}: {v:.4g} {m['unit']}" if isinstance(v, float) else f"  {k}: {v} {m['unit']}")
    for name, c in o["checks"].items():
        thr = ""
        if isinstance(c.get("value"), (int, float)) and isinstance(c.get("threshold"), (int, float)):
            thr = f" (value {c['value']:.4g}, threshold {c.get('op')} {c['threshold']:.4g}"
            thr += f", binomial p = {c['p_value']:.3g})" if "p_value" in c else ")"
        print(f"  check {name}: {'ok' if c['passed'] else 'FAILED'}{thr}")
    for name, why in o.get("checks_not_run", {}).items():
        print(f"  check {name}: not run ({why})")
    energy = doc.get("energy") or {}
    for hw, rep in energy.items():
        if isinstance(rep, dict) and "total_j" in rep:
            print(f"  energy on {hw}: {rep['total_j']:.3e} J for {rep.get('batch', 1)} samples, "
                  f"{rep['per_sample_j']:.3e} J per inference (range {rep.get('low_j', float('nan')):.3e} - "
                  f"{rep.get('high_j', float('nan')):.3e} J)")
    head = energy.get("headline")
    if head:
        print(f"  energy per inference by batch (J, dynamic + static; 5-95 % interval; {head['baseline']}):")
        by_hw = {}
        for r in head["table"]:
            by_hw.setdefault(r["hardware"], []).append(r)
        for hw, rows in by_hw.items():
            cells = [f"b={r['batch']} {r['energy_j']:.3e}" + ("" if not r["energy_interval"] else
                     f" [{r['energy_interval']['p5']:.2e}, {r['energy_interval']['p95']:.2e}]") for r in rows]
            print(f"    {hw:<12} " + "; ".join(cells))
        for line in head["verdicts"]:
            print(f"  verdict: {line}")
        for be in head.get("break_even", []):
            print(f"  {be['line']}")
    for f in doc["figures"]:
        print(f"  figure: {f}")
    if doc.get("report"):
        print(f"  report: {doc['report']}")
    print(f"  wrote {path}")


def cmd_sweep(args) -> int:
    from .sweep import run_sweep
    spec = _spec(args.scenario)
    given, run_keys = _given(args, spec)
    grid = parse_grid(args.grid, spec)
    summary = run_sweep(spec.name, grid, out=args.out, seeds=args.seeds, seed_start=args.seed_start,
                        engine=args.engine, workers=args.workers, scheduler=args.scheduler, fixed=given,
                        progress=not args.quiet)
    print(f"sweep {spec.name} on {args.engine}: {summary['points']} points ({summary['computed']} computed now, "
          f"{summary['reused']} reused), all checks passed in {summary['passed_points']}")
    for key in ("table_csv", "table_parquet", "summary_csv", "report"):
        if summary.get(key):
            print(f"  {key.replace('_', ' ')}: {summary[key]}")
    return 0
