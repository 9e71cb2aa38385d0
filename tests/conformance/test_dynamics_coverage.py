"""One definition of each neuron, and no engine left silent about it.

Every neuron model spikeattn registers has its behaviour defined once, by a registered
:class:`~spikeattn.dynamics.Dynamics` (``spikeattn.dynamics.dynamics_for``).  The engines that
do not call that definition directly (the numba kernels of ``compiled``, Brian2's generated
code, Lava's own LIF) are held to it by the conformance suite (``test_conformance.py``:
literal trajectories and the scalar oracle, bit for bit).  These tests fail when that chain
has a gap:

- a registered model without a conformance case (no engine would be compared on it);
- an engine that neither runs a registered model (claims ``model:<kind>`` and, for the
  compiled engine, has a kernel for its exact Dynamics class) nor refuses it up front with a
  declared reason (the model's key in its ``unsupported`` mapping).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import conformance_cases as cc  # noqa: E402

import spikeattn as sa  # noqa: E402
from spikeattn.dynamics import dynamics_for  # noqa: E402
from spikeattn.engines import ENGINES, engine_class  # noqa: E402
from spikeattn.ir.neurons import MODEL_REGISTRY  # noqa: E402


def own_models() -> dict[str, type]:
    """kind -> model class of every model spikeattn itself registers (a test or plug-in may
    register more; they bring their own cases)."""
    return {kind: cls for kind, cls in sorted(MODEL_REGISTRY.items()) if cls.__module__.startswith("spikeattn.")}


MODELS = own_models()


def one_population(model_cls) -> sa.Circuit:
    c = sa.Circuit(f"one_{model_cls.kind}")
    c.add_population("p", 1, model_cls())
    return c


def test_every_registered_model_has_dynamics():
    assert len(MODELS) >= 8
    for kind, cls in MODELS.items():
        dyn = dynamics_for(cls)
        assert issubclass(cls, dyn.model_type), (kind, type(dyn).__name__)


_CASE_MODELS: dict = {}


def _case_models():
    """case name -> {population: exact model class} (circuits built once)."""
    if not _CASE_MODELS:
        for name, case in cc.CASES.items():
            circuit = case.build()[0]
            _CASE_MODELS[name] = {n: type(p.model) for n, p in circuit.populations.items()}
    return _CASE_MODELS


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_registered_model_has_a_conformance_case(kind):
    """Each model runs in at least one case (so every engine claiming it is compared with the
    oracle there) and in at least one case with hand-computed literal values for it."""
    cls = MODELS[kind]
    cases = {name: pops for name, pops in _case_models().items() if cls in pops.values()}
    assert cases, (f"no conformance case runs model {cls.__name__} ('{kind}'): add one to "
                   "tests/conformance/conformance_cases.py and its equations to conformance_reference.py")
    literal = [name for name, pops in cases.items()
               if any(key.split(".")[0] in pops and pops[key.split(".")[0]] is cls
                      for key in cc.CASES[name].literal if key != "counts")]
    assert literal, f"no conformance case checks model {cls.__name__} ('{kind}') against literal values"


def _engines():
    return sorted(ENGINES)


@pytest.mark.parametrize("engine", _engines())
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_engine_runs_or_declares_it_refuses_every_model(engine, kind):
    """``model:<kind>`` is claimed and the engine has what it takes to run it (no model
    feature missing for a plain one-population circuit: the compiled engine's check finds a
    kernel for the exact Dynamics class), or it is refused up front and named in the engine's
    ``unsupported`` mapping with a reason."""
    try:
        cls = engine_class(engine)
    except ImportError as exc:           # e.g. torch absent from the Lava venv
        pytest.skip(f"engine '{engine}' does not import here: {exc}")
    key = f"model:{kind}"
    missing = [f for _, f in cls.missing_features(one_population(MODELS[kind]))]
    if key in cls.supported and key not in missing:
        return
    assert key in missing, (f"engine '{engine}' neither claims '{key}' nor refuses it: "
                            f"{cls.__name__}.missing_features must list it")
    reason = cls.unsupported.get(key)
    assert isinstance(reason, str) and reason.strip(), (
        f"engine '{engine}' refuses '{key}' without a declared reason: add it to {cls.__name__}.unsupported")
