"""The ``mnist1d`` data set (generated offline by the mnist1d package's own generator, never
downloaded) and the ``mnist1d-attention`` built-in model: a tiny copy trains in seconds and
converts; exact mode gives the quantised ANN's prediction (torch, float64) sample for sample,
accumulate mode does no multiply-accumulate."""
import random
import socket

import numpy as np
import pytest

md = pytest.importorskip("mnist1d.data", reason="the mnist1d data set needs the mnist1d package (extra 'torch')")

from spikeattn.models import data as sdata  # noqa: E402


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test."""
    def refuse(*a, **k):
        raise AssertionError(f"network access attempted: {a[:2]}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_generator_is_offline_deterministic_and_quantised(no_network):
    np.random.seed(123)
    random.seed(7)
    before, pybefore = np.random.get_state()[1].copy(), random.getstate()
    a = sdata.mnist1d(seed=1, num_samples=300, cache=False)
    b = sdata.mnist1d(seed=1, num_samples=300, cache=False)
    c = sdata.mnist1d(seed=2, num_samples=300, cache=False)
    assert np.array_equal(np.random.get_state()[1], before) and random.getstate() == pybefore  # RNGs restored
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert not np.array_equal(a["x_train"], c["x_train"])
    # 80 / 20 split of 300 samples, 40 samples per sequence, 30 per class in all
    assert a["x_train"].shape == (240, 40) and a["x_test"].shape == (60, 40) and a["x_calib"].shape == (240, 40)
    y = np.concatenate([a["y_train"], a["y_test"]])
    assert a["y_train"].dtype == np.int64 and np.array_equal(np.bincount(y, minlength=10), np.full(10, 30))
    # the closed-form quantiser applied to the package's own generator output
    args = md.get_dataset_args()
    args.seed, args.num_samples = 1, 300
    ref = md.make_dataset(args)
    np.testing.assert_array_equal(a["x_train"], np.clip(np.round(2 * ref["x"]) + 8, 0, 16))
    np.testing.assert_array_equal(a["y_test"], ref["y_test"])
    x = a["x_train"]
    assert x.dtype == np.float32 and np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= 16
    assert len(np.unique(x)) > 8          # the signal uses most levels


def test_default_dataset_matches_the_published_sizes(no_network, tmp_path, monkeypatch):
    # MNIST-1D (Greydanus 2020): 5000 sequences of length 40, 4000 train / 1000 test, 10 classes
    monkeypatch.setenv("SPIKEATTN_CACHE", str(tmp_path))
    d = sdata.load_data("mnist1d")
    assert d["x_train"].shape == (4000, 40) and d["x_test"].shape == (1000, 40)
    assert sorted(set(d["y_train"].tolist())) == list(range(10))
    files = list((tmp_path / "models").glob("mnist1d-*.npz"))
    assert len(files) == 1 and not list((tmp_path / "models").glob("*.tmp"))
    with np.load(files[0], allow_pickle=False) as z:          # plain arrays, no pickle
        assert np.array_equal(z["x_test"], d["x_test"])
    # the second load reads the cache: the generator is not needed (made unimportable)
    monkeypatch.setitem(__import__("sys").modules, "mnist1d.data", None)
    e = sdata.load_data("mnist1d")
    assert all(np.array_equal(d[k], e[k]) for k in d)


@pytest.mark.parametrize("bad", [{"seed": -1}, {"seed": 1.5}, {"num_samples": 5}])
def test_bad_arguments_are_refused_naming_the_field(bad):
    with pytest.raises(sdata.DataError, match="seed|num_samples"):
        sdata.mnist1d(cache=False, **bad)


torch = pytest.importorskip("torch", reason="the model and the converter need torch (extra 'torch')")


@pytest.fixture(scope="module")
def tiny():
    from spikeattn.models.zoo import build, train
    d = sdata.mnist1d(seed=0, num_samples=1000, cache=False)
    torch.manual_seed(0)
    m = build("mnist1d-attention", dim=16, heads=2, layers=1, hidden=16, patch=4)
    train(m, d["x_train"], d["y_train"], epochs=15, lr=1e-2, batch=64, seed=0)
    return m, d


# accumulate mode (ReLU attention, folded LayerNorm) needs more levels and a longer fine-tune
# than exact mode before the tiny model's quantised ANN stops predicting one class
@pytest.mark.parametrize("mode, levels, epochs, n_train", [("exact", 3, 1, 256), ("accumulate", 8, 3, 800)])
def test_tiny_model_converts_identical_to_the_quantised_ann(tiny, mode, levels, epochs, n_train):
    from spikeattn.convert import convert
    m, d = tiny
    with torch.no_grad():
        dense = m(torch.as_tensor(d["x_test"])).argmax(1).numpy()
    assert np.mean(dense == d["y_test"]) > 0.2                      # above chance (0.1): it learned something
    x = d["x_test"][:120]
    sm = convert(m, torch.as_tensor(d["x_train"][:2]), mode=mode, calib=d["x_calib"],
                 train=(d["x_train"][:n_train], d["y_train"][:n_train]), epochs=epochs, levels=levels)
    q = sm.quantised_predict(x)
    p = sm.predict(x, steps=1, batch=120)
    assert len(np.unique(q)) > 2                                    # a model, not a constant
    assert np.array_equal(p, q)                                     # prediction for prediction
    assert sm.meta["input_kind"] == "count"                         # integer inputs: count messages
    if mode == "accumulate":
        assert sm.host_stages == []
        assert sm.last_counts["totals"]["synaptic_macs"] == 0 < sm.last_counts["totals"]["synaptic_acs"]
    else:
        assert sorted(set(sm.host_stages)) == ["layer_norm", "softmax"]


def test_load_model_says_it_trains_on_a_cold_cache_then_loads(tmp_path, monkeypatch):
    from spikeattn.models.zoo import MODELS, SPECS, is_cached, load_model
    assert "mnist1d-attention" in MODELS and SPECS["mnist1d-attention"]["data"] == "mnist1d"
    monkeypatch.setenv("SPIKEATTN_CACHE", str(tmp_path))
    d = sdata.mnist1d(seed=0, num_samples=200, cache=False)
    small = dict(dim=8, hidden=8, layers=1, epochs=2)
    assert not is_cached("mnist1d-attention", **small)
    said = []
    a = load_model("mnist1d-attention", d, log=said.append, **small)
    assert said[0].startswith("training mnist1d-attention (not cached yet; 2 epochs")
    assert "epoch 1/2 took" in said[1] and "s in all" in said[1]
    assert is_cached("mnist1d-attention", **small)
    said.clear()
    b = load_model("mnist1d-attention", None, log=said.append, **small)
    assert said == []                                               # warm: nothing trained, nothing said
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
