"""CLI plug-in: ``spikeattn energy RESULT.json --hardware ...`` and ``spikeattn hardware``.

Registered through the ``spikeattn.commands`` entry point (``register(subparsers)``);
``energy_block`` is what ``spikeattn run --hardware`` stores under ``"energy"``.
"""
from __future__ import annotations

import json
from pathlib import Path

from spikeattn.errors import InputError, SpikeattnError

from .baseline import dense_gpu_report
from .cost import cost
from .errors import PlacementError
from .registry import get, names
from .workload import as_view

DEFAULT_HARDWARE = "loihi,loihi2,truenorth,spinnaker2,asic45nm,literature,h100"


def register(subparsers) -> None:
    p = subparsers.add_parser("energy", help="cost a result.json on hardware models; table + PNG figures")
    p.add_argument("result", type=Path, help="result.json written by 'spikeattn run'")
    p.add_argument("--hardware", default=DEFAULT_HARDWARE,
                   help=f"comma-separated models (default {DEFAULT_HARDWARE}; see 'spikeattn hardware')")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the result's folder)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.set_defaults(handler=cmd_energy)
    p = subparsers.add_parser("hardware", help="list the hardware models with their sources")
    p.add_argument("name", nargs="?", default=None, help="show one model's constants in full")
    p.add_argument("--json", action="store_true", help="print the models as JSON")
    p.set_defaults(handler=cmd_hardware)


def _parse_names(text: str) -> list[str]:
    out = [get(n).name for n in (t.strip() for t in text.split(",")) if n]
    if not out:
        raise InputError("--hardware is empty; give comma-separated names, e.g. loihi2,truenorth,h100")
    return out


def _place(circuit, hw, view, result=None):
    """Placement for a neuromorphic chip, or (None, note) when there is no circuit or it does not fit."""
    if circuit is None or hw.kind != "neuromorphic" or hw.limits is None or hw.all_in:
        return None, None
    from .placement import place
    try:
        return place(circuit, hw, result if result is not None else view), None
    except PlacementError as exc:
        return None, f"Placement on {hw.name} failed ({exc}); routing between cores left out."


def reports_for(circuit, counts, hardware_names: list[str], result=None) -> dict:
    """EnergyReport per model: neuromorphic/ASIC/CPU/literature from the counts, GPUs from the
    dense equivalent.  ``result``: optional SimResult (its spike trains refine routing)."""
    view = as_view(counts)
    out = {}
    for name in hardware_names:
        hw = get(name)
        if hw.kind == "gpu":
            out[hw.name] = dense_gpu_report(circuit, view, hw.name)
            continue
        pl, note = _place(circuit, hw, view, result)
        rep = cost(view, hw, placement=pl)
        if note:
            rep.notes.append(note)
        out[hw.name] = rep
    return out


def sensitivities(reports: dict, counts, circuit=None) -> list:
    """Sensitivity of each event-driven model against the first GPU report (if any spikes)."""
    from .sensitivity import sensitivity
    gpus = [r for n, r in reports.items() if get(n).kind == "gpu"]
    if not gpus:
        return []
    view = as_view(counts)
    if view.total("spikes", "population") == 0:
        return []
    out = []
    for name, rep in reports.items():
        if get(name).kind == "gpu":
            continue
        pl, _ = _place(circuit, get(name), view)
        out.append(sensitivity(view, name, gpu_j=gpus[0].total_j, gpu=gpus[0].hardware, placement=pl))
    return out


def energy_block(circuit, result, hardware_names: list[str]) -> dict:
    """The ``"energy"`` block of result.json: per model ``EnergyReport.to_dict()`` (total, bounds,
    breakdown, latency, EDP, notes), plus ``"sensitivity"`` (crossover spike rates against the
    first GPU listed) when a GPU is listed.  ``result``: SimResult or its counts / dict."""
    counts = result.counts if hasattr(result, "counts") else result
    sim = result if hasattr(result, "spikes") else None
    reps = reports_for(circuit, counts, [get(n).name for n in hardware_names], result=sim)
    block = {n: r.to_dict() for n, r in reps.items()}
    sens = sensitivities(reps, counts, circuit)
    if sens:
        block["sensitivity"] = {s.hardware: {"gpu": s.gpu, "gpu_j": s.gpu_j, "rate0": s.rate0, "steps0": s.steps0,
                                             "crossover_rate_at_T0": s.crossover_rate(s.steps0),
                                             "table": s.table(), "comparison": s.literature_comparison(),
                                             "notes": s.notes} for s in sens}
    return block


