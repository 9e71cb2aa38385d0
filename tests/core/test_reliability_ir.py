"""Issue 12, IR construction: every malformed argument raises a SpikeattnError naming the
field; CSR weights are checked structurally; mutation after construction is caught by
validate().  Risky cases (native code reading corrupt CSR) run in a subprocess, so a crash
fails the test instead of killing pytest."""
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.errors import ParameterError, ShapeMismatchError, SpikeattnError, ValidationError


def small():
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2, sa.LIF())
    return c


def in_subprocess(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; a segfault shows as a negative return code."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300)


# ----------------------------------------------------------------- CSR structure
CSR_CASES = {  # indices, a mutation applied after scipy built the matrix, the field named
    "column out of range": ("np.array([0, 10**6], np.int32)", "pass", "weights.indices"),
    "negative column": ("np.array([0, -1], np.int32)", "pass", "weights.indices"),
    "indptr not starting at 0": ("np.array([0, 1], np.int32)", "w.indptr[0] = 1", "weights.indptr"),
    "indptr ending past nnz": ("np.array([0, 1], np.int32)", "w.indptr[2] = 5", "weights.indptr"),
    "indptr too short": ("np.array([0, 1], np.int32)", "w.indptr = w.indptr[:2]", "weights.indptr"),
    "indices longer than data": ("np.array([0, 1], np.int32)", "w.indices = np.array([0, 1, 2], np.int32)",
                                 "weights.indices"),
}


@pytest.mark.parametrize("case", sorted(CSR_CASES))
def test_corrupt_csr_is_refused_in_a_subprocess(case):
    indices, mutation, field = CSR_CASES[case]
    r = in_subprocess(f"""
        import numpy as np, scipy.sparse as sp, spikeattn as sa
        from spikeattn.errors import ParameterError
        w = sp.csr_matrix((np.ones(2), {indices}, np.array([0, 1, 2], np.int32)), shape=(2, 3))
        {mutation}
        c = sa.Circuit('c'); c.add_source('x', 3); c.add_population('h', 2, sa.LIF())
        try:
            c.connect('x', 'h', w)
            sa.simulate(c, {{'x': np.ones((4, 3))}}, steps=4)
            print('ACCEPTED')
        except ParameterError as e:
            print('REFUSED', e)
    """)
    assert r.returncode == 0, f"interpreter died ({r.returncode}): {r.stderr[-500:]}"
    assert r.stdout.startswith("REFUSED"), r.stdout + r.stderr
    assert field in r.stdout and "projection 'x->h'" in r.stdout


def test_issue_segfault_reproducer_gives_a_clean_error():
    r = in_subprocess("""
        import numpy as np, scipy.sparse as sp, spikeattn as sa
        w = sp.csr_matrix((np.ones(2), np.array([0, 10**6], np.int32), np.array([0, 1, 2], np.int32)), shape=(2, 3))
        c = sa.Circuit('c'); c.add_source('x', 3); c.add_population('h', 2, sa.LIF()); c.connect('x', 'h', w)
        sa.simulate(c, {'x': np.ones((4, 3))}, steps=4)
    """)
    assert r.returncode == 1 and "ParameterError" in r.stderr and "column 1000000, outside [0, 3)" in r.stderr


def test_indptr_that_decreases_is_refused():
    w = sp.csr_matrix((np.ones(2), np.array([0, 1], np.int32), np.array([0, 2, 2], np.int32)), shape=(2, 3))
    w.indptr[1] = 3  # [0, 3, 2]: decreasing, and row 0 would read past nnz
    with pytest.raises(ParameterError, match=r"weights.indptr.*decreases at row 1 \(3 -> 2\)"):
        small().connect("x", "h", w)


def test_float_indices_are_refused():
    w = sp.csr_matrix(np.ones((2, 3)))
    w.indices = w.indices.astype(np.float64)
    with pytest.raises(ParameterError, match=r"weights.indices.*float64.*integer"):
        small().connect("x", "h", w)


def test_uint64_indices_in_range_give_the_dense_result():
    """uint64 index arrays crashed scipy's native code; valid ones are now cast and give the
    closed-form result: every input spikes at every step, 2 synapses -> 2 ops per step."""
    w = sp.csr_matrix((np.ones(2), np.array([0, 2], np.uint64), np.array([0, 1, 2], np.uint64)), shape=(2, 3))
    c = small()
    p = c.connect("x", "h", w)
    assert p.weights.indices.dtype == np.int32
    np.testing.assert_array_equal(p.dense_weights(), [[1, 0, 0], [0, 0, 1]])
    r = sa.simulate(c, {"x": np.ones((4, 3))}, steps=4)
    assert r.counts.total("synaptic_acs") == 2 * 4


def test_duplicate_entries_are_summed():
    """Decision (documented on Projection): duplicate (post, pre) entries mean their sum."""
    w = sp.csr_matrix((np.array([1.0, 2.0]), np.array([0, 0], np.int32), np.array([0, 2, 2], np.int32)),
                      shape=(2, 3))
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2, sa.LIF(vth=10.0))
    p = c.connect("x", "h", w)
    assert p.synapse_count() == 1 and p.dense_weights()[0, 0] == 3.0
    c.probe("h", "v")
    r = sa.simulate(c, {"x": np.array([[1, 0, 0]])}, steps=2)
    # du=1, dv=0, delay 1: the spike of step 0 arrives at step 1, v = 1 + 2 = 3 (below vth = 10)
    np.testing.assert_array_equal(r.probes["h"]["v"][:, 0, :], [[0, 0], [3, 0]])


