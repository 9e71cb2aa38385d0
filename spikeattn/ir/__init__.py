"""The circuit intermediate representation: plain validated data (numpy + networkx)."""
from .circuit import Circuit
from .neurons import IF, LIF, MODEL_REGISTRY, LoihiLIF, NeuronModel, register_model
from . import neurons_extra  # noqa: F401,E402  (registers GradedReLU so saved circuits load)
from .neurons_convert import MultiThresholdIF, TernaryIF
from .neurons_loihi_convert import LoihiGradedReLU, LoihiMultiThresholdIF
from .population import Population
from .probe import Probe
from .projection import Projection
from .serialize import FORMAT_VERSION, load, save
from .source import ENCODERS, SpikeSource

__all__ = ["Circuit", "Population", "Projection", "SpikeSource", "Probe", "NeuronModel", "LIF", "IF",
           "LoihiLIF", "TernaryIF", "MultiThresholdIF", "LoihiMultiThresholdIF", "LoihiGradedReLU",
           "register_model", "MODEL_REGISTRY", "save", "load", "FORMAT_VERSION", "ENCODERS"]
