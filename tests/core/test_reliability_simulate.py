"""Issue 12, simulate(): argument types, engine options, and memory-impossible sizes refused
up front with the bytes they would need (closed-form estimate, checked against literals)."""
import numpy as np
import pytest

import spikeattn as sa
from spikeattn.errors import InputError, MemoryLimitError, SpikeattnError, ValidationError
from spikeattn.validation import MAX_BYTES, estimate_run_bytes


def circuit():
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2, sa.LIF())
    c.connect("x", "h", np.ones((2, 3)))
    return c


@pytest.mark.parametrize("inputs", [np.ones(3), object(), [1, 2, 3], "x"])
def test_inputs_must_be_a_mapping(inputs):
    with pytest.raises(InputError, match="field 'inputs'.*must be a dict.*sources of 'c': \\['x'\\]"):
        sa.simulate(circuit(), inputs, steps=2)


def test_input_keys_must_be_source_names():
    with pytest.raises(InputError, match="key 5 is not a source name"):
        sa.simulate(circuit(), {5: np.ones(3)}, steps=2)


@pytest.mark.parametrize("kwargs, field", [
    ({"steps": True}, "steps"), ({"steps": 2.0}, "steps"), ({"steps": "4"}, "steps"), ({"steps": 0}, "steps"),
    ({"batch": True}, "batch"), ({"batch": 0}, "batch"), ({"seed": True}, "seed"), ({"seed": -1}, "seed"),
    ({"engine": ["numpy"]}, "engine"), ({"on_overflow": "loud"}, "on_overflow"),
])
def test_argument_types(kwargs, field):
    kwargs = {"steps": 2, **kwargs}
    with pytest.raises(InputError, match=f"field '{field}'"):
        sa.simulate(circuit(), None, **kwargs)


def test_numpy_integers_are_accepted_for_steps_and_batch():
    r = sa.simulate(circuit(), {"x": np.ones((3, 3))}, steps=np.int64(3), batch=np.int32(2))
    assert r.spikes["x"].shape == (3, 2, 3)


def test_unknown_engine_option_is_refused_naming_the_allowed_ones():
    from spikeattn.engines.base import engine_class
    allowed = getattr(engine_class("numpy"), "options_allowed", None)
    if allowed is None:
        pytest.skip("the numpy engine declares no options_allowed yet: simulate() cannot check options")
    with pytest.raises(InputError, match=r"does not take the option\(s\) \['fusd'\].*'fused'"):
        sa.simulate(circuit(), None, steps=2, fusd=True)


@pytest.mark.parametrize("data", [np.ones((4, 3)) * 1j, np.ones((4, 3)).astype("m8[s]"), np.array([["a"] * 3]),
                                  [[1, 2, 3], [1]], {"a": 1}, None, np.full((4, 3), np.nan)])
def test_bad_input_data_is_refused(data):
    with pytest.raises(InputError, match="input 'x'"):
        sa.simulate(circuit(), {"x": data}, steps=2)


def test_fixed_point_graded_input_beyond_32_bits_is_refused():
    c = sa.Circuit("c")
    c.add_source("x", 2, encoder="graded")
    c.add_population("h", 2, sa.LoihiLIF())
    c.connect("x", "h", np.eye(2))
    with pytest.raises(InputError, match="input 'x'.*32-bit"):
        sa.simulate(c, {"x": np.array([2**40, 0])}, steps=2)


def test_memory_estimate_closed_form():
    """1 population of 2 (binary, max delay 1 -> 2 ring slots), 1 source of 3, 1 projection,
    no probe; steps T = 10, batch B = 4:
    spikes 10*4*2*1 + ring 2*8*2*4*2 + pop counts 5*8*10*4 + source 10*4*3 + 8*10*4
    + projection counts 4*8*10*4 = 80 + 256 + 1600 + 120 + 320 + 1280 = 3656 bytes, plus the
    LIF's parameters 64*2 and its step state 8*4*2*(2*2 + 6) = 128 + 640 = 768: 4424 bytes."""
    assert estimate_run_bytes(circuit(), 10, 4) == 4424
    c = circuit()
    c.probe("h", ("u", "v"))
    assert estimate_run_bytes(c, 10, 4) == 4424 + 8 * 10 * 4 * 2 * 2


