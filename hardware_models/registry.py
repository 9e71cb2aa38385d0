"""Registry of hardware models: ``get(name)``, ``names()``, ``register(model)``."""
from __future__ import annotations

import importlib

from .errors import UnknownHardwareError
from .model import HardwareModel

_MODELS: dict[str, HardwareModel] = {}


def _load_builtin() -> None:
    if _MODELS:
        return
    from .chips import CHIP_MODULES
    for mod in CHIP_MODULES:
        m = importlib.import_module(f"hardware_models.chips.{mod}").MODEL
        _MODELS.setdefault(m.name, m)


def register(model: HardwareModel, replace: bool = False) -> HardwareModel:
    """Add a user model (e.g. a variant with measured constants)."""
    _load_builtin()
    if model.name in _MODELS and not replace:
        raise UnknownHardwareError(f"hardware model '{model.name}' is already registered; pass replace=True")
    _MODELS[model.name] = model
    return model


def names(kind: str | None = None) -> list[str]:
    """Registered model names (optionally of one kind: neuromorphic, asic, gpu, cpu, literature)."""
    _load_builtin()
    return [n for n, m in _MODELS.items() if kind is None or m.kind == kind]


def get(name: str) -> HardwareModel:
    """The model called ``name``; raises UnknownHardwareError listing the known names."""
    _load_builtin()
    if isinstance(name, HardwareModel):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in _MODELS:
        raise UnknownHardwareError(f"unknown hardware '{name}'; known: {', '.join(names())}")
    return _MODELS[key]
