"""The array namespace of a Dynamics call: numpy for numpy arrays, torch for torch tensors.

The float :class:`~spikeattn.dynamics.Dynamics` (LIF/IF, GradedReLU, TernaryIF,
MultiThresholdIF) write ``step``, ``carries`` and ``check`` once, against a small vocabulary
with numpy's meaning — ``where``, ``maximum``, ``clip``, ``ceil``, ``isfinite``, ``abs``,
``sign``, ``zeros_like`` and the arithmetic operators — and take it from their input::

    xp = namespace(v)
    s = xp.where(v > vth, 1.0, xp.zeros_like(v))

:func:`is_nonzero`, :func:`is_floating` and :func:`as_float` dispatch on their argument
themselves.  For numpy arrays (and anything that is not a torch tensor) ``namespace`` returns the numpy
module itself, so the numpy, compiled-fallback and counting paths run exactly the numpy
calls they always ran.  For torch tensors it returns :data:`TORCH`, a shim that maps each
name onto the torch function with numpy's argument conventions (a scalar bound in ``clip``
or ``maximum``, a Python ``bool`` dtype).  The torch engine (``engine="torch"``) runs the
same step functions on tensors; no neuron equation is written twice.

Rule for the step functions: in ``where(c, x, y)`` at least one of ``x``, ``y`` is an array
(two Python scalars would give numpy float64 but torch's default float32).

The core never imports torch: :func:`namespace` looks for a tensor only if torch is
already imported (no tensor can exist otherwise).
"""
from __future__ import annotations

import sys

import numpy as np


class TorchNamespace:
    """numpy's names for the few array functions the Dynamics use, on torch tensors."""

    def __init__(self):
        import torch
        self.torch = torch
        self.ceil, self.isfinite = torch.ceil, torch.isfinite
        self.abs, self.sign = torch.abs, torch.sign

    def where(self, c, x, y):
        """``np.where``; a Python scalar operand as a 0-d tensor of the dtype torch would give
        the pair (the same values and dtype; torch's scalar path of ``where`` runs about a
        third slower on the CPU)."""
        t = self.torch
        if isinstance(y, t.Tensor) and not isinstance(x, t.Tensor):
            x = t.as_tensor(x, dtype=t.result_type(y, x), device=y.device)
        elif isinstance(x, t.Tensor) and not isinstance(y, t.Tensor):
            y = t.as_tensor(y, dtype=t.result_type(x, y), device=x.device)
        return t.where(c, x, y)

    def _bound(self, b, like):
        t = self.torch
        return b if isinstance(b, t.Tensor) else t.as_tensor(b, dtype=like.dtype, device=like.device)

    def maximum(self, x, y):
        return self.torch.maximum(x, self._bound(y, x))

    def clip(self, x, lo, hi):
        """``np.clip``: bounds may mix scalars and tensors (torch.clamp takes one kind)."""
        return self.torch.clamp(x, self._bound(lo, x), self._bound(hi, x))

    def zeros_like(self, x, dtype=None):
        return self.torch.zeros_like(x, dtype=self.torch.bool if dtype is bool else dtype)


_TORCH: TorchNamespace | None = None


def namespace(*arrays):
    """numpy, or :class:`TorchNamespace` if any of ``arrays`` is a torch tensor."""
    global _TORCH
    torch = sys.modules.get("torch")
    if torch is not None and any(isinstance(x, torch.Tensor) for x in arrays):
        if _TORCH is None:
            _TORCH = TorchNamespace()
        return _TORCH
    return np


def is_floating(x) -> bool:
    """Whether ``x`` holds floating-point numbers (numpy array or torch tensor)."""
    is_fp = getattr(x, "is_floating_point", None)
    if callable(is_fp):
        return bool(is_fp())
    return bool(np.issubdtype(np.asarray(x).dtype, np.floating))


def as_float(x):
    """``x`` as floating values, never to be written in place: numpy a float64 copy; a torch
    tensor itself when it is floating (else float64)."""
    is_fp = getattr(x, "is_floating_point", None)
    if callable(is_fp):
        return x if is_fp() else x.double()
    return np.array(x, np.float64)


def is_nonzero(x):
    """``x != 0`` as a bool array (NaN counts as non-zero).  On a torch tensor it is
    ``x.bool()``: the same values, several times faster than the comparison on the CPU."""
    to_bool = getattr(x, "bool", None)
    return to_bool() if callable(to_bool) else x != 0
