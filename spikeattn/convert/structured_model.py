"""A structured converted model as data, the pure ``run()``, files and memory estimates.

:class:`StructuredModel` is what ``convert(..., structured=True)`` returns: the structured
circuit (one segment, ``accumulate`` mode), how a model input becomes its sources (``inputs``:
shape, ``count``/``graded``, scale, vocabulary, the element permutation ``perm``), the
readout (an :class:`~.structured_affine.SValue` of recorded outputs, evaluated on the host on
the step mean: logits are linear in the outputs), and ``quant_views`` (graph quantiser ->
population and view).  It holds no results: :func:`run` returns them.

:func:`run` ``(model, x, steps, engine, batch=None, max_bytes=None)`` works for structured
models and for the flat :class:`~.spiking.SpikingModel` alike and returns a :class:`RunResult`:
``logits`` (the step mean, ``(n, ...)``), ``counts`` (one :class:`~spikeattn.counts.EventCounts`
over every segment, batches concatenated) and ``segments`` (per segment: name, counts, wall
time).  Before anything is allocated it estimates the bytes a batch needs (the expansion of
the structured circuit for engines that do not run it natively, the recorded outputs, the
neuron state) and picks the batch; if even one sample does not fit under ``max_bytes``
(default: the memory available now) it raises :class:`~spikeattn.errors.MemoryLimitError`
naming the estimate and the fix.

Files (:func:`save_model` / :func:`load_model`): one zip, written to a temporary file and
renamed (:func:`spikeattn.fileio.atomic_write_bytes`): ``model.json`` (format
``spikeattn.converted``, version 1: the circuit's JSON from :mod:`spikeattn.ir.serialize`,
the input encodings, the readout, the quantiser views, the metadata) and ``arrays/*.npy``
written with ``allow_pickle=False`` and read back by the defensive reader of
:mod:`spikeattn.ir.zipread` (no pickle, sizes checked before allocating).  The torch modules
(dense and quantised ANN) are not part of the file.
"""
from __future__ import annotations

import io
import json
import math
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..counts import ElementCounts, EventCounts
from ..errors import FileFormatError, InputError, MemoryLimitError, SpikeattnError
from ..validation import available_bytes
from .spiking import passes_as_steps
from .structured_affine import Flat, Kron, SValue, evaluate

FORMAT = "spikeattn.converted"
FORMAT_VERSION = 1


