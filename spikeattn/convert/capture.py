"""Graph capture with ``torch.export`` and the walk of the ATen graph into a Program.

``capture(model, example)`` exports ``model`` (eval mode) with a dynamic batch dimension
(falling back to a static one) and returns the ``ExportedProgram``; an ExportedProgram with
a static batch is re-exported with a dynamic one where its graph allows
(:func:`redynamise`); functional code
(``F.scaled_dot_product_attention``, ``matmul``, residual ``+``, ``cat``, CLS tokens) is
visible as ATen ops.  ``walk(gm, example, program, ctx)`` evaluates the graph of one
sample (:func:`walk_graph`, shared with the structured walk): constants are folded by torch, every op that touches a circuit value goes to its
registered converter, and an op without one raises :class:`UnsupportedOpError` naming the
op, its module path and source line, and the supported ops.
"""
from __future__ import annotations

import operator

import numpy as np

from ..errors import ParameterError, require
from . import registry
from .affine import Affine
from .values import IntInput, any_var

#: Python operators on plain numbers (shapes, sizes) in an exported graph, evaluated directly
BUILTINS = {operator.mul, operator.add, operator.sub, operator.floordiv, operator.truediv, operator.neg,
             operator.getitem}


def capture(model, example):
    """``torch.export`` the model with a dynamic batch (from ``example[:2]``), else with the
    static batch of ``example``; an ExportedProgram is returned unchanged."""
    torch = require("torch", "torch", "spikeattn.convert")
    if isinstance(model, torch.export.ExportedProgram):
        return model
    model = model.eval()
    try:
        return torch.export.export(model, (example[:2],),
                                   dynamic_shapes=({0: torch.export.Dim("batch", max=1 << 20)},))
    except Exception:  # noqa: BLE001 - models whose code fixes the batch size export statically
        pass
    try:
        return torch.export.export(model, (example,))
    except Exception as exc:  # noqa: BLE001 - torch's reason, with the element and the fix
        raise ParameterError("convert()", "example_input", f"torch.export cannot export the model with an example "
                             f"of shape {tuple(example.shape)}: {type(exc).__name__}: {str(exc)[:300]}",
                             "give an example batch the model's forward accepts (the shape of its training "
                             "inputs).") from exc


def static_batch(ep):
    """The static batch size of an ExportedProgram's (first) user input, or None if dynamic."""
    sig = ep.graph_signature
    ph = [n for n in ep.graph.nodes if n.op == "placeholder" and n.name not in sig.inputs_to_parameters
          and n.name not in sig.inputs_to_buffers and n.name not in getattr(sig, "inputs_to_lifted_tensor_constants", {})]
    val = ph[0].meta.get("val") if ph else None
    if val is None or not getattr(val, "shape", None) or not isinstance(val.shape[0], int):
        return None
    return int(val.shape[0])


def redynamise(ep, example):
    """``ep`` (a static batch) re-exported with a dynamic batch dimension, or None when its
    graph fixes the batch (a ``view`` to ``(B, T, C)``, an ``expand`` of a CLS token ...).
    ``example`` is repeated to two samples: torch specialises a batch of one."""
    torch = require("torch", "torch", "spikeattn.convert")
    two = torch.cat([example[:1], example[:1]]) if len(example) < 2 else example[:2]
    gm = ep.module()
    for node in list(gm.graph.nodes):          # the static export's guard on the input's shape
        if node.op == "call_module" and str(node.target).startswith("_guards"):
            gm.graph.erase_node(node)
    gm.recompile()
    try:
        return torch.export.export(gm, (two,), dynamic_shapes=({0: torch.export.Dim("batch", max=1 << 20)},))
    except Exception:  # noqa: BLE001 - any export failure means: the graph fixes the batch
        return None


def where(node) -> str:
    """``module path (source line)`` of an FX node, for error messages."""
    stack = node.meta.get("nn_module_stack") or {}
    path = list(stack.values())[-1][0] if stack else "<top level>"
    trace = (node.meta.get("stack_trace") or "").strip().splitlines()
    line = ""
    for i, l in enumerate(trace):
        if l.strip().startswith("File "):
            line = l.strip() + (" : " + trace[i + 1].strip() if i + 1 < len(trace) else "")
    return f"module '{path}'" + (f", {line}" if line else "")


class Context:
    """What converters see: the program under construction, the graph module, the mode."""

    def __init__(self, program, gm, mode: str):
        self.program, self.gm, self.mode = program, gm, mode
        self.node = None

    def fail(self, problem: str, fix: str | None = None):
        op = registry.op_key(self.node.target) if self.node is not None else "?"
        msg = f"op '{op}' at {where(self.node)}: {problem}"
        raise registry.ConversionError(msg + (f" Fix: {fix}" if fix else ""))


