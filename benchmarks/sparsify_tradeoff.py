"""Accuracy against synaptic operations for sparsified conversions of digits-vit.

    .venv/bin/python benchmarks/sparsify_tradeoff.py [--layers 2] [--steps 4] [--test 360] [--out DIR]

The built-in ``digits-vit`` (``--layers`` attention layers; top-k needs at least 2, since
its scores are the attention of the layer before the selection) is prepared for
``accumulate`` mode (levels 4), calibrated on ``x_calib`` and fine-tuned ``--base-epochs``
once; then every variant is applied to a copy with
:func:`spikeattn.convert.sparsify.apply_sparsification` (then ``--epochs`` of masked
fine-tune on the training split), converted, and run for ``--steps`` steps on the first
``--test`` test samples.  Variants: ``magnitude:0/0.3/0.5/0.7``, ``heads:1``,
``topk:1/2/3`` (of the 4 patch tokens; CLS always kept) and one combination.

Per variant: spiking accuracy, quantised-ANN accuracy (torch float64), synaptic ops per
sample (``synaptic_acs + synaptic_macs`` of all segments over the T steps, plus the k-WTA
stage's), spikes per sample, circuit neurons and synapses.  Writes
``sparsify_tradeoff.json`` and ``sparsify_tradeoff.png`` (atomically) to ``--out``
(default ``benchmarks/results``).
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

VARIANTS = ["magnitude:0", "magnitude:0.3", "magnitude:0.5", "magnitude:0.7", "heads:1",
            "topk:3", "topk:2", "topk:1", "magnitude:0.5,heads:1,topk:2"]


def run(layers=2, steps=4, n_test=360, base_epochs=10, epochs=3, variants=VARIANTS, log=print) -> dict:
    import torch

    from spikeattn.convert import capture as cap
    from spikeattn.models.data import load_data
    from spikeattn.models.zoo import load_model
    from spikeattn.convert.modes import calibrate, finetune, prepare
    from spikeattn.convert.sparsify import apply_sparsification, convert_prepared
    from spikeattn.convert.token_select import counted_by_run, reset_stage_counts, stage_counts

    d = load_data("digits")
    model = load_model("digits-vit", data=d, layers=layers, log=log)
    xtr, ytr = torch.as_tensor(d["x_train"]), torch.as_tensor(d["y_train"])
    torch.manual_seed(0)
    ep = cap.capture(model, xtr[:2])
    base = prepare(copy.deepcopy(ep.module()), "accumulate", 4)
    calibrate(base, torch.as_tensor(d["x_calib"]), "accumulate")
    t0 = time.perf_counter()
    finetune(base, xtr, ytr, epochs=base_epochs, lr=2e-3, seed=0)
    base.eval()
    log(f"base fine-tune {base_epochs} epochs: {time.perf_counter() - t0:.1f} s")
    x, y = d["x_test"][:n_test], d["y_test"][:n_test]
    rows = []
    for spec in variants:
        t0 = time.perf_counter()
        gm = copy.deepcopy(base)
        rep = apply_sparsification(gm, spec, d["x_calib"], train=(d["x_train"], d["y_train"]) if epochs else None,
                                   seed=0, epochs=epochs)
        sm = convert_prepared(gm, x[:2], mode="accumulate", levels=4)
        reset_stage_counts(sm)
        p = sm.predict(x, steps=steps)
        tot = sm.last_counts["totals"]
        st = {} if counted_by_run(sm) else stage_counts(sm)       # not counted twice
        q = sm.quantised_predict(x)
        n = len(x)
        ops = tot.get("synaptic_acs", 0) + tot.get("synaptic_macs", 0)
        sops = st.get("synaptic_acs", 0) + st.get("synaptic_macs", 0)
        summ = sm.circuit.summary()
        row = {"spec": spec, "spiking_accuracy": float(np.mean(p == y)), "quantised_accuracy": float(np.mean(q == y)),
               "synaptic_ops_per_sample": (ops + sops) / n, "synaptic_acs_per_sample": (tot.get("synaptic_acs", 0)
                                                                                          + st.get("synaptic_acs", 0)) / n,
               "synaptic_macs_per_sample": (tot.get("synaptic_macs", 0) + st.get("synaptic_macs", 0)) / n,
               "kwta_stage_ops_per_sample": sum(stage_counts(sm).get(k, 0) for k in ("synaptic_acs",
                                                                                     "synaptic_macs")) / n,
               "spikes_per_sample": (tot["spikes"] + st.get("spikes", 0)) / n,
               "neurons": summ["neurons"], "synapses": summ["synapses"], "host_stages": sm.host_stages,
               "report": _jsonable(rep), "seconds": time.perf_counter() - t0}
        rows.append(row)
        log(f"{spec:32s} acc {row['spiking_accuracy']:.3f} (quantised {row['quantised_accuracy']:.3f})  "
            f"ops/sample {row['synaptic_ops_per_sample']:.4g}  synapses {summ['synapses']}  {row['seconds']:.0f} s")
    return {"model": "digits-vit", "layers": layers, "mode": "accumulate", "levels": 4, "steps": steps,
            "test_samples": int(len(x)), "base_epochs": base_epochs, "finetune_epochs": epochs, "variants": rows}


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return o


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spikeattn.fileio import atomic_savefig
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    colors = {"magnitude": "tab:blue", "heads": "tab:orange", "topk": "tab:green"}
    for r in result["variants"]:
        kinds = [s.split(":")[0] for s in r["spec"].split(",")]
        c = colors.get(kinds[0], "k") if len(kinds) == 1 else "tab:red"
        ax.scatter(r["synaptic_ops_per_sample"], r["spiking_accuracy"], color=c)
        ax.annotate(r["spec"], (r["synaptic_ops_per_sample"], r["spiking_accuracy"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"synaptic ops per sample (T={result['steps']}, incl. k-WTA stage)")
    ax.set_ylabel("spiking accuracy (digits test)")
    ax.set_title(f"digits-vit ({result['layers']} layers), accumulate mode: accuracy vs savings")
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--test", type=int, default=360)
    ap.add_argument("--base-epochs", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--variants", default=None, help="semicolon-separated specs (default: the module's list)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    a = ap.parse_args(argv)
    from spikeattn.fileio import atomic_write_json
    variants = a.variants.split(";") if a.variants else VARIANTS
    res = run(a.layers, a.steps, a.test, a.base_epochs, a.epochs, variants)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "sparsify_tradeoff.json", res)
    plot(res, out / "sparsify_tradeoff.png")
    print(f"wrote {out / 'sparsify_tradeoff.json'} and {out / 'sparsify_tradeoff.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