# --------------------------------------------------------------------------- the model
class StructuredModel:
    """A converted model whose circuit is structured (see the module docstring)."""

    mode = "accumulate"

    def __init__(self, circuit, inputs: dict, output: SValue, levels: int, meta: dict | None = None,
                 quant_views: dict | None = None, attention=None, quantised=None, dense=None):
        self.circuit, self.inputs, self.output, self.levels = circuit, inputs, output, int(levels)
        self.meta = dict(meta or {})
        self.quant_views = dict(quant_views or {})
        self.attention = list(attention or [])
        self.quantised, self.dense = quantised, dense

    @property
    def host_stages(self) -> list[str]:
        return []

    @property
    def readout_nodes(self) -> list[str]:
        return self.output.nodes()

    def encode(self, x) -> dict:
        """Model inputs ``(n, ...)`` -> ``{source: (n, size)}``: float64 values, or a bool
        one-hot of the token ids for a vocabulary input (the same messages, an eighth of the
        bytes: GPT-2's (128 x 50257) per sample and step)."""
        x = np.asarray(x)
        out = {}
        for name, info in self.inputs.items():
            if x.shape[1:] != tuple(info["shape"][1:]):
                raise InputError(f"run(): x has sample shape {x.shape[1:]}; the model takes "
                                 f"{tuple(info['shape'][1:])}.")
            raw = x.reshape(len(x), -1)
            perm = info["perm"]
            if info["vocab"]:
                ids = raw.astype(np.int64)
                if perm is not None:
                    ids = np.where(perm[None] >= 0, ids[:, np.maximum(perm, 0)], -1)
                n_pos, V = ids.shape[1], info["vocab"]
                oh = np.zeros((len(x), n_pos, V), bool)     # one byte per (position, word)
                live = ids >= 0
                b, p = np.nonzero(live)
                oh[b, p, ids[b, p]] = True
                out[name] = oh.reshape(len(x), -1)
            else:
                v = raw.astype(np.float64) / info["scale"]
                if perm is not None:
                    v = np.where(perm[None] >= 0, v[:, np.maximum(perm, 0)], 0.0)
                out[name] = v
        return out

    def summary(self) -> dict:
        """Neurons, stored numbers (the parameters the circuit holds: weights, index arrays,
        scales, masks; never an expansion), structured and flat projections, and the synapses
        of the neuron-level equivalent (product terms counted once)."""
        from ..ir.structured import StructuredProjection
        c = self.circuit
        stored, weights, kinds = 0, 0, {}
        for p in c.projections.values():
            if isinstance(p, StructuredProjection):
                arrs = p.arrays()
                stored += sum(int(a.size) for a in arrs.values())
                weights += int(np.size(getattr(p, "weights", 0))) if p.kind in ("shared", "conv", "index") else 0
                kinds[p.kind] = kinds.get(p.kind, 0) + 1
            else:
                n = int(p.weights.nnz) if p.sparse else int(p.weights.size)
                stored += n * (2 if p.sparse else 1)
                weights += n
                kinds["flat"] = kinds.get("flat", 0) + 1
        neuron_params = sum(int(np.size(getattr(pop.model, "bias", 0))) for pop in c.populations.values())
        return {"neurons": sum(p.size for p in c.populations.values()),
                "sources": sum(s.size for s in c.sources.values()),
                "populations": len(c.populations), "projections": kinds, "stored_weights": weights,
                "stored_numbers": stored + neuron_params,
                "synapses": sum(p.synapse_count() for p in c.projections.values())}

    def predict(self, x, steps: int = 4, engine: str = "numpy", batch: int | None = None, **kw) -> np.ndarray:
        return run(self, x, steps=steps, engine=engine, batch=batch, **kw).predictions

    def quantised_predict(self, x) -> np.ndarray | None:
        if self.quantised is None:
            return None
        import torch
        with torch.no_grad():
            xt = torch.as_tensor(np.asarray(x))
            xt = xt.double() if xt.is_floating_point() else xt
            return self.quantised.double()(xt).reshape(len(xt), -1).argmax(-1).numpy()


# --------------------------------------------------------------------------- results
@dataclass
class SegmentResult:
    name: str
    counts: EventCounts
    wall_s: float


@dataclass
class RunResult:
    """``logits``: the step mean ``(n, ...)``; ``counts``: every segment's EventCounts in one
    (batches concatenated); ``segments``: per segment; ``batch``: the batch used."""

    logits: np.ndarray
    counts: EventCounts
    segments: list = field(default_factory=list)
    steps: int = 0
    engine: str = ""
    batch: int = 0
    wall_s: float = 0.0
    estimate_bytes: int = 0

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.reshape(len(self.logits), -1).argmax(axis=1)


def concat_batches(parts: list) -> EventCounts:
    """EventCounts of successive batches (same steps and elements) as one, batches joined."""
    if len(parts) == 1:
        return parts[0]
    steps = parts[0].steps
    out = EventCounts(steps, sum(p.batch for p in parts))
    for name, el in parts[0].elements.items():
        out.elements[name] = ElementCounts(el.kind, {f: np.concatenate([p.elements[name].fields[f] for p in parts],
                                                                       axis=1) for f in el.fields}, dict(el.meta))
    return out


def _merge_segments(counts: list) -> EventCounts:
    out = EventCounts(counts[0].steps, counts[0].batch)
    for c in counts:
        for n, e in c.elements.items():
            out.elements[n] = e
    return out


# --------------------------------------------------------------------------- memory
def product_gates(circuit) -> tuple[int, int]:
    """(line neurons, gate neurons) the expansion adds for the circuit's products."""
    from ..ir.expand import product_combos, levels_of
    from ..ir.structured import ProductProjection
    lines = gates = 0
    for p in circuit.projections.values():
        if isinstance(p, ProductProjection):
            La, sa = levels_of(circuit.node(p.pre))
            Lb, sb = levels_of(circuit.node(p.pre_b))
            lines += (2 if sa else 1) * La * math.prod(p.pre_shape)
            gates += len(product_combos(La, sa, sb)) * p.terms
    return lines, gates


