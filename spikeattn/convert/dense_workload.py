"""The dense model's workload, counted by torch: what a GPU or ANN accelerator would run.

``count_dense(model, inputs)`` runs ``model(**inputs)`` once on torch's ``meta`` device (no
arithmetic, no memory for the values) under ``FlopCounterMode`` and a dispatch-level byte
counter, and returns a JSON-ready dict:

``flops``              matmul-class FLOPs of the pass (``2 * M * N * K`` per matmul; torch's
                       FlopCounterMode, no hand-written formulas);
``flops_by_op``        the same by aten op;
``flops_by_layer``     the same by module (every level of the module tree, as FlopCounterMode
                       reports it; empty for graph modules that keep no hierarchy);
``elementwise_ops``    output elements of every other non-view op (softmax, scaling, ReLU ...);
``weight_bytes``       parameter bytes read (each read counted; views of a parameter are one);
``activation_bytes``   every non-parameter tensor an op reads or writes: the unfused figure;
``attention_map_bytes`` the part of those that are ``(.., N, N)`` maps (``map_shape``);
``io_bytes``           inputs + outputs: what one fully fused kernel still moves;
``kernels``            non-view aten ops: one kernel launch each in an eager forward pass;
``params``, ``dtype_bytes`` (bytes per element, 2 for fp16), ``batch``.

``dense_record(model, example, batches)`` counts a copy of ``model`` at each batch size (the
example's first sample repeated) and returns ``{"name", "batches": {str(b): counts}}``: the
record a converted model's fidelity.json and result.json carry, which
``hardware_models.estimate`` costs on GPUs.  This module is the one place these figures are
counted (``hardware_models.dense_equivalent.count_workload`` calls :func:`count_dense`).
"""
from __future__ import annotations

import copy
import inspect

import numpy as np

from ..errors import require

VIEWS = frozenset({"view", "_unsafe_view", "reshape", "transpose", "t", "expand", "permute", "unsqueeze", "squeeze",
                   "detach", "alias", "slice", "select", "as_strided", "clone_view"})
MATMULS = frozenset({"mm", "bmm", "addmm", "matmul", "baddbmm", "linear"})
RECORD_BATCHES = (1, 2, 64, 1024)


def _torch():
    return require("torch", "torch", "Counting the dense model's workload")


def _byte_counter(torch, params: set, map_shape: tuple | None, dtype_bytes: int):
    from torch.utils._python_dispatch import TorchDispatchMode

    class ByteCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.weight = self.act = self.map = self.elementwise = self.kernels = 0
            self.keep = []                        # hold weight views alive so their ids stay unique

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__
            ins = [a for a in torch.utils._pytree.tree_leaves((args, kwargs)) if isinstance(a, torch.Tensor)]
            outs = [a for a in torch.utils._pytree.tree_leaves(out) if isinstance(a, torch.Tensor)]
            from_param = any(id(t) in params for t in ins)
            if name in VIEWS:                     # a view moves no data; remember views of weights
                if from_param:
                    params.update(id(t) for t in outs)
                    self.keep.extend(outs)
                return out
            self.kernels += 1
            for t in ins:
                if id(t) in params:
                    self.weight += t.numel() * dtype_bytes
                else:
                    self.act += t.numel() * dtype_bytes
            for t in outs:
                self.act += t.numel() * dtype_bytes
                if map_shape and tuple(t.shape[-2:]) == map_shape:
                    self.map += t.numel() * dtype_bytes
            if name not in MATMULS:
                self.elementwise += sum(t.numel() for t in outs)
            return out

    return ByteCounter()


def count_dense(model, inputs: dict, dtype_bytes: int = 2, map_shape: tuple | None = None) -> dict:
    """One forward pass of ``model(**inputs)`` counted on ``meta`` (module docstring).  The
    model is moved to ``meta``: pass a copy if it is still needed."""
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode
    model = model.to("meta")
    inputs = {k: torch.as_tensor(v, dtype=torch.float32).to("meta") for k, v in inputs.items()}
    batch = int(next(iter(inputs.values())).shape[0]) if inputs else 1
    counter = _byte_counter(torch, {id(p) for p in model.parameters()}, map_shape, dtype_bytes)
    flop_mode = FlopCounterMode(display=False)
    with torch.no_grad(), flop_mode, counter:
        out = model(**inputs)
    outs = [t for t in torch.utils._pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]
    counts = flop_mode.get_flop_counts()
    by_op = {str(k): int(v) for k, v in counts.get("Global", {}).items()}
    by_layer = {str(m): int(sum(ops.values())) for m, ops in counts.items() if m != "Global"}
    io = (sum(t.numel() for t in inputs.values()) + sum(t.numel() for t in outs)) * dtype_bytes
    return {"batch": batch, "flops": int(flop_mode.get_total_flops()), "flops_by_op": by_op,
            "flops_by_layer": by_layer, "elementwise_ops": int(counter.elementwise),
            "weight_bytes": int(counter.weight), "activation_bytes": int(counter.act),
            "attention_map_bytes": int(counter.map), "io_bytes": int(io), "kernels": int(counter.kernels),
            "params": int(sum(p.numel() for p in model.parameters())), "dtype_bytes": int(dtype_bytes)}


def dense_record(model, example, name: str = "dense model", batches=RECORD_BATCHES) -> dict:
    """The dense model's workload at each batch size in ``batches`` (module docstring); the
    example's first sample is repeated to make each batch.  A model that cannot be counted on
    ``meta`` gives ``{"name", "error"}`` instead (the error named, nothing hidden)."""
    torch = _torch()
    x = np.asarray(example[:1], np.float32)
    out = {"name": name, "batches": {}, "counted_by": "torch FlopCounterMode + dispatch byte counter, meta device",
           "notes": ["one dense forward pass per batch: the ANN needs no time steps",
                     "FLOPs: matmul-class ops only; softmax, scaling and ReLU are element-wise ops"]}
    try:
        arg = next(iter(inspect.signature(model.forward).parameters))
        for b in batches:
            xb = torch.as_tensor(np.repeat(x, int(b), axis=0))
            out["batches"][str(int(b))] = count_dense(copy.deepcopy(model), {arg: xb})
    except Exception as exc:  # noqa: BLE001 - recorded with its type, not hidden
        return {"name": name, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return out


__all__ = ["count_dense", "dense_record", "RECORD_BATCHES"]