def test_coo_and_csc_with_bad_indices_are_refused():
    coo = sp.coo_matrix((np.ones(1), (np.array([0]), np.array([0]))), shape=(2, 3))
    coo.col[0] = 7
    with pytest.raises(ParameterError, match=r"weights.col"):
        small().connect("x", "h", coo)
    csc = sp.csc_matrix(np.ones((2, 3)))
    csc.indices[0] = 9
    with pytest.raises(ParameterError, match=r"weights.indices.*column 9"):
        small().connect("x", "h", csc)


def test_mutated_csr_is_caught_by_validate_in_a_subprocess():
    r = in_subprocess("""
        import numpy as np, scipy.sparse as sp, spikeattn as sa
        from spikeattn.errors import ParameterError
        c = sa.Circuit('c'); c.add_source('x', 3); c.add_population('h', 2, sa.LIF())
        p = c.connect('x', 'h', sp.csr_matrix(np.ones((2, 3))))
        p.weights.indices[0] = 10**6
        try:
            sa.simulate(c, {'x': np.ones((4, 3))}, steps=4)
            print('ACCEPTED')
        except ParameterError as e:
            print('REFUSED', e)
    """)
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.startswith("REFUSED") and "weights.indices" in r.stdout


# ----------------------------------------------------------------- constructors
@pytest.mark.parametrize("initial, model, field, needle", [
    ({"v": "abc"}, sa.LIF(), "initial['v']", "must be numbers"),
    (5, sa.LIF(), "initial", "must be a dict"),
    ({"v": 1e30}, sa.LoihiLIF(), "initial['v']", "24-bit range"),
    ({"v": float("nan")}, sa.LoihiLIF(), "initial['v']", "NaN or inf"),
    ({"v": 2**23 + 1}, sa.LoihiLIF(), "initial['v']", "24-bit range"),
    ({"u": 2.5}, sa.LoihiLIF(), "initial['u']", "must be integers"),
    ({"v": 1j}, sa.LIF(), "initial['v']", "complex"),
])
def test_bad_initial_state(initial, model, field, needle):
    with pytest.raises(ParameterError) as e:
        small().add_population("p", 2, model, initial=initial)
    assert f"field '{field}'" in str(e.value) and needle in str(e.value) and "population 'p'" in str(e.value)


def test_loihi_initial_at_the_24_bit_limits_is_accepted():
    p = small().add_population("p", 2, sa.LoihiLIF(), initial={"v": [-(2**23), 2**23]})
    assert p.initial["v"].dtype == np.int64 and p.initial["v"].tolist() == [-(2**23), 2**23]


