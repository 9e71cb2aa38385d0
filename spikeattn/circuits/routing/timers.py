"""Clock-driven helper neurons built from plain LIF/IF: timers, latches and relays.

Every helper is a float :class:`~spikeattn.ir.LIF` / :class:`~spikeattn.ir.IF` population,
so Brian2 (and any engine running LIF) can run it.  All times are in steps.

Counter neurons (``IF`` with ``vth = 0`` and subtract reset, which subtracts nothing)::

    v[t] = v[-1] + (t + 1) * bias,        spike iff v[t] > 0

* **countdown** (``bias = -1``, ``v[-1] = stop + 0.5``) spikes at every step ``t < stop``;
* **countup** (``bias = +1``, ``v[-1] = -start - 0.5``) spikes at every step ``t >= start``.

A **coincidence relay** is a memoryless LIF (``du = dv = 1``: ``v[t] = a_in[t]``) with
``vth = 1``: with ``n`` conditions each weighted ``1.2 / n``, it spikes only when all ``n``
inputs arrive in the same step.  A **latch** is an LIF exciting itself (weight 1, delay 1):
once triggered it spikes at every later step.  A **one-shot** neuron resets to ``-BIG``,
so it spikes at most once in any run shorter than ``BIG`` steps.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...ir import IF, LIF, Circuit

#: "Infinite" inhibition / reset depth (float, so exact for integer sums far below it).
BIG = 1.0e6


def countdown(c: Circuit, name: str, stop: int):
    """One neuron spiking at steps ``0 .. stop-1`` (the window's "still open" signal)."""
    return c.add_population(name, 1, IF(vth=0.0, bias=-1.0, reset="subtract"),
                            initial={"v": float(stop) + 0.5})


def countup(c: Circuit, name: str, start: int):
    """One neuron spiking at every step ``t >= start`` (a clock that starts at ``start``)."""
    return c.add_population(name, 1, IF(vth=0.0, bias=1.0, reset="subtract"),
                            initial={"v": -float(start) - 0.5})


def relay(c: Circuit, name: str, size: int):
    """Memoryless coincidence neurons: ``v[t] = a_in[t]``, spike iff ``v > 1``."""
    return c.add_population(name, size, LIF(du=1.0, dv=1.0, vth=1.0))


def one_shot(c: Circuit, name: str, size: int, vth: float):
    """Non-leaky integrators (``v[t] = v[t-1] + a_in[t]``) that spike once (reset to -BIG)."""
    return c.add_population(name, size, LIF(du=1.0, dv=0.0, vth=float(vth), reset="zero", v_reset=-BIG))


def latch(c: Circuit, name: str, size: int, trigger: str):
    """Neurons that spike at every step after ``trigger`` (one-to-one) first spiked."""
    c.add_population(name, size, LIF(du=1.0, dv=1.0, vth=0.5))
    c.connect(trigger, name, 1.0, name=f"{trigger}->{name}")
    c.connect(name, name, 1.0, name=f"{name}->{name}")


def broadcast(n_post: int, n_pre: int, w: float):
    """All-to-all weights ``(n_post, n_pre)`` of value ``w`` (sparse CSR)."""
    return sp.csr_matrix(np.full((n_post, n_pre), float(w)))


def blocks(n_blocks: int, block: int, w: float, transpose: bool = False):
    """Block matrix: ``(n_blocks * block, n_blocks)`` with ``w`` where neuron ``i`` belongs
    to block ``i // block`` (``transpose``: ``(n_blocks, n_blocks * block)``, pooling)."""
    m = sp.kron(sp.identity(n_blocks, format="csr"), np.ones((block, 1)), format="csr") * float(w)
    return sp.csr_matrix(m.T if transpose else m)
