"""Conformance suite: every engine configuration runs every feature case it claims.

The model is brian2's ``FeatureTest x Configuration`` and Nengo's backend test plugin.  The
configurations come from the engine registry (``spikeattn.engines.ENGINES``, each engine's
``configurations``) plus the numpy engine's fused path, so a new engine gets the whole suite
by registering itself.  A case whose features an engine does not claim is skipped, and the
skip names the feature and the engine's reason.  The expected values are never another
engine's output: literal trajectories written by hand (``Case.literal``) and the scalar
pure-Python simulator of :mod:`conformance_reference`, bit for bit (spikes, probed state,
EventCounts).

An engine that cannot run in this interpreter is not collected here (Lava runs natively in
``.venv-lava``, where ``make test`` runs this suite again; Brian2 in ``.venv``).
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import conformance_cases as cc  # noqa: E402
import conformance_reference as ref  # noqa: E402

import spikeattn as sa  # noqa: E402
from spikeattn.engines import ENGINES, engine_class, required_features  # noqa: E402


def _configurations():
    out = []
    for name in ENGINES:
        cls = engine_class(name)
        if cls.unavailable():
            continue
        for label, options in cls.configurations.items():
            out.append(pytest.param(name, dict(options), id=f"{name}[{label}]"))
    out.append(pytest.param("numpy", {"fused": True}, id="numpy[fused]"))
    return out


CONFIGS = _configurations()
_REFERENCE: dict = {}


def reference(name):
    """(circuit, inputs, steps, batch, spikes, states, counts) of a case, computed once."""
    if name not in _REFERENCE:
        circuit, inputs, steps = cc.CASES[name].build()
        batch = next(iter(inputs.values())).shape[1] if inputs else 1
        _REFERENCE[name] = (circuit, inputs, steps, batch, *ref.simulate_reference(circuit, inputs, steps, batch))
    return _REFERENCE[name]


def _skip_unclaimed(engine: str, circuit, case):
    cls = engine_class(engine)
    missing = cls.missing_features(circuit) + [(f"case '{case.name}'", f) for f in case.features
                                               if f not in cls.supported]
    if missing:
        el, feature = missing[0]
        pytest.skip(f"engine '{engine}' does not support '{feature}' ({cls.unsupported.get(feature, 'not claimed')}),"
                    f" needed by {el}")


def _check_literal(case, result):
    for key, expected in case.literal.items():
        if key == "counts":
            for el, fields in expected.items():
                for f, values in fields.items():
                    assert result.counts.elements[el].fields[f][:, 0].tolist() == values, (el, f)
            continue
        pop, what = key.split(".")
        if what == "spike_steps":
            s = result.spikes[pop][:, 0] != 0
            got = [np.flatnonzero(s[:, k]).tolist() for k in range(s.shape[1])]
            assert got == (expected if isinstance(expected[0], list) else [expected]), key
        elif what == "values":
            assert result.spikes[pop][:, 0, 0].tolist() == expected, key
        else:
            assert result.probes[pop][what][:, 0, 0].tolist() == expected, key


@pytest.mark.parametrize("case_name", list(cc.CASES))
@pytest.mark.parametrize("engine,options", CONFIGS)
def test_case(engine, options, case_name):
    circuit, inputs, steps, batch, spikes, states, counts = reference(case_name)
    case = cc.CASES[case_name]
    if options.get("fused"):
        from spikeattn.circuits.attention.fused import why_not_fusable
        reason = why_not_fusable(circuit)
        if reason:
            pytest.skip(f"the fused path does not run this case: {reason}")
        circuit.meta["fused"] = "attention"
    _skip_unclaimed(engine, circuit, case)
    if engine == "lava":
        options = {**options, "bridge": "never"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.errors.SpikeattnWarning)
        result = sa.simulate(circuit, inputs or None, steps=steps, batch=batch, engine=engine, **options)
    if options.get("fused"):
        assert result.meta.get("fused"), "the fused path did not run"
    for n in circuit.populations:
        assert np.array_equal(result.spikes[n], spikes[n]), f"spikes of '{n}' differ from the reference"
    for pop, variables in result.probes.items():
        for var, arr in variables.items():
            assert np.array_equal(arr, states[pop][var]), f"probe {pop}.{var} differs from the reference"
    for el, fields in counts.items():
        for f, arr in fields.items():
            assert np.array_equal(result.counts.elements[el].fields[f], arr), f"count {el}.{f} differs"
    _check_literal(case, result)
    if case.diagnostics and engine_class(engine).reports_diagnostics:
        for pop, flags in case.diagnostics.items():
            for flag in flags:
                assert result.diagnostics.get(pop, {}).get(flag, np.zeros(1)).sum() > 0, (pop, flag)


def test_reference_reproduces_the_literal_trajectories():
    """The oracle itself against the hand-computed values (so neither can drift alone)."""
    for name, case in cc.CASES.items():
        if not case.literal:
            continue
        circuit, inputs, steps, batch, spikes, states, counts = reference(name)
        fake = sa.SimResult(spikes=spikes, probes=states, counts=sa.EventCounts(steps, batch), steps=steps,
                            batch=batch, dt=circuit.dt, engine="reference", wall_s=0.0)
        for el, fields in counts.items():
            fake.counts.add_element(el, "population" if el in circuit.populations else
                                    ("source" if el in circuit.sources else "projection"), {})
            for f, arr in fields.items():
                fake.counts.elements[el].fields[f][:] = arr
        _check_literal(case, fake)


def test_every_feature_key_is_exercised():
    """Each FEATURES key is needed by at least one case, so claiming it means passing cases."""
    used = {f for name in cc.CASES for _, f in required_features(reference(name)[0])}
    used |= {f for case in cc.CASES.values() for f in case.features}
    assert set(sa.engines.FEATURES) <= used, sorted(set(sa.engines.FEATURES) - used)
