"""Fixtures for the tests that run Lava 0.10 in-process (``.venv-lava/bin/python -m pytest
tests/lava_native``).  Under any other interpreter these tests skip with the reason."""
import numpy as np
import pytest

from spikeattn import simulate


def pytest_collection_modifyitems(config, items):
    try:
        import lava.magma.core.run_configs  # noqa: F401
        return
    except ImportError:
        reason = ("lava-nc 0.10 is not importable here (it needs Python 3.10): run these tests with "
                  ".venv-lava/bin/python -m pytest tests/lava_native (create the venv with `make venv-lava`)")
    for item in items:
        if "lava_native" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def compare_with_lava():
    """Run a circuit on the numpy engine and on Lava (in-process); assert identical spikes of
    every population and identical EventCounts; return ``(numpy_result, lava_result)``.
    Probes are compared exactly (fixed point) or with ``rtol``/``atol`` (float)."""

    def run(circuit, inputs, steps, exact=True, rtol=1e-9, atol=1e-9, **options):
        ref = simulate(circuit, inputs, steps, engine="numpy")
        got = simulate(circuit, inputs, steps, engine="lava", bridge="never", **options)
        assert got.meta["in_process"] is True
        for name in circuit.populations:
            mism = np.argwhere(got.spikes[name] != ref.spikes[name])
            assert mism.size == 0, f"spikes of '{name}' differ first at (step, sample, neuron) {mism[0]}"
        for name, d in ref.probes.items():
            for var, arr in d.items():
                if exact:
                    assert got.probes[name][var].dtype == np.int64
                    np.testing.assert_array_equal(got.probes[name][var], arr, err_msg=f"{name}.{var}")
                else:
                    np.testing.assert_allclose(got.probes[name][var], arr, rtol=rtol, atol=atol,
                                               err_msg=f"{name}.{var}")
        assert got.counts == ref.counts, got.counts.diff(ref.counts)
        return ref, got

    return run
