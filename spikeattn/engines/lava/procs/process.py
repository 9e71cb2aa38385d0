"""``StateLIF``: Lava's LIF process that also records its spikes and state ``u``, ``v``;
``StateGradedReLU``: a memoryless graded ReLU process recording the same way.

Reading state back through Lava is slow: ``Var.get`` (and ``Monitor.get_data``, which
uses it) moves one element per channel message, 20-80 µs each on a loaded machine, so
that reading u and v of 300 neurons over 200 steps took 29 s.  Instead each ``StateLIF``
model keeps its own ``(steps, 3, size)`` record of ``[s, u, v]`` after every step (after
the spike reset, as a Monitor would record them) and writes it with ``numpy.save`` to
``record_path`` at step ``record_steps``, before ``run`` returns.  The dynamics are Lava's
own: the models in :mod:`.models` subclass ``PyLifModelBitAcc`` / ``PyLifModelFloat`` and
only add the recording after Lava's ``run_spk``.

Samples streamed through one run (``sample_steps = S > 0``, ``gap = G``; the engine's
default ``batch_mode="stream"``): the run is a sequence of periods of ``S + G`` steps, one
sample (or one tiled block of samples) per period, the last ``G`` steps of each a gap in
which the sources send nothing.  At the first step of every period the models restore
their initial ``u``, ``v`` (as Lava's own ``LIFReset`` zeroes them every ``reset_interval``)
and discard the input that arrives (at a sample's first step the input is zero by
definition: every projection delays by at least one step, so it can only hold spikes of
the previous sample); during the gap they discard their input and send no spikes.  With
``G = max delay - 1`` every spike of a sample has arrived (and been discarded) by the
first step of the next, so each sample runs exactly as in a fresh network.
"""
from __future__ import annotations

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.proc.lif.process import LIF


class StateLIF(LIF):
    """``lava.proc.lif.process.LIF`` that records ``[s, u, v]`` every step.

    Extra parameters: ``record_path`` (a ``.npy`` file written once, atomically, at step
    ``record_steps``) and ``record_steps`` (the number of steps of the run).  Equations:
    those of Lava's LIF (see ``spikeattn.ir.LoihiLIF`` / ``spikeattn.ir.LIF``).
    """

    def __init__(self, *, record_path: str, record_steps: int, sample_steps: int = 0, gap: int = 0,
                 **kwargs) -> None:
        super().__init__(record_path=str(record_path), record_steps=int(record_steps),
                         sample_steps=int(sample_steps), gap=int(gap), **kwargs)


class StateGradedReLU(AbstractProcess):
    """Memoryless graded ReLU (``spikeattn.ir.neurons_extra.GradedReLU``) that records
    ``[s, 0, v]`` every step (same record layout as :class:`StateLIF`; the middle row is 0,
    the neuron has no current ``u``).

    Per step, with ``a_in`` the summed input arriving this step::

        v[t] = a_in[t]
        s[t] = v[t] - vth   if v[t] > vth   else 0      (graded spike, sent on ``s_out``)

    Lava's own ``GradedReluVec`` sends ``v * (v > vth)`` (the value, not the excess over
    the threshold), hence this process.  ``vth`` is per neuron (float).  Only a
    ``floating_pt`` model exists: GradedReLU is a float model.
    """

    def __init__(self, *, shape: tuple, vth, record_path: str, record_steps: int, name: str | None = None,
                 v=0.0, sample_steps: int = 0, gap: int = 0) -> None:
        super().__init__(shape=shape, name=name, record_path=str(record_path), record_steps=int(record_steps),
                         sample_steps=int(sample_steps), gap=int(gap))
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=v)
        self.vth = Var(shape=shape, init=vth)


class StateLIFVec(LIF):
    """:class:`StateLIF` with per-neuron ``du``, ``dv`` and ``vth`` (Vars of shape ``(n,)``).

    Lava's LIF holds one decay pair and threshold per process; its models' arithmetic is
    element-wise numpy, so the same code with vector Vars computes, for every neuron, what a
    one-neuron LIF process with that neuron's constants computes (Loihi 2 itself keeps
    several compartment profiles per core).  Used to run several populations as one process
    (:mod:`spikeattn.engines.lava.merging`).
    """

    def __init__(self, *, shape: tuple, du, dv, vth, record_path: str, record_steps: int, sample_steps: int = 0,
                 gap: int = 0, **kwargs) -> None:
        super().__init__(shape=shape, du=0, dv=0, vth=0, record_path=str(record_path),
                         record_steps=int(record_steps), sample_steps=int(sample_steps), gap=int(gap), **kwargs)
        self.du = Var(shape=shape, init=du)
        self.dv = Var(shape=shape, init=dv)
        self.vth = Var(shape=shape, init=vth)


