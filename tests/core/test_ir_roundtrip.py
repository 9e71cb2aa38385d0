"""Circuit files: exact round trips, corrupt and newer-version files, atomic writes."""
import io
import json
import os
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.errors import FileFormatError
from spikeattn.ir.serialize import FORMAT_VERSION


def rich_float_circuit(rng):
    c = sa.Circuit("rich", dt=5e-4)
    c.add_source("x", (2, 3), encoder="poisson", seed=7)
    c.add_source("g", 4, encoder="graded")
    c.add_population("a", 6, sa.LIF(du=0.25, dv=np.linspace(0, 0.5, 6), vth=0.75, bias=0.01, refractory=2),
                     initial={"v": rng.random(6)})
    c.add_population("b", (2, 2), sa.IF(vth=np.arange(1, 5, dtype=float)))
    c.connect("x", "a", rng.standard_normal((6, 6)), delay=3)
    c.connect("g", "b", sp.random(4, 4, density=0.5, random_state=1, format="csr"), message="graded", delay=0)
    c.connect("a", "b", rng.standard_normal((4, 6)).astype(np.float32), name="a_to_b")
    c.probe("a", ("u", "v"))
    c.expose("out", "b")
    c.meta = {"latency_steps": 2, "motif": "test"}
    return c


def fixed_circuit(rng):
    c = sa.Circuit("fx")
    c.add_source("x", 5)
    c.add_population("l", 5, sa.LoihiLIF(du=100, dv=7, vth=300, bias_mant=rng.integers(-50, 50, 5),
                                         bias_exp=np.array([0, 1, 2, 3, 0])))
    c.connect("x", "l", rng.integers(-256, 256, (5, 5)), weight_exp=-2, num_weight_bits=6, sign_mode="mixed")
    return c


@pytest.mark.parametrize("build", [rich_float_circuit, fixed_circuit])
def test_round_trip_is_exact(tmp_path, rng, build):
    c = build(rng)
    path = sa.save(c, tmp_path / "c.zip")
    c2 = sa.load(path)
    assert c2 == c
    for name, p in c.projections.items():
        q = c2.projections[name]
        assert q.weights.dtype == p.weights.dtype and q.sparse == p.sparse
    for name, pop in c.populations.items():
        assert type(c2.populations[name].model) is type(pop.model)
    # and the simulation of the loaded circuit is identical
    inputs = {n: np.ones(s.size) * (0.5 if s.encoder == "poisson" else 1) for n, s in c.sources.items()}
    if c.fixed_point:
        inputs = {n: np.ones((20, s.size), bool) for n, s in c.sources.items()}
    r1, r2 = sa.simulate(c, inputs, steps=20), sa.simulate(c2, inputs, steps=20)
    for n in r1.spikes:
        assert np.array_equal(r1.spikes[n], r2.spikes[n])
    assert r1.counts == r2.counts


def test_equality_detects_differences(rng):
    c = rich_float_circuit(rng)
    d = c.copy()
    d.projections["a_to_b"].weights[0, 0] += np.float32(1e-3)
    assert c != d


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        sa.load(tmp_path / "none.zip")


def test_corrupt_file(tmp_path, rng):
    path = sa.save(fixed_circuit(rng), tmp_path / "c.zip")
    data = path.read_bytes()
    (tmp_path / "bad.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="corrupt or incomplete"):
        sa.load(tmp_path / "bad.zip")
    (tmp_path / "text.zip").write_text("hello")
    with pytest.raises(FileFormatError):
        sa.load(tmp_path / "text.zip")


def _rewrite(src, dst, edit_doc=None, drop=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if drop and name.startswith(drop):
                continue
            data = zin.read(name)
            if name == "circuit.json" and edit_doc:
                doc = json.loads(data)
                edit_doc(doc)
                data = json.dumps(doc).encode()
            zout.writestr(name, data)


def test_newer_version_is_refused(tmp_path, rng):
    path = sa.save(fixed_circuit(rng), tmp_path / "c.zip")
    _rewrite(path, tmp_path / "new.zip", lambda d: d.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(FileFormatError, match=f"version {FORMAT_VERSION + 1}.*Upgrade spikeattn"):
        sa.load(tmp_path / "new.zip")


def test_wrong_format_and_missing_array(tmp_path, rng):
    path = sa.save(fixed_circuit(rng), tmp_path / "c.zip")
    _rewrite(path, tmp_path / "other.zip", lambda d: d.update(format="something.else"))
    with pytest.raises(FileFormatError, match="not a spikeattn circuit"):
        sa.load(tmp_path / "other.zip")
    _rewrite(path, tmp_path / "noarr.zip", drop="arrays/p0")
    with pytest.raises(FileFormatError, match="missing array"):
        sa.load(tmp_path / "noarr.zip")
    _rewrite(path, tmp_path / "badparam.zip",
             lambda d: d["nodes"][1]["model"]["params"].update(du=99999))
    with pytest.raises(FileFormatError, match="invalid circuit.*du"):
        sa.load(tmp_path / "badparam.zip")


def test_arrays_are_loaded_without_pickle(tmp_path, rng):
    """An object array planted in the file must be refused, not unpickled."""
    path = sa.save(fixed_circuit(rng), tmp_path / "c.zip")
    evil = io.BytesIO()
    np.save(evil, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp_path / "evil.zip", "w") as zout:
        for name in zin.namelist():
            zout.writestr(name, evil.getvalue() if name == "arrays/p0_w.npy" else zin.read(name))
    with pytest.raises(FileFormatError):
        sa.load(tmp_path / "evil.zip")


def test_save_is_atomic(tmp_path, rng, monkeypatch):
    """If writing fails midway, the previous file is intact and no temp file is left."""
    path = sa.save(fixed_circuit(rng), tmp_path / "c.zip")
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        sa.save(rich_float_circuit(rng), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.zip"]


def test_save_validates(tmp_path):
    with pytest.raises(sa.SpikeattnError, match="no population"):
        sa.save(sa.Circuit("empty"), tmp_path / "e.zip")
    assert not (tmp_path / "e.zip").exists()
