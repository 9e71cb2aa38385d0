"""``StateLIF``: Lava's LIF process that also records its spikes and state ``u``, ``v``.

Reading state back through Lava is slow: ``Var.get`` (and ``Monitor.get_data``, which
uses it) moves one element per channel message, 20-80 µs each on a loaded machine, so
that reading u and v of 300 neurons over 200 steps took 29 s.  Instead each ``StateLIF``
model keeps its own ``(steps, 3, size)`` record of ``[s, u, v]`` after every step (after
the spike reset, as a Monitor would record them) and writes it with ``numpy.save`` to
``record_path`` at step ``record_steps``, before ``run`` returns.  The dynamics are Lava's
own: the models in :mod:`.models` subclass ``PyLifModelBitAcc`` / ``PyLifModelFloat`` and
only add the recording after Lava's ``run_spk``.
"""
from __future__ import annotations

from lava.proc.lif.process import LIF


class StateLIF(LIF):
    """``lava.proc.lif.process.LIF`` that records ``[s, u, v]`` every step.

    Extra parameters: ``record_path`` (a ``.npy`` file written once, atomically, at step
    ``record_steps``) and ``record_steps`` (the number of steps of the run).  Equations:
    those of Lava's LIF (see ``spikeattn.ir.LoihiLIF`` / ``spikeattn.ir.LIF``).
    """

    def __init__(self, *, record_path: str, record_steps: int, **kwargs) -> None:
        super().__init__(record_path=str(record_path), record_steps=int(record_steps), **kwargs)
