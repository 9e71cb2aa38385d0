"""Issue 12, load() and save(): every corrupt or hostile file gives a FileFormatError naming
the file and the member; filesystem failures a FileWriteError naming the path, leaving
nothing behind; outputs keep the user's umask; load(save(c)) == c or a clear refusal."""
import errno
import io
import json
import os
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

import spikeattn as sa
from spikeattn.errors import FileFormatError, FileWriteError, ValidationError


def circuit():
    c = sa.Circuit("c")
    c.add_source("x", 3)
    c.add_population("h", 2, sa.LIF(vth=0.5))
    c.connect("x", "h", sp.csr_matrix(np.array([[1.0, 0, 2], [0, 3, 0]])))
    c.add_population("g", 2, sa.LIF())
    c.connect("h", "g", np.eye(2))
    c.probe("h", "v")
    c.expose("out", "g")
    return c


@pytest.fixture
def saved(tmp_path):
    return sa.save(circuit(), tmp_path / "c.zip")


def members(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def write(path, m):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in m.items():
            z.writestr(k, v)
    return path


def with_doc(saved, tmp_path, change):
    m = members(saved)
    doc = json.loads(m["circuit.json"])
    out = change(doc)
    m["circuit.json"] = json.dumps(doc if out is None else out)
    return write(tmp_path / "edited.zip", m)


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def assert_names(exc, path, member, *needles):
    msg = str(exc.value)
    assert str(path) in msg and f"member {member}" in msg, msg
    for n in needles:
        assert n in msg, msg


@pytest.mark.parametrize("change, where, needle", [
    (lambda d: [1, 2], None, "not a spikeattn circuit"),
    (lambda d: d.update(format_version=0), "format_version", "is 0"),
    (lambda d: d.update(format_version=-1), "format_version", "is -1"),
    (lambda d: d.update(format_version=True), "format_version", "is True"),
    (lambda d: d["nodes"][1]["model"].update(params=[1]), "nodes[1] ('h').model.params", "expected object"),
    (lambda d: d["nodes"][1].update(initial=[]), "nodes[1].initial", "expected object"),
    (lambda d: d.update(outputs=["g"]), "outputs", "expected object"),
    (lambda d: d["nodes"][1]["model"]["params"].update(tau=3), "nodes[1] ('h').model", "unknown parameters ['tau']"),
    (lambda d: d["projections"][1].update(shape=[1, 4]), "projections[1] ('h->g').weights",
     "shape (2, 2) but the JSON shape is (1, 4)"),
    (lambda d: d["nodes"][0].update(seed=True), "nodes[0].seed", "boolean"),
    (lambda d: d["nodes"][0].update(shape=[2.5]), "nodes[0] ('x')", "field 'shape'"),
    (lambda d: d["nodes"][0].update(extra=1), "nodes[0]", "unknown keys ['extra']"),
    (lambda d: d.update(nodes="abc"), "nodes", "expected array"),
    (lambda d: d["projections"][0]["weights"].update(format="coo"), "projections[0] ('x->h').weights.format",
     "'coo'"),
    (lambda d: d["probes"].append(7), "probes[1]", "expected a JSON object"),
    (lambda d: d["projections"][0].update(delay=-3), "projections[0] ('x->h')", "field 'delay'"),
])
def test_invalid_json_content(saved, tmp_path, change, where, needle):
    bad = with_doc(saved, tmp_path, change)
    with pytest.raises(FileFormatError) as e:
        sa.load(bad)
    assert_names(e, bad, "circuit.json", needle, *([where] if where else []))


@pytest.mark.parametrize("key, array, needle", [
    ("p0_indices", np.array([0, 1, 10**8]), "column 100000000, outside [0, 3)"),
    ("p0_indices", np.array([0.0, 1.0, 2.0]), "float64"),
    ("p0_indptr", np.array([0, 2, 1]), "runs from 0 to 1"),
    ("p0_data", np.array(["a", "b", "c"]), "only bool, int, uint and float"),
    ("p1_w", np.ones((2, 2)) * 1j, "only bool, int, uint and float"),
])
def test_corrupt_arrays(saved, tmp_path, key, array, needle):
    m = members(saved)
    m[f"arrays/{key}.npy"] = npy(array)
    bad = write(tmp_path / "arr.zip", m)
    with pytest.raises(FileFormatError) as e:
        sa.load(bad)
    assert str(bad) in str(e.value) and needle in str(e.value)
    assert f"arrays/{key}.npy" in str(e.value) or key[:2] in str(e.value)


def test_npy_header_declaring_a_huge_shape_is_refused_before_allocating(saved, tmp_path):
    m = members(saved)
    raw = npy(np.zeros(3)).replace(b"'shape': (3,), ", b"'shape': (99999999999,), ")
    m["arrays/p1_w.npy"] = raw
    bad = write(tmp_path / "huge.zip", m)
    with pytest.raises(FileFormatError) as e:
        sa.load(bad)
    assert_names(e, bad, "arrays/p1_w.npy", "(99999999999,)", "799,999,999,992 bytes")


def test_missing_array_names_the_member(saved, tmp_path):
    m = members(saved)
    del m["arrays/p1_w.npy"]
    bad = write(tmp_path / "miss.zip", m)
    with pytest.raises(FileFormatError) as e:
        sa.load(bad)
    assert_names(e, bad, "circuit.json", "missing array 'p1_w'", "arrays/p1_w.npy")


def test_deep_json_and_non_json(saved, tmp_path):
    for text, needle in (("[" * 100000 + "]" * 100000, "nested too deeply"), ("\xff{", "not valid JSON"),
                         ("1" * 5000, "not valid JSON")):
        m = members(saved)
        m["circuit.json"] = text.encode("latin1")
        bad = write(tmp_path / "deep.zip", m)
        with pytest.raises(FileFormatError) as e:
            sa.load(bad)
        assert_names(e, bad, "circuit.json", needle)


def test_bit_flips_in_the_deflate_stream(saved, tmp_path):
    """Every single-byte corruption of the file is either read (the flip hit nothing that
    matters) or refused with a FileFormatError naming the file; zlib errors never escape."""
    data = saved.read_bytes()
    rng = np.random.default_rng(5)
    refused = 0
    for pos in rng.choice(len(data), 200, replace=False):
        b = bytearray(data)
        b[pos] ^= 0xFF
        p = tmp_path / "flip.zip"
        p.write_bytes(bytes(b))
        try:
            assert sa.load(p).validate()
        except FileFormatError as exc:
            refused += 1
            assert str(p) in str(exc)
    assert refused > 100  # most flips hit the deflate streams, their CRCs or the zip structure


@pytest.mark.parametrize("path, needle", [(5, r"path is 5 \(int\)"), ("x" * 5000, "cannot be opened"),
                                          ("no/such/file.zip", "does not exist"), (None, "NoneType")])
def test_load_bad_paths(path, needle):
    with pytest.raises(FileFormatError, match=needle):
        sa.load(path)


def test_load_a_directory_or_a_non_zip(tmp_path):
    with pytest.raises(FileFormatError, match="is a folder, not a circuit file"):
        sa.load(tmp_path)
    with pytest.raises(FileFormatError, match="'.' is a folder"):
        sa.load(".")
    (tmp_path / "t.zip").write_text("not a zip")
    with pytest.raises(FileFormatError, match="corrupt or incomplete"):
        sa.load(tmp_path / "t.zip")


# ----------------------------------------------------------------- save
def test_save_meta_must_round_trip(tmp_path):
    c = circuit()
    for meta, field in (({"t": (1, 2)}, "meta['t']"), ({1: 2}, "meta[1]"), ({"a": {"b": np.ones(2)}}, "meta['a']['b']"),
                        ({"s": {1}}, "meta['s']"), ({"n": float("nan")}, "meta['n']"), ({"o": object()}, "meta['o']")):
        c.meta = meta
        with pytest.raises(ValidationError) as e:
            sa.save(c, tmp_path / "m.zip")
        assert f"field '{field}'" in str(e.value)
    assert not (tmp_path / "m.zip").exists()
    c.meta = {"f": np.float32(1.5), "i": np.int64(3), "l": [1, "a", None, {"k": True}], "b": np.bool_(True)}
    back = sa.load(sa.save(c, tmp_path / "m.zip"))
    assert back == c and back.meta == {"f": 1.5, "i": 3, "l": [1, "a", None, {"k": True}], "b": True}
    assert type(back.meta["i"]) is int and back.meta["b"] is True  # numpy bool stays a bool (found by fuzzing)


def test_save_filesystem_errors_name_the_path_and_leave_nothing(tmp_path):
    c = circuit()
    with pytest.raises(FileWriteError, match="the target is a directory"):
        sa.save(c, tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileWriteError, match="a parent of the target is a file"):
        sa.save(c, tmp_path / "file" / "c.zip")
    with pytest.raises(FileWriteError, match="path is 5"):
        sa.save(c, 5)
    with pytest.raises(ValidationError, match="field 'circuit'"):
        sa.save("c", tmp_path / "c.zip")
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_disk_full_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = sa.save(circuit(), tmp_path / "c.zip")
    before = target.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    c = circuit()
    c.meta = {"new": 1}
    with pytest.raises(FileWriteError, match=r"cannot write '.*c\.zip': No space left on device"):
        sa.save(c, target)
    assert target.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["c.zip"]
    assert isinstance(FileWriteError("x"), OSError)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_keep_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        p = sa.save(circuit(), tmp_path / "c.zip")
        from spikeattn.fileio import atomic_write_json
        q = atomic_write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~mask
    assert os.stat(q).st_mode & 0o777 == 0o666 & ~mask


def test_round_trip_still_exact(tmp_path):
    c = circuit()
    c.meta = {"k": [1, 2], "d": {"x": 1.25}}
    assert sa.load(sa.save(c, tmp_path / "c.zip")) == c


def test_include_with_a_slash_prefix_is_refused_so_no_unloadable_file_is_written():
    c = circuit()
    with pytest.raises(ValidationError, match="'a/b' is not a valid name"):
        c.include(circuit(), "a/b")
