"""Helper neurons for the routing circuits: timers, latches, relays and one-shot integrators,
in two arithmetics behind one interface (a "kit").

:data:`FLOAT` builds them from float :class:`~spikeattn.ir.LIF` / :class:`~spikeattn.ir.IF`
(numpy and Brian2 engines); :data:`FIXED` from Loihi fixed-point
:class:`~spikeattn.ir.LoihiLIF` with integer weights (numpy, bit-exact with Lava).  A
builder asks the kit for neurons and weights in *units*: one unit of excitation is weight
``1.0`` (float) or ``2`` (fixed, so that half-unit thresholds are integers and mixed-sign
weights are even, which Lava's 8-bit quantisation keeps exactly).

Behaviour common to both (t in steps):

``always_on``      spikes at every step until inhibited with :meth:`~Kit.inhibit`.
``window``         one neuron spiking exactly at steps ``start <= t < stop``.
``clock``          one neuron spiking at every step ``t >= start`` (until inhibited).
``relay``          memoryless coincidence neurons: spike iff the summed input of this step
                   exceeds the threshold; each of two coincident inputs gets ``relay_and``
                   (either alone is sub-threshold), a single input ``relay_pass`` suffices
                   and ``relay_block`` vetoes one ``relay_pass`` input.
``one_shot``       non-leaky integrators with threshold ``vth`` units that spike at most
                   once (float: reset to ``-BIG``; fixed: reset to 0 plus a ``-BIG``
                   self-inhibition one step later).
``latch``          spikes at every step after its trigger first spiked (self-excitation).

Float equations (LIF, per step): ``u = u (1 - du) + a_in``, ``v = v (1 - dv) + u + bias``,
spike if ``v > vth``.  Float timers are counters (``IF`` with ``vth = 0`` and subtract
reset, which subtracts nothing): ``v[t] = v[-1] + (t + 1) * bias``, so a countdown
(``bias = -1``, ``v[-1] = stop + 0.5``) spikes while ``t < stop`` and a countup
(``bias = +1``, ``v[-1] = -start - 0.5``) from ``t = start``.  Fixed timers use a ``t0``
neuron that spikes once at step 0 and projections with delays ``start`` / ``stop`` (so
``stop <= 64`` on Loihi/Lava, whose delays are 6-bit).  ``-BIG`` inhibition is ``-1e6``
(float) or ``-255 << 7`` (fixed, ``u`` ≈ -2.1e6 in Loihi's 24-bit state): permanent within
any run of fewer than ~10^4 steps.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...ir import IF, LIF, Circuit, LoihiLIF

#: Float "infinite" inhibition / reset depth (exact for integer sums far below it).
BIG = 1.0e6


def broadcast(n_post: int, n_pre: int, w: float):
    """All-to-all weights ``(n_post, n_pre)`` of value ``w`` (sparse CSR)."""
    return sp.csr_matrix(np.full((n_post, n_pre), w))


def blocks(n_blocks: int, block: int, w: float, transpose: bool = False):
    """Block matrix: ``(n_blocks * block, n_blocks)`` with ``w`` where neuron ``i`` belongs
    to block ``i // block`` (``transpose``: ``(n_blocks, n_blocks * block)``, pooling)."""
    m = sp.kron(sp.identity(n_blocks, format="csr"), np.ones((block, 1)), format="csr") * w
    return sp.csr_matrix(m.T if transpose else m)


def one_to_one(n: int, w: float):
    """Diagonal ``(n, n)`` weights ``w`` (sparse CSR)."""
    return sp.identity(n, format="csr") * w



class FloatKit:
    """Helper neurons in float LIF/IF (see the module docstring)."""

    fixed_point = False
    unit = 1.0
    relay_and, relay_pass, relay_block = 0.6, 1.5, -2.0

    def w(self, units):
        """Weights for ``units`` of excitation (scalar, array or sparse)."""
        return units * self.unit if not sp.issparse(units) else units.astype(float) * self.unit

    def inhibit(self, c: Circuit, pre: str, post: str, name: str | None = None, delay: int = 1,
                one_to_one: bool = False) -> None:
        """``-BIG`` from ``pre`` to ``post``, all-to-all (or one-to-one): silences for good."""
        c.connect(pre, post, self._big(c, pre, post, one_to_one), name=name, delay=delay)

    def _big(self, c, pre, post, one):
        n_post, n_pre = c.node(post).size, c.node(pre).size
        return one_to_one(n_pre, -BIG) if one else broadcast(n_post, n_pre, -BIG)

    def always_on(self, c: Circuit, name: str, size: int = 1):
        return c.add_population(name, size, LIF(du=1.0, dv=0.0, vth=1.0, bias=1.5, reset="zero"))

    def one_shot(self, c: Circuit, name: str, size: int, vth: float):
        return c.add_population(name, size, LIF(du=1.0, dv=0.0, vth=float(vth), reset="zero", v_reset=-BIG))

    def relay(self, c: Circuit, name: str, size: int):
        return c.add_population(name, size, LIF(du=1.0, dv=1.0, vth=1.0))

    def latch(self, c: Circuit, name: str, size: int, trigger: str):
        c.add_population(name, size, LIF(du=1.0, dv=1.0, vth=0.5))
        c.connect(trigger, name, one_to_one(size, 1.0), name=f"{trigger}->{name}")
        c.connect(name, name, one_to_one(size, 1.0), name=f"{name}->{name}")

    def clock(self, c: Circuit, name: str, start: int):
        return c.add_population(name, 1, IF(vth=0.0, bias=1.0, reset="subtract"),
                                initial={"v": -float(start) - 0.5})

    def window(self, c: Circuit, name: str, start: int, stop: int):
        if start == 0:
            return c.add_population(name, 1, IF(vth=0.0, bias=-1.0, reset="subtract"),
                                    initial={"v": float(stop) + 0.5})
        # window[t] = opened[t-1] AND open[t-1]
        self.clock(c, f"{name}_opened", start - 1)
        self.window(c, f"{name}_open", 0, stop - 1)
        self.relay(c, name, 1)
        c.connect(f"{name}_opened", name, self.relay_and)
        c.connect(f"{name}_open", name, self.relay_and)


