"""CLI plug-in: ``spikeattn energy RESULT.json --hardware ...`` and ``spikeattn hardware``.

Registered through the ``spikeattn.commands`` entry point (``register(subparsers)``);
``energy_block`` is what ``spikeattn run --hardware`` stores under ``"energy"``.
"""
from __future__ import annotations

import json
import math
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
    p.add_argument("--no-figures", action="store_true", help="skip the figures (PNG, with an SVG beside each)")
    p.add_argument("--batch", default=None,
                   help="comma-separated batch sizes, e.g. 1,64,1024: energy per inference and latency per batch, "
                        "crossover batch of every GPU against every chip (needs the circuit file for GPUs)")
    p.add_argument("--server-bound-ms", type=float, default=10.0,
                   help="latency bound of the server scenario, ms (default 10)")
    p.add_argument("--baseline", default="softmax", choices=["softmax", "snn_dense", "quantised_ann"],
                   help="GPU baseline of the batch study (default softmax; see hardware_models.baselines)")
    p.add_argument("--linear", action="store_true", help="linear energy axes in the figures (default log)")
    p.add_argument("--draws", type=int, default=4000, help="Monte Carlo draws for the intervals (default 4000)")
    p.add_argument("--engine", default="model", choices=["model", "sanafe"],
                   help="cost engine: spikeattn's model (default) or SANA-FE beside it; SANA-FE replays the "
                        "run's spike trains, so it needs a result written with them (spikes.npz beside "
                        "result.json, or 'spikeattn run ... --hardware' with the SANA-FE engine)")
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


def reports_for(circuit, counts, hardware_names: list[str], result=None, draws: int = 0) -> dict:
    """EnergyReport per model: neuromorphic/ASIC/CPU/literature from the counts, GPUs from the
    dense equivalent.  ``result``: optional SimResult (its spike trains refine routing).
    ``draws > 0``: each report also gets ``meta["uncertainty"]``, the seeded Monte Carlo median and
    5-95 % interval (:mod:`hardware_models.uncertainty`)."""
    from .uncertainty import dense_samples, monte_carlo
    view = as_view(counts)
    out = {}
    for name in hardware_names:
        hw = get(name)
        if hw.kind == "gpu":
            rep = dense_gpu_report(circuit, view, hw.name)
            if draws and rep.meta.get("method") == "roofline" and rep.meta.get("workload"):
                from .dense_equivalent import Workload
                wd = {k: v for k, v in rep.meta["workload"].items() if k not in ("bytes_low", "bytes_high")}
                rep.meta["uncertainty"] = dense_samples(Workload(**wd), hw.name, n=draws)
            out[hw.name] = rep
            continue
        if hw.kind == "ann":                       # ANN accelerator: the dense equivalent, like a GPU
            if circuit is None:
                raise InputError(f"'{hw.name}' costs the circuit's dense equivalent; give the circuit file")
            from .baselines import cost_eyeriss
            from .dense_equivalent import dense_workload
            out[hw.name] = cost_eyeriss(dense_workload(circuit, view.steps, view.batch), hardware=hw.name)
            continue
        pl, note = _place(circuit, hw, view, result)
        rep = cost(view, hw, placement=pl)
        if note:
            rep.notes.append(note)
        if draws and hw.kind != "ann":
            rep.meta["uncertainty"] = monte_carlo(view, hw, placement=pl, n=draws)
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
        if get(name).kind in ("gpu", "ann"):
            continue
        pl, _ = _place(circuit, get(name), view)
        out.append(sensitivity(view, name, gpu_j=gpus[0].total_j, gpu=gpus[0].hardware, placement=pl))
    return out


def sanafe_block(circuit, result, archs=("loihi",)) -> dict:
    """SANA-FE as a second cost engine: per arch, SANA-FE's energy terms and latency for the
    run's own spike trains on spikeattn's placement, beside spikeattn's model term by term
    (:func:`hardware_models.sanafe_engine.compare_with_model`).  Needs a SimResult (spike
    trains) and the circuit; a circuit SANA-FE cannot lower gets ``{"refused": reason}``."""
    from .placement import place
    from .sanafe_engine import compare_with_model, run_sanafe
    out = {}
    for arch in archs:
        hw = "loihi" if arch.startswith("loihi") else "truenorth" if arch.startswith("truenorth") else arch
        try:
            pl = place(circuit, hw, result) if hw in ("loihi", "loihi2") else None
            run = run_sanafe(circuit, result=result, arch=arch, placement=pl)
            cmp = compare_with_model(run, circuit, result, hw, placement=pl)
            out[arch] = {"sanafe": run.to_dict(), "comparison": {k: v for k, v in cmp.items()
                                                                 if k not in ("explanation",)},
                         "explanation": cmp.get("explanation")}
        except (SpikeattnError, ImportError) as exc:
            out[arch] = {"refused": f"{type(exc).__name__}: {exc}"}
    return out


