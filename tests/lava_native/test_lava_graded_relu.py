"""GradedReLU in Lava 0.10, in-process (``.venv-lava/bin/python -m pytest tests/lava_native``).

Oracles: Lava's own ``GradedReluVec`` (which emits ``v * (v > vth)``: our ``StateGradedReLU``
must emit that minus ``vth`` wherever it is non-zero), and the numpy engine (identical
graded spikes, probes and EventCounts, in both batch modes).
"""
import numpy as np
import pytest

from spikeattn import LIF, Circuit
from spikeattn.ir.neurons_extra import GradedReLU


def run_lava_graded_relu_vec(x: np.ndarray, vth: int) -> np.ndarray:
    """Lava's GradedReluVec (fixed_pt) fed directly by a RingBuffer with ``x`` (steps, n);
    its output read from a sink RingBuffer.  Returns (steps, n)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.graded.process import GradedReluVec
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    steps, n = x.shape
    src = Source(data=np.ascontiguousarray(x.T.astype(np.int32)))
    relu = GradedReluVec(shape=(n,), vth=vth)
    sink = Sink(shape=(n,), buffer=steps)
    src.s_out.connect(relu.a_in)
    relu.s_out.connect(sink.a_in)
    sink.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        out = np.asarray(sink.data.get()).T.copy()
    finally:
        sink.stop()
    return out


def run_state_graded_relu(x: np.ndarray, vth: float, folder) -> np.ndarray:
    """Our StateGradedReLU (floating_pt), fed the same way; returns its record (steps, 3, n)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer as Source

    from spikeattn.engines.lava.procs.process import StateGradedReLU

    steps, n = x.shape
    path = folder / "relu.npy"
    src = Source(data=np.ascontiguousarray(x.T.astype(np.float64)))
    relu = StateGradedReLU(shape=(n,), vth=np.full(n, float(vth)), record_path=path, record_steps=steps)
    src.s_out.connect(relu.a_in)
    relu.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
    relu.stop()
    return np.load(path, allow_pickle=False)


@pytest.mark.parametrize("vth", [0, 3])
def test_state_graded_relu_is_lavas_graded_relu_vec_minus_threshold(rng, tmp_path, vth):
    x = rng.integers(-6, 12, (9, 5))
    lava_out = run_lava_graded_relu_vec(x, vth)
    rec = run_state_graded_relu(x, vth, tmp_path)
    assert (lava_out > 0).any() and (lava_out == 0).any()
    np.testing.assert_array_equal(rec[:, 2], x)                     # v = a_in, no memory
    np.testing.assert_array_equal(rec[:, 0], np.where(lava_out != 0, lava_out - vth, 0))


def chain(rng) -> Circuit:
    """Graded source -> GradedReLU (per-neuron vth) -> GradedReLU with a graded self-loop,
    delay 2 (Lava's DelayDense/Sparse with num_message_bits=24) -> LIF (graded and binary)."""
    c = Circuit("graded_chain")
    c.add_source("in", 5, encoder="graded")
    c.add_population("acc", 5, GradedReLU(vth=np.array([0.0, 0.25, 0.5, 1.0, 0.0])))
    c.add_population("hold", 3, GradedReLU(vth=0.5))
    c.add_population("out", 2, LIF(du=0.5, dv=0.25, vth=1.0))
    c.connect("in", "acc", rng.integers(-2, 6, (5, 5)) / 4, message="graded")
    c.connect("acc", "hold", rng.integers(-2, 6, (3, 5)) / 4, message="graded", delay=2)
    c.connect("hold", "hold", 0.5, message="graded", delay=2, name="hold->hold")
    c.connect("hold", "out", rng.integers(0, 4, (2, 3)) / 4, message="graded")
    c.connect("acc", "out", rng.integers(0, 4, (2, 5)) / 4, name="acc->out binary")
    c.probe("acc", ("v",))
    c.probe("hold", ("v",))
    return c


@pytest.mark.parametrize("batch_mode", ["loop", "tile"])
def test_graded_relu_chain_equals_numpy(rng, compare_with_lava, batch_mode):
    c = chain(rng)
    x = rng.integers(-4, 12, (10, 2, 5)) / 4
    x[rng.random(x.shape) < 0.3] = 0
    ref, got = compare_with_lava(c, {"in": x}, 10, exact=False, rtol=0, atol=0, batch_mode=batch_mode)
    assert got.spikes["hold"].dtype == np.float64 and np.any(got.spikes["hold"] % 1 != 0)
    assert got.spikes["out"].any() and got.meta["mode"] == "floating_pt"
