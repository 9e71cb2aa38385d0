"""Independent specifications of valid input, written from the documented contracts (the
docstrings of the IR classes, ``simulate`` and the counts format), not from the code that
checks them.  Each predicate says whether a value is valid for a field; the fuzz families
compare the library's verdict with it.  Also: the pools of hostile values."""
from __future__ import annotations

import math
import numbers

import numpy as np

MAX_SIZE = 2**40


def is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_, np.timedelta64, np.datetime64))


def int_in(v, lo, hi) -> bool:
    return is_int(v) and lo <= int(v) <= hi


def shape_ok(v) -> bool:
    dims = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if isinstance(v, np.ndarray):
        return False if v.ndim != 1 else shape_ok(tuple(v.tolist()))
    return bool(dims) and all(is_int(d) and d >= 1 for d in dims) and math.prod(int(d) for d in dims) <= MAX_SIZE


def size_of(v) -> int:
    dims = tuple(v) if isinstance(v, (tuple, list, np.ndarray)) else (v,)
    return math.prod(int(d) for d in dims)


def real_array(v):
    """The value as a real ndarray, or None if it is not one (bool/complex/str/object/time)."""
    if isinstance(v, (str, bytes, dict)) or v is None:
        return None
    try:
        a = np.asarray(v)
    except Exception:
        return None
    return a if a.dtype.kind in "iuf" else None


def real_ok(v, lo=None, hi=None, size=1, integer=False, scalar=False) -> bool:
    """Scalar or per-neuron array of finite reals in [lo, hi] (integer-valued if asked)."""
    a = real_array(v)
    if a is None or a.ndim > 1 or (a.ndim == 1 and (scalar or a.shape[0] != size)):
        return False
    with np.errstate(invalid="ignore"):
        if not np.all(np.isfinite(a)):
            return False
        if integer and not np.all(np.mod(a, 1) == 0):
            return False
        return not ((lo is not None and np.any(a < lo)) or (hi is not None and np.any(a > hi)))


def scalar_real_ok(v, positive=False) -> bool:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.integer, np.floating)):
        return False
    return math.isfinite(float(v)) and (not positive or float(v) > 0)


def name_ok(v) -> bool:
    return isinstance(v, str) and bool(v) and not any(c in v for c in "/\\:\n")


def choice_ok(v, choices) -> bool:
    return isinstance(v, str) and v in choices


# Parameter contracts of the neuron models (from their docstrings), size = population size.
def lif_param_ok(field, v, size, reset="zero"):
    return {"du": lambda: real_ok(v, 0, 1, size), "dv": lambda: real_ok(v, 0, 1, size),
            "vth": lambda: real_ok(v, 0, None, size), "bias": lambda: real_ok(v, None, None, size),
            "v_reset": lambda: real_ok(v, None, None, size),
            "reset": lambda: choice_ok(v, ("zero", "subtract")),
            "refractory": lambda: int_in(v, 0, 2**31 - 1) and (int(v) == 0 or reset == "zero")}[field]()


def loihi_param_ok(field, v, size):
    return {"du": lambda: real_ok(v, 0, 4095, size, True, scalar=True),
            "dv": lambda: real_ok(v, 0, 4095, size, True, scalar=True),
            "vth": lambda: real_ok(v, 0, 2**17 - 1, size, True, scalar=True),
            "bias_mant": lambda: real_ok(v, -(2**12), 2**12 - 1, size, True),
            "bias_exp": lambda: real_ok(v, -8, 7, size, True)}[field]()


def initial_ok(v, size, fixed) -> bool:
    if fixed:
        return real_ok(v, -(2**23), 2**23, size, integer=True)
    return real_ok(v, None, None, size)


PROJECTION_SCALARS = {
    "delay": lambda v: int_in(v, 0, 1024),
    "weight_exp": lambda v: int_in(v, -16, 16),
    "num_weight_bits": lambda v: int_in(v, 1, 8),
    "message": lambda v: choice_ok(v, ("binary", "graded")),
    "sign_mode": lambda v: choice_ok(v, ("auto", "mixed", "excitatory", "inhibitory")),
}
ENCODERS = ("spikes", "poisson", "rate", "ttfs", "graded")
SOURCE_FIELDS = {
    "encoder": lambda v: choice_ok(v, ENCODERS),
    "seed": lambda v: int_in(v, 0, 2**63 - 1),
    "window": lambda v: v is None or int_in(v, 1, 2**31 - 1),
}


def dense_weights_ok(w, shape, fixed) -> bool:
    a = real_array(w)
    if a is None or a.shape != shape:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(a)) and (not fixed or np.all(np.mod(a, 1) == 0)))


def csr_ok(shape, data, indices, indptr) -> bool:
    """CSR contract: integer 1-D index arrays, indptr of rows+1 entries from 0 to nnz,
    non-decreasing; indices in [0, cols), as many as data; data finite reals."""
    rows, cols = shape
    if indptr.ndim != 1 or indices.ndim != 1 or data.ndim != 1:
        return False
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu" or data.dtype.kind not in "iuf":
        return False
    if len(indptr) != rows + 1 or len(indices) != len(data):
        return False
    ip = [int(x) for x in indptr]
    if ip[0] != 0 or ip[-1] != len(data) or any(b < a for a, b in zip(ip, ip[1:])):
        return False
    if any(not 0 <= int(i) < cols for i in indices):
        return False
    return bool(np.all(np.isfinite(data.astype(np.float64))))


def json_roundtrip_ok(v) -> bool:
    """True iff json.loads(json.dumps(v)) == v with the same types (numpy scalars count as
    their Python values)."""
    if v is None or isinstance(v, (bool, str)):
        return True
    if isinstance(v, np.generic):
        return v.dtype.kind in "biuf" and json_roundtrip_ok(v.item())
    if isinstance(v, int):
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, list):
        return all(json_roundtrip_ok(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and json_roundtrip_ok(x) for k, x in v.items())
    return False


def count_ok(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, np.integer)):
        return 0 <= int(v) <= 2**63 - 1
    if isinstance(v, (float, np.floating)):
        return math.isfinite(v) and v == int(v) and 0 <= v <= 2**63 - 1
    return False


class Opaque:
    def __repr__(self):
        return "Opaque()"


# Hostile values: every type confusion the issue lists, and a few more.
POOL = [True, False, None, "7", "abc", "", "zero", "spikes", "binary", 2.5, -1, 0, 1, 2, 3, 7, 4095, 10**12, 2**63,
        -(2**63), 10**400, float("nan"), float("inf"), -float("inf"), 1e30, -0.5, 0.5, complex(1, 2),
        np.timedelta64(1, "s"), np.datetime64("2020-01-01"), [], [2], [2, 3], [[1, 2]], (2**32, 2**32),
        (10**10, 10**10), (2, 3), {}, {"v": 1}, Opaque(), np.float32(1.5), np.int64(3), np.uint8(2), np.bool_(True),
        b"x", np.array([1, 2]), np.array([0.5, 0.5]), np.array([1, 2, 3]), np.array(["a", "b"]),
        np.array([1 + 1j, 0]), np.zeros((2, 2)), np.array([np.nan, 0]), [1, [2]], (1,), ("v",), ("u", "v"),
        ("x",), "v", "u", "h", "x", "a/b", "a:b", "lif"]