class StateMultiThresholdIF(AbstractProcess):
    """Fixed-point multi-threshold IF neuron (``spikeattn.ir.LoihiMultiThresholdIF``) with
    graded-spike output, recording ``[s, 0, v]`` every step (layout of :class:`StateLIF`).

    Per step, integers (int64 arithmetic; ``a_in`` arrives on an int32 port, i.e. already
    wrapped to int32; ``bias = bias_mant << bias_exp``, or ``>> -bias_exp``)::

        v1 = wrap32(v + a_in + bias)
        v  = clip(v1, -(2**23 - 1), 2**23 - 1)
        n  = clip((v - 1) // vth, 0, L)            where v > 0
             -clip((-v - 1) // vth, 0, L)          where v < 0 and signed, else 0
        v  = v - n * vth ;  s = n                  (graded payload on ``s_out``)

    ``sign_out`` sends ``sign(s)`` (for ``"binary"`` projections, which add ``w * sign(s)``
    from a signed-output model; Lava's binary Dense would add ``w * [s != 0]``).
    ``vth``, ``levels``, ``signed`` (0/1), ``bias_mant``, ``bias_exp`` are per neuron
    (vector Vars, so merged populations keep their own parameters).  Only a ``fixed_pt``
    model exists.
    """

    def __init__(self, *, shape: tuple, vth, levels, signed, bias_mant, bias_exp, record_path: str,
                 record_steps: int, name: str | None = None, v=0, sample_steps: int = 0, gap: int = 0) -> None:
        super().__init__(shape=shape, name=name, record_path=str(record_path), record_steps=int(record_steps),
                         sample_steps=int(sample_steps), gap=int(gap))
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.sign_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=v)
        self.vth = Var(shape=shape, init=vth)
        self.levels = Var(shape=shape, init=levels)
        self.signed = Var(shape=shape, init=signed)
        self.bias_mant = Var(shape=shape, init=bias_mant)
        self.bias_exp = Var(shape=shape, init=bias_exp)


class StateLoihiGradedReLU(AbstractProcess):
    """Fixed-point memoryless graded ReLU (``spikeattn.ir.LoihiGradedReLU``) recording
    ``[s, 0, v]`` every step.

    Per step, integers (``a_in`` from an int32 port)::

        v = clip(wrap32(a_in), -(2**23 - 1), 2**23 - 1)      (overwritten every step)
        s = v - vth   where v > vth   else 0                 (graded payload on ``s_out``)

    ``vth`` (integer, >= 0) is per neuron.  Only a ``fixed_pt`` model exists.
    """

    def __init__(self, *, shape: tuple, vth, record_path: str, record_steps: int, name: str | None = None,
                 v=0, sample_steps: int = 0, gap: int = 0) -> None:
        super().__init__(shape=shape, name=name, record_path=str(record_path), record_steps=int(record_steps),
                         sample_steps=int(sample_steps), gap=int(gap))
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=v)
        self.vth = Var(shape=shape, init=vth)


from lava.proc.dense.process import Dense   # noqa: E402
from lava.proc.sparse.process import Sparse  # noqa: E402


class DelayLineDense(Dense):
    """Lava's fixed-point ``Dense`` with a uniform delay of ``delay_steps = d`` steps (every
    synapse the same), for ``d >= 2``: the dendritic accumulation of step t arrives at step
    ``t + d`` (Lava's ``Dense``: ``d = 1``; ``DelayDense`` with delay ``d - 1`` gives the same
    arrivals).  Weights are quantised by Lava's own ``clip_weights`` / ``truncate_weights``
    and shifted by ``weight_exp`` as in ``Dense``; sums are int64 before the shift (as in
    ``DelayDense``).  Unlike ``DelayDense``, which rebuilds a ``(d, post, pre)`` weight stack
    every step, the model keeps the ``d`` pending outputs in a queue: one ``W @ s`` per step.
    Only a ``fixed_pt`` model exists."""

    def __init__(self, *, delay_steps: int, **kwargs) -> None:
        super().__init__(delay_steps=int(delay_steps), **kwargs)


class DelayLineSparse(Sparse):
    """:class:`DelayLineDense` for scipy CSR weights (Lava's ``Sparse``); sums are int32
    before the shift (as in ``Sparse`` / ``DelaySparse``)."""

    def __init__(self, *, delay_steps: int, **kwargs) -> None:
        super().__init__(delay_steps=int(delay_steps), **kwargs)