class FixedKit(FloatKit):
    """Helper neurons in Loihi fixed point (:class:`LoihiLIF`, integer weights).

    Integrators use ``du = 4095`` (no current memory) and ``dv = 0`` (no leak), so
    ``v[t] = v[t-1] + (a_in[t] << 6)`` exactly; relays use ``dv = 4095`` as well, which
    zeroes any ``|v| < 4096`` every step (memoryless for the sub-threshold values used)."""

    fixed_point = True
    unit = 2
    relay_and, relay_pass, relay_block = 3, 6, -8     # relay vth 5: 3+3 > 5 > 3;  6 > 5 > 6-8
    BIG_W, BIG_EXP = -255, 7

    def w(self, units):
        if sp.issparse(units):
            return sp.csr_matrix(units * self.unit).astype(np.int64)
        return np.rint(np.asarray(units) * self.unit).astype(np.int64)

    def inhibit(self, c: Circuit, pre: str, post: str, name: str | None = None, delay: int = 1,
                one_to_one: bool = False) -> None:
        n_post, n_pre = c.node(post).size, c.node(pre).size
        w = sp.identity(n_pre, format="csr") * self.BIG_W if one_to_one else broadcast(n_post, n_pre, self.BIG_W)
        c.connect(pre, post, w.astype(np.int64), name=name, delay=delay, weight_exp=self.BIG_EXP)

    def _t0(self, c: Circuit) -> str:
        if "t0" not in c.graph:
            c.add_population("t0", 1, LoihiLIF(du=4095, dv=0, vth=1, bias_mant=100))
            self.inhibit(c, "t0", "t0")
        return "t0"

    def always_on(self, c: Circuit, name: str, size: int = 1):
        return c.add_population(name, size, LoihiLIF(du=4095, dv=0, vth=1, bias_mant=100))

    def one_shot(self, c: Circuit, name: str, size: int, vth: float):
        th = float(vth) * self.unit
        if th != int(th):
            raise ValueError(f"one_shot '{name}': threshold {vth} units is not a multiple of 1/{self.unit}")
        p = c.add_population(name, size, LoihiLIF(du=4095, dv=0, vth=int(th)))
        c.connect(name, name, one_to_one(size, self.BIG_W).astype(np.int64), name=f"{name}->{name}",
                  weight_exp=self.BIG_EXP)
        return p

    def relay(self, c: Circuit, name: str, size: int):
        return c.add_population(name, size, LoihiLIF(du=4095, dv=4095, vth=5))

    def latch(self, c: Circuit, name: str, size: int, trigger: str):
        c.add_population(name, size, LoihiLIF(du=4095, dv=4095, vth=1))
        c.connect(trigger, name, one_to_one(size, 2).astype(np.int64), name=f"{trigger}->{name}")
        c.connect(name, name, one_to_one(size, 2).astype(np.int64), name=f"{name}->{name}")

    def clock(self, c: Circuit, name: str, start: int):
        if start <= 0:
            return self.always_on(c, name)
        t0 = self._t0(c)
        c.add_population(name, 1, LoihiLIF(du=4095, dv=4095, vth=1))
        c.connect(t0, name, np.array([[2]]), name=f"{t0}->{name}", delay=int(start))
        c.connect(name, name, np.array([[2]]), name=f"{name}->{name}")

    def window(self, c: Circuit, name: str, start: int, stop: int):
        self.clock(c, name, start)
        self.inhibit(c, self._t0(c), name, name=f"t0-|{name}", delay=int(stop))


FLOAT, FIXED = FloatKit(), FixedKit()


def kit(fixed_point: bool):
    """The helper-neuron kit for the arithmetic (``FIXED`` for Loihi fixed point)."""
    return FIXED if fixed_point else FLOAT