def estimate_run(model, steps: int, engine: str) -> tuple[int, int, str]:
    """``(fixed bytes, bytes per sample, what)`` of a run of ``model`` on ``engine``."""
    from ..engines.base import engine_class
    c = model.circuit
    cls = engine_class(engine)
    neurons = sum(p.size for p in c.populations.values())
    src = sum(s.size for s in c.sources.values())
    # bytes of the encoded inputs per step: one per element of a token one-hot (bool), else eight
    src_bytes = sum(s.size * (1 if model.inputs.get(n, {}).get("vocab") else 8) for n, s in c.sources.items())
    if cls.runs_structured or not c.structured:
        from ..ir.structured import StructuredProjection
        stored = 0
        post_tmp = 0     # a projection's temporaries live while it emits: the largest one's
        for p in c.projections.values():
            if isinstance(p, StructuredProjection):
                stored += sum(int(a.size) for a in p.arrays().values())
                post_tmp = max(post_tmp, 4 * math.prod(p.post_shape))
            else:
                stored += 2 * (int(p.weights.nnz) if p.sparse else int(p.weights.size))
        rec = sum(c.node(n).size for n in model.readout_nodes if n in c.populations)
        rings = sum((p.delay + 1) * (8 * c.node(p.post).size + sum(c.node(q).size for q in dict.fromkeys(
            p.pres if isinstance(p, StructuredProjection) else (p.pre,)))) for p in c.projections.values())
        fixed = 8 * stored
        # per neuron: its state and output (3 float64) and the output's mask; a population's
        # step temporaries (6 state-sized) live while it updates: the largest population's
        largest = max((p.size for p in c.populations.values()), default=0)
        kept = rec if "record" in (getattr(cls, "options_allowed", None) or ()) else neurons
        per = rings + steps * src_bytes + 8 * (steps * kept + 3 * neurons + 6 * largest + post_tmp) + neurons
        return fixed, per, "structured run"
    from ..ir.expand import estimate_expand_bytes
    lines, gates = product_gates(c)
    n_exp = neurons + lines + gates
    fixed = estimate_expand_bytes(c)
    per = 8 * (steps * (src + n_exp) + 12 * n_exp)
    return fixed, per, "neuron-level expansion"


def _limit(max_bytes):
    return available_bytes() if max_bytes is None else int(max_bytes)


