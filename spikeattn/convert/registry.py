"""Converters per ATen op, type-dispatched, open to users.

A converter is ``fn(ctx, node, *args, **kwargs) -> value`` where tensor arguments arrive as
:class:`~spikeattn.convert.affine.Affine` (values carried by the circuit) or numpy arrays
(constants).  Register one with ``@register_op(torch.ops.aten.foo.default, ...)``, or by
the op's name (``"aten.foo.default"``), without editing spikeattn.  Ops whose arguments
are all constants are folded by torch and never reach a converter.  Module patterns
(``register_pattern(nn.SomeModule, fn)``) rewrite a module before capture.

The converters live in :data:`OPS`, a :class:`spikeattn.registry.Registry` of kind
``"op converter"``: the built-in converter modules (:data:`BUILTIN`) are imported on the
first lookup, and a plug-in outside this repository registers its converters through an
entry point of the group ``spikeattn.ops``.  A second, different converter for an op that
has one is refused (:class:`~spikeattn.registry.DuplicateNameError` naming both) unless
registered with ``replace=True``.
"""
from __future__ import annotations

from ..errors import SpikeattnError
from ..registry import Registry

#: the modules of the built-in converters, one per op family (imported on first lookup)
BUILTIN = ("spikeattn.convert.ops.elementwise", "spikeattn.convert.ops.host", "spikeattn.convert.ops.linear",
           "spikeattn.convert.ops.pooling", "spikeattn.convert.ops.shape", "spikeattn.convert.token_select")

OPS = Registry("op converter", group="spikeattn.ops", builtin=BUILTIN)
PATTERNS: dict[type, object] = {}


class UnsupportedOpError(SpikeattnError):
    """An op of the captured graph has no converter: the message names the op, its place in
    the model (module path, source line) and the supported ops."""


class ConversionError(SpikeattnError):
    """A supported op was used in a way the conversion cannot map (e.g. a product of
    unquantised values in ``accumulate`` mode); the message names the op and its place."""


def op_key(target) -> str:
    """The registry key of an op: ``"aten.linear.default"`` for ``torch.ops.aten.linear.default``."""
    if isinstance(target, str):
        return target
    name = getattr(target, "_name", None) or getattr(target, "__name__", str(target))
    overload = getattr(target, "_overloadname", None)
    if overload is not None and "::" in str(name):
        ns, op = str(name).split("::", 1)
        base = op.split(".")[0]
        return f"{ns}.{base}.{overload}"
    return str(name)


def register_op(*targets, replace: bool = False):
    """Decorator: use ``fn`` for each of ``targets`` (torch op overloads or their names).

    An op that already has a different converter is refused unless ``replace=True``; with
    ``replace=True`` the built-in converters are loaded first, so the new one stays."""
    def deco(fn):
        if replace:
            OPS.load()
        for t in targets:
            OPS.register(op_key(t), fn, replace=replace)
        return fn
    return deco


def register_pattern(module_type: type, fn) -> None:
    """``fn(module) -> module`` rewrites every instance of ``module_type`` before capture."""
    PATTERNS[module_type] = fn


def lookup(target):
    """The converter of ``target`` (an op or its name), or None."""
    return OPS.get(op_key(target))


def supported_ops() -> list[str]:
    """The names of the ops with a converter (built-in and registered)."""
    return OPS.names()
