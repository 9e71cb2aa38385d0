"""Built-in data sets and the ``.npz`` loader (no pickle).

* ``digits``: scikit-learn's ``load_digits`` (8x8 images, integer pixels 0..16), split
  80/20 with a fixed seed; images as ``(n, 64)`` float arrays of integers.
* ``recall``: synthetic associative recall generated in code: tokens binding keys to
  values, then a query key; the label is the value bound to it (attention needed).
* ``mnist1d``: MNIST-1D (Greydanus 2020, package ``mnist1d``) generated offline by its
  procedural generator ``mnist1d.data.make_dataset(get_dataset_args())`` (never its
  ``get_dataset``, which downloads a pickle): 4000 train / 1000 test sequences of 40
  samples, 10 classes.  The standardised signal ``z`` (std 1) is quantised to integer
  levels ``x = clip(round(2 z) + 8, 0, 16)`` (steps of 0.5 std, like the integer pixels of
  ``digits``), so inputs are count messages.  Cached as ``.npz`` under ``cache_dir()``
  (atomic write, read with ``allow_pickle=False``).
* ``.npz`` files with ``x_train``, ``y_train``, ``x_test``, ``y_test`` (``x_calib``
  optional), read with ``allow_pickle=False``; anything else is refused with a
  :class:`DataError` naming the file and the member.
"""
from __future__ import annotations

import os
import random
import zipfile

import numpy as np

from ..errors import SpikeattnError

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
BUILTIN = ("digits", "recall", "mnist1d")
MNIST1D_VERSION = 1


class DataError(SpikeattnError, ValueError):
    """A data file or name is malformed or unknown."""


def digits(seed: int = 0) -> dict:
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # pragma: no cover
        from ..errors import MissingExtraError
        raise MissingExtraError("scikit-learn", "convert", "the 'digits' data set") from None
    d = load_digits()
    x, y = d.data.astype(np.float32), d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    tr, te = perm[:cut], perm[cut:]
    return {"x_train": x[tr], "y_train": y[tr], "x_test": x[te], "y_test": y[te], "x_calib": x[tr[:256]]}


def recall(n_train: int = 4000, n_test: int = 800, pairs: int = 4, keys: int = 8, values: int = 8,
           seed: int = 0) -> dict:
    """Associative recall: ``pairs`` tokens each binding a key to a value (token id
    ``key * values + value``, distinct keys), then a query token (``keys * values + key``)
    naming one of the keys; the label is the value bound to it.  The answer sits at a random
    position, so the model must attend from the query to the matching key."""
    rng = np.random.default_rng(seed)

    def make(n):
        k = np.argsort(rng.random((n, keys)), axis=1)[:, :pairs]
        v = rng.integers(0, values, (n, pairs))
        which = rng.integers(0, pairs, n)
        seq = np.concatenate([k * values + v, (keys * values + k[np.arange(n), which])[:, None]], axis=1)
        return seq.astype(np.int64), v[np.arange(n), which].astype(np.int64)
    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte, "x_calib": xtr[:256]}


def mnist1d(seed: int = 42, num_samples: int = 5000, cache: bool = True) -> dict:
    """MNIST-1D from its generator (offline), quantised to integers 0..16 (see module docstring).

    ``seed`` and ``num_samples`` are the generator's (defaults: the published data set's);
    80 % train, 20 % test as the generator splits.  The generator seeds numpy's global RNG;
    its state is restored afterwards."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise DataError(f"mnist1d: seed is {seed!r}. Fix: give an int >= 0.")
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples < 20:
        raise DataError(f"mnist1d: num_samples is {num_samples!r}. Fix: give an int >= 20 (two per class).")
    from ..convert.cache import cache_dir
    path = cache_dir() / f"mnist1d-v{MNIST1D_VERSION}-seed{seed}-n{num_samples}.npz"
    if cache and path.is_file():
        return load_npz(path)
    from ..errors import require
    md = require("mnist1d.data", "torch", "the 'mnist1d' data set")
    args = md.get_dataset_args()
    args.seed, args.num_samples = seed, num_samples
    state, pystate = np.random.get_state(), random.getstate()
    try:
        d = md.make_dataset(args)
    finally:
        np.random.set_state(state)
        random.setstate(pystate)

    def q(z):
        return np.clip(np.round(2.0 * np.asarray(z, np.float64)) + 8.0, 0.0, 16.0).astype(np.float32)
    out = {"x_train": q(d["x"]), "y_train": np.asarray(d["y"], np.int64), "x_test": q(d["x_test"]),
           "y_test": np.asarray(d["y_test"], np.int64)}
    out["x_calib"] = out["x_train"][:256]
    if cache:
        import io

        from ..fileio import atomic_write_bytes
        buf = io.BytesIO()
        np.savez(buf, **out)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buf.getvalue())
    return out


def load_npz(path) -> dict:
    """Read a data ``.npz`` (see module docstring)."""
    path = os.fspath(path)
    where = f"data file '{path}'"
    if not os.path.isfile(path):
        raise DataError(f"{where}: no such file. Fix: give an .npz path or one of {list(BUILTIN)}.")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{where}: is not an .npz (zip) archive. Fix: write it with numpy.savez.")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            missing = [k for k in REQUIRED if k not in names]
            if missing:
                raise DataError(f"{where}: members {missing} are missing. Fix: save {list(REQUIRED)} "
                                "(x_calib optional).")
            out = {}
            for k in REQUIRED + (("x_calib",) if "x_calib" in names else ()):
                try:
                    a = z[k]
                except ValueError as exc:
                    raise DataError(f"{where}, member '{k}': cannot be read without pickle ({exc}). "
                                    "Fix: store plain numeric arrays.") from None
                if a.dtype.kind not in "iuf" or a.dtype == object:
                    raise DataError(f"{where}, member '{k}': dtype {a.dtype} is not numeric.")
                if a.ndim == 0 or a.shape[0] == 0:
                    raise DataError(f"{where}, member '{k}': is empty or a scalar.")
                if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
                    raise DataError(f"{where}, member '{k}': contains NaN or inf.")
                out[k] = a
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{where}: is corrupt ({type(exc).__name__}: {exc}).") from None
    for split in ("train", "test"):
        if len(out[f"x_{split}"]) != len(out[f"y_{split}"]):
            raise DataError(f"{where}: x_{split} has {len(out[f'x_{split}'])} samples but y_{split} has "
                            f"{len(out[f'y_{split}'])}.")
        if out[f"y_{split}"].dtype.kind not in "iu" or out[f"y_{split}"].ndim != 1:
            raise DataError(f"{where}, member 'y_{split}': must be a 1-D integer label array.")
    if out["x_train"].shape[1:] != out["x_test"].shape[1:]:
        raise DataError(f"{where}: x_train and x_test sample shapes differ.")
    out.setdefault("x_calib", out["x_train"][:256])
    return out


def load_data(name_or_path) -> dict:
    if name_or_path == "digits":
        return digits()
    if name_or_path == "recall":
        return recall()
    if name_or_path == "mnist1d":
        return mnist1d()
    if str(name_or_path).endswith(".npz") or os.path.exists(str(name_or_path)):
        return load_npz(name_or_path)
    raise DataError(f"data '{name_or_path}': unknown. Fix: use one of {list(BUILTIN)} or an .npz file.")
