"""Fixed-point (Loihi 2 graded-spike) forms of the conversion neurons.

``LoihiMultiThresholdIF`` is the integer twin of :class:`~spikeattn.ir.MultiThresholdIF`,
``LoihiGradedReLU`` the integer twin of :class:`~spikeattn.ir.neurons_extra.GradedReLU`.
All values are integers (int64 arithmetic, the 24-bit ``v`` register of Loihi 2 saturates at
``+-(2**23 - 1)``); ``a_in`` is the synaptic input after each projection's ``weight_exp``
shift, summed over projections, exactly as :class:`~spikeattn.ir.LoihiLIF` receives it.
``wrap32`` is the two's-complement wrap to int32 (Lava's int32 arrays).  Outputs are graded
spike payloads (integers): a ``"binary"`` projection adds ``w * sign(s)``, a ``"count"``
projection ``w * n`` (``|n|`` accumulates per synapse), a ``"graded"`` one ``w * s`` (one
multiply-accumulate).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ParameterError
from ..validation import check_int
from .neurons import NeuronModel, check_range, register_model

V_LIMIT = 2**23 - 1


@register_model
@dataclass(frozen=True, eq=False)
class LoihiMultiThresholdIF(NeuronModel):
    """Fixed-point multi-threshold integrate-and-fire neuron (integer levels as graded spikes).

    Per step (integers; ``bias = bias_mant << bias_exp``, or ``>> -bias_exp``, rounding
    toward minus infinity; ``L = levels``)::

        v1   = wrap32(v + a_in + bias)
        v    = clip(v1, -(2**23 - 1), 2**23 - 1)            24-bit saturation
        n    = clip((v - 1) // vth, 0, L)      where v > 0  thresholds vth, ..., L*vth
                                                            strictly exceeded
        signed:   where v < 0, n = -clip((-v - 1) // vth, 0, L)
        unsigned: n = 0 where v <= 0
        v    = v - n * vth
        s    = n                                            graded spike payload

    For integer ``v``, ``ceil(v / vth) - 1 == (v - 1) // vth``, so this is
    :class:`~spikeattn.ir.MultiThresholdIF` on integers.  Units: ``v``, ``vth`` and the bias
    in the same integer units as the (shifted) synaptic input.
    """

    kind: ClassVar[str] = "loihi_multi_threshold_if"
    fixed_point: ClassVar[bool] = True
    graded_output: ClassVar[bool] = True
    signed_output: ClassVar[bool] = True
    state: ClassVar[tuple[str, ...]] = ("v",)
    state_bytes: ClassVar[int] = 3  # 24-bit v

    vth: int = 64
    levels: int = 4
    signed: bool = False
    bias_mant: int = 0
    bias_exp: int = 0

    def check(self, where: str, size: int) -> None:
        check_range(where, "vth", self.vth, 1, V_LIMIT, size, integer=True)
        check_int(where, "levels", self.levels, lo=1, hi=255)
        if not isinstance(self.signed, (bool, np.bool_)):
            raise ParameterError(where, "signed", f"is {self.signed!r}; must be True or False.",
                                 "pass signed=True or signed=False.")
        check_range(where, "bias_mant", self.bias_mant, -(2**12), 2**12 - 1, size, integer=True)
        check_range(where, "bias_exp", self.bias_exp, -8, 7, size, integer=True)


@register_model
@dataclass(frozen=True, eq=False)
class LoihiGradedReLU(NeuronModel):
    """Fixed-point memoryless rectifier emitting graded spikes (Lava: a graded ReLU process).

    Per step (integers)::

        v = clip(wrap32(a_in), -(2**23 - 1), 2**23 - 1)     overwritten every step
        s = v - vth   where v > vth,   else 0               graded spike carrying the excess

    With ``vth = 0`` it emits the integer sum of its input; with ``vth = B`` and a gating
    input of weight ``B`` it passes an integer ``x <= B`` only when the gate spiked.
    Integer twin of :class:`~spikeattn.ir.neurons_extra.GradedReLU`.
    """

    kind: ClassVar[str] = "loihi_graded_relu"
    fixed_point: ClassVar[bool] = True
    graded_output: ClassVar[bool] = True
    signed_output: ClassVar[bool] = False
    state: ClassVar[tuple[str, ...]] = ("v",)
    state_bytes: ClassVar[int] = 3  # 24-bit v

    vth: int = 0

    def check(self, where: str, size: int) -> None:
        check_range(where, "vth", self.vth, 0, V_LIMIT, size, integer=True)


__all__ = ["LoihiMultiThresholdIF", "LoihiGradedReLU"]
