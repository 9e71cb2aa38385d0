"""ProcessModels of :class:`StateLIF`: Lava's LIF models plus a local record of s, u, v.

The classes subclass Lava's ``PyLifModelBitAcc`` ("fixed_pt") and ``PyLifModelFloat``
("floating_pt"); the inherited ``implements_process`` is cleared so that ``@implements``
accepts the new process.  ``run_spk`` is Lava's, followed by :func:`record_step`.
"""
from __future__ import annotations

import os

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat

from spikeattn.engines.lava.procs.process import StateLIF


def record_step(model, dtype) -> None:
    """Store ``[s, u, v]`` of this step; write the record at the last step."""
    steps = int(model.proc_params["record_steps"])
    rec = getattr(model, "_record", None)
    if rec is None:
        rec = model._record = np.zeros((steps, 3) + model.u.shape, dtype)
    t = model.time_step - 1
    if 0 <= t < steps:
        rec[t, 0] = model.s_out_buff
        rec[t, 1] = model.u
        rec[t, 2] = model.v
    if model.time_step == steps:
        path = model.proc_params["record_path"]
        tmp = f"{path}.{os.getpid()}.tmp.npy"
        np.save(tmp, rec, allow_pickle=False)
        os.replace(tmp, path)


class _Unbound:
    implements_process = None
    implements_protocol = None


@implements(proc=StateLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyStateLifModelBitAcc(_Unbound, PyLifModelBitAcc):
    """Lava's bit-accurate LIF; records [s, u, v] as int32 (u, v are 24-bit)."""

    def run_spk(self):
        super().run_spk()
        record_step(self, np.int32)


@implements(proc=StateLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStateLifModelFloat(_Unbound, PyLifModelFloat):
    """Lava's floating-point LIF; records [s, u, v] as float64."""

    def run_spk(self):
        super().run_spk()
        record_step(self, np.float64)
