"""Input encoders against their closed forms, input validation, and the core's import
footprint (numpy, scipy, networkx only)."""
import subprocess
import sys

import numpy as np
import pytest

import spikeattn as sa
from spikeattn.encoding import encode_inputs
from spikeattn.errors import InputError, UnsupportedFeatureError


def circuit_with(encoder, n=4, **kw):
    c = sa.Circuit("enc")
    c.add_source("x", n, encoder=encoder, **kw)
    c.add_population("a", n, sa.LIF())
    c.connect("x", "a", 1.0)
    return c


def test_rate_code_counts_are_floor_of_rate_times_steps():
    p = np.array([0.0, 0.1, 0.25, 0.5, 1.0])
    enc, b = encode_inputs(circuit_with("rate", 5), {"x": p}, steps=40)
    assert b == 1 and enc["x"].dtype == bool
    assert enc["x"][:, 0].sum(axis=0).tolist() == [0, 4, 10, 20, 40]
    # evenly spaced: p = 0.25 spikes at steps 3, 7, 11, ...
    assert np.flatnonzero(enc["x"][:, 0, 2])[:3].tolist() == [3, 7, 11]


def test_ttfs_spikes_once_at_the_coded_time():
    x = np.array([1.0, 0.5, 0.0, 0.25])
    enc, _ = encode_inputs(circuit_with("ttfs", 4, window=9), {"x": x}, steps=12)
    s = enc["x"][:, 0]
    assert s.sum(axis=0).tolist() == [1, 1, 0, 1]
    # step = round((1 - x) * (window - 1))
    assert [int(np.flatnonzero(s[:, i])[0]) for i in (0, 1, 3)] == [0, 4, 6]


def test_poisson_is_seeded_and_has_the_right_rate():
    c = circuit_with("poisson", 200, seed=3)
    a, _ = encode_inputs(c, {"x": np.full(200, 0.2)}, steps=500, seed=1)
    b, _ = encode_inputs(c, {"x": np.full(200, 0.2)}, steps=500, seed=1)
    d, _ = encode_inputs(c, {"x": np.full(200, 0.2)}, steps=500, seed=2)
    assert np.array_equal(a["x"], b["x"]) and not np.array_equal(a["x"], d["x"])
    rate = a["x"].mean()
    # 100k Bernoulli(0.2) draws: std of the mean = 0.00126; 5 sigma bound
    assert abs(rate - 0.2) < 5 * np.sqrt(0.2 * 0.8 / 100_000)


def test_batches_and_padding():
    c = circuit_with("spikes", 3)
    enc, b = encode_inputs(c, {"x": np.ones((2, 3))}, steps=5, batch=4)
    assert b == 4 and enc["x"].shape == (5, 4, 3)
    assert enc["x"][:2].all() and not enc["x"][2:].any()     # zero-padded after the data
    enc, b = encode_inputs(circuit_with("poisson", 3), {"x": np.full((6, 3), 0.5)}, steps=5)
    assert b == 6


def test_input_errors_name_the_source():
    c = circuit_with("poisson", 3)
    with pytest.raises(InputError, match=r"values must lie in \[0, 1\]"):
        encode_inputs(c, {"x": np.array([0.5, 2.0, 0.1])}, steps=5)
    with pytest.raises(InputError, match=r"input 'x'.*shape \(4,\)"):
        encode_inputs(c, {"x": np.ones(4) * 0.5}, steps=5)
    with pytest.raises(InputError, match="not sources.*input ports are \\['x'\\]"):
        encode_inputs(c, {"y": np.ones(3)}, steps=5)
    with pytest.raises(InputError, match="NaN"):
        encode_inputs(c, {"x": np.array([np.nan, 0, 0])}, steps=5)
    with pytest.raises(InputError, match="batch size"):
        encode_inputs(c, {"x": np.full((2, 3), 0.5)}, steps=5, batch=3)


def test_simulate_argument_errors():
    c = circuit_with("spikes", 3)
    with pytest.raises(InputError, match="steps"):
        sa.simulate(c, steps=0)
    with pytest.raises(InputError, match="Circuit"):
        sa.simulate("circuit")
    with pytest.raises(sa.SpikeattnError, match="unknown engine 'nest'.*numpy"):
        sa.simulate(c, steps=2, engine="nest")


def test_unsupported_feature_names_node_and_engines():
    from spikeattn.engines.base import Engine, register_engine, ENGINES

    class Limited(Engine):
        name = "limited"
        supported = frozenset({"model:lif"})
        unsupported = {"model:loihi_lif": "no fixed-point arithmetic"}

    register_engine("limited", Limited)
    try:
        c = sa.Circuit("fx")
        c.add_population("q", 2, sa.LoihiLIF())
        with pytest.raises(UnsupportedFeatureError) as e:
            sa.simulate(c, steps=2, engine="limited")
        msg = str(e.value)
        assert "population 'q'" in msg and "model:loihi_lif" in msg and "no fixed-point" in msg
        assert "'numpy'" in msg
    finally:
        ENGINES.pop("limited")


def test_core_imports_only_numpy_scipy_networkx():
    code = ("import sys, spikeattn, spikeattn.engines.numpy.engine, spikeattn.cli;"
            "heavy = [m for m in ('torch', 'brian2', 'lava', 'snntorch', 'matplotlib', 'tqdm', 'sanafe',"
            " 'hardware_models', 'scenarios') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
