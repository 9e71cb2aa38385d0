"""The graph walk of the structured converter: one exported graph (one sample) into a
:class:`~.structured_program.StructuredProgram`, node by node, through the op converters of
:mod:`.structured_ops` (an op with only a flat converter runs it on a flat copy of its
arguments: :func:`~.structured_terms.flat_fallback`)."""
from __future__ import annotations

from . import registry
from .capture import walk_graph, where
from .structured_affine import SValue
from .structured_ops import STRUCTURED_OPS
from .structured_terms import any_structured_var, flat_fallback


def walk(gm, example, program, ctx, input_kind: str = "graded", input_scale: float = 1.0):
    """Convert ``gm`` (one sample) into the structured ``program``; returns the output value.
    The walk is :func:`~.capture.walk_graph`'s, with structured values (dead ones dropped)."""
    def input_value(shape):
        src = program.add_input(shape, kind=input_kind, scale=input_scale)
        return SValue.node(src, shape, max(shape[-1], 1) if shape else 1, scale=input_scale)

    def convert_op(node, key, args, kwargs):
        fn = STRUCTURED_OPS.get(key)
        if fn is not None:
            return fn(ctx, node, *args, **kwargs)
        flat = registry.lookup(node.target)
        if flat is None:
            raise registry.UnsupportedOpError(
                f"op '{key}' at {where(node)} has no spiking converter. Supported ops: "
                f"{', '.join(sorted(set(registry.supported_ops()) | set(STRUCTURED_OPS)))}. Fix: register "
                "one with spikeattn.convert.register_op, or rewrite that part of the model.")
        return flat_fallback(ctx, node, flat, args, kwargs)

    return walk_graph(gm, example, ctx, input_value, any_structured_var, convert_op, drop_dead=True)
