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
            out.append((name, dict(options), f"{name}[{label}]"))
    out.append(("numpy", {"fused": True}, "numpy[fused]"))
    return out


def _params():
    return [pytest.param(engine, options, case, id=f"{label}-{case}") for engine, options, label in CONFIGS
            for case in (covering_cases(engine) if label in COMPILING else cc.CASES)]


CONFIGS = _configurations()
_REFERENCE: dict = {}
#: Engines whose configurations compile or build per run (Brian2's Cython and cpp_standalone):
#: their claimed cases run merged into one circuit (disjoint copies, one build), and each case
#: is checked on its own slice of that run.
MERGED_ENGINES = {"brian2"}
_MERGED: dict = {}
#: Configurations that compile every code object (Brian2's Cython: one extension module per
#: object; cpp_standalone: one build) run a covering set of cases — every feature key they
#: claim, plus a random decimal-weight circuit whose spikes change if the summation order
#: changes — because compiling every case takes tens of minutes on 2 cores.  brian2[runtime]
#: generates the same code for the numpy target and runs every case.
COMPILING = {"brian2[cython]", "brian2[cpp_standalone]"}


def covering_cases(engine: str) -> list[str]:
    """A small set of cases exercising every feature ``engine`` claims (greedy set cover),
    always with ``random_float_2`` (tie-sensitive: a reversed summation order flips spikes)."""
    cls = engine_class(engine)
    feats = {n: {f for _, f in required_features(reference(n)[0])} | set(cc.CASES[n].features)
             for n in cc.CASES if _claimed(engine, reference(n)[0], cc.CASES[n])}
    chosen = ["random_float_2"] if "random_float_2" in feats else []
    todo = set().union(*feats.values()) & set(cls.supported) - set().union(*(feats[n] for n in chosen))
    while todo:
        best = max(sorted(feats), key=lambda n: (len(feats[n] & todo), -reference(n)[0].graph.number_of_nodes()))
        chosen.append(best)
        todo -= feats[best]
    return chosen


def reference(name):
    """(circuit, inputs, steps, batch, spikes, states, counts) of a case, computed once."""
    if name not in _REFERENCE:
        circuit, inputs, steps = cc.CASES[name].build()
        batch = next(iter(inputs.values())).shape[1] if inputs else 1
        # structured circuits: the oracle runs the neuron-level expansion (Circuit.expand)
        flat = circuit.expand() if circuit.structured else circuit
        _REFERENCE[name] = (circuit, inputs, steps, batch, *ref.simulate_reference(flat, inputs, steps, batch))
    return _REFERENCE[name]


def _skip_unclaimed(engine: str, circuit, case):
    cls = engine_class(engine)
    missing = cls.missing_features(circuit) + [(f"case '{case.name}'", f) for f in case.features
                                               if f not in cls.supported]
    if missing:
        el, feature = missing[0]
        pytest.skip(f"engine '{engine}' does not support '{feature}' ({cls.unsupported.get(feature, 'not claimed')}),"
                    f" needed by {el}")


def _claimed(engine: str, circuit, case) -> bool:
    cls = engine_class(engine)
    return not cls.missing_features(circuit) and all(f in cls.supported for f in case.features)


def _simulate(engine, options, circuit, inputs, steps, batch):
    if engine == "lava":
        options = {**options, "bridge": "never"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.errors.SpikeattnWarning)
        return sa.simulate(circuit, inputs or None, steps=steps, batch=batch, engine=engine, **options)


def merged_run(engine: str, options: dict):
    """One run of every case ``engine`` claims, as disjoint copies (prefix = case name), with
    inputs padded to the longest case and tiled to the largest batch."""
    key = (engine, tuple(sorted(options.items())))
    if key not in _MERGED:
        label = next(lb for e, o, lb in CONFIGS if e == engine and o == options)
        names = [n for n in cc.CASES if _claimed(engine, reference(n)[0], cc.CASES[n])
                 and (label not in COMPILING or n in covering_cases(engine))]
        steps = max(reference(n)[2] for n in names)
        batch = max(reference(n)[3] for n in names)
        big, inputs = sa.Circuit("conformance"), {}
        for n in names:
            circuit, case_inputs, case_steps, case_batch = reference(n)[:4]
            big.include(circuit, prefix=n)
            for src, x in case_inputs.items():
                full = np.zeros((steps, batch, x.shape[2]), x.dtype)
                full[:case_steps] = np.repeat(x, batch // case_batch, axis=1) if case_batch != batch else x
                inputs[f"{n}.{src}"] = full
        _MERGED[key] = _simulate(engine, options, big, inputs, steps, batch)
    return _MERGED[key]


def case_view(result, circuit, prefix: str, steps: int, batch: int):
    """The slice of a merged run that belongs to one case, under the case's own names."""
    spikes = {n: result.spikes[f"{prefix}.{n}"][:steps, :batch] for n in circuit.nodes()}
    probes = {p: {v: a[:steps, :batch] for v, a in result.probes[f"{prefix}.{p}"].items()}
              for p in circuit.populations if f"{prefix}.{p}" in result.probes}
    counts = sa.EventCounts(steps, batch)
    for el in list(circuit.nodes()) + list(circuit.projections):
        src = result.counts.elements[f"{prefix}.{el}"]
        counts.add_element(el, src.kind, dict(src.meta))
        for f, arr in src.fields.items():
            counts.elements[el].fields[f][:] = arr[:steps, :batch]
    return sa.SimResult(spikes=spikes, probes=probes, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                        engine=result.engine, wall_s=result.wall_s, meta=result.meta)


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
        else:   # a list per step of neuron 0, or of lists (every neuron of the population)
            arr = result.spikes[pop] if what == "values" else result.probes[pop][what]
            got = arr[:, 0].tolist() if isinstance(expected[0], list) else arr[:, 0, 0].tolist()
            assert got == expected, key


@pytest.mark.parametrize("engine,options,case_name", _params())
def test_case(engine, options, case_name):
    circuit, inputs, steps, batch, spikes, states, counts = reference(case_name)
    case = cc.CASES[case_name]
    if options.get("fused"):
        from spikeattn.engines.numpy.vectorised import why_not_fusable
        reason = why_not_fusable(circuit)
        if reason:
            pytest.skip(f"the fused path does not run this case: {reason}")
        circuit.meta["fused"] = "vectorised"
    _skip_unclaimed(engine, circuit, case)
    if engine in MERGED_ENGINES:
        result = case_view(merged_run(engine, options), circuit, case_name, steps, batch)
    else:
        result = _simulate(engine, options, circuit, inputs, steps, batch)
    if options.get("fused"):
        assert result.meta.get("fused"), "the fused path did not run"
    for n in circuit.populations:
        assert np.array_equal(result.spikes[n], spikes[n]), f"spikes of '{n}' differ from the reference"
    for pop, variables in result.probes.items():
        for var, arr in variables.items():
            assert np.array_equal(arr, states[pop][var]), f"probe {pop}.{var} differs from the reference"
    own = set(circuit.nodes()) | set(circuit.projections)   # an expansion's extra elements are not compared
    for el, fields in counts.items():
        if el not in own:
            continue
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