def energy_block(circuit, result, hardware_names: list[str], batches=(1, 64, 1024), draws: int = 1000,
                 engines=("model",)) -> dict:
    """The ``"energy"`` block of result.json: per model ``EnergyReport.to_dict()`` (dynamic and
    total, corner bounds and the Monte Carlo 5-95 % interval under ``meta.uncertainty``,
    breakdown, latency, EDP, notes), ``"sensitivity"`` (crossover spike rates against the first
    GPU listed) and ``"batch_study"`` (energy per inference and latency per batch, crossover
    batches, scenarios: :func:`hardware_models.batching.batch_study`) when a GPU is listed and
    the circuit is given.  ``result``: SimResult or its counts / dict; ``batches=None`` skips
    the batch study.  ``engines`` containing ``"sanafe"`` adds ``"sanafe"``
    (:func:`sanafe_block`; needs a SimResult with spike trains)."""
    counts = result.counts if hasattr(result, "counts") else result
    sim = result if hasattr(result, "spikes") else None
    names = [get(n).name for n in hardware_names]
    reps = reports_for(circuit, counts, names, result=sim, draws=draws)
    block = {n: r.to_dict() for n, r in reps.items()}
    sens = sensitivities(reps, counts, circuit)
    if sens:
        block["sensitivity"] = {s.hardware: {"gpu": s.gpu, "gpu_j": s.gpu_j, "rate0": s.rate0, "steps0": s.steps0,
                                             "crossover_rate_at_T0": s.crossover_rate(s.steps0),
                                             "table": s.table(), "comparison": s.literature_comparison(),
                                             "notes": s.notes} for s in sens}
    if batches and circuit is not None and any(get(n).kind == "gpu" for n in names):
        from .batching import batch_study
        view = as_view(counts)
        pls = {n: _place(circuit, get(n), view, sim)[0] for n in names if get(n).kind != "gpu"}
        block["batch_study"] = batch_study(circuit, view, names, batches, placements=pls, n=draws)
    if "sanafe" in engines:
        block["sanafe"] = (sanafe_block(circuit, sim) if sim is not None and circuit is not None else
                           {"refused": "SANA-FE needs the circuit and the run's spike trains (a SimResult)"})
    return block


def _load_result(path: Path):
    if not path.is_file():
        raise InputError(f"result file '{path}' not found; pass the result.json written by 'spikeattn run'")
    try:
        # numbers no count can hold (1e400 -> inf, NaN/Infinity literals, ints past Python's
        # 4300-digit limit) become an infinite float here, and are refused below by their field
        doc = json.loads(path.read_text(), parse_constant=lambda _: math.inf,
                         parse_int=lambda s: int(s) if len(s.lstrip("-")) <= 4000 else math.inf)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"result file '{path}' is not valid JSON ({exc.__class__.__name__}: {exc})") from None
    except RecursionError:
        raise InputError(f"result file '{path}': its JSON is nested too deeply to be a result.json; pass the "
                         "result.json written by 'spikeattn run'") from None
    bad = _first_non_finite(doc)
    if bad is not None:
        raise InputError(f"result file '{path}', field '{bad}': is not a finite number (an overflowing literal "
                         "such as 1e400, NaN, Infinity, or an integer of more than 4000 digits); pass the "
                         "result.json written by 'spikeattn run'.")
    if not isinstance(doc, dict) or "counts" not in doc:
        raise InputError(f"result file '{path}' has no 'counts' block; pass the result.json of 'spikeattn run'")
    circuit = None
    cf = doc.get("circuit_file")
    if cf is not None and not isinstance(cf, str):
        raise InputError(f"result file '{path}', field 'circuit_file': is a {type(cf).__name__} ({cf!r:.60}); "
                         "must be the path of the circuit zip (a string), or absent.")
    if cf:
        import spikeattn
        for cand in (Path(cf), path.parent / Path(cf).name):
            if cand.is_file():
                circuit = spikeattn.load(cand)
                break
    return doc, circuit


