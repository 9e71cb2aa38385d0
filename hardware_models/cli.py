"""CLI plug-in: ``spikeattn energy RESULT.json --hardware ...`` and ``spikeattn hardware``.

Registered through the ``spikeattn.commands`` entry point (``register(subparsers)``).  This
module parses arguments, calls library functions and prints: the numbers come from
:func:`hardware_models.estimator.energy_block` (the same call ``spikeattn run`` and the
scenarios make), the workload from :func:`hardware_models.result_workload.workload_of`, the
SANA-FE replay from :mod:`hardware_models.spike_files`, the figures from
:func:`hardware_models.energy_figures.write_energy_figures`.  ``energy_block`` here is
:func:`hardware_models.estimator.run_energy_block` (its old name); ``workload_of`` and
``save_spikes`` are re-exported for existing callers.
"""
from __future__ import annotations

import json
from pathlib import Path

from spikeattn.errors import InputError, SpikeattnError

from . import estimator as est
from .energy_figures import write_energy_figures
from .estimator import DEFAULT_DRAWS, HEADLINE_BATCHES
from .registry import get, names
from .result_file import load_result
from .result_workload import workload_of
from .spike_files import sanafe_from_files, save_spikes

DEFAULT_HARDWARE = "loihi,loihi2,truenorth,spinnaker2,asic45nm,literature,h100"
energy_block = est.run_energy_block          # the old name of spikeattn run's energy block


def register(subparsers) -> None:
    p = subparsers.add_parser("energy", help="cost a result.json on hardware models; table + PNG figures")
    p.add_argument("result", type=Path, help="result.json written by 'spikeattn run' (or a fidelity.json with a "
                   "'workload' block)")
    p.add_argument("--hardware", default=DEFAULT_HARDWARE,
                   help=f"comma-separated models (default {DEFAULT_HARDWARE}; see 'spikeattn hardware')")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the result's folder)")
    p.add_argument("--no-figures", action="store_true", help="skip the figures (PNG, with an SVG beside each)")
    p.add_argument("--batch", default=",".join(map(str, HEADLINE_BATCHES)),
                   help="comma-separated batch sizes (default 1,64,1024; 'none' to skip): energy per inference and "
                        "latency per batch, crossover batch of every GPU against every chip, the verdict")
    p.add_argument("--server-bound-ms", type=float, default=10.0,
                   help="latency bound of the server scenario, ms (default 10)")
    p.add_argument("--baseline", default=None, choices=["softmax", "snn_dense", "quantised_ann"],
                   help="GPU baseline rebuilt from the circuit (default: the dense model recorded in the result, "
                        "else softmax; see hardware_models.baselines)")
    p.add_argument("--quantised-ann", default="",
                   help="comma-separated GPUs that also cost the dense model as a ceil(log2(T+1))-bit quantised ANN "
                        "computed as INT8 (Yan et al. 2024), e.g. h100")
    p.add_argument("--linear", action="store_true", help="linear energy axes in the figures (default log)")
    p.add_argument("--draws", type=int, default=DEFAULT_DRAWS,
                   help=f"Monte Carlo draws for the intervals (default {DEFAULT_DRAWS})")
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


def _fmt(x, unit="J"):
    return "n/a" if x is None else f"{x:.3e}"


def _parse_batches(text: str) -> list[int] | None:
    if text.strip().lower() == "none":
        return None
    try:
        out = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"--batch is {text!r}; give comma-separated integers, e.g. 1,64,1024, or 'none'") from None
    if not out or min(out) < 1 or max(out) > 1 << 20:
        raise InputError(f"--batch is {text!r}; give integers from 1 to 1048576, e.g. 1,64,1024")
    return out


def _iv(iv) -> str:
    return "n/a" if not iv else f"[{iv['p5']:.2e}, {iv['p95']:.2e}]"


def print_batch_study(study: dict) -> None:
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


def print_headline(headline: dict) -> None:
    """The verdict lines of :func:`hardware_models.estimator.headline`."""
    print("\nverdict (energy per inference, dynamic + static, central estimates):")
    for line in headline["verdicts"]:
        print(f"  {line}")
    for be in headline.get("break_even", []):
        print(f"  {be['line']}")


def cmd_energy(args) -> int:
    hw_names = _parse_names(args.hardware)
    batches = _parse_batches(args.batch) if args.batch else None
    doc, circuit = load_result(args.result)
    sanafe = None
    if getattr(args, "engine", "model") == "sanafe":
        sanafe = sanafe_from_files(args.result, circuit)
    wl = workload_of(doc, circuit, args.baseline)
    if batches and wl.dense is None and any(get(n).kind in ("gpu", "ann") for n in hw_names):
        print("no circuit file or dense record: GPUs left out of the batch study (they cost the dense model)")
    quantised = _parse_names(args.quantised_ann) if args.quantised_ann else ()
    block = est.energy_block(wl, hw_names, batches, args.draws, server_bound_s=args.server_bound_ms * 1e-3,
                             baseline=args.baseline, quantised_ann=quantised)
    if sanafe is not None:
        block["sanafe"] = sanafe
    out = args.out or args.result.parent
    sp = wl.spiking
    print(f"energy of {args.result} ({sp.steps} steps x {sp.samples} samples"
          f"{'' if circuit is not None else ', no circuit file: routing between cores not modelled'})")
    print(f"{'hardware':<12} {'dynamic J':>10} {'dyn+static J':>12} {'5-95 % total (MC)':>22} {'J/sample':>10} "
          f"{'latency s':>10} {'EDP Js':>10}  largest term")
    for n in [get(h).name for h in hw_names] + [k for k in block if k.endswith("-int8")]:
        r = block[n]
        top = max(r["breakdown"].items(), key=lambda kv: kv[1])[0] if r["breakdown"] else "-"
        mc = r["meta"].get("uncertainty", {}).get("total_j")
        print(f"{n:<12} {_fmt(r['dynamic_j']):>10} {_fmt(r['total_j']):>12} {_iv(mc):>22} "
              f"{_fmt(r['per_sample_j']):>10} "
              f"{_fmt(r['latency_s']):>10} {_fmt(r['edp_js']):>10}  {top}")
    for chip, s in block.get("sensitivity", {}).items():
        x = s["crossover_rate_at_T0"]
        if x is None:
            xs = "none: the step-driven energy alone exceeds the GPU's"
        elif x > 1:
            xs = ("outside the feasible range (0-1 spike per neuron per step): the chip uses less energy at every "
                  "possible rate")
        else:
            xs = f"{x:.3g} spikes/neuron/step"
        print(f"crossover rate {chip} vs {s['gpu']} at T={s['steps0']}, batch {s['batch']}: {xs} "
              f"(measured {s['rate0']:.3g})")
        for line in s["comparison"]:
            print(f"    {line}")
    if "batch_study" in block:
        print_batch_study(block["batch_study"])
        print_headline(block["headline"])
    if sanafe is not None:
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
    from spikeattn.fileio import atomic_write_json
    written = [atomic_write_json(out / "energy.json", block)]
    if not args.no_figures:
        written += write_energy_figures(block, hw_names, out, linear=args.linear,
                                        title=f"{doc.get('scenario', args.result.stem)}: energy by hardware")
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


__all__ = ["register", "energy_block", "cmd_energy", "cmd_hardware", "workload_of", "save_spikes", "SpikeattnError"]
