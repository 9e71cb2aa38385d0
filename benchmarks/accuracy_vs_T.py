"""Accuracy against the number of steps T, per in-repo model and conversion mode (issue 17).

For every built-in model (``digits-vit``, ``recall-transformer``, ``mnist1d-attention``;
trained and cached on first use, which says so) and mode (``accumulate``, ``exact``), the
model is converted with the arguments of ``python -m spikeattn.models.targets`` (L = 4, 15
fine-tune epochs for digits-vit, 10 for the others, fine-tuned graph cached under the
model's name) and the test split (or its first ``--samples``) is predicted at T = 1, 2, 4,
8, 16.  Printed beside the spiking accuracy:

* ``dense``: the trained float32 model;
* ``quantised``: the quantised ANN (torch, float64) the circuit is built from (T = 1's grid);
* ``grid T``: the same quantised ANN on the grid of T (every quantiser ``vth / T`` with
  ``T L`` levels), which is what an accumulate-mode circuit run for T steps computes on
  constant inputs (:mod:`spikeattn.convert.quantiser`) -- its oracle;
* ``ident``: the fraction of spiking predictions equal to the quantised ANN's (exact mode
  guarantees 1 at every T: its steps are re-initialised forward passes).

Accumulate mode runs the structured conversion on the torch engine (one thread; spike for
spike the flat circuit, see ``tests/convert/test_structured.py``), exact mode the flat one on
numpy.  The CPU model and load average are printed beside the table; results go to
``results/accuracy_vs_T.{json,csv}``.  Not a timed benchmark: the wall times are for scale.

Usage: ``python benchmarks/accuracy_vs_T.py [--models digits-vit ...] [--modes accumulate exact]
[--steps 1 2 4 8 16] [--samples N]``
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

MODELS = ("digits-vit", "recall-transformer", "mnist1d-attention")


def grid_accuracy(quantised, x, y, T: int) -> float:
    """Accuracy of the quantised ANN ``quantised`` on the grid of ``T``."""
    import torch

    from spikeattn.convert.quantiser import quant_modules
    g = copy.deepcopy(quantised)
    for m in quant_modules(g):
        m.grid = int(T)
    xt = torch.as_tensor(np.asarray(x))
    with torch.no_grad():
        return float(np.mean(g(xt.double() if xt.is_floating_point() else xt).argmax(-1).numpy() == y))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--modes", nargs="+", default=["accumulate", "exact"], choices=["accumulate", "exact"])
    ap.add_argument("--steps", nargs="+", type=int, default=[1, 2, 4, 8, 16])
    ap.add_argument("--samples", type=int, default=0, help="first N test samples (0: the whole test split)")
    ap.add_argument("--out", default=str(common.RESULTS))
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)

    from spikeattn.convert import convert, run
    from spikeattn.models.data import load_data
    from spikeattn.models.zoo import SPECS, load_model
    rows = []
    host0 = common.host_info()
    for name in args.models:
        data = load_data(SPECS[name]["data"])
        model = load_model(name, data, log=common.log)
        x, y = data["x_test"], np.asarray(data["y_test"])
        if args.samples:
            x, y = x[:args.samples], y[:args.samples]
        with torch.no_grad():
            xt = torch.as_tensor(x)
            dense = float(np.mean(model(xt.float() if xt.is_floating_point() else xt).argmax(-1).numpy() == y))
        for mode in args.modes:
            kw = dict(mode=mode, calib=data["x_calib"], train=(data["x_train"], data["y_train"]),
                      epochs=15 if name == "digits-vit" else 10, levels=4, cache_key=name, name=name.replace("-", "_"))
            t0 = time.perf_counter()
            sm = convert(model, torch.as_tensor(data["x_train"][:2]), structured=mode == "accumulate", **kw)
            common.log(f"{name} {mode}: converted in {time.perf_counter() - t0:.1f} s")
            q = sm.quantised_predict(x)
            quant = float(np.mean(q == y))
            engine = "torch" if mode == "accumulate" else "numpy"
            row = {"model": name, "mode": mode, "engine": engine, "samples": len(x), "dense": dense, "quantised": quant}
            for T in args.steps:
                t0 = time.perf_counter()
                p = run(sm, x, steps=T, engine=engine).predictions
                row[f"T{T}"] = float(np.mean(p == y))
                row[f"ident{T}"] = float(np.mean(p == q))
                row[f"grid{T}"] = grid_accuracy(sm.quantised, x, y, T)
                row[f"wall{T}"] = time.perf_counter() - t0
                common.log(f"  T = {T}: {row[f'T{T}']:.4f} (grid of T {row[f'grid{T}']:.4f}, identical to the "
                           f"quantised ANN {row[f'ident{T}']:.4f}) in {row[f'wall{T}']:.1f} s")
            rows.append(row)
    host = common.host_info()
    Ts = args.steps
    print()
    print(f"{'model':19s} {'mode':10s} {'what':10s} {'dense':>6s} {'quant':>6s} " + " ".join(f"{'T=' + str(T):>6s}"
                                                                                             for T in Ts))
    for r in rows:
        for what, key in (("spiking", "T"), ("grid of T", "grid"), ("ident", "ident")):
            print(f"{r['model']:19s} {r['mode']:10s} {what:10s} {r['dense']:6.3f} {r['quantised']:6.3f} "
                  + " ".join(f"{r[key + str(T)]:6.3f}" for T in Ts))
    samples = ", ".join(f"{r['model']} {r['samples']}" for r in rows[::len(args.modes)])
    print(f"samples: {samples}; accumulate on the structured circuit (torch engine, 1 thread), exact on the flat "
          "one (numpy)")
    print("before: " + common.host_line(host0))
    print("after:  " + common.host_line(host))
    cols = ["model", "mode", "engine", "samples", "dense", "quantised"] + [f"{k}{T}" for T in Ts
                                                                         for k in ("T", "grid", "ident")]
    common.write_results("accuracy_vs_T", {"host": host, "host_before": host0, "rows": rows}, rows, cols,
                         Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
