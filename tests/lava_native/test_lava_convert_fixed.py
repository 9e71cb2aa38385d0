"""Fixed-point conversion neurons (LoihiMultiThresholdIF, LoihiGradedReLU) on Lava 0.10,
in-process (``.venv-lava/bin/python -m pytest tests/lava_native``).

Oracles: trajectories computed by hand from the equations of the spec (literal values
below, with the arithmetic in the comments), Python-integer closed forms of the int32 wrap
and 24-bit saturation, and the numpy engine (identical spikes, v and EventCounts) on random
converted-style circuits in every batch mode, merged and unmerged.
"""
import numpy as np
import pytest

import spikeattn as sa
from spikeattn.errors import SpikeattnWarning, UnsupportedFeatureError
from spikeattn.ir import LoihiGradedReLU, LoihiMultiThresholdIF

MODES = [{}, {"batch_mode": "loop"}, {"batch_mode": "tile"}, {"merge": False},
         {"batch_mode": "loop", "merge": False}]


def literal_circuit():
    """Identity weights (1: excitatory, no truncation), weight_exp 0, delay 1: each neuron
    receives its source value one step later."""
    c = sa.Circuit("fx_literal")
    c.add_source("x", 5, encoder="graded")
    c.add_source("y", 3, encoder="graded")
    c.add_population("m", 5, LoihiMultiThresholdIF(vth=10, levels=3, signed=True))
    c.add_population("b", 2, LoihiMultiThresholdIF(vth=10, levels=3, bias_mant=[3, -3], bias_exp=[2, -1]))
    c.add_population("g", 3, LoihiGradedReLU(vth=[0, 2, 5]))
    c.connect("x", "m", np.eye(5, dtype=int), message="count")
    c.connect("y", "g", np.eye(3, dtype=int), message="count")
    # m -> d: count (3 * n) << 1 and binary 5 * sign(n) from the signed m, both delay 1
    c.add_population("d", 1, LoihiGradedReLU(vth=0))
    c.add_population("e", 1, LoihiMultiThresholdIF(vth=100, levels=1, signed=True))
    c.connect("m", "d", np.array([[0, 0, 3, 0, 0]]), message="count", weight_exp=1)
    c.connect("m", "e", np.array([[0, 5, 0, 0, 0]]), message="binary")
    for p in ("m", "b", "g", "d", "e"):
        c.probe(p, ("v",))
    return c


