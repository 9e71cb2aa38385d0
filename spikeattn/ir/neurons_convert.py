"""Neuron models used by ANN-to-SNN conversion (:mod:`spikeattn.convert`).

``TernaryIF`` emits signed spikes (+1 / -1), so negative activations are carried without a
second population; ``MultiThresholdIF`` emits an integer level per step (how many multiples
of its threshold the membrane exceeded), so an activation quantised to L levels needs one
step instead of L.  Both integrate without leak and reset by subtraction, which makes the
spike count over T steps the quantised activation (the property exact conversion relies on).
Both are float64 (values in activation units).  Their outputs are numbers: a ``"binary"``
projection adds ``w * sign(s)`` (one accumulate per synapse), a ``"count"`` projection adds
``w * n`` and counts ``|n|`` accumulates per synapse (a burst of unit spikes), a ``"graded"``
projection adds ``w * s`` as one multiply-accumulate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ParameterError
from ..validation import check_int
from .neurons import NeuronModel, check_range, register_model


@register_model
@dataclass(frozen=True, eq=False)
class TernaryIF(NeuronModel):
    """Integrate-and-fire with signed (ternary) spikes and reset by subtraction.

    Per step (dimensionless), with ``a_in`` the summed synaptic input::

        v[t] = v[t-1] + a_in[t] + bias
        s[t] = +1 if v[t] > vth;  -1 if v[t] < -vth;  0 otherwise
        v[t] = v[t] - s[t] * vth

    Over T steps the spike sum equals ``round-toward-zero(sum of inputs / vth)`` up to the
    residue kept in v, for inputs of either sign (SpikeZIP-TF's signed IF neuron).
    """

    kind: ClassVar[str] = "ternary_if"
    graded_output: ClassVar[bool] = True
    signed_output: ClassVar[bool] = True
    state: ClassVar[tuple[str, ...]] = ("v",)
    state_bytes: ClassVar[int] = 4

    vth: float = 1.0
    bias: float = 0.0

    def check(self, where: str, size: int) -> None:
        check_range(where, "vth", self.vth, 0.0, None, size)
        if np.any(np.asarray(self.vth) <= 0):
            raise ParameterError(where, "vth", "must be > 0.", "use a positive threshold.")
        check_range(where, "bias", self.bias, None, None, size)


@register_model
@dataclass(frozen=True, eq=False)
class MultiThresholdIF(NeuronModel):
    """Integrate-and-fire emitting an integer level per step (multi-threshold neuron).

    Per step, with ``L = levels``::

        v[t] = v[t-1] + a_in[t] + bias
        n[t] = clip(ceil(v[t] / vth) - 1, 0, L)           thresholds vth, 2 vth, ..., L vth
                                                          strictly exceeded
        signed: where v[t] < 0, n[t] = -clip(ceil(-v[t] / vth) - 1, 0, L)
        s[t] = n[t];   v[t] = v[t] - n[t] * vth

    With ``levels = 1`` and ``signed = False`` it is ``IF(reset="subtract")`` with the spike
    as value 1.
    """

    kind: ClassVar[str] = "multi_threshold_if"
    graded_output: ClassVar[bool] = True
    signed_output: ClassVar[bool] = True
    state: ClassVar[tuple[str, ...]] = ("v",)
    state_bytes: ClassVar[int] = 4

    vth: float = 1.0
    levels: int = 4
    signed: bool = False
    bias: float = 0.0

    def check(self, where: str, size: int) -> None:
        check_range(where, "vth", self.vth, 0.0, None, size)
        if np.any(np.asarray(self.vth) <= 0):
            raise ParameterError(where, "vth", "must be > 0.", "use a positive threshold.")
        check_int(where, "levels", self.levels, lo=1, hi=2**15)
        if not isinstance(self.signed, (bool, np.bool_)):
            raise ParameterError(where, "signed", f"is {self.signed!r}; must be True or False.")
        check_range(where, "bias", self.bias, None, None, size)


__all__ = ["TernaryIF", "MultiThresholdIF"]
