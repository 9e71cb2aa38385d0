"""``spikeattn convert`` and ``spikeattn predict`` (CLI plug-in).

``convert MODEL --data DATA --mode M --steps T --out DIR``: ``MODEL`` is a built-in name
(:data:`spikeattn.models.zoo.MODELS`) or a ``.pt2`` file written by
``torch.export.save``; ``DATA`` a built-in name or an ``.npz`` (see :mod:`.data`).  Flat
(default): writes ``DIR/fidelity.json`` (with the counted ``workload``: ``spikeattn energy
DIR/fidelity.json`` costs it), ``DIR/circuit.zip`` and ``DIR/accuracy_vs_T.png``.  ``--structured`` (accumulate mode only; default engine
``torch``): writes ``DIR/model.spikeattn`` (the converted model as data:
:func:`~.structured_model.save_model`, atomic, no pickle), ``DIR/fidelity.json``
(:mod:`.structured_report`: accuracy, agreement and event counts per T, no energy) and
``DIR/accuracy_vs_T.png``.

``predict FILE --data DATA --steps T``: reads a converted model file, predicts the test split
and writes ``--out`` (default ``predict.json`` beside the file): accuracy, predictions, event
counts per sample and the ``workload`` block of :mod:`.structured_report`.

``--max-bytes`` (e.g. ``4G``): the memory limit of the conversion's estimate and, with
``--structured`` and in ``predict``, of the runs' (default: the memory available now); above
it a one-line error names the estimate and the flags that change it.  ``--threads N``: torch's
thread count in this process (recorded as ``threads``).  ``--input-scale S``: the value of one
input count (``convert(input_scale=)``): the circuit's inputs are ``x / S``; where they are
integers on the calibration data they are count messages and the first layer only adds (0 MACs
in accumulate mode), otherwise graded messages that it multiplies.  ``convert`` prints which
(and records it as ``input`` in ``fidelity.json``), with the flag that fixes it.  Registration
imports neither torch nor the converter; the handlers do.
"""
from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from ..cli_types import non_negative_int as _non_negative_int, positive_int as _positive_int
from ..errors import SpikeattnError

MODEL_FILE = "model.spikeattn"
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}



