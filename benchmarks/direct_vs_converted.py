"""Directly trained spiking attention (SSA, SDSA) vs the converted digits-vit, on digits.

For T = 1, 2, 4, 8 on the whole test split (360 images):

* ``direct-ssa`` / ``direct-sdsa``: :func:`spikeattn.models.direct.train_direct` trained at
  that T (BPTT + surrogate gradients, snnTorch; cached), evaluated through its circuit on
  the numpy engine (the circuit's predictions are checked to equal the snnTorch module's);
* ``converted-vit``: ``convert(load_model("digits-vit"), mode="accumulate", steps=4,
  levels=4, epochs=15)`` as ``scenarios/energy_vs_gpu.py`` converts it (cached
  fine-tune), predicted at each T on the numpy engine.

Columns: accuracy, synaptic ACs and MACs per sample (whole run of T steps, from
EventCounts), spikes per sample, and the host readout (direct models: ``10 D`` MACs per
sample, not in the circuit counts).  Writes ``benchmarks/results/direct_vs_converted.json``,
``.csv`` and ``.png`` (accuracy vs synaptic ops per sample), atomically.

    .venv/bin/python benchmarks/direct_vs_converted.py [--epochs 40] [--steps 1,2,4,8] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import RESULTS, format_table, host_info, log, write_results  # noqa: E402

COLUMNS = [("model", "model", "s"), ("T", "T", "d"), ("accuracy", "accuracy", ".4f"),
           ("ACs/sample", "synaptic_acs_per_sample", ".4g"), ("MACs/sample", "synaptic_macs_per_sample", ".4g"),
           ("spikes/sample", "spikes_per_sample", ".4g"), ("host MACs", "readout_macs_per_sample", ".4g"),
           ("= module", "identical_to_module", "s"), ("eval s", "eval_s", ".3g")]


def direct_rows(data, grid, epochs, n_test):
    from spikeattn.models.direct import train_direct
    rows = []
    x, y = data["x_test"][:n_test], data["y_test"][:n_test]
    for kind in ("ssa", "sdsa"):
        for T in grid:
            t0 = time.perf_counter()
            m = train_direct(kind, data, steps=T, epochs=epochs, log=log)
            t1 = time.perf_counter()
            r = m.evaluate(x, y)
            rows.append({"model": f"direct-{kind}", "T": T, "accuracy": r["accuracy"],
                         "module_accuracy": r["module_accuracy"],
                         "synaptic_acs_per_sample": r["synaptic_acs_per_sample"],
                         "synaptic_macs_per_sample": r["synaptic_macs_per_sample"],
                         "spikes_per_sample": r["spikes_per_sample"],
                         "readout_macs_per_sample": r["readout_macs_per_sample"],
                         "identical_to_module": str(r["counts_identical"] and r["predictions_identical"]),
                         "train_s": (t1 - t0) if m.trained_now else 0.0, "eval_s": time.perf_counter() - t1,
                         "epochs": epochs, "cache": str(m.path)})
            log(f"direct-{kind} T={T}: accuracy {r['accuracy']:.4f}")
    return rows


def converted_rows(data, grid, n_test, levels=4, epochs=15):
    import torch
    from spikeattn.convert import convert
    from spikeattn.models.zoo import load_model
    model = load_model("digits-vit", data, log=log)
    sm = convert(model, torch.as_tensor(data["x_train"][:2]), mode="accumulate", calib=data["x_calib"],
                 train=(data["x_train"], data["y_train"]), epochs=epochs, levels=levels,
                 cache_key="digits-vit", name="digits_vit")
    x, y = data["x_test"][:n_test], data["y_test"][:n_test]
    with torch.no_grad():
        dense = float((model(torch.as_tensor(x)).argmax(-1).numpy() == y).mean())
    rows = []
    for T in grid:
        t0 = time.perf_counter()
        p = sm.predict(x, steps=T)
        tot = sm.last_counts["totals"]
        rows.append({"model": "converted-vit", "T": T, "accuracy": float((p == y).mean()),
                     "synaptic_acs_per_sample": tot.get("synaptic_acs", 0) / len(x),
                     "synaptic_macs_per_sample": tot.get("synaptic_macs", 0) / len(x),
                     "spikes_per_sample": tot.get("spikes", 0) / len(x), "readout_macs_per_sample": None,
                     "identical_to_module": "-", "eval_s": time.perf_counter() - t0, "dense_accuracy": dense,
                     "host_stages": list(sm.host_stages)})
        log(f"converted-vit T={T}: accuracy {rows[-1]['accuracy']:.4f}")
    return rows, dense


def plot(rows, path, dense):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from spikeattn.fileio import atomic_savefig
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name in dict.fromkeys(r["model"] for r in rows):
        rs = [r for r in rows if r["model"] == name]
        ops = [r["synaptic_acs_per_sample"] + r["synaptic_macs_per_sample"] for r in rs]
        ax.plot(ops, [r["accuracy"] for r in rs], "o-", label=name)
        for o, r in zip(ops, rs):
            ax.annotate(f"T={r['T']}", (o, r["accuracy"]), textcoords="offset points", xytext=(4, -10), fontsize=7)
    if dense is not None:
        ax.axhline(dense, color="grey", ls="--", lw=1, label="dense digits-vit")
    ax.set_xscale("log")
    ax.set_xlabel("synaptic ops per sample (ACs + MACs, whole run)")
    ax.set_ylabel("test accuracy")
    ax.set_title("digits: directly trained spiking attention vs converted ViT")
    ax.legend(fontsize=8)
    atomic_savefig(fig, path)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40, help="direct training epochs (cached per config)")
    ap.add_argument("--steps", default="1,2,4,8", help="comma-separated T grid")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 epochs, T = 1, 2, 100 test images")
    ap.add_argument("--no-converted", action="store_true", help="skip the converted digits-vit")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    a = ap.parse_args(argv)
    grid = [1, 2] if a.quick else [int(t) for t in a.steps.split(",")]
    epochs = 2 if a.quick else a.epochs
    from spikeattn.models.data import load_data
    data = load_data("digits")
    n_test = 100 if a.quick else len(data["x_test"])
    t0 = time.perf_counter()
    rows = direct_rows(data, grid, epochs, n_test)
    dense = None
    if not a.no_converted:
        conv, dense = converted_rows(data, grid, n_test)
        rows += conv
    print(format_table(rows, COLUMNS))
    if dense is not None:
        print(f"dense digits-vit accuracy: {dense:.4f}")
    out = Path(a.out)
    stem = "direct_vs_converted" + ("_quick" if a.quick else "")
    doc = {"benchmark": "direct_vs_converted", "host": host_info(), "epochs": epochs, "steps": grid,
           "test_samples": n_test, "dense_accuracy": dense, "wall_s": time.perf_counter() - t0, "rows": rows,
           "units": {"synaptic_acs_per_sample": "accumulates per test image over the T steps",
                     "synaptic_macs_per_sample": "multiply-accumulates per test image over the T steps",
                     "spikes_per_sample": "spike events per test image over the T steps",
                     "readout_macs_per_sample": "host readout MACs per image (direct models; not in the circuit)"}}
    paths = write_results(stem, doc, rows, [k for _, k, _ in COLUMNS], out_dir=out)
    plot(rows, out / f"{stem}.png", dense)
    log(f"wrote {', '.join(str(p) for p in paths)}, {out / (stem + '.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