def _load_result(path: Path):
    if not path.is_file():
        raise InputError(f"result file '{path}' not found; pass the result.json written by 'spikeattn run'")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"result file '{path}' is not valid JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(doc, dict) or "counts" not in doc:
        raise InputError(f"result file '{path}' has no 'counts' block; pass the result.json of 'spikeattn run'")
    circuit = None
    cf = doc.get("circuit_file")
    if cf:
        import spikeattn
        for cand in (Path(cf), path.parent / Path(cf).name):
            if cand.is_file():
                circuit = spikeattn.load(cand)
                break
    return doc, circuit


def _fmt(x, unit="J"):
    return "n/a" if x is None else f"{x:.3e}"


def cmd_energy(args) -> int:
    hw_names = _parse_names(args.hardware)
    doc, circuit = _load_result(args.result)
    counts = doc["counts"]
    view = as_view(counts)
    reps = reports_for(circuit, view, hw_names)
    sens = sensitivities(reps, view, circuit)
    out = args.out or args.result.parent
    print(f"energy of {args.result} ({view.steps} steps x {view.batch} samples"
          f"{'' if circuit is not None else ', no circuit file: routing between cores not modelled'})")
    print(f"{'hardware':<12} {'total J':>10} {'low J':>10} {'high J':>10} {'J/sample':>10} {'latency s':>10} "
          f"{'EDP Js':>10}  largest term")
    for n, r in reps.items():
        top = max(r.breakdown.items(), key=lambda kv: kv[1])[0] if r.breakdown else "-"
        print(f"{n:<12} {_fmt(r.total_j):>10} {_fmt(r.low_j):>10} {_fmt(r.high_j):>10} {_fmt(r.per_sample_j):>10} "
              f"{_fmt(r.latency_s):>10} {_fmt(r.edp_js):>10}  {top}")
    for s in sens:
        x = s.crossover_rate(s.steps0)
        if x is None:
            xs = "never (step-driven costs alone exceed the GPU)"
        elif x > 1:
            xs = f"wins at every possible rate (the line would cross at {x:.3g} > 1 spike/neuron/step)"
        else:
            xs = f"{x:.3g} spikes/neuron/step"
        print(f"crossover {s.hardware} vs {s.gpu} at T={s.steps0}: {xs} (measured {s.rate0:.3g})")
        for line in s.literature_comparison():
            print(f"    {line}")
    from spikeattn.fileio import atomic_write_json
    block = {n: r.to_dict() for n, r in reps.items()}
    if sens:
        block["sensitivity"] = {s.hardware: s.to_dict() for s in sens}
    written = [atomic_write_json(out / "energy.json", block)]
    if not args.no_figures:
        from .plots import breakdown_chart, sensitivity_chart
        written.append(breakdown_chart(list(reps.values()), out / "energy_breakdown.png",
                                       title=f"{doc.get('scenario', args.result.stem)}: energy by hardware"))
        if sens:
            written.append(sensitivity_chart(sens, out / "energy_sensitivity.png"))
    for w in written:
        print(f"wrote {w}")
    return 0


def cmd_hardware(args) -> int:
    if args.name:
        m = get(args.name)
        if args.json:
            print(json.dumps(m.to_dict(), indent=2))
            return 0
        print(f"{m.name}: {m.title} [{m.kind}]")
        for k, c in m.constants.items():
            rng = "" if c.low == c.high else f" (range {c.low:.4g} - {c.high:.4g})"
            print(f"  {k:<18} {c.value:.4g} {c.unit}{rng} [{c.tag}] {c.source}")
        if m.limits:
            print(f"  limits: {m.limits.to_dict()}")
        for n in m.notes:
            print(f"  note: {n}")
        return 0
    if args.json:
        print(json.dumps({n: get(n).to_dict() for n in names()}, indent=2))
        return 0
    for n in names():
        m = get(n)
        print(f"{n:<12} {m.kind:<13} {m.title}")
        print(f"{'':<12} sources: {'; '.join(m.sources)}")
    return 0


__all__ = ["register", "energy_block", "reports_for", "cmd_energy", "cmd_hardware", "SpikeattnError"]
