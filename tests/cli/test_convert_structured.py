"""``spikeattn convert --structured`` and ``spikeattn predict``, end to end through
:func:`spikeattn.cli.main` on the built-in ``digits-vit``.

Oracles, none of them a recorded output: the structured model converted again in memory with
the same arguments (the file must round-trip to the same logits and counts); the flat
converter on the same model, run neuron by neuron on numpy (``tests/convert/test_structured.py``
establishes that the structured circuit predicts as the flat one, spike for spike per
quantiser, logits to float rounding); the quantised ANN in float64 torch (at T = 1 every
prediction equals it); the labels (accuracy recomputed here from the predictions).

Speed: the CLI reads the built-in ``digits-vit`` from the model cache; the fixture puts there
(in a temporary ``SPIKEATTN_CACHE``) the built-in architecture trained for 3 epochs on 600
digits instead of the shipped 60 epochs (seconds, not minutes), and the data is a ``.npz``
cut from ``digits`` (300 train, 90 test samples).  The structured conversion runs with
``hardware_models`` made unimportable: the structured path never costs energy.
"""
import json
import sys
import zipfile
from contextlib import contextmanager

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the converter needs torch (extra 'torch')")
pytest.importorskip("sklearn", reason="the digits data set needs scikit-learn (extra 'convert')")

from spikeattn.cli import main  # noqa: E402
from spikeattn.convert import convert  # noqa: E402
from spikeattn.models import data as sdata  # noqa: E402
from spikeattn.models.zoo import SPECS, build, train  # noqa: E402
from spikeattn.models.zoo import _spec_and_path  # noqa: E402
from spikeattn.convert.structured_model import StructuredModel, load_model, run  # noqa: E402
from spikeattn.counts import validate_counts_dict  # noqa: E402

STEPS, LEVELS, EPOCHS = 2, 4, 1
RTOL = 1e-9


@contextmanager
def _unimportable(package: str):
    """``package`` and its submodules cannot be imported inside the block."""
    saved = {k: v for k, v in sys.modules.items() if k == package or k.startswith(package + ".")}
    for k in saved:
        del sys.modules[k]
    sys.modules[package] = None
    try:
        yield
    finally:
        del sys.modules[package]
        sys.modules.update(saved)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("structured_cli")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPIKEATTN_CACHE", str(tmp / "cache"))
    d = sdata.digits()
    torch.manual_seed(0)
    model = build("digits-vit", **SPECS["digits-vit"]["config"])
    train(model, d["x_train"][:600], d["y_train"][:600], epochs=3, lr=1e-2, batch=64, seed=0)
    path = _spec_and_path("digits-vit", {})[1]          # where the CLI reads the built-in model
    path.parent.mkdir(parents=True)
    torch.save(model.state_dict(), path)
    data = {"x_train": d["x_train"][:300], "y_train": d["y_train"][:300], "x_test": d["x_test"][:90],
            "y_test": d["y_test"][:90], "x_calib": d["x_train"][:64]}
    npz = tmp / "digits_small.npz"
    np.savez(npz, **data)
    out = tmp / "out"
    with _unimportable("hardware_models"):
        rc = main(["convert", "digits-vit", "--data", str(npz), "--structured", "--steps", str(STEPS), "--levels",
                   str(LEVELS), "--epochs", str(EPOCHS), "--out", str(out)])
    assert rc == 0
    yield {"model": model.eval(), "data": data, "npz": npz, "out": out, "tmp": tmp}
    mp.undo()


def _convert(setup, structured: bool):
    """The conversion the CLI performs, here in memory (same arguments)."""
    d = setup["data"]
    return convert(setup["model"], torch.as_tensor(d["x_train"][:2]), mode="accumulate", steps=STEPS,
                   calib=d["x_calib"], levels=LEVELS, train=(d["x_train"], d["y_train"]), epochs=EPOCHS,
                   structured=structured, **({"name": "digits-vit"} if structured else {}))


