"""Directly trained spiking classifiers (snnTorch BPTT) run through their circuits: the circuit's
output spike counts and predictions equal the snnTorch module's (oracle: the module, run in
float64), accuracy is above chance after a few seconds of training, the cache round-trips
(torch.load(weights_only=True)), MACs follow the closed form, bad settings are refused."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("snntorch", reason="needs snntorch (extra 'torch')")
pytest.importorskip("sklearn", reason="the digits data set needs scikit-learn (extra 'convert')")

from spikeattn.models.data import load_data  # noqa: E402
from spikeattn.models.direct import tokens, train_direct  # noqa: E402
from spikeattn.errors import ParameterError  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


@pytest.mark.parametrize("kind", ["sdsa", "ssa"])
def test_tiny_direct_model_circuit_reproduces_the_module(kind, digits, tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKEATTN_CACHE", str(tmp_path))
    m = train_direct(kind, digits, steps=2, epochs=4, n_train=300, dim=32, heads=2, batch=16, lr=1e-2)
    assert m.trained_now and m.path.is_file() and m.path.parent == tmp_path / "models"
    x, y = digits["x_test"][:120], digits["y_test"][:120]
    r = m.evaluate(x, y, steps=2)
    assert r["counts_identical"] and r["predictions_identical"]
    assert r["accuracy"] == r["module_accuracy"]
    assert r["accuracy"] > 0.3           # chance is 0.10 (10 balanced classes); seeds 0-2 give 0.54-0.69
    assert r["spikes_per_sample"] > 0 and r["synaptic_acs_per_sample"] > 0
    # direct encoding: each nonzero pixel p sends one graded message per step, one MAC per
    # nonzero weight of its column of the embedding (weights rounded to 0 are no synapse)
    fan_out = np.count_nonzero(m.module.embed.weight.detach().numpy(), axis=0)      # (P,)
    embed_macs = 2 * ((tokens(x, 4) != 0) * fan_out).sum(axis=(1, 2)).mean()
    if kind == "sdsa":   # everything after the embedding is binary: accumulates only
        assert r["synaptic_macs_per_sample"] == pytest.approx(embed_macs, rel=1e-12)
    else:                # SSA's map -> gate -> attn messages are graded on top of that
        assert r["synaptic_macs_per_sample"] > embed_macs
    # weights on the dyadic grid (what makes the float64 sums exact)
    for p in m.module.parameters():
        assert torch.equal(p, torch.round(p * 256) / 256)
    # cached: the second call loads the file (weights_only) instead of training
    again = train_direct(kind, digits, steps=2, epochs=4, n_train=300, dim=32, heads=2, batch=16, lr=1e-2)
    assert not again.trained_now
    for (k, a), (_, b) in zip(m.module.state_dict().items(), again.module.state_dict().items()):
        assert torch.equal(a, b), k
    # a different configuration is a different cache entry
    assert m.path != train_direct(kind, digits, steps=1, epochs=0, n_train=300, dim=32, heads=2, batch=16, lr=1e-2).path


def test_rate_encoding_circuit_matches_too(digits, tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKEATTN_CACHE", str(tmp_path))
    m = train_direct("sdsa", digits, steps=3, epochs=1, n_train=200, dim=8, heads=1, encoding="rate")
    r = m.evaluate(digits["x_test"][:60], digits["y_test"][:60])
    assert r["counts_identical"] and r["predictions_identical"]
    assert r["synaptic_macs_per_sample"] == 0      # binary input spikes: accumulate only


@pytest.mark.parametrize("kwargs,field", [
    ({"kind": "vit"}, "kind"),
    ({"steps": 0}, "steps"),
    ({"dim": 10, "heads": 3}, "heads"),
    ({"encoding": "ttfs"}, "encoding"),
    ({"patch": 3}, "patch"),
    ({"colour": 1}, "colour"),
])
def test_bad_settings_are_refused(kwargs, field, digits):
    with pytest.raises(ParameterError, match=field):
        train_direct(data=digits, cache=False, **kwargs)


def test_tokens_are_patches_and_bad_images_are_refused():
    img = np.arange(64, dtype=float).reshape(1, 64) % 17
    t = tokens(img, 4)
    assert t.shape == (1, 4, 16)
    # token 1 is the top-right 4x4 patch: rows 0..3, columns 4..7 of the 8x8 image
    assert np.array_equal(t[0, 1], img.reshape(8, 8)[:4, 4:].ravel() / 16)
    with pytest.raises(ParameterError, match="x"):
        tokens(np.zeros((3, 63)), 4)
