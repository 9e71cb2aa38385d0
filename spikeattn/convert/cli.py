"""``spikeattn convert MODEL --data DATA --mode M --steps T --out DIR`` (CLI plug-in).

Registration imports neither torch nor the converter; the handler does.  ``MODEL`` is a
built-in name (:data:`spikeattn.convert.models.MODELS`) or a ``.pt2`` file written by
``torch.export.save``; ``DATA`` a built-in name or an ``.npz`` (see :mod:`.data`).  Writes
``DIR/fidelity.json``, ``DIR/circuit.zip``, ``DIR/accuracy_vs_T.png`` and
``DIR/accuracy_vs_energy.png``.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert a trained torch model into a spiking circuit")
    p.add_argument("model", help="built-in model (digits-vit, recall-transformer, mnist1d-attention) or a .pt2 file")
    p.add_argument("--data", required=True, help="built-in data (digits, recall, mnist1d) or an .npz file")
    p.add_argument("--mode", default="accumulate", choices=["exact", "accumulate", "rate"])
    p.add_argument("--steps", type=int, default=4, help="largest T evaluated (1, 2, 4, ... up to it)")
    p.add_argument("--levels", type=int, default=4, help="activation levels L (exact / accumulate)")
    p.add_argument("--epochs", type=int, default=10, help="quantisation-aware fine-tune epochs")
    p.add_argument("--engine", default="numpy")
    p.add_argument("--quantise", default=None, choices=["loihi8"],
                   help="loihi8: Loihi fixed point (8-bit weights with per-projection exponents, integer "
                   "neurons, pipelined); accumulate mode only; runs bit-exactly on the numpy and lava engines")
    p.add_argument("--prune", default=None, help="comma-separated: magnitude:F (zero the smallest fraction F of "
                   "every weight matrix), heads:K[/layer] (remove the K least important heads), topk:K[@l] (keep "
                   "the CLS token and the K most attended tokens from layer l on, chosen by a k-WTA spiking stage)")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(handler=cmd_convert)


def load_pt2(path):
    from ..errors import require
    from .data import DataError
    torch = require("torch", "torch", "loading .pt2 models")
    import zipfile
    if not Path(path).is_file() or not zipfile.is_zipfile(path):
        raise DataError(f"model file '{path}': is not a .pt2 archive. Fix: write it with torch.export.save.")
    try:
        return torch.export.load(str(path))   # torch.export archives: no pickle of Python objects
    except Exception as exc:  # noqa: BLE001 - any failure of a malformed archive is bad input
        raise DataError(f"model file '{path}': cannot be loaded by torch.export.load "
                        f"({type(exc).__name__}: {str(exc)[:200]}).") from None


def cmd_convert(args) -> int:
    import numpy as np
    import torch

    from ..fileio import atomic_write_json
    from ..ir import save
    from .api import convert
    from .data import load_data
    from .fidelity import fidelity_report
    from .models import MODELS, SPECS, load_model
    from .sparsify import parse_prune
    prune = parse_prune(args.prune)
    data = load_data(args.data)
    if args.model in MODELS:
        model, name = load_model(args.model, data if SPECS[args.model]["data"] == args.data else None), args.model
    else:
        ep = load_pt2(args.model)
        model, name = ep, Path(args.model).name
    xtr = data["x_train"]
    ex = torch.as_tensor(xtr[:2])
    sm = convert(model, ex, mode=args.mode, steps=args.steps, calib=data["x_calib"], levels=args.levels,
                 train=(xtr, data["y_train"]), epochs=args.epochs, prune=prune or None,
                 quantise=args.quantise)
    rep = fidelity_report(sm, name, data["x_test"], data["y_test"], args.steps, engine=args.engine)
    if args.quantise:
        from .fidelity import quantisation_report
        rep["quantisation"] = quantisation_report(sm, data["x_test"], data["y_test"], args.steps, rep)
    rep["pruned"] = sm.meta.get("pruned")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "fidelity.json", rep)
    save(sm.circuit, args.out / "circuit.zip")
    _figures(rep, args.out)
    print(f"{name} [{args.mode}]: dense {rep['dense_accuracy']:.4f}, spiking {rep['spiking_accuracy']}, "
          f"macs/step {rep['macs_per_step']} -> {args.out / 'fidelity.json'}")
    return 0


def _figures(rep, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    from ..fileio import atomic_savefig
    Ts = [int(t) for t in rep["spiking_accuracy"]]
    acc = list(rep["spiking_accuracy"].values())
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(Ts, acc, "o-", label="spiking")
    ax.axhline(rep["dense_accuracy"], color="k", ls="--", label="dense")
    ax.set_xscale("log", base=2); ax.set_xlabel("T (steps)"); ax.set_ylabel("accuracy"); ax.legend()
    fig.tight_layout(); atomic_savefig(fig, out / "accuracy_vs_T.png"); plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 3))
    for k, v in rep["energy"]["spiking"].items():
        if isinstance(v, float):
            ax.scatter([v], [acc[-1]], label=f"{k} (T={Ts[-1]})")
    for k, v in rep["energy"]["dense_gpu"].items():
        if isinstance(v, float):
            ax.scatter([v], [rep["dense_accuracy"]], marker="s", label=f"{k} dense")
    ax.set_xscale("log"); ax.set_xlabel("energy per sample (J)"); ax.set_ylabel("accuracy"); ax.legend(fontsize=6)
    fig.tight_layout(); atomic_savefig(fig, out / "accuracy_vs_energy.png"); plt.close(fig)
