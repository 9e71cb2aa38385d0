"""ProcessModels of :class:`StateLIF`: Lava's LIF models plus the two state sends.

The classes subclass Lava's ``PyLifModelBitAcc`` ("fixed_pt") and ``PyLifModelFloat``
("floating_pt"); the inherited ``implements_process`` is cleared so that ``@implements``
accepts the new process.  ``run_spk`` is Lava's, followed by ``state_out.send([s, u, v])``.
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat

from spikeattn.engines.lava.procs.process import StateLIF


class _Unbound:
    implements_process = None
    implements_protocol = None


@implements(proc=StateLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyStateLifModelBitAcc(_Unbound, PyLifModelBitAcc):
    """Lava's bit-accurate LIF; also sends [s, u, v] (int32; u, v are 24-bit)."""

    state_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self):
        super().run_spk()
        self.state_out.send(np.stack([self.s_out_buff, self.u, self.v]).astype(np.int32))


@implements(proc=StateLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStateLifModelFloat(_Unbound, PyLifModelFloat):
    """Lava's floating-point LIF; also sends [s, u, v] (float64)."""

    state_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        super().run_spk()
        self.state_out.send(np.stack([self.s_out_buff, self.u, self.v]).astype(np.float64))