def _first_non_finite(doc, where: str = "") -> str | None:
    """The JSON path of the first non-finite number in ``doc`` (iterative: no recursion limit)."""
    stack = [(where, doc)]
    while stack:
        at, v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return at or "top level"
        if isinstance(v, dict):
            stack.extend((f"{at}.{k}" if at else str(k), x) for k, x in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend((f"{at}[{i}]", x) for i, x in reversed(list(enumerate(v))))
    return None


def _sanafe_from_files(path: Path, circuit) -> dict:
    """SANA-FE block from ``spikes.npz`` beside the result (one array per node: (steps, batch,
    size) spikes), replayed as a SimResult of ``circuit``."""
    spk = path.parent / "spikes.npz"
    if circuit is None or not spk.is_file():
        raise InputError(f"--engine sanafe needs the circuit file and the run's spike trains ({spk} not found); "
                         "write them with hardware_models.cli.save_spikes(result, folder)")
    import numpy as np

    import spikeattn
    with np.load(spk, allow_pickle=False) as z:
        trains = {k: z[k] for k in z.files}
    missing = [s for s in circuit.sources if s not in trains]
    if missing:
        raise InputError(f"{spk} has no spike trains for sources {missing}; it must hold every node's spikes")
    steps = next(iter(trains.values())).shape[0]
    circuit = circuit.copy()
    for src in circuit.sources.values():         # replay the recorded spikes as they are
        src.encoder = "spikes"
    res = spikeattn.simulate(circuit, {s: trains[s] for s in circuit.sources}, steps=steps)
    for n, a in res.spikes.items():
        if n in trains and not np.array_equal(np.asarray(a) != 0, trains[n] != 0):
            raise InputError(f"{spk}: replaying the sources does not reproduce population '{n}'; the file does not "
                             "belong to this circuit")
    return sanafe_block(circuit, res)


def save_spikes(result, folder) -> Path:
    """Write a SimResult's spike trains (every node) as ``spikes.npz`` in ``folder`` (atomically)."""
    import io

    import numpy as np

    from spikeattn.fileio import atomic_write_bytes
    buf = io.BytesIO()
    np.savez_compressed(buf, **{n: np.asarray(a) != 0 for n, a in result.spikes.items()})
    return Path(atomic_write_bytes(Path(folder) / "spikes.npz", buf.getvalue()))


def _fmt(x, unit="J"):
    return "n/a" if x is None else f"{x:.3e}"


def _parse_batches(text: str) -> list[int]:
    try:
        out = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"--batch is {text!r}; give comma-separated integers, e.g. 1,64,1024") from None
    if not out or min(out) < 1 or max(out) > 1 << 20:
        raise InputError(f"--batch is {text!r}; give integers from 1 to 1048576, e.g. 1,64,1024")
    return out


def _iv(iv) -> str:
    return "n/a" if not iv else f"[{iv['p5']:.2e}, {iv['p95']:.2e}]"


def _print_batch_study(study: dict) -> None:
    print(f"\nper inference, by batch ({study['baseline']} GPU baseline; interval = 5-95 % Monte Carlo; "
          "chips run samples in sequence)")
    print(f"{'hardware':<12} {'batch':>6} {'dynamic J':>10} {'5-95 % dynamic':>22} {'dyn+static J':>12} "
          f"{'5-95 % total':>22} {'batch latency s':>15}")
    for name, pts in study["points"].items():
        for pt in pts:
            print(f"{name:<12} {pt['batch']:>6} {pt['dynamic_j']:>10.3e} {_iv(pt['dynamic_interval']):>22} "
                  f"{pt['energy_j']:>12.3e} {_iv(pt['energy_interval']):>22} {_fmt(pt['latency_s']):>15}")
    if study["crossover_batch"]:
        print(f"\ncrossover batch: smallest batch at which the GPU's energy per inference is at most the chip's "
              f"(searched up to {study['max_batch']})")
        for chip, per_gpu in study["crossover_batch"].items():
            for gpu, x in per_gpu.items():
                tot = "never" if x["total"] is None else str(x["total"])
                dyn = "never" if x["dynamic"] is None else str(x["dynamic"])
                print(f"  {gpu} overtakes {chip:<11} at batch {tot:>6} (dynamic + static), {dyn:>6} (dynamic only)")
    print(f"\nscenarios (server bound {study['server_bound_s'] * 1e3:g} ms): energy per inference, dynamic + static")
    for name, sc in study["scenarios"].items():
        cells = []
        for key in ("single-stream", "server", "offline"):
            pt = sc[key]
            cells.append(f"{key} " + ("n/a" if pt.get("batch") is None else f"b={pt['batch']} {pt['energy_j']:.3e} J"))
        print(f"  {name:<12} " + "; ".join(cells))


