"""``StateLIF``: Lava's LIF process that also emits its spikes and state ``u``, ``v`` every step.

Reading state back through Lava's ``Monitor`` costs about 18 µs per element
(``Monitor.get_data``); sending them through one extra OutPort into a sink
``RingBuffer`` process costs about as much as sending the spikes.  The dynamics are Lava's
own: the models in :mod:`.models` subclass ``PyLifModelBitAcc`` / ``PyLifModelFloat`` and
only add one ``send`` after Lava's ``run_spk``.  u and v are sent after the spike reset,
as a Monitor would record them.
"""
from __future__ import annotations

from lava.magma.core.process.ports.ports import OutPort
from lava.proc.lif.process import LIF


class StateLIF(LIF):
    """``lava.proc.lif.process.LIF`` plus an OutPort ``state_out`` of shape ``(3, *shape)``
    sending ``[s, u, v]`` (spikes as 0/1) after every step.

    Equations: those of Lava's LIF (see ``spikeattn.ir.LoihiLIF`` / ``spikeattn.ir.LIF``).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        shape = kwargs["shape"]
        self.state_out = OutPort(shape=(3,) + tuple(shape))