X = np.array([[25, -25, 47, -7, 10], [3, 0, 0, 40, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
Y = np.array([[4, 4, -3], [1, 2, 9], [0, 0, 0], [0, 0, 0]])
EXPECTED = {
    # m (vth 10, L 3, signed): step 1 a_in = X[0]: v = 25 -> n = 24 // 10 = 2, v = 5;
    # -25 -> n = -2, v = -5; 47 -> 46 // 10 = 4 clipped to 3, v = 17; -7 -> 0;
    # 10 -> 9 // 10 = 0 (a threshold is exceeded strictly).  Step 2 a_in = X[1]: 8 -> 0;
    # -5 -> 0; 17 -> 1, v = 7; -7 + 40 = 33 -> 3, v = 3; 11 -> 1, v = 1.  Step 3: 7 -> 0.
    "m": ([[0] * 5, [2, -2, 3, 0, 0], [0, 0, 1, 3, 1], [0] * 5],
          [[0] * 5, [5, -5, 17, -7, 10], [8, -5, 7, 3, 1], [8, -5, 7, 3, 1]]),
    # b: bias 3 << 2 = 12 and -3 >> 1 = -2 every step, unsigned: v 12 -> n 1, v 2; 14 -> 1, 4;
    # 16 -> 1, 6; 18 -> 1, 8.  The second neuron goes -2, -4, ... with n = 0.
    "b": ([[1, 0]] * 4, [[2, -2], [4, -4], [6, -6], [8, -8]]),
    # g (vth 0, 2, 5): v = Y one step later, s = v - vth where v > vth
    "g": ([[0, 0, 0], [4, 2, 0], [1, 0, 4], [0, 0, 0]], [[0, 0, 0], [4, 4, -3], [1, 2, 9], [0, 0, 0]]),
    # d: (3 * n_m[2]) << 1 one step later: n = 3 at step 1 -> 18 at step 2; n = 1 -> 6 at step 3
    "d": ([[0], [0], [18], [6]], [[0], [0], [18], [6]]),
    # e: binary from the signed m[1]: 5 * sign(-2) = -5 at step 2; no level (|v| <= 100)
    "e": ([[0], [0], [0], [0]], [[0], [0], [-5], [-5]]),
}


@pytest.mark.parametrize("options", MODES[:3], ids=["stream", "loop", "tile"])
def test_literal_trajectories_on_lava(options):
    c = literal_circuit()
    batch = 2           # sample 1 gets the inputs too: identical rows (stream restores v between samples)
    inputs = {"x": np.repeat(X[:, None], batch, 1), "y": np.repeat(Y[:, None], batch, 1)}
    r = sa.simulate(c, inputs, 4, batch=batch, engine="lava", bridge="never", **options)
    for pop, (s, v) in EXPECTED.items():
        for b in range(batch):
            assert r.spikes[pop][:, b].tolist() == s, (pop, b)
            assert r.probes[pop]["v"][:, b].tolist() == v, (pop, b)
    assert r.spikes["m"].dtype == np.int64


def test_literal_one_step_and_counts_against_numpy(compare_with_lava):
    """One step: only the bias acts (inputs arrive one step later); then the 4-step circuit's
    EventCounts equal the numpy engine's."""
    c = literal_circuit()
    r = sa.simulate(c, {"x": X[:1, None], "y": Y[:1, None]}, 1, engine="lava", bridge="never")
    assert r.spikes["b"][0, 0].tolist() == [1, 0] and r.probes["b"]["v"][0, 0].tolist() == [2, -2]
    assert r.spikes["m"][0, 0].tolist() == [0] * 5
    compare_with_lava(c, {"x": X[:, None], "y": Y[:, None]}, 4)


def random_converted(seed: int, n_in: int = 6) -> sa.Circuit:
    """Converted-style fixed-point circuit: integer graded source and a constant bias source
    -> MTIF layer (count out) -> LoihiGradedReLU threshold lines (binary out) and gates
    (count out) -> MTIF output; mixed-sign 8-bit weights, weight_exp -2..3, delays 1..3,
    several projections into one population, one sparse projection, a recurrent one."""
    import scipy.sparse as sps
    rng = np.random.default_rng(seed)
    c = sa.Circuit(f"rand_conv_{seed}")
    c.add_source("x", n_in, encoder="graded")
    c.add_source("bias", 1, encoder="graded")

    def mtif(n, signed):
        return LoihiMultiThresholdIF(vth=rng.integers(8, 80, n), levels=int(rng.integers(1, 8)), signed=signed,
                                     bias_mant=rng.integers(-20, 20, n), bias_exp=int(rng.integers(-2, 3)))

    def w(post, pre, lo=-256, hi=256):
        return rng.integers(lo, hi, (post, pre))

    c.add_population("h", 8, mtif(8, True))
    c.add_population("h2", 5, mtif(5, False))
    c.add_population("th", 4, LoihiGradedReLU(vth=rng.integers(0, 60, 4)))
    c.add_population("gate", 4, LoihiGradedReLU(vth=int(rng.integers(10, 90))))
    c.add_population("out", 3, mtif(3, True))
    d = lambda: int(rng.integers(1, 4))          # noqa: E731
    e = lambda: int(rng.integers(-2, 4))         # noqa: E731
    c.connect("x", "h", w(8, n_in), message="count", delay=1, weight_exp=e())
    c.connect("bias", "h", w(8, 1), message="count", delay=d(), weight_exp=e(), name="bias->h")
    c.connect("x", "h2", sps.random(5, n_in, 0.5, format="csr", random_state=seed,
                                    data_rvs=lambda k: rng.integers(-200, 200, k)), message="count", delay=d())
    c.connect("h", "h2", w(5, 8), message="binary", delay=d(), weight_exp=e())
    c.connect("h", "th", w(4, 8, 0, 256), message="count", delay=d(), weight_exp=e())
    c.connect("h2", "th", w(4, 5), message="binary", delay=1, weight_exp=e())
    c.connect("h", "gate", w(4, 8), message="count", delay=d(), weight_exp=e())
    c.connect("th", "gate", w(4, 4), message="binary", delay=d(), weight_exp=e())
    c.connect("th", "out", w(3, 4), message="binary", delay=d(), weight_exp=e())
    c.connect("gate", "out", w(3, 4), message="count", delay=d(), weight_exp=e())
    c.connect("out", "out", w(3, 3), message="count", delay=d(), name="out->out")
    c.connect("bias", "out", w(3, 1), message="count", delay=d(), weight_exp=e(), name="bias->out")
    for p in c.populations:
        c.probe(p, ("v",))
    return c


def converted_inputs(seed: int, steps: int, batch: int, n_in: int = 6) -> dict:
    rng = np.random.default_rng(100 + seed)
    return {"x": rng.integers(-4, 9, (steps, batch, n_in)), "bias": np.ones((steps, batch, 1), np.int64)}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("options", MODES, ids=["stream", "loop", "tile", "stream_unmerged", "loop_unmerged"])
def test_random_converted_circuits_bit_exact_with_numpy(compare_with_lava, seed, options):
    c = random_converted(seed)
    steps, batch = 10, 3
    ref, got = compare_with_lava(c, converted_inputs(seed, steps, batch), steps, **options)
    levels = sum(int(np.abs(ref.spikes[p]).sum()) for p in c.populations)
    assert levels > 50 and (ref.spikes["h"] < 0).any(), "the circuit should be active, with negative levels"
    assert got.meta["batch_mode"].startswith(options.get("batch_mode", "stream"))


def test_merged_populations_run_as_few_processes(compare_with_lava):
    """Merging concatenates the MTIF populations (different vth, levels, signed, biases) into
    one process and the graded ReLUs into another."""
    c = random_converted(2)
    _, got = compare_with_lava(c, converted_inputs(2, 8, 2), 8)
    _, alone = compare_with_lava(c, converted_inputs(2, 8, 2), 8, merge=False)
    assert got.meta["lava_processes"] < alone.meta["lava_processes"]


def _wrap32(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def test_int32_wrap_and_saturation(compare_with_lava):
    """A count sum beyond int32 wraps before the weight_exp shift; v saturates at 2**23 - 1."""
    big = 2**24
    c = sa.Circuit("fx_wrap")
    c.add_source("x", 4, encoder="graded")
    c.add_population("w", 1, LoihiMultiThresholdIF(vth=2**22, levels=255, signed=True))
    c.add_population("s", 2, LoihiMultiThresholdIF(vth=2**20, levels=1, signed=True))
    c.add_population("r", 2, LoihiGradedReLU(vth=0))
    c.connect("x", "w", np.full((1, 4), 255), message="count", weight_exp=-6)   # 4 * 255 * 2**24 > 2**31
    c.connect("x", "s", np.array([[255, 0, 0, 0], [-256, 0, 0, 0]]), message="count")
    c.connect("x", "r", np.array([[255, 0, 0, 0], [-256, 0, 0, 0]]), message="count", weight_exp=-1)
    for p in ("w", "s", "r"):
        c.probe(p, ("v",))
    x = np.zeros((3, 2, 4), np.int64)
    x[0] = big
    with pytest.warns(SpikeattnWarning, match="saturated"):         # the numpy engine reports it
        ref, got = compare_with_lava(c, {"x": x}, 3)

    def sat(v):             # closed form with Python integers: wrap32, shift, 24-bit clip
        return max(-(2**23 - 1), min(2**23 - 1, v))

    def level(v, vth, top):
        return (1 if v > 0 else -1) * min(top, (abs(v) - 1) // vth) if v else 0

    w = sat(_wrap32(4 * 255 * big) >> 6)                        # wraps to -2**26, then >> 6
    assert w == -(2**20) and 4 * 255 * big >> 6 == 255 * 2**20  # (unwrapped it would be positive)
    n = level(w, 2**22, 255)
    assert (got.spikes["w"][1, 0, 0], got.probes["w"]["v"][1, 0, 0]) == (n, w - n * 2**22)
    s_v = [sat(_wrap32(255 * big)), sat(_wrap32(-256 * big))]  # -2**24 saturates; -2**32 wraps to 0
    assert s_v == [-(2**23 - 1), 0]
    assert got.spikes["s"][1, 0].tolist() == [level(v, 2**20, 1) for v in s_v] == [-1, 0]
    assert got.probes["s"]["v"][1, 0].tolist() == [-(2**23 - 1) + 2**20, 0]
    r_v = [sat(_wrap32(255 * big) >> 1), sat(_wrap32(-256 * big) >> 1)]
    assert got.probes["r"]["v"][1, 0].tolist() == r_v == [-(2**23 - 1), 0]
    assert got.spikes["r"][1, 0].tolist() == [0, 0]


def test_float_count_projection_still_refused():
    c = sa.Circuit("float_count")
    c.add_source("x", 2)
    c.add_population("a", 2, sa.LIF(du=0.5, dv=0.5, vth=1.0))
    c.connect("x", "a", np.ones((2, 2)), message="count")
    with pytest.raises(UnsupportedFeatureError, match="count bursts are not lowered"):
        sa.simulate(c, {"x": np.zeros((3, 1, 2))}, 3, engine="lava", bridge="never")


def _through(conn, data: np.ndarray) -> np.ndarray:
    """RingBuffer(data (steps, n_pre)) -> conn -> sink RingBuffer; returns (steps, n_post)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    steps = data.shape[0]
    src = Source(data=np.ascontiguousarray(data.T.astype(np.int32)))
    sink = Sink(shape=(conn.a_out.shape[0],), buffer=steps)
    src.s_out.connect(conn.s_in)
    conn.a_out.connect(sink.a_in)
    sink.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        return np.asarray(sink.data.get()).T.copy()
    finally:
        sink.stop()


@pytest.mark.parametrize("graded", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_delay_line_equals_lavas_delay_dense_and_sparse(rng, graded, sparse):
    """Oracle: Lava's own DelayDense / DelaySparse (delay d - 1) on the same weights, inputs,
    weight_exp and num_message_bits; our DelayLine* (delay_steps d) must send the same."""
    import scipy.sparse as sps
    from lava.proc.dense.process import DelayDense
    from lava.proc.sparse.process import DelaySparse

    from spikeattn.engines.lava.procs.process import DelayLineDense, DelayLineSparse
    d, steps = 3, 12
    w = rng.integers(-256, 256, (4, 6)) * (rng.random((4, 6)) < 0.7)
    data = rng.integers(-5, 9, (steps, 6)) * (rng.random((steps, 6)) < 0.6)
    kw = {"num_message_bits": 24 if graded else 0, "weight_exp": -1}
    if sparse:
        ws = sps.csr_matrix(w)
        delays = sps.csr_matrix((np.full(ws.nnz, d - 1), ws.indices, ws.indptr), shape=ws.shape)
        ref = _through(DelaySparse(weights=ws, delays=delays, max_delay=d - 1, **kw), data)
        got = _through(DelayLineSparse(weights=ws, delay_steps=d, **kw), data)
    else:
        ref = _through(DelayDense(weights=w, delays=np.full(w.shape, d - 1), max_delay=d - 1, **kw), data)
        got = _through(DelayLineDense(weights=w, delay_steps=d, **kw), data)
    assert np.any(ref != 0) and not np.any(ref[:d])      # the first output arrives d steps later
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("options", MODES[:2], ids=["stream", "loop"])
def test_mixed_with_loihi_lif_bit_exact_with_numpy(compare_with_lava, rng, options):
    """LoihiLIF (binary 0/1 spikes) sends count messages into a LoihiMultiThresholdIF and
    receives its levels as count and binary (sign) messages."""
    c = sa.Circuit("fx_mixed")
    c.add_source("x", 4, encoder="graded")
    c.add_population("lif", 5, sa.LoihiLIF(du=1024, dv=256, vth=40, bias_mant=2))
    c.add_population("m", 3, LoihiMultiThresholdIF(vth=[60, 90, 120], levels=4, signed=True, bias_mant=-5))
    c.connect("x", "lif", rng.integers(-100, 200, (5, 4)), message="count")
    c.connect("lif", "m", np.array([[200, -250, 120, -90, 30], [-200, 150, -60, 250, -120], [90, 90, -250, -250, 60]]),
              message="count", delay=2)
    c.connect("m", "lif", rng.integers(-256, 256, (5, 3)), message="count", delay=1, name="m->lif count")
    c.connect("m", "lif", rng.integers(-256, 256, (5, 3)), message="binary", delay=3, name="m->lif sign")
    c.probe("lif", ("u", "v"))
    c.probe("m", ("v",))
    x = rng.integers(0, 6, (12, 3, 4))
    ref, _ = compare_with_lava(c, {"x": x}, 12, **options)
    assert ref.spikes["lif"].any() and (ref.spikes["m"] < 0).any() and (ref.spikes["m"] > 0).any()
