"""numpy implementations of the neuron models, one builder per model type.

Each builder turns a :class:`~spikeattn.ir.Population` into a :class:`NeuronImpl` holding
its state arrays ``(batch, size)`` and a pure ``step(a_in) -> spikes``.  Dispatch walks
the model's class hierarchy (a subclass without its own builder uses its parent's), as
Nengo's builder registry does; users can register builders for new models.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedFeatureError
from ...ir import LIF, LoihiLIF, NeuronModel, Population
from . import fixed_point as fx

BUILDERS: dict[type, type["NeuronImpl"]] = {}


def builds(model_type: type[NeuronModel]):
    def deco(cls):
        BUILDERS[model_type] = cls
        return cls
    return deco


def build_neurons(pop: Population, batch: int) -> "NeuronImpl":
    for klass in type(pop.model).__mro__:
        if klass in BUILDERS:
            return BUILDERS[klass](pop, batch)
    raise UnsupportedFeatureError(f"numpy engine has no implementation of model '{pop.model.kind}' "
                                  f"(population '{pop.name}'); register one with "
                                  "spikeattn.engines.numpy.neurons.builds.")


class NeuronImpl:
    """State of one population in the numpy engine."""

    dtype = np.float64

    def __init__(self, pop: Population, batch: int):
        self.pop, self.batch, self.n = pop, batch, pop.size
        self.state = {var: np.broadcast_to(np.asarray(pop.initial.get(var, 0), self.dtype),
                                           (batch, self.n)).copy() for var in pop.model.state}

    def resting(self) -> np.ndarray:
        """(batch, size) bool: neurons with zero state and zero bias (candidates for idle)."""
        rest = np.ones((self.batch, self.n), bool)
        for a in self.state.values():
            rest &= a == 0
        return rest & (self.bias == 0)

    def step(self, a_in: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


@builds(LIF)
class LIFImpl(NeuronImpl):
    """Float LIF / IF; equations in :class:`spikeattn.ir.LIF` (float64 arithmetic)."""

    def __init__(self, pop, batch):
        super().__init__(pop, batch)
        m = pop.model
        self.du, self.dv = np.float64(1.0) - m.du, np.float64(1.0) - m.dv
        self.vth, self.v_reset = np.asarray(m.vth, np.float64), np.asarray(m.v_reset, np.float64)
        self.bias = np.broadcast_to(np.asarray(m.bias, np.float64), (self.n,))
        self.subtract = m.reset == "subtract"
        self.refractory = int(m.refractory)
        self.ref = np.zeros((batch, self.n), np.int64) if self.refractory else None

    def step(self, a_in):
        u = self.state["u"] * self.du + a_in
        v = self.state["v"] * self.dv + u + self.bias
        if self.ref is not None:
            held = self.ref > 0
            v = np.where(held, self.v_reset, v)
            self.ref = np.maximum(self.ref - 1, 0)
        s = v > self.vth
        if self.subtract:
            v = np.where(s, v - self.vth, v)
        else:
            v = np.where(s, self.v_reset, v)
        if self.ref is not None:
            self.ref = np.where(s, self.refractory, self.ref)
        self.state["u"], self.state["v"] = u, v
        return s


@builds(LoihiLIF)
class LoihiLIFImpl(NeuronImpl):
    """Loihi fixed-point LIF (int64 arithmetic, bit-exact with Lava 0.10)."""

    dtype = np.int64

    def __init__(self, pop, batch):
        super().__init__(pop, batch)
        m = pop.model
        self.du, self.dv, self.vth = int(m.du), int(m.dv), int(m.vth)
        self.bias = np.broadcast_to(fx.effective_bias(m.bias_mant, m.bias_exp), (self.n,))

    def step(self, a_in):
        s, self.state["u"], self.state["v"] = fx.loihi_lif_step(
            a_in.astype(np.int64), self.state["u"], self.state["v"], self.du, self.dv, self.vth, self.bias)
        return s