def choose_batch(model, n: int, steps: int, engine: str, batch: int | None, max_bytes=None) -> tuple[int, int]:
    """The batch to run (``batch`` if given) and its estimated bytes; MemoryLimitError if it
    does not fit."""
    fixed, per, what = estimate_run(model, steps, engine)
    limit = _limit(max_bytes)
    if batch is None:
        b = max(1, min(n, 64, int((0.5 * limit - fixed) // max(per, 1)) if limit is not None else 64))
    else:
        b = int(batch)
    need = fixed + per * b
    if limit is not None and need > limit:
        raise MemoryLimitError(
            f"run(): {b} sample(s) at steps={steps} on engine '{engine}' ({what}) need about {need:,} bytes "
            f"({need / 2**30:.3g} GiB: {fixed:,} fixed + {per:,} per sample), more than the limit of "
            f"{limit / 2**30:.3g} GiB. Fix: a smaller batch, fewer steps, "
            + ("" if what == "structured run" else "engine='torch' (runs the structured circuit without expanding "
               "it), ") + "or a smaller model.")
    return b, need


# --------------------------------------------------------------------------- run
def run(model, x, steps: int = 4, engine: str = "numpy", batch: int | None = None, max_bytes: int | None = None,
        options: dict | None = None) -> RunResult:
    """Run a converted model (structured or flat) on ``x``; see the module docstring.  The
    model object is not modified."""
    from .spiking import SpikingModel
    if isinstance(model, SpikingModel):
        return _run_flat(model, x, steps, engine, batch, options)
    if not isinstance(model, StructuredModel):
        raise InputError(f"run(): model is a {type(model).__name__}; expected a converted model.")
    from ..engines.base import engine_class
    from ..simulate import simulate
    x = np.asarray(x)
    n = len(x)
    b, need = choose_batch(model, n, steps, engine, batch, max_bytes)
    cls = engine_class(engine)
    circuit = model.circuit
    if circuit.structured and not cls.runs_structured:
        circuit = circuit.expand(max_bytes=_limit(max_bytes))
    need_nodes = [nd for nd in model.readout_nodes]
    opts = dict(options or {})
    if "record" in (getattr(cls, "options_allowed", None) or ()) and "record" not in opts:
        opts["record"] = [nd for nd in need_nodes if nd in circuit.populations or nd in circuit.sources]
    sums: dict = {nd: [] for nd in need_nodes}
    counts, wall = [], 0.0
    t0 = time.perf_counter()
    for i in range(0, n, b):
        inputs = model.encode(x[i:i + b])
        r = simulate(circuit, inputs, steps=steps, engine=engine, **opts)
        wall += r.wall_s
        for nd in need_nodes:
            sums[nd].append(np.asarray(r.spikes[nd], np.float64).sum(axis=0) if nd in r.spikes
                            else steps * inputs[nd])
        counts.append(r.counts)
    outs = {nd: np.concatenate(v) / steps for nd, v in sums.items()}
    sizes = {nd: model.circuit.node(nd).size for nd in need_nodes}
    logits = evaluate(model.output, outs, sizes).reshape((n,) + tuple(model.output.shape[1:]))
    total = concat_batches(counts)
    return RunResult(logits, total, [SegmentResult(model.circuit.name, total, wall)], steps, engine, b,
                     time.perf_counter() - t0, need)


def _run_flat(model, x, steps, engine, batch, options) -> RunResult:
    """:meth:`SpikingModel.run` without storing anything on the model."""
    from ..simulate import simulate
    from .spiking import input_window
    prog = model.program
    x = np.asarray(x)
    if batch is None:
        batch = model._default_batch(steps)
    if model.mode == "exact" and steps > 1:   # every step a fresh pass (SpikingModel.run): T one-step passes
        t0 = time.perf_counter()
        parts = [_run_flat(model, np.concatenate([x[i:i + batch]] * steps), 1, engine, steps * len(x[i:i + batch]),
                           options) for i in range(0, len(x), batch)]
        logits = np.concatenate([p.logits.reshape((steps, -1) + p.logits.shape[1:]).mean(axis=0) for p in parts])
        segs = [SegmentResult(s0.name, concat_batches([passes_as_steps(p.segments[k].counts, steps) for p in parts]),
                              sum(p.segments[k].wall_s for p in parts)) for k, s0 in enumerate(parts[0].segments)]
        return RunResult(logits, _merge_segments([s.counts for s in segs]), segs, steps, engine, batch,
                         time.perf_counter() - t0, 0)
    need = model._needed()
    lat = prog.latency
    sim_steps = steps + (max(lat.values()) if lat else 0)
    outs, seg_counts, seg_wall = [], [[] for _ in prog.segments], [0.0] * len(prog.segments)
    t0 = time.perf_counter()
    for i in range(0, len(x), batch):
        rec = {k: np.broadcast_to(v, (steps,) + v.shape) for k, v in model._encode(x[i:i + batch]).items()}
        nb = len(x[i:i + batch])
        for k, seg in enumerate(prog.segments):
            inputs = {}
            for src in seg.circuit.sources:
                if src in rec and src in prog.inputs:
                    inputs[src] = rec[src][0] if not lat else input_window(rec[src][0], steps, sim_steps)
                elif src in prog.constants:
                    inputs[src] = input_window(np.broadcast_to(prog.constants[src], (nb, seg.circuit.node(src).size)),
                                               steps, sim_steps)
                elif src in seg.proxies:
                    inputs[src] = rec[seg.proxies[src]]
                else:
                    h = seg.host[src]
                    inputs[src] = rec[src] = h.fn(*[a.evaluate(rec) for a in h.inputs])
            r = simulate(seg.circuit, inputs, steps=sim_steps, engine=engine, **(options or {}))
            seg_counts[k].append(r.counts)
            seg_wall[k] += r.wall_s
            for pop in seg.circuit.populations:
                if pop in need:
                    d = lat.get(pop, 0)
                    rec[pop] = r.spikes[pop][d:d + steps]
        outs.append(prog.output.evaluate(rec))
    logits = np.concatenate(outs, axis=1).mean(axis=0)
    segs = [SegmentResult(seg.circuit.name, concat_batches(c), w) for seg, c, w in zip(prog.segments, seg_counts,
                                                                                        seg_wall)]
    return RunResult(logits, _merge_segments([s.counts for s in segs]), segs, steps, engine, batch,
                     time.perf_counter() - t0, 0)


# --------------------------------------------------------------------------- memory of a conversion
def _numel_per_sample(val, batch: int = 1) -> int:
    """Elements of a graph tensor for one sample: symbolic (batch) dimensions count as 1, and
    a graph exported with a static batch ``batch > 1`` is divided by it."""
    shape = getattr(val, "shape", None)
    if shape is None:
        return 0
    n, static = 1, []
    for s in shape:
        try:
            s = int(s)
        except (TypeError, ValueError, RuntimeError):
            continue
        n *= s
        static.append(s)
    return n // batch if batch > 1 and batch in static else n


def estimate_convert_bytes(ep, n_calib: int, structured: bool, max_terms: int | None = 4) -> dict:
    """Bytes a conversion will need, from the exported graph's shapes before anything is
    prepared, calibrated or walked: ``{"torch", "calibration", "circuit", "total"}`` (and the
    ``params`` and per-sample ``activations`` it read).

    * torch: the parameters in the copies convert() keeps (exported, dense, prepared, float64
      re-export): 28 bytes per parameter;
    * calibration: a batch of at most 256 samples through the float32 model, about eight
      tensors of the largest activation alive at once, plus the quantisers' observations;
    * circuit, structured: 8 bytes per number: ``5 x params`` (each weight matrix composed
      into a few terms, relay pairs, the walk's intermediate products; 2-3 x params are
      stored for ViT-S and GPT-2 shapes) plus ``4 x`` the
      activations of one sample (neuron biases, views, masks, the walk's live values);
      flat: a lower bound of its matrices, ``16 x tokens x in x out`` bytes per linear layer
      (the per-token copies) and ``64`` bytes per product gate."""
    P = sum(int(v.numel()) for v in ep.state_dict.values()) + sum(
        int(v.numel()) for v in getattr(ep, "constants", {}).values() if hasattr(v, "numel"))
    ph = [n for n in ep.graph.nodes if n.op == "placeholder" and n.name not in ep.graph_signature.parameters
          and n.name not in ep.graph_signature.buffers and n.name not in getattr(ep.graph_signature, "lifted_tensor_constants", ())]
    b0 = 1
    if ph and hasattr(ph[-1].meta.get("val"), "shape") and len(ph[-1].meta["val"].shape):
        try:
            b0 = int(ph[-1].meta["val"].shape[0])
        except (TypeError, ValueError, RuntimeError):
            b0 = 1
    A = big = lin = prods = quants = 0
    live = {ph[-1].name} if ph else set()        # nodes that depend on the input (activations, not weights)
    for node in ep.graph.nodes:
        if node.op == "placeholder" or not any(a.name in live for a in node.all_input_nodes):
            continue
        live.add(node.name)
        val = node.meta.get("val")
        n = _numel_per_sample(val, b0) if hasattr(val, "shape") else 0
        A += n
        big = max(big, n)
        t = str(node.target) if node.op == "call_function" else ""
        if "linear" in t and len(node.args) > 1 and hasattr(node.args[1], "meta"):
            w = node.args[1].meta.get("val")
            if w is not None and hasattr(w, "shape") and len(w.shape) == 2:
                lin += max(n // max(int(w.shape[0]), 1), 1) * int(w.shape[0]) * int(w.shape[1])
        if any(k in t for k in ("matmul", "bmm", "scaled_dot_product", "relu", "gelu", "softmax")):
            quants += 1
            a = node.args[0].meta.get("val") if node.args and hasattr(node.args[0], "meta") else None
            if "relu" not in t and "gelu" not in t and "softmax" not in t and hasattr(a, "shape") and len(a.shape) >= 2:
                prods += n * int(a.shape[-1])
    B = max(1, min(256, int(n_calib)))
    parts = {"torch": 28 * P, "calibration": 4 * B * 8 * big + 8 * 20000 * 2 * quants * max(1, -(-int(n_calib) // 256))}
    parts["circuit"] = 8 * (5 * P + 4 * A) if structured else 16 * lin + 64 * prods
    parts["total"] = parts["torch"] + parts["calibration"] + parts["circuit"]
    parts["params"], parts["activations"] = P, A
    return parts


def check_convert_memory(ep, n_calib: int, structured: bool, max_bytes=None, max_terms=4) -> dict:
    est = estimate_convert_bytes(ep, n_calib, structured, max_terms)
    limit = _limit(max_bytes)
    if limit is not None and est["total"] > limit:
        fix = ("a smaller calibration set or a smaller model" if structured else
               "convert(..., structured=True) (shared weights, no per-token copies), or a smaller model")
        raise MemoryLimitError(
            f"convert(): this conversion needs about {est['total']:,} bytes ({est['total'] / 2**30:.3g} GiB: torch "
            f"copies {est['torch']:,}, calibration {est['calibration']:,}, circuit {est['circuit']:,}; "
            f"{est['params']:,} parameters, {est['activations']:,} activations per sample), more than the limit of "
            f"{limit / 2**30:.3g} GiB. Nothing was allocated. Fix: {fix}.")
    return est


# --------------------------------------------------------------------------- files
class _Arrays:
    def __init__(self):
        self.store: dict[str, np.ndarray] = {}

    def put(self, arr) -> dict:
        key = f"m{len(self.store)}"
        self.store[key] = np.ascontiguousarray(arr)
        return {"array": key}


def _mat_doc(M, arrays: _Arrays) -> dict:
    if sp.issparse(M):
        M = sp.csr_matrix(M)
        return {"format": "csr", "shape": list(M.shape), "data": arrays.put(M.data), "indices": arrays.put(M.indices),
                "indptr": arrays.put(M.indptr)}
    return {"format": "dense", "data": arrays.put(np.asarray(M, np.float64))}


def _value_doc(v: SValue, arrays: _Arrays) -> dict:
    terms = []
    for t in v.terms:
        if isinstance(t, Kron):
            terms.append({"type": "kron", "node": t.node, "n_in": int(t.n_in), "coef": float(t.coef),
                          "W": _mat_doc(t.W, arrays), "A": None if t.A is None else _mat_doc(t.A, arrays)})
        elif isinstance(t, Flat):
            terms.append({"type": "flat", "node": t.node, "M": _mat_doc(t.M, arrays)})
        else:
            raise SpikeattnError("save_model(): the readout holds an unrelayed product (a bug).")
    return {"shape": list(v.shape), "G": int(v.G), "F": int(v.F), "terms": terms,
            "index": None if v.index is None else arrays.put(v.index), "bias": arrays.put(v.bias)}


def save_model(model: StructuredModel, path) -> Path:
    """Write ``model`` (see the module docstring) atomically; returns the path."""
    from ..fileio import atomic_write_bytes, check_path
    from ..ir.serialize import circuit_to_dict
    from ..validation import check_json_value
    if not isinstance(model, StructuredModel):
        raise SpikeattnError(f"save_model(): model is a {type(model).__name__}; a structured converted model "
                             "(convert(..., structured=True)) is data, a flat one is not (yet).")
    path = check_path(path, "save_model(): path")
    model.circuit.validate()
    cdoc, carrays = circuit_to_dict(model.circuit)
    cdoc["meta"] = check_json_value(f"circuit '{model.circuit.name}'", model.circuit.meta)
    arrays = _Arrays()
    inputs = {}
    for name, info in model.inputs.items():
        inputs[name] = {"shape": list(info["shape"]), "kind": info["kind"], "scale": float(info["scale"]),
                        "vocab": info["vocab"], "perm": None if info["perm"] is None else arrays.put(info["perm"])}
    views = {g: [pop, None if pos is None else arrays.put(pos)] for g, (pop, pos) in model.quant_views.items()}
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": "structured", "mode": model.mode,
           "levels": model.levels, "meta": check_json_value("model meta", model.meta),
           "circuit": cdoc, "inputs": inputs, "output": _value_doc(model.output, arrays), "quant_views": views,
           "attention": [[a, list(s), float(vt)] for a, s, vt in model.attention]}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.json", json.dumps(doc, indent=1, allow_nan=False))
        for key, a in [("c_" + k, v) for k, v in carrays.items()] + list(arrays.store.items()):
            b = io.BytesIO()
            np.save(b, np.asarray(a), allow_pickle=False)
            zf.writestr(f"arrays/{key}.npy", b.getvalue())
    return atomic_write_bytes(path, buf.getvalue())


def load_model(path) -> StructuredModel:
    """Read a file written by :func:`save_model`; anything wrong raises
    :class:`~spikeattn.errors.FileFormatError` naming the file and the member."""
    from ..ir.serialize import circuit_from_dict
    from ..ir.zipread import FileDoc, open_zip, read_arrays, read_json, short
    if not isinstance(path, (str, os.PathLike)):
        raise FileFormatError(f"load_model(): path is {path!r}; give the path of a converted model file.")
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"converted model file '{short(path)}' does not exist.")
    with open_zip(path) as zf:
        doc = read_json(zf, path, "model.json")
        fd = FileDoc(path, "model.json")
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise fd.error(None, "is not a spikeattn converted model (format "
                           f"{short(repr(doc.get('format') if isinstance(doc, dict) else doc), 40)}).")
        ver = doc.get("format_version")
        if not isinstance(ver, int) or isinstance(ver, bool) or not 1 <= ver <= FORMAT_VERSION:
            raise fd.error("format_version", f"is {short(repr(ver), 40)}; this spikeattn reads 1 to {FORMAT_VERSION}.",
                           "upgrade spikeattn to read it." if isinstance(ver, int) and ver > FORMAT_VERSION else None)
        arrays = read_arrays(zf, path)
    try:
        carrays = {k[2:]: a for k, a in arrays.items() if k.startswith("c_")}
        circuit = circuit_from_dict(doc["circuit"], carrays, path)

        def arr(ref):
            if ref is None:
                return None
            if not isinstance(ref, dict) or ref.get("array") not in arrays:
                raise fd.error(None, f"refers to a missing array {short(repr(ref), 40)}; the file is incomplete.")
            return arrays[ref["array"]]

        def mat(d):
            if d is None:
                return None
            if d["format"] == "csr":
                return sp.csr_matrix((arr(d["data"]), arr(d["indices"]), arr(d["indptr"])), shape=tuple(d["shape"]))
            return arr(d["data"])

        def value(d):
            terms = []
            for t in d["terms"]:
                if t["type"] == "kron":
                    terms.append(Kron(t["node"], int(t["n_in"]), mat(t["W"]), mat(t["A"]), float(t["coef"])))
                elif t["type"] == "flat":
                    terms.append(Flat(t["node"], mat(t["M"])))
                else:
                    raise fd.error("output.terms", f"unknown term type {short(repr(t['type']), 30)}.")
                if terms[-1].node not in circuit.graph:
                    raise fd.error("output.terms", f"reads node '{short(terms[-1].node, 60)}', not in the circuit.")
            idx = arr(d["index"])
            return SValue(tuple(d["shape"]), int(d["G"]), int(d["F"]), terms,
                          None if idx is None else idx.astype(np.int64), arr(d["bias"]))

        inputs = {}
        for name, info in doc["inputs"].items():
            if name not in circuit.sources:
                raise fd.error(f"inputs.{name}", "is not a source of the circuit.")
            perm = arr(info["perm"])
            inputs[name] = {"shape": tuple(info["shape"]), "kind": info["kind"], "scale": float(info["scale"]),
                            "vocab": info["vocab"], "perm": None if perm is None else perm.astype(np.int64)}
        views = {g: (pop, None if ref is None else arr(ref).astype(np.int64)) for g, (pop, ref) in
                 doc["quant_views"].items()}
        model = StructuredModel(circuit, inputs, value(doc["output"]), doc["levels"], doc.get("meta", {}), views,
                                [(a, tuple(s), vt) for a, s, vt in doc.get("attention", [])])
    except FileFormatError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise FileFormatError(f"converted model file '{short(path)}' member model.json: malformed "
                              f"({type(exc).__name__}: {short(exc, 120)}).") from None
    return model