def walk(gm, example, program, ctx, input_kind: str = "graded", input_scale: float = 1.0):
    """Convert ``gm`` (one sample: ``example`` has batch 1) into ``program``; returns the
    output value (the first output)."""
    def input_value(shape):
        src = program.add_input(shape, kind=input_kind, scale=input_scale)
        return Affine.node(src, shape, scale=input_scale)

    def convert_op(node, key, args, kwargs):
        fn = registry.lookup(node.target)
        if fn is None:
            raise registry.UnsupportedOpError(
                f"op '{key}' at {where(node)} has no spiking converter. Supported ops: "
                f"{', '.join(registry.supported_ops())}. Fix: register one with "
                "spikeattn.convert.register_op, or rewrite that part of the model.")
        return fn(ctx, node, *args, **kwargs)

    return walk_graph(gm, example, ctx, input_value, any_var, convert_op)


def walk_graph(gm, example, ctx, input_value, any_var, convert_op, drop_dead: bool = False):
    """The walk both converters share: evaluate the exported graph ``gm`` of one sample node
    by node and return its (first) output.

    The value types are the caller's hooks: ``input_value(shape)`` is the circuit value of a
    floating-point model input (an integer input is an :class:`~.values.IntInput`),
    ``any_var(x)`` says whether ``x`` (a value or nested lists of them) holds a circuit value,
    and ``convert_op(node, key, args, kwargs)`` converts an op that touches one.  Python
    operators on plain numbers (:data:`BUILTINS`) and ops on constants only are evaluated by
    torch; asserts are skipped.  ``drop_dead``: a value is dropped once its last reader ran
    (memory)."""
    torch = require("torch", "torch", "spikeattn.convert")
    env: dict = {}

    def load(a):
        if isinstance(a, torch.fx.Node):
            return env[a.name]
        if isinstance(a, (list, tuple)):
            return type(a)(load(e) for e in a)
        return a

    def to_torch(a):
        if isinstance(a, np.ndarray):
            return torch.from_numpy(a)
        if isinstance(a, (list, tuple)):
            return type(a)(to_torch(e) for e in a)
        return a

    def to_np(r):
        if isinstance(r, torch.Tensor):
            return r.detach().cpu().numpy().copy() if r.dtype != torch.bfloat16 else r.float().numpy()
        if isinstance(r, (list, tuple)):
            return type(r)(to_np(e) for e in r)
        return r

    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    last_use: dict = {}
    if drop_dead:
        for node in gm.graph.nodes:
            for a in node.all_input_nodes:
                last_use[a.name] = node
    prev = None
    for node in gm.graph.nodes:
        ctx.node = node
        if prev is not None:                    # values nobody reads any more are dropped (memory)
            for a in prev.all_input_nodes:
                if last_use.get(a.name) is prev:
                    env.pop(a.name, None)
        prev = node if drop_dead else None
        if node.op == "placeholder":
            if node is not placeholders[0]:
                raise registry.ConversionError(f"input '{node.name}': models with more than one input do not "
                                               "convert. Fix: wrap the model so that it takes one tensor.")
            shape = tuple(example.shape)
            if example.dtype in (torch.int64, torch.int32, torch.long):
                env[node.name] = IntInput(shape)
            else:
                env[node.name] = input_value(shape)
        elif node.op == "get_attr":
            obj = gm
            for part in str(node.target).split("."):
                obj = getattr(obj, part)
            env[node.name] = to_np(obj) if isinstance(obj, torch.Tensor) else obj
        elif node.op == "call_module":
            if str(node.target).startswith("_guards"):
                env[node.name] = None
                continue
            raise registry.ConversionError(f"call_module '{node.target}' at {where(node)}: unexpected module "
                                           "call in the exported graph. Fix: export the model first.")
        elif node.op == "call_function":
            args, kwargs = load(node.args), {k: load(v) for k, v in node.kwargs.items()}
            t = node.target
            if t in BUILTINS and not any_var(args):
                env[node.name] = t(*args)
                continue
            key = registry.op_key(t)
            if key.startswith("aten._assert") or key.startswith("aten.sym_constrain"):
                env[node.name] = None
                continue
            if key == "aten.sym_size.int":
                env[node.name] = int(args[0].shape[args[1]])
                continue
            if not any_var(args) and not any_var(list(kwargs.values())):
                env[node.name] = to_np(t(*to_torch(args), **to_torch(kwargs)))
                continue
            env[node.name] = convert_op(node, key, args, kwargs)
        elif node.op == "output":
            out = load(node.args[0])
            while isinstance(out, (list, tuple)):
                out = out[0]
            return out
    raise registry.ConversionError("the graph has no output.")
