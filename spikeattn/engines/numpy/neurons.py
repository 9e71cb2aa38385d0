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
        """(batch, size) bool: neurons with nothing to do this step unless input arrives."""
        return self.resting_states(self.state)

    def resting_states(self, states) -> np.ndarray:
        """Bool array (shape of the state arrays): no state value carried into the next
        update and zero bias.  ``states`` maps each state variable to an array whose last
        axis is the neurons (any leading axes, e.g. (steps, batch, size)).  The base rule:
        every state variable is zero; models with decays refine it (a value the update
        multiplies by zero carries nothing)."""
        rest = np.ones(np.shape(states[self.pop.model.state[0]]), bool)
        for var in self.pop.model.state:
            rest &= np.asarray(states[var]) == 0
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

    def resting_states(self, states) -> np.ndarray:
        """No carried value: ``u * (1 - du) == 0`` and ``v * (1 - dv) == 0`` (so with du = 1 the
        last step's input held in u is no work), and zero bias."""
        return ((np.asarray(states["u"]) * self.du == 0) & (np.asarray(states["v"]) * self.dv == 0)
                & (self.bias == 0))

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

    def resting_states(self, states) -> np.ndarray:
        """No carried value after the fixed-point decays (``trunc0(u * (4096 - (du + 1)))`` and
        ``trunc0(v * (4096 - dv))`` both zero), and zero bias."""
        u, v = np.asarray(states["u"], np.int64), np.asarray(states["v"], np.int64)
        return ((fx.trunc0(u * (fx.DECAY_UNITY - (self.du + 1))) == 0)
                & (fx.trunc0(v * (fx.DECAY_UNITY - self.dv)) == 0) & (self.bias == 0))

    def step(self, a_in):
        s, self.state["u"], self.state["v"] = fx.loihi_lif_step(
            a_in.astype(np.int64), self.state["u"], self.state["v"], self.du, self.dv, self.vth, self.bias)
        return s


from . import neurons_extra  # noqa: E402,F401  (registers the builders of the extra models)
