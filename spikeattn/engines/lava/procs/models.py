"""ProcessModels of :class:`StateLIF`: Lava's LIF models plus a local record of s, u, v;
of :class:`StateGradedReLU` (floating point only); and of the fixed-point conversion
neurons :class:`StateMultiThresholdIF` / :class:`StateLoihiGradedReLU` (``fixed_pt`` only).

The LIF classes subclass Lava's ``PyLifModelBitAcc`` ("fixed_pt") and ``PyLifModelFloat``
("floating_pt"); the inherited ``implements_process`` is cleared so that ``@implements``
accepts the new process.  ``run_spk`` is Lava's, followed by :func:`record_step`: LIF and
LoihiLIF run Lava's own dynamics, against which spikeattn's are tested bit for bit.

The models of spikeattn's own neurons (GradedReLU, LoihiMultiThresholdIF, LoihiGradedReLU)
have no Lava implementation to follow: their ``run_spk`` calls the one definition of the
neuron, ``spikeattn.dynamics.dynamics_for(model).step`` (numpy, as these models are), on
parameters read from the process's Vars, and only adds what belongs to Lava: the ports, the
sample boundaries of a streamed batch and the record.
"""
from __future__ import annotations

import os

import numpy as np
from scipy.sparse import csr_matrix
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.resources import CPU
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat

from spikeattn.dynamics import dynamics_for
from spikeattn.dynamics import fixed_point as fx
from spikeattn.engines.lava.procs.process import (DelayLineDense, DelayLineSparse, StateGradedReLU, StateLIF, StateLIFVec, StateLoihiGradedReLU,
                                                  StateMultiThresholdIF)
from spikeattn.ir import LoihiGradedReLU, LoihiMultiThresholdIF
from spikeattn.ir.neurons_extra import GradedReLU

#: The one definition of each of spikeattn's own neurons (:mod:`spikeattn.dynamics`).
GRADED_RELU = dynamics_for(GradedReLU)
LOIHI_MULTI_THRESHOLD_IF = dynamics_for(LoihiMultiThresholdIF)
LOIHI_GRADED_RELU = dynamics_for(LoihiGradedReLU)


def record_step(model, dtype, s=None, u=None) -> None:
    """Store ``[s, u, v]`` of this step (default: the LIF's ``s_out_buff`` and ``u``);
    write the record at the last step."""
    steps = int(model.proc_params["record_steps"])
    rec = getattr(model, "_record", None)
    if rec is None:
        rec = model._record = np.zeros((steps, 3) + model.v.shape, dtype)
    t = model.time_step - 1
    if 0 <= t < steps:
        rec[t, 0] = model.s_out_buff if s is None else s
        rec[t, 1] = model.u if u is None else u
        rec[t, 2] = model.v
    if model.time_step == steps:
        path = model.proc_params["record_path"]
        tmp = f"{path}.{os.getpid()}.tmp.npy"
        np.save(tmp, rec, allow_pickle=False)
        os.replace(tmp, path)


class _Unbound:
    implements_process = None
    implements_protocol = None


def sample_phase(model):
    """``None`` (one sample per run), else the step's index in its period of ``S + G`` steps
    (0: a sample's first step; ``>= S``: the gap); see :mod:`.process`."""
    steps = int(model.proc_params.get("sample_steps", 0) or 0)
    if steps <= 0:
        return None
    return (model.time_step - 1) % (steps + int(model.proc_params.get("gap", 0) or 0))


class _Samples:
    """Sample boundaries around Lava's own LIF dynamics (restore u, v; discard input; mute the gap)."""

    def subthr_dynamics(self, activation_in):
        k = sample_phase(self)
        if k is not None:
            if getattr(self, "_initial_uv", None) is None:
                self._initial_uv = (self.u.copy(), self.v.copy())
            if k == 0:
                self.u[:] = self._initial_uv[0]
                self.v[:] = self._initial_uv[1]
            if k == 0 or k >= int(self.proc_params["sample_steps"]):
                activation_in = np.zeros_like(activation_in)
        super().subthr_dynamics(activation_in=activation_in)

    def spiking_activation(self):
        s = super().spiking_activation()
        k = sample_phase(self)
        if k is not None and k >= int(self.proc_params["sample_steps"]):
            s = np.zeros_like(s)
        return s


