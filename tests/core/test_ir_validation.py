"""Every validation error path of the IR: the error type, and that the message names the
element and the field."""
import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.errors import (LoopError, ParameterError, ShapeMismatchError, SpikeattnError,
                              UnknownModelError, ValidationError)


def small():
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("a", 2, sa.LIF())
    return c


def test_shape_mismatch_names_both_ends():
    c = small()
    with pytest.raises(ShapeMismatchError) as e:
        c.connect("x", "a", np.ones((3, 2)))
    msg = str(e.value)
    assert "'x'" in msg and "'a'" in msg and "(2, 3)" in msg and "weights" in msg


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(bad):
    w = np.ones((2, 3))
    w[1, 2] = bad
    with pytest.raises(ParameterError, match=r"NaN or inf \(first at post=1, pre=2\)"):
        small().connect("x", "a", w)


def test_non_finite_sparse_weights():
    w = sp.csr_matrix(np.array([[0, np.nan, 0], [1, 0, 0]]))
    with pytest.raises(ParameterError, match="NaN or inf"):
        small().connect("x", "a", w)


def test_non_numeric_weights():
    with pytest.raises(ParameterError, match="dtype"):
        small().connect("x", "a", np.array([["a", "b", "c"], ["d", "e", "f"]]))


def test_weights_not_2d():
    with pytest.raises(ShapeMismatchError, match="2-D"):
        small().connect("x", "a", np.ones((2, 3, 1)))


def test_unknown_model():
    with pytest.raises(UnknownModelError, match="population 'p'.*model"):
        sa.Population("p", 3, "lif")


def test_unknown_model_in_file_dict():
    from spikeattn.ir.neurons import model_from_dict
    with pytest.raises(UnknownModelError, match="unknown model 'izhikevich'"):
        model_from_dict({"kind": "izhikevich", "params": {}})


@pytest.mark.parametrize("model, field", [
    (lambda: sa.LIF(du=1.5), "du"),
    (lambda: sa.LIF(dv=-0.1), "dv"),
    (lambda: sa.LIF(vth=-1.0), "vth"),
    (lambda: sa.LIF(reset="hard"), "reset"),
    (lambda: sa.LIF(refractory=-1), "refractory"),
    (lambda: sa.LIF(refractory=2, reset="subtract"), "refractory"),
    (lambda: sa.LIF(bias=np.array([1.0, 2.0])), "bias"),  # wrong length for size 3
    (lambda: sa.IF(dv=0.5), "du/dv"),
    (lambda: sa.LoihiLIF(du=4096), "du"),
    (lambda: sa.LoihiLIF(dv=1.5), "dv"),
    (lambda: sa.LoihiLIF(vth=2**17), "vth"),
    (lambda: sa.LoihiLIF(vth=np.array([1, 2, 3])), "vth"),
    (lambda: sa.LoihiLIF(bias_mant=2**12), "bias_mant"),
    (lambda: sa.LoihiLIF(bias_exp=9), "bias_exp"),
])
def test_bad_parameter_ranges(model, field):
    with pytest.raises(ParameterError) as e:
        sa.Population("p", 3, model())
    assert e.value.field == field and "population 'p'" in str(e.value)


def test_bad_shape_and_name():
    with pytest.raises(ParameterError, match="shape"):
        sa.Population("p", 0, sa.LIF())
    with pytest.raises(ValidationError, match="name"):
        sa.Population("a/b", 3, sa.LIF())
    with pytest.raises(ValidationError, match="name"):
        sa.Population("", 3, sa.LIF())


def test_bad_initial_state():
    with pytest.raises(ParameterError, match=r"initial\['w'\]"):
        sa.Population("p", 3, sa.LIF(), {"w": 1.0})
    with pytest.raises(ParameterError, match=r"initial\['v'\].*shape"):
        sa.Population("p", 3, sa.LIF(), {"v": np.zeros(4)})


@pytest.mark.parametrize("kw, field", [
    ({"delay": -1}, "delay"), ({"delay": 1.5}, "delay"), ({"message": "analog"}, "message"),
    ({"sign_mode": "both"}, "sign_mode"), ({"num_weight_bits": 9}, "num_weight_bits"),
    ({"weight_exp": 40}, "weight_exp"),
])
def test_bad_projection_parameters(kw, field):
    with pytest.raises(ParameterError) as e:
        small().connect("x", "a", np.ones((2, 3)), **kw)
    assert e.value.field == field


