"""Run every benchmark script (benchmarks/bench_*.py) in turn, then print one summary.

Each script measures spikeattn next to the peers it names (Brian2, Lava, snnTorch, torch,
...) in the same run, prints its own table and writes JSON/CSV/PNG to
``benchmarks/results/``.  At the end this runner prints ONE table with every peer row of
the peer benchmarks (``events_per_second``, ``attention_engines``) read back from the JSON
they just wrote, followed by every target with its measured ratio and PASS / MISS.

Usage::

    python benchmarks/run_all.py [--quick] [NAME ...]     # names without ``bench_`` and ``.py``

``--quick``: a smoke version of a couple of minutes (small sizes, see each script's
``--quick``; results under ``benchmarks/results/quick/``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
QUICK_ARGS = {"events_per_second": ["--quick"], "attention_engines": ["--quick", "--ns", "32,128"], "lava": ["--quick"],
              "attention_scaling": ["--max-n", "256", "--max-n-quadratic", "128"]}
PEER_BENCHES = ("events_per_second", "attention_engines")
# scripts that run in another interpreter (their docstring says so): name -> venv python
PYTHON_FOR = {"lava": HERE.parent / ".venv-lava" / "bin" / "python"}


def summary(out_dir: Path, names: list[str], since: float = 0.0) -> str:
    sys.path.insert(0, str(HERE))
    import common

    rows, targets = [], []
    for name in PEER_BENCHES:
        path = out_dir / f"{name}.json"
        if name not in names or not path.exists() or path.stat().st_mtime < since:
            continue   # not run now, or it failed before writing: never summarise an old file
        doc = json.loads(path.read_text())
        targets += doc.get("targets", [])
        for r in doc["rows"]:
            if name == "events_per_second":
                case = f"plain LIF N={r.get('neurons')} {r.get('steps')} steps"
                speed, unit = r.get("events_per_s_sim"), "ev/s"
                wall_speed = r.get("events_per_s_wall")
            else:
                case = f"{r['variant']} N={r['n']} D={r['d']} T={r['t']}"
                speed, unit, wall_speed = r.get("ops_per_s"), "syn ops/s", r.get("ops_per_s")
            status = r.get("agrees") or ("not available" if "unavailable" in r else
                                         "FAILED" if "error" in r else "")
            rows.append({"bench": name, "case": case, "peer": r.get("label"), "batch": r.get("batch"),
                         "repeats": r.get("repeats"), "wall_s": r.get("wall_s"), "sim_s": r.get("sim_s"),
                         "speed": wall_speed, "speed_sim": speed, "unit": unit, "mem": r.get("peak_rss_mib"),
                         "agrees": status,
                         "ratio": r.get("compiled_x") if name == "events_per_second" else r.get("torch_ratio")})
    if not rows:
        return "no peer benchmark results to summarise"
    table = common.format_table(rows, [
        ("case", "case", ""), ("peer", "peer", ""), ("B", "batch", "d"), ("rep", "repeats", "d"),
        ("wall s", "wall_s", ".3g"), ("sim s", "sim_s", ".3g"), ("rate (wall)", "speed", ".3g"),
        ("rate (sim)", "speed_sim", ".3g"), ("unit", "unit", ""), ("peak MiB", "mem", ".0f"),
        ("agrees", "agrees", ""), ("ratio", "ratio", ".3g")])
    return ("ALL PEERS, ONE RUN (medians; rate = events or synaptic ops per second; ratio = compiled engine ev/s "
            "over this row's (plain LIF) or torch wall over this row's wall (attention))\n" + table
            + "\n\nALL TARGETS\n" + common.format_targets(targets))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke version (a couple of minutes)")
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = ap.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        wanted = {f"bench_{a}.py" for a in args.names}
        unknown = wanted - {s.name for s in scripts}
        if unknown:
            print(f"unknown benchmarks {sorted(unknown)}; available: "
                  f"{[s.stem[6:] for s in scripts]}", file=sys.stderr)
            return 2
        scripts = [s for s in scripts if s.name in wanted]
    out_dir = RESULTS / "quick" if args.quick else RESULTS
    failed, t_all, started = [], time.perf_counter(), time.time()
    for script in scripts:
        name = script.stem[6:]
        extra = []
        if args.quick:
            extra = QUICK_ARGS.get(name, [])
            if name in PEER_BENCHES:
                extra = extra + ["--out", str(out_dir)]
        python = PYTHON_FOR.get(name, Path(sys.executable))
        print(f"\n===== {script.stem} {' '.join(extra)} =====", flush=True)
        if not python.exists():
            print(f"SKIPPED: {script.stem} needs {python} (make venv-lava)", flush=True)
            continue
        t0 = time.perf_counter()
        rc = subprocess.call([str(python), str(script), *extra], cwd=HERE.parent)
        print(f"----- {script.stem}: exit {rc} in {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(script.stem)
    print(f"\n===== summary ({time.perf_counter() - t_all:.0f} s in all) =====")
    print(summary(out_dir, [s.stem[6:] for s in scripts], since=started))
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