def test_a_billion_neurons_are_refused_before_their_parameters_are_allocated():
    """10^9 LIF neurons: spikes and ring buffers alone fit in 24 GiB, the eight per-neuron
    parameter arrays (64 GB) do not; the estimate must include them (it once did not, and the
    parameters were allocated before any check)."""
    c = sa.Circuit("huge")
    c.add_population("n", 10**9, sa.LIF())
    need = estimate_run_bytes(c, 2, 1)
    assert need >= 64 * 10**9
    with pytest.raises(MemoryLimitError, match="circuit 'huge'"):
        sa.simulate(c, steps=2)


@pytest.mark.parametrize("steps, size", [(10**12, 2), (2, 10**12)])
def test_impossible_sizes_are_refused_up_front_with_the_bytes(steps, size):
    c = sa.Circuit("big")
    c.add_source("x", 3)
    c.add_population("h", size, sa.LIF())
    need = estimate_run_bytes(c, steps, 1)
    assert need > MAX_BYTES
    with pytest.raises(MemoryLimitError) as e:
        sa.simulate(c, None, steps=steps)
    assert f"{need:,} bytes" in str(e.value) and "circuit 'big'" in str(e.value)


def test_batch_from_the_data_counts_in_the_estimate():
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2**20, sa.LIF())
    # (steps, batch, N) data: batch 2**20 makes spikes alone 2**20 * 2**20 * 64 bytes = 64 TiB
    data = np.broadcast_to(np.zeros(3, bool), (64, 2**20, 3))
    with pytest.raises(MemoryLimitError, match="batch=1048576"):
        sa.simulate(c, {"x": data}, steps=64)


def test_circuit_type():
    with pytest.raises(InputError, match="needs a Circuit"):
        sa.simulate("circuit.zip", steps=2)


def test_every_error_is_a_spikeattn_error_subclass_of_the_builtin():
    """InputError stays a ValueError so existing ``except ValueError`` code keeps working."""
    with pytest.raises(ValueError):
        sa.simulate(circuit(), None, steps=True)
    assert issubclass(MemoryLimitError, SpikeattnError)


@pytest.mark.parametrize("engine", ["numpy", "compiled"])
@pytest.mark.parametrize("shape", [(5, 0, 3), (0, 3)])
def test_zero_samples_are_refused_on_every_engine(engine, shape):
    """The contract: a run simulates at least one sample; data holding none (batch 0) is an
    InputError naming the input, never an empty result."""
    c = circuit()
    enc = "spikes" if len(shape) == 3 else "graded"
    c.node("x").encoder = enc
    with pytest.raises(InputError, match=r"field 'inputs'.*\['x'\] hold 0 samples"):
        sa.simulate(c, {"x": np.zeros(shape)}, steps=5, engine=engine)


def test_a_projection_cannot_take_a_node_name():
    """EventCounts keys every element by name: a projection named like a node was once
    accepted and the engine then failed with KeyError('spikes')."""
    c = sa.Circuit("clash")
    c.add_source("x", 3)
    c.add_population("n", 3, sa.LIF())
    with pytest.raises(ValidationError, match="'x' is also the name of a node"):
        c.connect("x", "n", 1.0, name="x")
    c.connect("x", "n", 1.0, name="syn")
    with pytest.raises(ValidationError, match="already the name of a projection"):
        c.add_population("syn", 1, sa.LIF())


def test_non_finite_float_state_warns_with_population_step_and_a_float_fix():
    c = sa.Circuit("inf")
    c.add_source("x", 1)
    c.add_population("n", 1, sa.LIF(du=0.0, dv=0.0, vth=1.0))
    c.connect("x", "n", 1.0, message="graded")
    with pytest.warns(sa.errors.SpikeattnWarning, match=r"population 'n': state 'u' became inf or NaN in 1 "
                      r"neuron update\(s\), first at step 2\. Fix: scale the inputs or weights down"):
        r = sa.simulate(c, {"x": np.full((4, 1, 1), 1e308)}, steps=4)
    assert r.diagnostics["n"]["nonfinite:u"][:, 0].tolist() == [0, 0, 1, 0]