def test_duplicate_names_and_missing_ends():
    c = small()
    with pytest.raises(ValidationError, match="already exists"):
        c.add_population("a", 2, sa.LIF())
    c.connect("x", "a", np.ones((2, 3)), name="p")
    with pytest.raises(ValidationError, match="already exists"):
        c.connect("x", "a", np.ones((2, 3)), name="p")
    with pytest.raises(ValidationError, match="'nope' is not a node"):
        c.connect("x", "nope", np.ones((2, 3)), name="q")
    with pytest.raises(ValidationError, match="must end on a population"):
        c.connect("a", "x", np.ones((3, 2)), name="r")


def test_scalar_weight_means_one_to_one_and_checks_sizes():
    c = small()
    c.add_population("b", 2, sa.LIF())
    p = c.connect("a", "b", 0.5)
    assert np.array_equal(p.dense_weights(), 0.5 * np.eye(2))
    with pytest.raises(ShapeMismatchError, match="one-to-one"):
        c.connect("x", "b", 0.5)


def test_zero_delay_loop_is_named():
    c = sa.Circuit("loop")
    for n in ("a", "b", "c"):
        c.add_population(n, 1, sa.LIF())
    c.connect("a", "b", 1.0, delay=0)
    c.connect("b", "c", 1.0, delay=0)
    c.connect("c", "a", 1.0, delay=0)
    with pytest.raises(LoopError) as e:
        c.validate()
    assert "a -> b -> c -> a" in str(e.value) and e.value.field == "delay"
    # the same loop with one delayed edge is fine
    c2 = sa.Circuit("ok")
    for n in ("a", "b"):
        c2.add_population(n, 1, sa.LIF())
    c2.connect("a", "b", 1.0, delay=0)
    c2.connect("b", "a", 1.0, delay=1)
    assert c2.validate().update_order() == ["a", "b"]


def test_fixed_point_rules():
    c = sa.Circuit("fx")
    c.add_source("x", 2)
    c.add_population("a", 2, sa.LoihiLIF())
    with pytest.raises(ParameterError, match="integers"):
        c.connect("x", "a", np.array([[1.5, 0], [0, 1]]))
    c.add_population("f", 2, sa.LIF())
    with pytest.raises(ValidationError, match="fixed-point population with a floating-point"):
        c.connect("a", "f", np.eye(2))
    with pytest.raises(ValidationError, match="mixes fixed-point"):
        c.validate()


def test_probe_and_output_checks():
    c = small()
    with pytest.raises(ValidationError, match="not a population"):
        c.probe("x", "v")
    with pytest.raises(ParameterError, match="'w' is not a state"):
        c.probe("a", "w")
    with pytest.raises(ValidationError, match="not a population"):
        c.expose("out", "x")


def test_empty_circuit_and_bad_dt():
    with pytest.raises(ValidationError, match="no population"):
        sa.Circuit("e").validate()
    with pytest.raises(ParameterError, match="dt"):
        sa.Circuit("e", dt=0)


def test_source_validation():
    with pytest.raises(ParameterError, match="encoder"):
        sa.SpikeSource("s", 3, encoder="morse")
    with pytest.raises(ParameterError, match="seed"):
        sa.SpikeSource("s", 3, seed=-1)
    with pytest.raises(ParameterError, match="window"):
        sa.SpikeSource("s", 3, encoder="ttfs", window=0)


def test_include_binds_and_checks():
    frag = sa.Circuit("frag")
    frag.add_source("inp", 2)
    frag.add_population("y", 2, sa.LIF())
    frag.connect("inp", "y", np.eye(2))
    frag.expose("out", "y")
    top = small()
    with pytest.raises(ShapeMismatchError, match="'inp' has 2 neurons but 'x' has 3"):
        top.include(frag, "f", bind={"inp": "x"})
    with pytest.raises(ValidationError, match="not an input source"):
        top.include(frag, "f", bind={"y": "a"})
    mapping = top.include(frag, "f", bind={"inp": "a"})
    assert mapping == {"inp": "a", "y": "f.y"}
    assert top.outputs == {"f.out": "f.y"}
    assert top.projections["f.inp->y"].pre == "a"
    top.validate()


def test_all_errors_are_spikeattn_errors():
    for exc in (ValidationError, ShapeMismatchError, ParameterError, UnknownModelError, LoopError):
        assert issubclass(exc, SpikeattnError)