def _positive_float(text: str) -> float:
    """argparse type: a finite number > 0, with a one-line message otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0 (e.g. 0.0625 for x = pixels / 16)")
    return value


def parse_bytes(text: str) -> int:
    """``4G``, ``512M``, ``2.5GiB``, ``1000000``: bytes (K/M/G/T are powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", text)
    if not m or float(m.group(1)) * _UNITS[m.group(2).lower()] < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size in bytes (e.g. 4G, 512M, 1000000)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert a trained torch model into a spiking circuit")
    p.add_argument("model", help="built-in model (digits-vit, recall-transformer, mnist1d-attention) or a .pt2 file")
    p.add_argument("--data", required=True, help="built-in data (digits, recall, mnist1d) or an .npz file")
    p.add_argument("--mode", default="accumulate", choices=["exact", "accumulate", "rate"])
    p.add_argument("--steps", type=_positive_int, default=4, help="largest T evaluated (1, 2, 4, ... up to it)")
    p.add_argument("--levels", type=_positive_int, default=4, help="activation levels L (exact / accumulate)")
    p.add_argument("--epochs", type=_non_negative_int, default=10, help="quantisation-aware fine-tune epochs")
    p.add_argument("--engine", default=None, help="engine of the evaluation (default: numpy; torch with --structured)")
    p.add_argument("--structured", action="store_true",
                   help=f"structured circuit (shared weights, product projections; accumulate mode): writes "
                   f"DIR/{MODEL_FILE}, a model file for 'spikeattn predict'")
    p.add_argument("--batch", type=_positive_int, default=None,
                   help="samples run at once (--structured; default: what fits the memory limit, at most 64)")
    p.add_argument("--max-bytes", type=parse_bytes, default=None,
                   help="memory limit of the conversion's estimate (with --structured also of the runs'), e.g. 4G "
                   "(default: the memory available now)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="torch threads (default: torch's; 1 is fastest on a machine loaded beyond its cores)")
    p.add_argument("--quantise", default=None, choices=["loihi8"],
                   help="loihi8: Loihi fixed point (8-bit weights with per-projection exponents, integer "
                   "neurons, pipelined); accumulate mode only; runs bit-exactly on the numpy and lava engines")
    p.add_argument("--prune", default=None, help="comma-separated: magnitude:F (zero the smallest fraction F of "
                   "every weight matrix), heads:K[/layer] (remove the K least important heads), topk:K[@l] (keep "
                   "the CLS token and the K most attended tokens from layer l on, chosen by a k-WTA spiking stage)")
    p.add_argument("--no-signal-check", action="store_true",
                   help="convert even a model whose quantised form lost the signal (e.g. random weights for a "
                        "cost study); by default such a conversion is refused naming the layer")
    p.add_argument("--input-scale", type=_positive_float, default=1.0, metavar="S",
                   help="value of one input count: the circuit's inputs are x / S (default 1); where x / S is integer "
                   "the first layer only adds (0 MACs in accumulate mode), e.g. 0.0625 for x = pixels / 16")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(handler=cmd_convert)

    p = subparsers.add_parser("predict", help=f"predict a data set with a converted model file ({MODEL_FILE})")
    p.add_argument("file", type=Path, help=f"a {MODEL_FILE} written by 'spikeattn convert ... --structured'")
    p.add_argument("--data", required=True, help="built-in data (digits, recall, mnist1d) or an .npz file; "
                   "its test split is predicted")
    p.add_argument("--steps", type=_positive_int, default=4, help="time steps T")
    p.add_argument("--engine", default="torch", help="engine (default torch)")
    p.add_argument("--batch", type=_positive_int, default=None,
                   help="samples run at once (default: what fits the memory limit, at most 64)")
    p.add_argument("--max-bytes", type=parse_bytes, default=None,
                   help="memory limit of the run's estimate, e.g. 4G (default: the memory available now)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="torch threads (default: torch's; 1 is fastest on a machine loaded beyond its cores)")
    p.add_argument("--out", type=Path, default=None, help="JSON file (default: predict.json beside FILE)")
    p.set_defaults(handler=cmd_predict)


def load_pt2(path):
    from ..errors import require
    from ..models.data import DataError
    torch = require("torch", "torch", "loading .pt2 models")
    import zipfile
    if not Path(path).is_file() or not zipfile.is_zipfile(path):
        raise DataError(f"model file '{path}': is not a .pt2 archive. Fix: write it with torch.export.save.")
    try:
        return torch.export.load(str(path))   # torch.export archives: no pickle of Python objects
    except Exception as exc:  # noqa: BLE001 - any failure of a malformed archive is bad input
        raise DataError(f"model file '{path}': cannot be loaded by torch.export.load "
                        f"({type(exc).__name__}: {str(exc)[:200]}).") from None


RUN_FLAGS = "--batch B (a smaller batch), --steps T (fewer steps), --max-bytes N (another limit, e.g. 8G)"
CONVERT_FLAGS = "--max-bytes N (another limit, e.g. 8G); a DATA.npz with a smaller x_calib"


def _memory_hint(exc, flags: str) -> SpikeattnError:
    """A MemoryLimitError with the command-line flags that act on it."""
    from ..errors import MemoryLimitError
    return MemoryLimitError(f"{exc} On the command line: {flags}.")


def _check_structured_args(args) -> None:
    from ..errors import ParameterError
    if args.mode != "accumulate":
        raise ParameterError("spikeattn convert --structured", "--mode", f"is '{args.mode}': the structured path "
                             "builds accumulate-mode circuits only (no floating-point softmax / LayerNorm host "
                             "stages).", "use --mode accumulate, or drop --structured for the exact and rate modes.")
    if args.quantise:
        raise ParameterError("spikeattn convert --structured", "--quantise", f"'{args.quantise}': Loihi fixed point "
                             "needs flat projections.", "drop --quantise, or drop --structured.")
    if args.prune:
        raise ParameterError("spikeattn convert --structured", "--prune", "is not supported by the structured path "
                             "(yet).", "drop --prune, or drop --structured.")


def _threads() -> int:
    import torch
    return torch.get_num_threads()


def _set_threads(args) -> None:
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)


def _load_inputs(args):
    """(model, name, data) of ``convert``."""
    from ..models.data import load_data
    from ..models.zoo import MODELS, SPECS, load_model
    data = load_data(args.data)
    if args.model in MODELS:
        return load_model(args.model, data if SPECS[args.model]["data"] == args.data else None), args.model, data
    return load_pt2(args.model), Path(args.model).name, data


def cmd_convert(args) -> int:
    from ..engines.base import engine_class
    if args.structured:
        _check_structured_args(args)
    elif args.batch is not None:
        from ..errors import ParameterError
        raise ParameterError("spikeattn convert", "--batch", "applies to --structured only (the flat evaluation "
                             "picks its batch).", "drop --batch, or add --structured.")
    engine = args.engine or ("torch" if args.structured else "numpy")
    engine_class(engine)                     # an unknown engine is refused before anything is converted
    _set_threads(args)
    return (_convert_structured if args.structured else _convert_flat)(args, engine)


def _converted(args, model, data, **kw):
    """``convert()`` with the CLI's arguments; a memory refusal names the flags."""
    import torch

    from ..errors import MemoryLimitError
    from .api import convert
    xtr = data["x_train"]
    from .registry import ConversionError
    try:
        return convert(model, torch.as_tensor(xtr[:2]), steps=args.steps, calib=data["x_calib"], levels=args.levels,
                       train=(xtr, data["y_train"]), epochs=args.epochs, max_bytes=args.max_bytes,
                       signal_check=not args.no_signal_check, input_scale=args.input_scale, **kw)
    except MemoryLimitError as exc:
        raise _memory_hint(exc, CONVERT_FLAGS) from None
    except ConversionError as exc:
        if "signal_check=False" not in str(exc):
            raise
        raise ConversionError(str(exc).replace("convert(signal_check=False)", "--no-signal-check")) from None


def input_handling(kind: str, scale: float, macs: float, integer_ids: bool) -> tuple[dict, str]:
    """(``input`` block of fidelity.json, the line ``convert`` prints) for an input presented as
    ``kind`` messages (``convert()``'s ``meta["input_kind"]``) of ``x / scale``; ``macs`` is the
    conversion's synaptic MACs per sample per step at the largest T."""
    block = {"kind": kind, "scale": float(scale), "first_layer_multiplies": kind != "count" and not integer_ids}
    if integer_ids:
        return block, "input: integer ids (one-hot over the vocabulary): the first layer only adds"
    if kind == "count":
        return block, (f"input: x / {scale:g} is integer on the calibration data: count messages, the first layer "
                       f"only adds (MACs/step in all layers: {macs:g})")
    return block, (f"input: x / {scale:g} is not integer on the calibration data: graded messages, the first layer "
                   f"multiplies (MACs/step in all layers: {macs:g}). For no MACs in accumulate mode give --input-scale S with x / S "
                   "integer (e.g. --input-scale 0.0625 for x = pixels / 16)")


def _input_report(args, sm, data, rep) -> str:
    """Adds the ``input`` block to ``rep``; returns the line to print."""
    macs = rep["macs_per_step"]
    block, line = input_handling(sm.meta["input_kind"], args.input_scale, macs[max(macs, key=int)] if macs else 0.0,
                                 data["x_train"].dtype.kind in "iub")
    rep["input"] = block
    return line


def _convert_flat(args, engine) -> int:
    from ..fileio import atomic_write_json
    from ..ir import save
    from .fidelity import fidelity_report
    from .figures import fidelity_figures
    from .sparsify import parse_prune
    prune = parse_prune(args.prune)
    model, name, data = _load_inputs(args)
    sm = _converted(args, model, data, mode=args.mode, prune=prune or None, quantise=args.quantise)
    rep = fidelity_report(sm, name, data["x_test"], data["y_test"], args.steps, engine=engine)
    if args.quantise:
        from .fidelity import quantisation_report
        rep["quantisation"] = quantisation_report(sm, data["x_test"], data["y_test"], args.steps, rep)
    rep["pruned"] = sm.meta.get("pruned")
    line = _input_report(args, sm, data, rep)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "fidelity.json", rep)
    save(sm.circuit, args.out / "circuit.zip")
    fidelity_figures(rep, args.out)
    print(f"{name} [{args.mode}]: dense {rep['dense_accuracy']:.4f}, spiking {rep['spiking_accuracy']}, "
          f"macs/step {rep['macs_per_step']} -> {args.out / 'fidelity.json'}")
    print(line)
    print(f"energy: spikeattn energy {args.out / 'fidelity.json'}   (costs the counted workload on the chips "
          "and GPUs at batch 1, 64, 1024)")
    return 0


def _convert_structured(args, engine) -> int:
    from ..errors import MemoryLimitError
    from ..fileio import atomic_write_json
    from .fidelity import t_grid
    from .figures import accuracy_vs_T
    from .structured_model import choose_batch, save_model
    from .structured_report import fidelity
    model, name, data = _load_inputs(args)
    xte = data["x_test"]
    sm = _converted(args, model, data, mode="accumulate", structured=True, name=Path(name).stem)
    try:   # the largest T's run is estimated before anything is written or run
        choose_batch(sm, len(xte), t_grid(args.steps)[-1], engine, args.batch, args.max_bytes)
    except MemoryLimitError as exc:
        raise _memory_hint(exc, RUN_FLAGS) from None
    args.out.mkdir(parents=True, exist_ok=True)
    path = save_model(sm, args.out / MODEL_FILE)
    rep = fidelity(sm, name, xte, data["y_test"], args.steps, engine=engine, batch=args.batch,
                   max_bytes=args.max_bytes)
    rep["model_file"], rep["threads"] = MODEL_FILE, _threads()
    line = _input_report(args, sm, data, rep)
    atomic_write_json(args.out / "fidelity.json", rep)
    accuracy_vs_T(rep, args.out)
    T = str(t_grid(args.steps)[-1])
    acc = ", ".join(f"T={k} {v:.4f}" for k, v in rep["spiking_accuracy"].items())
    agree = rep["agreement_with_dense"][T] if rep["agreement_with_dense"] else float("nan")
    print(f"{name} [structured, {engine}]: dense {rep['dense_accuracy']:.4f}, spiking {acc}; agreement with dense "
          f"at T={T} {agree:.4f}; {rep['counts_per_sample'][T]['synaptic_ops']:.4g} synaptic ops per sample "
          f"-> {path}, {args.out / 'fidelity.json'}")
    print(line)
    return 0


def read_model_file(path):
    """:func:`~.structured_model.load_model`, its errors completed with the fix."""
    from ..errors import FileFormatError
    from .structured_model import load_model
    try:
        return load_model(path)
    except FileFormatError as exc:
        msg = str(exc)
        if "Fix:" not in msg:
            msg += (f" Fix: give the {MODEL_FILE} that 'spikeattn convert MODEL --data DATA --structured --out DIR' "
                    "writes (write it again if it was cut short).")
        raise FileFormatError(msg) from None


def cmd_predict(args) -> int:
    import numpy as np

    from ..engines.base import engine_class
    from ..errors import InputError, MemoryLimitError
    from ..fileio import atomic_write_json
    from ..models.data import load_data
    from .structured_report import evaluate, workload
    engine_class(args.engine)
    _set_threads(args)
    model = read_model_file(args.file)
    data = load_data(args.data)
    x, y = data["x_test"], data["y_test"]
    for name, info in model.inputs.items():
        if tuple(x.shape[1:]) != tuple(info["shape"][1:]):
            raise InputError(f"--data {args.data}: x_test has sample shape {tuple(x.shape[1:])}; the model in "
                             f"'{args.file}' takes {tuple(info['shape'][1:])} (input '{name}'). Fix: give the data "
                             "the model was converted on.")
    try:
        row, r = evaluate(model, x, y, args.steps, args.engine, args.batch, args.max_bytes)
    except MemoryLimitError as exc:
        raise _memory_hint(exc, RUN_FLAGS) from None
    out = args.out or args.file.parent / "predict.json"
    doc = {"model_file": str(args.file), "model": model.meta.get("name"), "data": str(args.data),
           "steps": args.steps, "engine": args.engine, "threads": _threads(), "test_samples": int(len(x)),
           "accuracy": row["accuracy"],
           "batch": row["batch"], "memory_estimate_bytes": row["estimate_bytes"], "wall_s": row["wall_s"],
           "counts_per_sample": row["counts_per_sample"], "workload": workload(model, r),
           "predictions": np.asarray(r.predictions).tolist()}
    atomic_write_json(out, doc)
    print(f"{args.file} on {args.data} ({len(x)} test samples), T={args.steps}, engine {args.engine}: accuracy "
          f"{row['accuracy']:.4f} in {row['wall_s']:.2f} s -> {out}")
    return 0
