"""digits-vit, whole test split at T = 8: the structured model on the torch engine against the
flat conversion on numpy and compiled, in the same run (issue 16 target: <= 1 s on torch CPU;
numpy 12.7 s and compiled 5.2 s when the target was set).

The built-in ``digits-vit`` (trained and cached on first use, which says so) is converted twice
with the same arguments as ``python -m spikeattn.models.targets`` (accumulate mode, L = 4,
15 fine-tune epochs, the fine-tuned graph shared through ``cache_key="digits-vit"``):
``structured=True`` (shared weights, product projections) and flat (per-token copies, gate
neurons).  Rows, each the wall time of ``spikeattn.convert.run(model, x_test, steps=T,
engine=...)`` over the 360 test digits (batch chosen by ``run``), median of ``--repeats``:

* ``structured / torch``: after one untimed warm-up call (the first call, timed separately as
  ``first call``, includes the torch engine's first-use cost, not the import of torch);
* ``structured / torch, 1 thread``: the same with ``torch.set_num_threads(1)``, when torch's
  default is more threads (on a machine loaded beyond its cores OpenMP threads spin on every
  small op, and one thread is the fair setting); the target takes the faster torch row and
  names it.
* ``flat / numpy`` and ``flat / compiled``: the first call counts as a repeat when it takes
  more than 2 s (``common.timed(warmup="auto")``; the compiled engine's loop comes from
  numba's on-disk cache, which ``make bench`` fills);
* ``dense / torch``: the float32 dense model's forward over the same split, for scale.

Torch rows run first and with the thread count printed (``--threads``): the compiled engine's
parallel numba loop, run last, resets torch's thread count in this process.

Every spiking row must predict as the flat numpy one (``same``: fraction of equal
predictions; the structured circuit and the flat one form sums in different orders, so
logits agree to float rounding and predictions are identical, see
``tests/convert/test_structured.py``).  Ratios: each row's time over the faster torch row.
The CPU model, cores, SIMD flags, load average and torch threads are printed and written
with the results (``results/digits_torch.{json,csv}``).  Not a timed test.

Usage: ``python benchmarks/bench_digits_torch.py [--steps 8] [--repeats 3] [--threads N]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

TARGET_S = 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--quick", action="store_true", help="1 repeat")
    ap.add_argument("--out", default=str(common.RESULTS))
    args = ap.parse_args(argv)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.repeats = 1

    from spikeattn.convert import convert, run
    from spikeattn.models.data import load_data
    from spikeattn.models.zoo import load_model
    data = load_data("digits")
    model = load_model("digits-vit", data, log=common.log)
    x, y, T = data["x_test"], data["y_test"], args.steps
    kw = dict(mode="accumulate", calib=data["x_calib"], train=(data["x_train"], data["y_train"]), epochs=15,
              levels=4, cache_key="digits-vit", name="digits_vit")
    ex = torch.as_tensor(data["x_train"][:2])
    t0 = time.perf_counter()
    sm = convert(model, ex, structured=True, **kw)
    t_sconv = time.perf_counter() - t0
    t0 = time.perf_counter()
    fm = convert(model, ex, **kw)
    t_fconv = time.perf_counter() - t0
    common.log(f"converted: structured in {t_sconv:.1f} s, flat in {t_fconv:.1f} s")

    rows, preds = [], {}

    def row(label, model_, engine, warmup):
        common.log(f"{label} ...")
        first = None
        if warmup:
            t = time.perf_counter()
            run(model_, x, steps=T, engine=engine)
            first = time.perf_counter() - t
        times, r = common.timed(lambda: run(model_, x, steps=T, engine=engine), repeats=args.repeats,
                                warmup=0 if warmup else "auto")
        preds[label] = r.predictions
        rows.append({"case": label, "engine": engine, "t": T, "samples": len(x), "batch": r.batch,
                     "first_call_s": first, **common.summary(times), "accuracy": float(np.mean(r.predictions == y)),
                     "synaptic_ops_per_sample": r.counts.totals()["synaptic_ops"] / len(x)})

    threads = torch.get_num_threads()
    row("structured / torch", sm, "torch", True)
    if threads > 1:     # on a loaded machine OpenMP threads spin on every small op: 1 thread beside the default
        torch.set_num_threads(1)
        row("structured / torch, 1 thread", sm, "torch", True)
        torch.set_num_threads(threads)
    xt = torch.as_tensor(x)

    def dense():
        with torch.no_grad():
            return model(xt)
    times, out = common.timed(dense, repeats=args.repeats, warmup=1)
    rows.append({"case": "dense / torch (float32)", "engine": "torch", "t": None, "samples": len(x), "batch": len(x),
                 **common.summary(times), "accuracy": float(np.mean(out.argmax(1).numpy() == y))})
    row("flat / numpy", fm, "numpy", False)
    row("flat / compiled", fm, "compiled", False)    # last: numba's parallel loop resets torch's thread count
    ref = preds["flat / numpy"]
    by = {r["case"]: r for r in rows}
    best = min((r for r in rows if r["case"].startswith("structured")), key=lambda r: r["median_s"])
    base = best["median_s"]
    for r in rows:
        r["ratio_to_torch"] = r["median_s"] / base
        if r["case"] in preds:
            r["same"] = float(np.mean(preds[r["case"]] == ref))
    host = {**common.host_info(), "torch": torch.__version__, "torch_threads": threads,
            "peak_rss_mib": common.peak_rss_mib()}
    s = sm.summary()
    f = fm.circuit.summary()
    targets = [common.target_line(f"digits-vit whole test split ({len(x)}) at T = {T}, structured, torch CPU (s)",
                                  base, TARGET_S, higher_is_better=False,
                                  note=f"{best['case']}, first call {best['first_call_s']:.2f} s; numpy "
                                       f"{by['flat / numpy']['ratio_to_torch']:.1f}x, compiled "
                                       f"{by['flat / compiled']['ratio_to_torch']:.1f}x slower")]
    print(common.host_line(host) + f"; torch {host['torch']}, {host['torch_threads']} threads")
    print(f"digits-vit: structured {s['neurons']} neurons, {s['synapses']} synapses (neuron-level), "
          f"{s['stored_weights']} stored weights; flat {f['neurons']} neurons, {f['synapses']} synapses; "
          f"conversion {t_sconv:.1f} s / {t_fconv:.1f} s")
    print(common.format_table(rows, [("case", "case", ""), ("B", "batch", "d"), ("rep", "repeats", "d"),
                                     ("median s", "median_s", ".3g"), ("min s", "min_s", ".3g"),
                                     ("first s", "first_call_s", ".3g"),
                                     ("x torch", "ratio_to_torch", ".3g"),
                                     ("accuracy", "accuracy", ".4f"), ("same as numpy", "same", ".4f"),
                                     ("syn ops/sample", "synaptic_ops_per_sample", ".3g")]))
    print(common.format_targets(targets))
    common.write_results("digits_torch", {"host": host, "rows": rows, "targets": targets,
                                          "structured": s, "flat": f,
                                          "convert_s": {"structured": t_sconv, "flat": t_fconv}}, rows,
                         ["case", "engine", "t", "samples", "batch", "median_s", "min_s", "first_call_s",
                          "ratio_to_torch", "accuracy", "same"], Path(args.out))
    return 0 if all(r.get("same", 1.0) == 1.0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
