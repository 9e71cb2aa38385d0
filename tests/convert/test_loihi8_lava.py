"""A converted, Loihi-quantised (``quantise="loihi8"``) digits ViT on Lava 0.10's bit-accurate
CPU simulator (through the bridge to .venv-lava from Python 3.11): spikes of every population,
the membrane ``v`` of the quantiser populations, the predictions and every EventCounts field
equal the numpy engine's."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")

from spikeattn import simulate  # noqa: E402
from spikeattn.convert import convert  # noqa: E402
from spikeattn.models.data import digits  # noqa: E402
from spikeattn.models.zoo import build, train  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HAS_LAVA = importlib.util.find_spec("lava") is not None or (REPO / ".venv-lava" / "bin" / "python").exists()
pytestmark = pytest.mark.skipif(not HAS_LAVA, reason="lava-nc not importable and no .venv-lava to bridge to")


@pytest.fixture(scope="module")
def quantised():
    d = digits()
    torch.manual_seed(0)
    m = build("digits-vit", dim=16, heads=2, layers=1, hidden=16, patch=4)
    train(m, d["x_train"], d["y_train"], epochs=4, lr=1e-2, batch=64, seed=0)
    sm = convert(m, torch.tensor(d["x_train"][:2]), mode="accumulate", calib=d["x_calib"],
                 train=(d["x_train"][:512], d["y_train"][:512]), epochs=2, levels=4,   # 1 epoch / 256 / 3: at chance
                 quantise="loihi8")
    return sm, d


@pytest.mark.parametrize("batch_mode", ["stream", "loop"])
def test_predictions_spikes_and_counts_equal_numpy(quantised, batch_mode):
    sm, d = quantised
    x = d["x_test"][:6 if batch_mode == "stream" else 3]
    pn = sm.predict(x, steps=2, batch=len(x))
    rn = sm.last_result
    pl = sm.predict(x, steps=2, batch=len(x), engine="lava", options={"batch_mode": batch_mode})
    rl = sm.last_result
    assert rl.meta.get("engine", "lava") == "lava"
    assert np.array_equal(pn, pl)
    for pop in sm.circuit.populations:
        assert np.array_equal(np.asarray(rn.spikes[pop]), np.asarray(rl.spikes[pop])), pop
    assert rn.counts.totals() == rl.counts.totals()
    assert rn.counts.totals()["synaptic_macs"] == 0 and rn.counts.totals()["spikes"] > 0


def test_membrane_equal_numpy(quantised):
    sm, d = quantised
    c = sm.circuit.copy()
    quant = [n for n, p in c.populations.items() if type(p.model).__name__ == "LoihiMultiThresholdIF"][:3]
    for n in quant:
        c.probe(n, ("v",))
    x = d["x_test"][:4].reshape(4, -1).astype(np.float64)
    steps = 2 + max(sm.program.latency.values())
    inputs = {}
    for src in c.sources:
        val = x if src in sm.program.inputs else np.ones((4, c.node(src).size))
        inputs[src] = np.zeros((steps,) + val.shape)
        inputs[src][:2] = val
    rn = simulate(c, inputs, steps=steps)
    rl = simulate(c, inputs, steps=steps, engine="lava")
    for pr in rn.probes:
        assert np.array_equal(np.asarray(rn.probes[pr]["v"]), np.asarray(rl.probes[pr]["v"])), pr
    assert any(np.any(np.asarray(rn.probes[pr]["v"]) != 0) for pr in rn.probes)
