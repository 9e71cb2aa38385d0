"""The CLI on a model the project has never seen (a user's TransformerEncoder classifier with
a CLS token and norm_first=True, saved with torch.export.save) and the .npz / .pt2 loaders'
refusals (no pickle anywhere)."""
import argparse
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn = torch.nn

from spikeattn.convert import cli  # noqa: E402
from spikeattn.models.data import DataError, load_npz  # noqa: E402
from spikeattn.errors import SpikeattnError  # noqa: E402

KEYS = {"model", "mode", "dense_accuracy", "quantised_accuracy", "spiking_accuracy", "identical_to_quantised",
        "macs_per_step", "spike_rate_per_layer", "attention_agreement", "energy"}


class UserClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 8)
        self.cls = nn.Parameter(torch.randn(1, 1, 8) * 0.1)
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        t = self.proj(x.reshape(x.shape[0], 3, 4))
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], dim=1)
        return self.out(self.enc(t)[:, 0])


def _parse(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    cli.register(sub)
    return p.parse_args(argv)


def test_user_pt2_converts_through_the_cli(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (120, 12)).astype(np.float32)
    y = (x[:, :6].sum(1) > x[:, 6:].sum(1)).astype(np.int64)
    torch.manual_seed(0)
    m = UserClassifier().eval()
    ep = torch.export.export(m, (torch.tensor(x[:2]),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, tmp_path / "user.pt2")
    np.savez(tmp_path / "d.npz", x_train=x[:80], y_train=y[:80], x_test=x[80:], y_test=y[80:])
    args = _parse(["convert", str(tmp_path / "user.pt2"), "--data", str(tmp_path / "d.npz"), "--mode", "exact",
                   "--steps", "2", "--levels", "2", "--epochs", "1", "--out", str(tmp_path / "out")])
    assert args.handler(args) == 0
    rep = json.loads((tmp_path / "out" / "fidelity.json").read_text())
    assert KEYS <= set(rep)
    assert set(rep["spiking_accuracy"]) == {"1", "2"}
    assert rep["identical_to_quantised"]["1"] == 1.0
    assert (tmp_path / "out" / "circuit.zip").is_file()
    # convert counts and does not cost: no empty energy figure; `spikeattn energy` costs the
    # counted workload from fidelity.json
    assert not (tmp_path / "out" / "accuracy_vs_energy.png").exists()
    from spikeattn.cli import main
    assert main(["energy", str(tmp_path / "out" / "fidelity.json"), "--hardware", "loihi2,h100", "--batch", "1,64",
                 "--no-figures", "--draws", "0", "--out", str(tmp_path / "energy")]) == 0
    assert any((tmp_path / "energy").iterdir())


def test_npz_refusals(tmp_path):
    np.savez(tmp_path / "missing.npz", x_train=np.zeros((2, 3)))
    with pytest.raises(DataError, match="missing"):
        load_npz(tmp_path / "missing.npz")
    obj = np.array([{"a": 1}, None], dtype=object)
    np.savez(tmp_path / "pickled.npz", x_train=obj, y_train=obj, x_test=obj, y_test=obj)
    with pytest.raises(DataError, match="pickle"):
        load_npz(tmp_path / "pickled.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(DataError, match="not an .npz"):
        load_npz(tmp_path / "text.npz")
    np.savez(tmp_path / "nan.npz", x_train=np.full((2, 2), np.nan), y_train=np.zeros(2, int),
             x_test=np.zeros((2, 2)), y_test=np.zeros(2, int))
    with pytest.raises(DataError, match="NaN"):
        load_npz(tmp_path / "nan.npz")


def test_pt2_refusals(tmp_path):
    (tmp_path / "bad.pt2").write_bytes(b"garbage")
    with pytest.raises(SpikeattnError, match="not a .pt2"):
        cli.load_pt2(tmp_path / "bad.pt2")
    import zipfile
    with zipfile.ZipFile(tmp_path / "empty.pt2", "w") as z:
        z.writestr("x.txt", "hi")
    with pytest.raises(SpikeattnError, match="cannot be loaded"):
        cli.load_pt2(tmp_path / "empty.pt2")


def test_registration_does_not_import_torch():
    import subprocess
    import sys
    code = ("import sys, argparse; from spikeattn.convert import cli; p = argparse.ArgumentParser(); "
            "cli.register(p.add_subparsers()); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_energy_vs_gpu_scenario_is_registered_without_importing_torch():
    import subprocess
    import sys
    code = ("import sys, scenarios; s = scenarios.load_all()['energy-vs-gpu']; "
            "assert {'steps', 'batch', 'levels', 'mode'} <= set(s.params); assert 'brian2' in s.refuses; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_quantise_loihi8_and_prune(tmp_path):
    """--quantise loihi8 with --prune: a fixed-point circuit, zero MACs, the quantisation section."""
    from spikeattn.ir import load
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, (120, 12)).astype(np.float32)
    y = (x[:, :6].sum(1) > x[:, 6:].sum(1)).astype(np.int64)
    torch.manual_seed(0)
    ep = torch.export.export(UserClassifier().eval(), (torch.tensor(x[:2]),),
                             dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, tmp_path / "user.pt2")
    np.savez(tmp_path / "d.npz", x_train=x[:80], y_train=y[:80], x_test=x[80:], y_test=y[80:])
    args = _parse(["convert", str(tmp_path / "user.pt2"), "--data", str(tmp_path / "d.npz"), "--steps", "2",
                   "--levels", "2", "--epochs", "1", "--quantise", "loihi8", "--prune", "magnitude:0.3",
                   "--out", str(tmp_path / "out")])
    assert args.handler(args) == 0
    rep = json.loads((tmp_path / "out" / "fidelity.json").read_text())
    assert rep["quantisation"]["quantise"] == "loihi8" and rep["quantisation"]["fixed_point"] is True
    assert set(rep["quantisation"]["identical_to_float_spiking"]) == {"1", "2"}
    assert all(v == 0 for v in rep["macs_per_step"].values())
    assert rep["pruned"]["magnitude"]["pruned"] > 0
    assert load(tmp_path / "out" / "circuit.zip").fixed_point


class HandMaskedAttention(nn.Module):
    """A causal mask filled with -500 by hand: the converter cannot tell the fill from a score,
    so the attention quantiser's threshold lands far above every real score (lost signal)."""

    def __init__(self, width=8, tokens=6):
        super().__init__()
        self.tokens, self.width = tokens, width
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, 3)
        self.register_buffer("fill", torch.triu(torch.full((tokens, tokens), -500.0), 1))

    def forward(self, x):
        q, k, v = self.qkv(x.reshape(x.shape[0], self.tokens, self.width)).chunk(3, dim=-1)
        att = torch.softmax((q @ k.transpose(1, 2)) * 0.1 + self.fill, dim=-1)
        return self.out(att @ v)[:, -1]


def test_cli_names_the_flag_for_a_model_that_lost_its_signal(tmp_path, capsys):
    from spikeattn.cli import main
    x = np.random.default_rng(0).integers(0, 4, (96, 48)).astype(np.float32)
    torch.manual_seed(2)
    m = HandMaskedAttention().eval()
    with torch.no_grad():
        y = m(torch.as_tensor(x)).argmax(-1).numpy()
    assert len(np.unique(y)) > 1                              # the dense model depends on its input
    ep = torch.export.export(m, (torch.tensor(x[:2]),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, tmp_path / "m.pt2")
    np.savez(tmp_path / "d.npz", x_train=x[:64], y_train=y[:64], x_test=x[64:], y_test=y[64:])
    argv = ["convert", str(tmp_path / "m.pt2"), "--data", str(tmp_path / "d.npz"), "--epochs", "0", "--levels", "3",
            "--steps", "1", "--out", str(tmp_path / "out")]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "lost the signal" in err and "--no-signal-check" in err and "signal_check=False" not in err
    assert not (tmp_path / "out").exists()                    # refused before anything is written
    assert main(argv + ["--no-signal-check"]) == 0
    assert (tmp_path / "out" / "fidelity.json").is_file()
