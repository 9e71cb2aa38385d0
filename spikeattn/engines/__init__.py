"""Engines: lower a Circuit and run it.  ``numpy`` (reference), ``brian2``, ``lava``."""
from .base import ENGINES, Engine, engine_class, engine_supports, register_engine
from .features import FEATURES, required_features

__all__ = ["ENGINES", "Engine", "engine_class", "engine_supports", "register_engine", "FEATURES",
           "required_features"]
