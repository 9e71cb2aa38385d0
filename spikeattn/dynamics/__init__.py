"""Model-behaviour layer: what each neuron model does, defined once for every engine.

``dynamics_for(model)`` gives the :class:`Dynamics` of a model (its parameters as arrays,
initial state, pure step, active-update rule and step diagnostics); :mod:`.synapses` gives
the synapses that exist after quantisation and the input summation order shared by every
engine; :mod:`.fixed_point` holds Lava 0.10's integer arithmetic.
"""
from . import fixed_point
from .registry import DYNAMICS, Dynamics, dynamics_for, register_dynamics
from .lif import LIFDynamics
from .loihi import LoihiLIFDynamics
from .graded import GradedReLUDynamics
from .convert_models import MultiThresholdIFDynamics, TernaryIFDynamics
from .loihi_convert import LoihiGradedReLUDynamics, LoihiMultiThresholdIFDynamics

__all__ = ["DYNAMICS", "Dynamics", "dynamics_for", "register_dynamics", "fixed_point", "LIFDynamics",
           "LoihiLIFDynamics", "GradedReLUDynamics", "TernaryIFDynamics", "MultiThresholdIFDynamics",
           "LoihiMultiThresholdIFDynamics", "LoihiGradedReLUDynamics"]
