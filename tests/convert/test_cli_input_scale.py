"""``spikeattn convert --input-scale S`` (issue 17 item 1): the circuit's inputs are x / S;
integer inputs are count messages, which the first layer only adds (0 MACs per step in
accumulate mode); otherwise the CLI says that the first layer multiplies and names the flag.
A small MLP on x = k / 16 (k = 0..15): without the flag it multiplies, with
``--input-scale 0.0625`` it does not, and both predict the same test samples."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
nn = torch.nn

from spikeattn.cli import main  # noqa: E402


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return self.net(x)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("input_scale")
    x = (np.random.default_rng(0).integers(0, 16, (96, 8)) / 16).astype(np.float32)   # pixels / 16
    torch.manual_seed(0)
    m = MLP().eval()
    with torch.no_grad():                                     # balance the two classes: bias by the median margin
        z = m(torch.as_tensor(x))
        m.net[2].bias[0] -= float((z[:, 0] - z[:, 1]).median())
        y = m(torch.as_tensor(x)).argmax(-1).numpy()
    assert len(np.unique(y)) > 1
    ep = torch.export.export(m, (torch.tensor(x[:2]),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(ep, d / "mlp.pt2")
    np.savez(d / "d.npz", x_train=x[:64], y_train=y[:64], x_test=x[64:], y_test=y[64:])
    return d


def _convert(d, out, *extra):
    return main(["convert", str(d / "mlp.pt2"), "--data", str(d / "d.npz"), "--epochs", "0", "--levels", "4",
                 "--steps", "2", "--out", str(d / out), *extra])


@pytest.mark.parametrize("structured", [False, True], ids=["flat", "structured"])
def test_input_scale_that_makes_inputs_integer_removes_the_first_layers_macs(files, capsys, structured):
    flags = ["--structured"] if structured else []
    assert _convert(files, f"plain{structured}", *flags) == 0
    said = capsys.readouterr().out
    plain = json.loads((files / f"plain{structured}" / "fidelity.json").read_text())
    assert plain["input"] == {"kind": "graded", "scale": 1.0, "first_layer_multiplies": True}
    assert all(v > 0 for v in plain["macs_per_step"].values())
    assert "first layer multiplies" in said and "--input-scale" in said

    assert _convert(files, f"scaled{structured}", "--input-scale", "0.0625", *flags) == 0
    said = capsys.readouterr().out
    scaled = json.loads((files / f"scaled{structured}" / "fidelity.json").read_text())
    assert scaled["input"] == {"kind": "count", "scale": 0.0625, "first_layer_multiplies": False}
    assert scaled["macs_per_step"] == {"1": 0, "2": 0}
    assert "only adds" in said and "multiplies" not in said
    assert scaled["spiking_accuracy"] == plain["spiking_accuracy"]     # same circuit function, other messages


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "two"])
def test_bad_input_scale_is_refused_naming_the_flag(files, capsys, bad):
    with pytest.raises(SystemExit) as exc:
        _convert(files, "bad", "--input-scale", bad)
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert "--input-scale" in err and bad in err
    assert not (files / "bad").exists()
