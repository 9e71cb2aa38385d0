"""Extra neuron model descriptions used by the attention circuits.

``GradedReLU`` is a memoryless graded neuron: it turns the input that arrived in one step
into one graded spike carrying a count (Lava's ``GradedReluVec`` with an offset, a
Brian2 ``NeuronGroup`` whose ``v`` is overwritten every step).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ParameterError
from .neurons import NeuronModel, check_range, register_model


@register_model
@dataclass(frozen=True, eq=False)
class GradedReLU(NeuronModel):
    """Memoryless rectifying neuron that emits graded spikes (a reset-every-step accumulator).

    Per step, with ``a_in`` the summed synaptic input arriving this step (dimensionless)::

        v[t] = a_in[t]                                  no memory of earlier steps
        s[t] = v[t] - vth   if v[t] > vth   else 0      graded spike carrying the excess

    With ``vth = 0`` it emits the count of coincident input spikes (a graded accumulator);
    with ``vth = B`` and a gating input of weight ``B`` it passes a graded value ``x <= B``
    only in steps where the gate spiked (``s = x`` if gate else 0): a multiplicative gate
    built from addition and a threshold.

    The neuron carries no state from one step to the next (``v`` is kept only so that it
    can be probed), so a step without input is an idle update.  Lava analogue:
    ``GradedReluVec`` (``s = v * (v > vth)``) with the offset subtracted downstream.
    """

    kind: ClassVar[str] = "graded_relu"
    graded_output: ClassVar[bool] = True
    state: ClassVar[tuple[str, ...]] = ("v",)
    state_bytes: ClassVar[int] = 4  # float32 v

    vth: float = 0.0

    def check(self, where: str, size: int) -> None:
        check_range(where, "vth", self.vth, None, None, size)
        if np.any(np.asarray(self.vth) < 0):
            raise ParameterError(where, "vth", f"is {self.vth!r}; must be >= 0 (the neuron rectifies).",
                                 "use vth >= 0.")


__all__ = ["GradedReLU"]