@pytest.mark.parametrize("shape", [2.5, "7", True, (2**32, 2**32), (10**10, 10**10), float("inf"), (), (3, 0),
                                   (2, True), None, [2.0]])
def test_bad_shapes_are_refused(shape):
    with pytest.raises(ParameterError, match="population 'p', field 'shape'"):
        small().add_population("p", shape, sa.LIF())
    with pytest.raises(ParameterError, match="source 's', field 'shape'"):
        small().add_source("s", shape)


def test_numpy_int_shapes_are_accepted():
    assert small().add_population("p", (np.int64(2), 3), sa.LIF()).size == 6


@pytest.mark.parametrize("kwargs, field", [
    ({"delay": True}, "delay"), ({"weight_exp": True}, "weight_exp"), ({"num_weight_bits": True}, "num_weight_bits"),
    ({"delay": 1.0}, "delay"), ({"delay": -1}, "delay"), ({"message": ["binary"]}, "message"),
    ({"sign_mode": np.array(["auto"])}, "sign_mode"),
])
def test_projection_scalars(kwargs, field):
    with pytest.raises(ParameterError, match=f"field '{field}'"):
        small().connect("x", "h", np.ones((2, 3)), **kwargs)


@pytest.mark.parametrize("weights, exc", [
    (None, ParameterError), ("abc", ParameterError), ([[1, 2, 3], [1]], ParameterError),
    (np.ones((2, 3)) * 1j, ParameterError), (np.ones((2, 3)).astype("m8[s]"), ParameterError),
    (np.ones((2, 3), bool), ParameterError), (True, ParameterError), (float("nan"), ParameterError),
])
def test_bad_weights(weights, exc):
    c = sa.Circuit("c")
    c.add_source("x", 2)
    c.add_population("h", 2, sa.LIF())
    with pytest.raises(exc, match="field 'weights'"):
        c.connect("x", "h", weights)


def test_bools_refused_where_ints_are_expected():
    with pytest.raises(ParameterError, match="field 'dt'"):
        sa.Circuit("c", dt=True)
    with pytest.raises(ParameterError, match="field 'refractory'"):
        small().add_population("p", 2, sa.LIF(refractory=True))
    with pytest.raises(ParameterError, match="field 'seed'"):
        small().add_source("s", 2, encoder="poisson", seed=True)
    with pytest.raises(ParameterError, match="field 'window'"):
        small().add_source("s", 2, encoder="ttfs", window=False)
    with pytest.raises(ParameterError, match="field 'du'"):
        small().add_population("p", 2, sa.LoihiLIF(du=True))


def test_probe_expose_include_arguments():
    c = small()
    with pytest.raises(ParameterError, match="field 'variables'"):
        c.probe("h", 5)
    with pytest.raises(ValidationError, match="output port 'out', field 'population'"):
        c.expose("out", ["h"])
    with pytest.raises(ValidationError, match="field 'other'"):
        c.include(5, "a")
    with pytest.raises(ValidationError, match="field 'bind'"):
        c.include(small(), "a", bind="x")
    with pytest.raises(ValidationError, match="field 'name'.*'a/b'"):
        c.include(small(), "a/b")
    with pytest.raises(ValidationError, match="field 'bind'"):
        c.include(small(), "a", bind={"x": 5})


def test_scalar_weight_one_to_one_still_works():
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 3, sa.LIF())
    p = c.connect("x", "h", 2)
    np.testing.assert_array_equal(p.dense_weights(), 2 * np.eye(3))


# ----------------------------------------------------------------- mutation
def built():
    c = small()
    c.connect("x", "h", np.ones((2, 3)))
    return c


