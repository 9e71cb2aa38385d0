"""The values a graph walk carries besides constants (numpy arrays): circuit values
(:class:`~.affine.Affine`) and integer model inputs (:class:`IntInput`), and the tests the
walks and the op converters share (:func:`is_var`, :func:`any_var`)."""
from __future__ import annotations

from .affine import Affine


class IntInput:
    """An integer (token id) model input: read through ``embedding`` as one-hot sources."""

    def __init__(self, shape, vocab_hint=None):
        self.shape = tuple(shape)


def is_var(v) -> bool:
    """Whether ``v`` is carried by the circuit (an :class:`Affine` or an :class:`IntInput`)."""
    return isinstance(v, (Affine, IntInput))


def any_var(x) -> bool:
    """Whether ``x`` (a value, or a list / tuple of them, nested) holds a circuit value."""
    if isinstance(x, (list, tuple)):
        return any(any_var(e) for e in x)
    return is_var(x)
