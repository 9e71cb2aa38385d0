"""Errors of hardware_models; all are :class:`spikeattn.errors.SpikeattnError` subclasses."""
from spikeattn.errors import InputError, SpikeattnError
from spikeattn.registry import DuplicateNameError


class UnknownHardwareError(SpikeattnError, KeyError):
    """A hardware name is not in the registry."""

    def __str__(self):  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DuplicateHardwareError(UnknownHardwareError, DuplicateNameError):
    """A second model under a hardware name already registered.  A
    :class:`spikeattn.registry.DuplicateNameError` like every registry's duplicate; also an
    :class:`UnknownHardwareError`, which ``register`` raised for it before."""


class HardwareKindError(SpikeattnError, TypeError):
    """A model was asked for something its kind cannot do (e.g. event counts on a GPU)."""


class CountsFormatError(InputError):
    """Counts given to the cost model are neither EventCounts nor its dict form."""


class PlacementError(SpikeattnError, ValueError):
    """A circuit does not fit the chip: ``constraint`` names the binding limit, ``element`` the
    population (or slice) that breaks it."""

    def __init__(self, constraint: str, element: str, problem: str, fix: str | None = None):
        self.constraint, self.element = constraint, element
        msg = f"does not fit: {constraint} ({element}): {problem}"
        if fix:
            msg += f" Fix: {fix}"
        super().__init__(msg)