@pytest.mark.parametrize("mutate, field", [
    (lambda c: c.projections["x->h"].weights.__setitem__((0, 0), np.nan), "weights"),
    (lambda c: setattr(c.projections["x->h"], "delay", -1), "delay"),
    (lambda c: setattr(c.projections["x->h"], "delay", True), "delay"),
    (lambda c: setattr(c.node("x"), "encoder", "zzz"), "encoder"),
    (lambda c: setattr(c.node("h"), "shape", (5,)), "weights"),
    (lambda c: setattr(c.node("h"), "initial", {"v": "x"}), "initial['v']"),
    (lambda c: setattr(c, "dt", float("nan")), "dt"),
    (lambda c: c.probes.append("v"), "probes"),
    (lambda c: c.outputs.update({"o": ["h"]}), "population"),
])
def test_mutation_after_construction_is_caught_by_validate(mutate, field):
    c = built()
    mutate(c)
    with pytest.raises(ValidationError, match=re.escape(f"field '{field}'")):
        c.validate()
    with pytest.raises(SpikeattnError, match=re.escape(f"field '{field}'")):
        sa.simulate(c, steps=2)


def test_shape_mismatch_after_mutation_names_both_ends():
    c = built()
    c.node("h").shape = (5,)
    with pytest.raises(ShapeMismatchError, match=r"'h' has 5 and 'x' has 3"):
        c.validate()


def test_the_callers_csr_arrays_are_never_changed():
    """Canonicalising (summing duplicates, dropping zeros) works on copies: found by the csr
    fuzz family, where the caller's data array was overwritten in place."""
    data, indices, indptr = np.array([0.0, -2.0, -2.0]), np.array([0, 0, 0], np.int32), np.array([0, 1, 2, 3], np.int32)
    w = sp.csr_matrix((3, 1))
    w.data, w.indices, w.indptr = data, indices, indptr
    c = sa.Circuit("c")
    c.add_source("x", 1)
    c.add_population("h", 3, sa.LIF())
    p = c.connect("x", "h", w)
    assert data.tolist() == [0.0, -2.0, -2.0] and indptr.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(p.dense_weights()[:, 0], [0, -2, -2])
    # a mutation that makes the stored matrix non-canonical is canonicalised on a copy too
    mine = np.array([1.0, 0.0])
    p.weights = sp.csr_matrix((3, 1))
    p.weights.data, p.weights.indices, p.weights.indptr = mine, np.array([0, 0], np.int32), np.array([0, 1, 2, 2],
                                                                                                      np.int32)
    c.validate()
    assert mine.tolist() == [1.0, 0.0] and p.synapse_count() == 1


def test_in_place_edit_making_duplicates_is_summed_at_validate():
    """scipy caches 'canonical' on the matrix; an in-place edit that creates a duplicate
    column must still be summed by validate() (computed from the arrays, not the flag)."""
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 1, sa.LIF())
    p = c.connect("x", "h", sp.csr_matrix(np.array([[1.0, 2.0, 0.0]])))
    p.weights.indices[1] = 0  # row 0 now holds column 0 twice: weights 1 and 2 -> 3
    c.validate()
    assert p.synapse_count() == 1 and p.dense_weights().tolist() == [[3.0, 0.0, 0.0]]


@pytest.mark.parametrize("field", ["du", "dv", "vth"])
def test_loihi_scalar_parameters_given_ragged_lists(field):
    """np.ndim() of a ragged list raised ValueError before the range check (found by fuzzing)."""
    with pytest.raises(ParameterError, match=f"field '{field}'"):
        small().add_population("p", 2, sa.LoihiLIF(**{field: [1, [2]]}))


def test_numpy_timedelta_is_not_an_int():
    """np.timedelta64 subclasses np.integer; it must not pass as a count (found by fuzzing)."""
    with pytest.raises(ParameterError, match="field 'refractory'"):
        small().add_population("p", 2, sa.LIF(refractory=np.timedelta64(1, "s")))
    with pytest.raises(ParameterError, match="field 'delay'"):
        small().connect("x", "h", np.ones((2, 3)), delay=np.timedelta64(1, "s"))
    with pytest.raises(ParameterError, match="field 'dt'"):
        sa.Circuit("c", dt=np.timedelta64(1, "ms"))
