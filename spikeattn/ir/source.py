"""SpikeSource: an input port of a circuit and the encoder that turns data into spikes.

Encoders (``encoder=``), applied identically for every engine by
:func:`spikeattn.encoding.encode` before a run, so all engines see the same spikes:

``"spikes"``
    Data are spikes already: ``(steps, N)`` or ``(steps, batch, N)``, any values (non-zero =
    spike; values are carried as graded spikes where the projection is graded).
``"poisson"``
    Data are per-step spike probabilities in [0, 1], shape ``(N,)`` or ``(batch, N)``;
    ``s[t] ~ Bernoulli(p)`` drawn with ``numpy.random.default_rng(seed)``.
``"rate"``
    Deterministic rate code: neuron with rate p spikes at step t iff
    ``floor((t + 1) * p) > floor(t * p)`` (spike count after t steps = floor(t * p)).
``"ttfs"``
    Time to first spike: value x in [0, 1] spikes once at step ``round((1 - x) * (window - 1))``;
    x = 0 never spikes.  ``window`` defaults to the run length.
``"graded"``
    Direct/graded input: ``(N,)``/``(batch, N)`` values repeated every step, or
    ``(steps, batch, N)`` values per step; integers for fixed-point circuits.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError
from ..validation import check_int
from .population import check_name, normalise_shape

ENCODERS = ("spikes", "poisson", "rate", "ttfs", "graded")


@dataclass(eq=True)
class SpikeSource:
    """An input of ``shape`` neurons encoded by ``encoder`` (see module docstring).

    ``seed`` makes the Poisson encoder reproducible (combined with the run's seed);
    ``window`` is the time-to-first-spike coding window in steps (None: the run length).
    """

    name: str
    shape: tuple
    encoder: str = "spikes"
    seed: int = 0
    window: int | None = None

    def __post_init__(self):
        self.check()

    def check(self) -> "SpikeSource":
        """(Re-)validate every field; :meth:`Circuit.validate` calls it after any mutation."""
        check_name("source", self.name)
        where = f"source '{self.name}'"
        self.shape = normalise_shape(where, self.shape)
        if not isinstance(self.encoder, str) or self.encoder not in ENCODERS:
            raise ParameterError(where, "encoder", f"unknown encoder {self.encoder!r}.",
                                 f"use one of {list(ENCODERS)}.")
        self.seed = check_int(where, "seed", self.seed, 0, 2**63 - 1)
        if self.window is not None:
            self.window = check_int(where, "window", self.window, 1, 2**31 - 1, unit=" steps (or None)")
        return self

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def graded(self) -> bool:
        """Whether this source may emit values other than 0/1."""
        return self.encoder in ("graded", "spikes")
