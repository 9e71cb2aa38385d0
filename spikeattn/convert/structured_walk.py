"""The graph walk of the structured converter: one exported graph (one sample) into a
:class:`~.structured_program.StructuredProgram`, node by node, through the op converters of
:mod:`.structured_ops` (an op with only a flat converter runs it on a flat copy of its
arguments: :func:`~.structured_terms.flat_fallback`)."""
from __future__ import annotations

import numpy as np

from . import registry
from .capture import where
from .structured_affine import SValue
from .structured_ops import _BUILTINS, STRUCTURED_OPS
from .structured_terms import _any_var, _torch, flat_fallback
from .values import IntInput


def walk(gm, example, program, ctx, input_kind: str = "graded", input_scale: float = 1.0):
    """Convert ``gm`` (one sample) into the structured ``program``; returns the output value."""
    torch = _torch()
    from . import ops  # noqa: F401  (registers the flat converters, used as fallbacks)
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
        prev = node
        if node.op == "placeholder":
            if node is not placeholders[0]:
                raise registry.ConversionError(f"input '{node.name}': models with more than one input do not "
                                               "convert. Fix: wrap the model so that it takes one tensor.")
            shape = tuple(example.shape)
            if example.dtype in (torch.int64, torch.int32, torch.long):
                env[node.name] = IntInput(shape)
            else:
                src = program.add_input(shape, kind=input_kind, scale=input_scale)
                env[node.name] = SValue.node(src, shape, max(shape[-1], 1) if shape else 1, scale=input_scale)
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
            if t in _BUILTINS and not _any_var(args):
                env[node.name] = t(*args)
                continue
            key = registry.op_key(t)
            if key.startswith("aten._assert") or key.startswith("aten.sym_constrain"):
                env[node.name] = None
                continue
            if key == "aten.sym_size.int":
                env[node.name] = int(args[0].shape[args[1]])
                continue
            if not _any_var(args) and not _any_var(list(kwargs.values())):
                env[node.name] = to_np(t(*to_torch(args), **to_torch(kwargs)))
                continue
            fn = STRUCTURED_OPS.get(key)
            if fn is None:
                flat = registry.lookup(t)
                if flat is None:
                    raise registry.UnsupportedOpError(
                        f"op '{key}' at {where(node)} has no spiking converter. Supported ops: "
                        f"{', '.join(sorted(set(registry.supported_ops()) | set(STRUCTURED_OPS)))}. Fix: register "
                        "one with spikeattn.convert.register_op, or rewrite that part of the model.")
                env[node.name] = flat_fallback(ctx, node, flat, args, kwargs)
            else:
                env[node.name] = fn(ctx, node, *args, **kwargs)
        elif node.op == "output":
            out = load(node.args[0])
            while isinstance(out, (list, tuple)):
                out = out[0]
            return out
    raise registry.ConversionError("the graph has no output.")