def _error(capsys, argv) -> str:
    """Run the CLI, expect a refusal: exit code 2 and one line on stderr, no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("spikeattn: error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


# --------------------------------------------------------------------------- convert --structured
def test_writes_a_model_file_that_round_trips_to_the_in_memory_model(setup):
    out = setup["out"]
    assert sorted(p.name for p in out.iterdir()) == ["accuracy_vs_T.png", "fidelity.json", "model.spikeattn"]
    with zipfile.ZipFile(out / "model.spikeattn") as zf:      # arrays and JSON only, no pickle
        assert all(n == "model.json" or n.endswith(".npy") for n in zf.namelist())
    lm = load_model(out / "model.spikeattn")
    sm = _convert(setup, structured=True)
    assert isinstance(sm, StructuredModel) and lm.circuit == sm.circuit
    x, y = setup["data"]["x_test"], setup["data"]["y_test"]
    rep = json.loads((out / "fidelity.json").read_text())
    for T in (1, 2):
        a, b = run(lm, x, steps=T, engine="torch"), run(sm, x, steps=T, engine="torch")
        np.testing.assert_array_equal(a.logits, b.logits)
        assert a.counts == b.counts
        assert rep["spiking_accuracy"][str(T)] == float(np.mean(a.predictions == y))
        assert rep["counts_per_sample"][str(T)] == {k: v / len(x) for k, v in a.counts.totals().items()}
    assert len(np.unique(a.predictions)) > 3                     # a classifier, not a constant
    # the counts of the largest T, every test sample, in the form a cost model reads
    (seg,) = rep["workload"]["spiking"]["segments"]
    assert rep["workload"]["spiking"]["samples"] == len(x) and rep["workload"]["spiking"]["steps"] == STEPS
    c = validate_counts_dict(seg["counts"])
    assert (c["steps"], c["batch"]) == (STEPS, len(x))
    assert c["elements"].keys() == a.counts.elements.keys()
    assert sum(e["totals"].get("synaptic_acs", 0) for e in c["elements"].values()) == a.counts.totals()["synaptic_acs"]
    assert rep["macs_per_step"] == {"1": 0.0, "2": 0.0}           # accumulate mode: no multiplies
    # the dense model's own workload, for the GPU side of `spikeattn energy fidelity.json`
    dense = rep["workload"]["dense"]["batches"]
    assert dense["64"]["flops"] == 64 * dense["1"]["flops"] > 0
    assert dense["1"]["params"] == sum(p.numel() for p in sm.dense.parameters())
    with torch.no_grad():                                         # dense accuracy and agreement, recomputed
        dense = setup["model"](torch.as_tensor(x)).argmax(1).numpy()
    assert rep["dense_accuracy"] == float(np.mean(dense == y))
    assert rep["agreement_with_dense"]["2"] == float(np.mean(a.predictions == dense))
    assert rep["structured"] is True and rep["engine"] == "torch" and rep["test_samples"] == len(x)


def test_predictions_equal_the_flat_conversion_and_the_quantised_ann(setup):
    lm = load_model(setup["out"] / "model.spikeattn")
    fm = _convert(setup, structured=False)
    x = setup["data"]["x_test"]
    for T in (1, 2):
        a, f = run(lm, x, steps=T, engine="torch"), run(fm, x, steps=T, engine="numpy")
        np.testing.assert_allclose(a.logits, f.logits, rtol=RTOL, atol=1e-12)
        np.testing.assert_array_equal(a.predictions, f.predictions)
    np.testing.assert_array_equal(run(lm, x, steps=1, engine="torch").predictions, fm.quantised_predict(x))
    rep = json.loads((setup["out"] / "fidelity.json").read_text())
    assert rep["identical_to_quantised"]["1"] == 1.0


# --------------------------------------------------------------------------- predict
def test_predict_gives_the_accuracy_of_fidelity_json(setup, capsys):
    out = setup["out"]
    res = setup["tmp"] / "predict.json"
    threads = torch.get_num_threads()
    try:
        assert main(["predict", str(out / "model.spikeattn"), "--data", str(setup["npz"]), "--steps", str(STEPS),
                     "--batch", "32", "--threads", "1", "--out", str(res)]) == 0
    finally:
        torch.set_num_threads(threads)
    assert "accuracy" in capsys.readouterr().out
    doc = json.loads(res.read_text())
    rep = json.loads((out / "fidelity.json").read_text())
    y = setup["data"]["y_test"]
    assert doc["accuracy"] == rep["spiking_accuracy"][str(STEPS)] == float(np.mean(np.array(doc["predictions"]) == y))
    assert doc["batch"] == 32 and doc["engine"] == "torch" and doc["steps"] == STEPS and doc["threads"] == 1
    assert doc["counts_per_sample"] == rep["counts_per_sample"][str(STEPS)]
    assert validate_counts_dict(doc["workload"]["spiking"]["segments"][0]["counts"])["batch"] == len(y)


def test_predict_refuses_bad_files_naming_the_file_and_the_fix(setup, capsys, tmp_path):
    good = (setup["out"] / "model.spikeattn").read_bytes()
    (tmp_path / "cut.spikeattn").write_bytes(good[: len(good) // 2])
    with zipfile.ZipFile(setup["out"] / "model.spikeattn") as zf, zipfile.ZipFile(tmp_path / "v99.spikeattn", "w") as o:
        for n in zf.namelist():
            b = zf.read(n)
            o.writestr(n, b.replace(b'"format_version": 1', b'"format_version": 99') if n == "model.json" else b)
    with zipfile.ZipFile(tmp_path / "circuit.zip", "w") as z:
        z.writestr("circuit.json", "{}")
    (tmp_path / "fidelity.json").write_text("{}")
    cases = {"missing.spikeattn": "does not exist", "cut.spikeattn": "corrupt or incomplete",
             "v99.spikeattn": "format_version", "circuit.zip": "no member model.json",
             "fidelity.json": "not a readable zip"}
    for name, problem in cases.items():
        err = _error(capsys, ["predict", str(tmp_path / name), "--data", str(setup["npz"])])
        assert name in err and problem in err and "Fix:" in err, err


def test_predict_refuses_data_of_another_shape_and_an_unknown_engine(setup, capsys, tmp_path):
    f = str(setup["out"] / "model.spikeattn")
    np.savez(tmp_path / "wide.npz", x_train=np.zeros((4, 65), np.float32), y_train=np.zeros(4, np.int64),
             x_test=np.zeros((4, 65), np.float32), y_test=np.zeros(4, np.int64))
    err = _error(capsys, ["predict", f, "--data", str(tmp_path / "wide.npz")])
    assert "--data" in err and "(65,)" in err and "(64,)" in err and "Fix:" in err
    err = _error(capsys, ["predict", f, "--data", str(setup["npz"]), "--engine", "nope"])
    assert "unknown engine 'nope'" in err and "torch" in err


# --------------------------------------------------------------------------- memory
def test_memory_limits_are_refused_before_running_naming_the_flags(setup, capsys):
    f = str(setup["out"] / "model.spikeattn")
    err = _error(capsys, ["predict", f, "--data", str(setup["npz"]), "--max-bytes", "100k"])
    assert "need about" in err and "--batch" in err and "--max-bytes" in err
    out = setup["tmp"] / "refused"
    err = _error(capsys, ["convert", "digits-vit", "--data", str(setup["npz"]), "--structured", "--max-bytes",
                          "100000", "--out", str(out)])
    assert "needs about" in err and "Nothing was allocated" in err and "--max-bytes" in err
    assert not out.exists()
    with pytest.raises(SystemExit) as e:                          # argparse: one line, exit 2
        main(["predict", f, "--data", str(setup["npz"]), "--max-bytes", "lots"])
    assert e.value.code == 2 and "--max-bytes" in capsys.readouterr().err


# --------------------------------------------------------------------------- refused flags
@pytest.mark.parametrize("flags, field", [(["--structured", "--mode", "exact"], "--mode"),
                                          (["--structured", "--mode", "rate"], "--mode"),
                                          (["--structured", "--quantise", "loihi8"], "--quantise"),
                                          (["--structured", "--prune", "magnitude:0.5"], "--prune"),
                                          (["--batch", "8"], "--batch"),
                                          (["--structured", "--engine", "nope"], "engine 'nope'")])
def test_refused_flags_name_the_flag_and_the_fix(capsys, tmp_path, flags, field):
    out = tmp_path / "out"
    err = _error(capsys, ["convert", "digits-vit", "--data", "digits", *flags, "--out", str(out)])
    assert field in err and ("Fix:" in err or "choose one of" in err), err
    assert not out.exists()