def cmd_energy(args) -> int:
    hw_names = _parse_names(args.hardware)
    batches = _parse_batches(args.batch) if args.batch else None
    doc, circuit = _load_result(args.result)
    sanafe = None
    if getattr(args, "engine", "model") == "sanafe":
        sanafe = _sanafe_from_files(args.result, circuit)
    counts = doc["counts"]
    view = as_view(counts)
    reps = reports_for(circuit, view, hw_names, draws=args.draws)
    sens = sensitivities(reps, view, circuit)
    out = args.out or args.result.parent
    print(f"energy of {args.result} ({view.steps} steps x {view.batch} samples"
          f"{'' if circuit is not None else ', no circuit file: routing between cores not modelled'})")
    print(f"{'hardware':<12} {'dynamic J':>10} {'dyn+static J':>12} {'5-95 % total (MC)':>22} {'J/sample':>10} "
          f"{'latency s':>10} {'EDP Js':>10}  largest term")
    for n, r in reps.items():
        top = max(r.breakdown.items(), key=lambda kv: kv[1])[0] if r.breakdown else "-"
        mc = r.meta.get("uncertainty", {}).get("total_j")
        print(f"{n:<12} {_fmt(r.dynamic_j):>10} {_fmt(r.total_j):>12} {_iv(mc):>22} {_fmt(r.per_sample_j):>10} "
              f"{_fmt(r.latency_s):>10} {_fmt(r.edp_js):>10}  {top}")
    for s in sens:
        x = s.crossover_rate(s.steps0)
        if x is None:
            xs = "none: the step-driven energy alone exceeds the GPU's"
        elif x > 1:
            xs = ("outside the feasible range (0-1 spike per neuron per step): the chip uses less energy at every "
                  "possible rate")
        else:
            xs = f"{x:.3g} spikes/neuron/step"
        print(f"crossover rate {s.hardware} vs {s.gpu} at T={s.steps0}, batch {s.batch}: {xs} "
              f"(measured {s.rate0:.3g})")
        for line in s.literature_comparison():
            print(f"    {line}")
    from spikeattn.fileio import atomic_write_json
    block = {n: r.to_dict() for n, r in reps.items()}
    if sens:
        block["sensitivity"] = {s.hardware: s.to_dict() for s in sens}
    study = None
    if batches:
        from .batching import batch_study
        names = [n for n in hw_names if get(n).kind != "gpu" or circuit is not None]
        if len(names) < len(hw_names):
            print("no circuit file: GPUs left out of the batch study (they cost the circuit's dense equivalent)")
        placements = {n: _place(circuit, get(n), view)[0] for n in names if get(n).kind != "gpu"}
        study = batch_study(circuit, view, names, batches, server_bound_s=args.server_bound_ms * 1e-3,
                            baseline=args.baseline, placements=placements, n=args.draws)
        block["batch_study"] = study
        _print_batch_study(study)
    if sanafe is not None:
        block["sanafe"] = sanafe
        for arch, d in sanafe.items():
            if "refused" in d:
                print(f"SANA-FE {arch}: refused ({d['refused']})")
                continue
            c = d["comparison"]
            tr = c["term_ratio"]
            print(f"SANA-FE {arch}: {c['sanafe_total_j']:.3e} J, {c['sanafe_latency_s']:.3e} s; spikeattn / SANA-FE: "
                  f"synapse {tr['synapse']:.3f}, soma {tr['soma']:.3f}, network {tr['network']:.3f}, dynamic "
                  f"{c['ratio_dynamic']:.3f}, total {c['ratio']:.3f} (SANA-FE has no static power), latency "
                  f"{c['latency_ratio']:.3f}")
    written = [atomic_write_json(out / "energy.json", block)]
    if not args.no_figures:
        from .plots import breakdown_chart, sensitivity_chart
        written.append(breakdown_chart(list(reps.values()), out / "energy_breakdown.png",
                                       title=f"{doc.get('scenario', args.result.stem)}: energy by hardware",
                                       linear=args.linear))
        if sens:
            written.append(sensitivity_chart(sens, out / "energy_sensitivity.png"))
        written += [w.with_suffix(".svg") for w in written[1:]]          # SVG beside every PNG
        if study is not None:
            from .plots_batch import batch_chart
            written += batch_chart(study, out / "energy_batch.png", linear=args.linear)
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
        acc = m.accounting()
        sp = acc["static_power"]
        print(f"  operating mode: {acc['operating_mode']}; static power: " +
              (f"{sp['value_w']:.4g} W (range {sp['low_w']:.4g} - {sp['high_w']:.4g}) [{sp['source']}]" if sp
               else f"not modelled ({acc['static_not_modelled_because']})") + f"; host/IO: {acc['host_io']}")
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
