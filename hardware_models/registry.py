"""Registry of hardware models: ``get(name)``, ``names()``, ``register(model)``.

Backed by :class:`spikeattn.registry.Registry` (:data:`CHIPS`, kind ``"chip"``): the chip
modules listed in :data:`hardware_models.chips.CHIP_MODULES` (the one list of built-in chips,
in the order ``names()`` gives them) are imported on first lookup and each registers its
``MODEL`` with :func:`register`; a chip kept outside this repository registers through the
entry-point group ``spikeattn.hardware`` (a module calling :func:`register`, or a
:class:`HardwareModel` object registered under the entry point's name).  A second model
under a registered name is refused (:class:`DuplicateHardwareError`) unless ``replace=True``.
"""
from __future__ import annotations

from spikeattn.registry import Registry

from .chips import CHIP_MODULES
from .errors import DuplicateHardwareError, UnknownHardwareError
from .model import HardwareModel

BUILTIN = tuple(f"hardware_models.chips.{m}" for m in CHIP_MODULES)
CHIPS = Registry("chip", group="spikeattn.hardware", builtin=BUILTIN)


def register(model: HardwareModel, replace: bool = False) -> HardwareModel:
    """Add a model under ``model.name`` (a chip module's ``MODEL``, or a user's variant with
    measured constants).  The built-in chips and plug-ins are loaded first, so a name already
    taken is refused with :class:`DuplicateHardwareError` unless ``replace=True``."""
    CHIPS.load()
    if model.name in CHIPS and not replace:
        raise DuplicateHardwareError(f"hardware model '{model.name}' is already registered "
                                     f"({CHIPS[model.name].title!r}); pass replace=True to override it on purpose")
    CHIPS.register(model.name, model, replace=True)
    return model


def names(kind: str | None = None) -> list[str]:
    """Registered model names (optionally of one kind: neuromorphic, asic, gpu, cpu, literature):
    the built-in chips in :data:`~hardware_models.chips.CHIP_MODULES` order, then the others in
    the order they were registered."""
    order = {m: i for i, m in enumerate(CHIP_MODULES)}
    ordered = sorted(CHIPS, key=lambda n: order.get(n, len(order)))     # stable: plug-ins keep their order
    return [n for n in ordered if kind is None or CHIPS[n].kind == kind]


def get(name: str) -> HardwareModel:
    """The model called ``name``; raises UnknownHardwareError listing the known names."""
    CHIPS.load()
    if isinstance(name, HardwareModel):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in CHIPS:
        raise UnknownHardwareError(f"unknown hardware '{name}'; known: {', '.join(names())}")
    return CHIPS[key]