@implements(proc=StateLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyStateLifModelBitAcc(_Unbound, _Samples, PyLifModelBitAcc):
    """Lava's bit-accurate LIF; records [s, u, v] as int32 (u, v are 24-bit)."""

    def run_spk(self):
        super().run_spk()
        record_step(self, np.int32)


@implements(proc=StateLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStateLifModelFloat(_Unbound, _Samples, PyLifModelFloat):
    """Lava's floating-point LIF; records [s, u, v] as float64."""

    def run_spk(self):
        super().run_spk()
        record_step(self, np.float64)


@implements(proc=StateLIFVec, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyStateLifVecModelBitAcc(_Unbound, _Samples, PyLifModelBitAcc):
    """Lava's bit-accurate LIF with per-neuron du, dv, vth (same code, vector Vars; the
    products are int64 as in Lava's scalar case); records [s, u, v] as int32."""

    du: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=17)

    def run_spk(self):
        super().run_spk()
        record_step(self, np.int32)


@implements(proc=StateLIFVec, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStateLifVecModelFloat(_Unbound, _Samples, PyLifModelFloat):
    """Lava's floating-point LIF with per-neuron du, dv, vth; records [s, u, v] as float64."""

    du: np.ndarray = LavaPyType(np.ndarray, float)
    dv: np.ndarray = LavaPyType(np.ndarray, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        super().run_spk()
        record_step(self, np.float64)


@implements(proc=StateGradedReLU, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyStateGradedReluModelFloat(PyLoihiProcessModel):
    """:class:`~spikeattn.dynamics.GradedReLUDynamics` (``v = a_in``; sends ``s = v - vth``
    where ``v > vth``, else 0; float64); records ``[s, 0, v]`` as float64."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    vth: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self):
        # a sample's first step (input zero by definition) and the gap see no input
        a_in, muted = _phase_input(self, self.a_in.recv())
        s, new = GRADED_RELU.step({"vth": self.vth}, {"v": self.v}, a_in)
        self.v[:] = new["v"]
        if muted:
            s = np.zeros_like(s)        # the gap sends nothing
        self.s_out.send(s)
        record_step(self, np.float64, s=s, u=0.0)


def _phase_input(model, a_in: np.ndarray):
    """``(a_in, muted)``: the input with a streamed sample's first step and the gap zeroed,
    and whether this step is in the gap (send nothing)."""
    k = sample_phase(model)
    if k is None:
        return a_in, False
    gap = k >= int(model.proc_params["sample_steps"])
    if k == 0 or gap:
        a_in = np.zeros_like(a_in)
    return a_in, gap


@implements(proc=StateMultiThresholdIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyStateMultiThresholdIFModelFixed(PyLoihiProcessModel):
    """Integer multi-threshold IF: :class:`~spikeattn.dynamics.LoihiMultiThresholdIFDynamics`
    (equations in :class:`StateMultiThresholdIF`), int64 arithmetic on int32 Vars; sends the
    level ``n`` on ``s_out`` and ``sign(n)`` on ``sign_out``; records ``[n, 0, v]`` as int32."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    sign_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=2)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    levels: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    signed: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=1)
    bias_mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=13)
    bias_exp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=4)

    def run_spk(self):
        if getattr(self, "_initial_v", None) is None:
            self._initial_v = self.v.copy()
            self._params = {"vth": self.vth.astype(np.int64), "levels": self.levels.astype(np.int64),
                            "signed": self.signed.astype(bool),
                            "bias": fx.effective_bias(self.bias_mant, self.bias_exp)}
        a_in, muted = _phase_input(self, self.a_in.recv().astype(np.int64))
        if sample_phase(self) == 0:
            self.v[:] = self._initial_v
        n, new = LOIHI_MULTI_THRESHOLD_IF.step(self._params, {"v": self.v.astype(np.int64)}, a_in)
        self.v[:] = new["v"]
        if muted:
            n = np.zeros_like(n)
        self.s_out.send(n)
        self.sign_out.send(np.sign(n))
        record_step(self, np.int32, s=n, u=0)


@implements(proc=StateLoihiGradedReLU, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyStateLoihiGradedReluModelFixed(PyLoihiProcessModel):
    """:class:`~spikeattn.dynamics.LoihiGradedReLUDynamics` (``v = clip(wrap32(a_in),
    +-(2**23 - 1))``; sends ``s = v - vth`` where ``v > vth``, else 0); records ``[s, 0, v]``
    as int32."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def run_spk(self):
        a_in, muted = _phase_input(self, self.a_in.recv().astype(np.int64))
        s, new = LOIHI_GRADED_RELU.step({"vth": self.vth.astype(np.int64)}, {"v": self.v}, a_in)
        self.v[:] = new["v"]
        if muted:
            s = np.zeros_like(s)
        self.s_out.send(s)
        record_step(self, np.int32, s=s, u=0)


class _DelayLine:
    """A uniform ``delay_steps = d`` delay after Lava's fixed-point Dense/Sparse arithmetic:
    quantise the weights once (Lava's ``clip_weights``, ``truncate_weights``, sign mode as
    given or detected), then every step send the output computed ``d`` steps before (zeros
    at first), accumulate ``W @ s`` (graded, ``num_message_bits > 0``) or ``W @ [s != 0]``,
    shift by ``weight_exp`` and queue it.  ``_acc_dtype``: int64 (dense, as DelayDense) or
    int32 (sparse, as Sparse / DelaySparse)."""

    def run_spk(self):
        from collections import deque

        from lava.utils.weightutils import clip_weights, determine_sign_mode, truncate_weights
        if getattr(self, "_queue", None) is None:
            mode = self.proc_params.get("sign_mode") or determine_sign_mode(self.weights)
            w = clip_weights(self.weights, mode, num_bits=8)
            w = truncate_weights(w, mode, self.proc_params.get("num_weight_bits", 8))
            self._w = w.astype(self._acc_dtype)
            self._exp = int(self.proc_params.get("weight_exp", 0))
            self._graded = self.num_message_bits.item() > 0
            n = self._w.shape[0]
            self._queue = deque(np.zeros(n, self._acc_dtype) for _ in range(int(self.proc_params["delay_steps"])))
        self.a_out.send(self._queue.popleft())
        s_in = self.s_in.recv()
        s_in = s_in.astype(self._acc_dtype) if self._graded else (s_in != 0).astype(self._acc_dtype)
        acc = np.asarray(self._w.dot(s_in)).reshape(-1).astype(self._acc_dtype, copy=False)
        self._queue.append(np.left_shift(acc, self._exp) if self._exp > 0 else np.right_shift(acc, -self._exp))


@implements(proc=DelayLineDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyDelayLineDenseModelBitAcc(_DelayLine, PyLoihiProcessModel):
    """Fixed-point dense delay line (int64 sums before the shift, as DelayDense)."""

    _acc_dtype = np.int64
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    num_message_bits: np.ndarray = LavaPyType(np.ndarray, int, precision=5)


@implements(proc=DelayLineSparse, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyDelayLineSparseModelBitAcc(_DelayLine, PyLoihiProcessModel):
    """Fixed-point sparse delay line (int32 sums before the shift, as Sparse / DelaySparse)."""

    _acc_dtype = np.int32
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    weights: csr_matrix = LavaPyType(csr_matrix, np.int32, precision=8)
    num_message_bits: np.ndarray = LavaPyType(np.ndarray, int, precision=5)
