"""One checker per concept, shared by every entry point (IR, ``simulate``, ``load``, cost).

Each checker takes ``where`` (the element, e.g. ``"projection 'a->b'"``) and ``field`` and
raises a :class:`~spikeattn.errors.SpikeattnError` subclass whose message names both and
says how to fix the value; on success it returns the value in its canonical form.

* :func:`check_int` -- a Python or numpy integer (``bool`` refused: ``True`` is not a count).
* :func:`check_real` -- a finite real number (bool, complex, str, timedelta refused).
* :func:`check_shape` -- an int or a tuple of ints > 0 whose product fits ``MAX_SIZE``.
* :func:`check_real_array` -- an array of real numbers (dtype kinds ``b``/``i``/``u``/``f``).
* :func:`check_csr` -- the structure of compressed sparse rows before any native code reads
  it: ``indptr`` integer, length ``rows + 1``, starting at 0, non-decreasing, ending at
  ``nnz``; ``indices`` integer, in ``[0, cols)``; ``data`` real, ``nnz`` long.
* :func:`check_json_value` -- a value that survives ``json.loads(json.dumps(v)) == v``.
* :func:`estimate_run_bytes` / :func:`check_run_memory` -- the memory a run allocates.
"""
from __future__ import annotations

import math
import numbers
import os
from typing import Mapping

import numpy as np

from .errors import InputError, ParameterError, SpikeattnError, ValidationError

MAX_SIZE = 2**40          # neurons per population: int64 products of it stay exact
MAX_BYTES = 2**40         # a run needing more memory than this (1 TiB) is refused up front
REAL_KINDS = "iuf"        # signed/unsigned integer, float
INT_KINDS = "iu"


def _is_int(value) -> bool:
    """Python or numpy integer; bool and numpy's timedelta64 (an np.integer subclass) are not."""
    return (isinstance(value, (numbers.Integral, np.integer))
            and not isinstance(value, (bool, np.bool_, np.timedelta64, np.datetime64)))


def check_int(where: str, field: str, value, lo: int | None = None, hi: int | None = None,
              error: type[SpikeattnError] = ParameterError, unit: str = "") -> int:
    """``value`` as a Python int in ``[lo, hi]``; bool, float, str and None are refused."""
    rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
    if not _is_int(value):
        _raise(error, where, field, f"is {value!r} ({type(value).__name__}); must be an int in {rng}{unit}.",
               f"pass an int{' (not a bool)' if isinstance(value, (bool, np.bool_)) else ''}.")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        _raise(error, where, field, f"is {v}; must be an int in {rng}{unit}.")
    return v


def check_real(where: str, field: str, value, lo: float | None = None, hi: float | None = None,
               error: type[SpikeattnError] = ParameterError, positive: bool = False) -> float:
    """``value`` as a finite Python float in ``[lo, hi]`` (``> 0`` if ``positive``)."""
    if (isinstance(value, (bool, np.bool_, np.timedelta64, np.datetime64))
            or not isinstance(value, (numbers.Real, np.integer, np.floating))):
        _raise(error, where, field, f"is {value!r} ({type(value).__name__}); must be a real number.")
    v = float(value)
    if not math.isfinite(v) or (positive and v <= 0) or (lo is not None and v < lo) or (hi is not None and v > hi):
        want = "a positive finite number" if positive else f"a finite number in [{lo}, {hi}]"
        _raise(error, where, field, f"is {value!r}; must be {want}.")
    return v


def check_str(where: str, field: str, value, choices=None, error: type[SpikeattnError] = ParameterError) -> str:
    """``value`` is a str (one of ``choices`` if given)."""
    if not isinstance(value, str) or (choices is not None and value not in choices):
        _raise(error, where, field, f"is {value!r}.",
               f"use one of {list(choices)}." if choices is not None else "pass a string.")
    return value


def check_mapping(where: str, field: str, value, key_type=str, error: type[SpikeattnError] = ParameterError) -> dict:
    """``value`` as a dict (None -> {}); keys must be ``key_type``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        _raise(error, where, field, f"is a {type(value).__name__}; must be a mapping (dict).")
    bad = [k for k in value if not isinstance(k, key_type)]
    if bad:
        _raise(error, where, field, f"has key {bad[0]!r} ({type(bad[0]).__name__}); keys must be "
               f"{key_type.__name__}.")
    return dict(value)


def check_shape(where: str, value, field: str = "shape", max_size: int = MAX_SIZE) -> tuple[int, ...]:
    """An int or a non-empty tuple/list of ints, each >= 1, product <= ``max_size``."""
    dims = value if isinstance(value, (tuple, list)) else (value,)
    if isinstance(value, np.ndarray):
        dims = tuple(value.tolist()) if value.ndim == 1 else (value,)
    if not dims or not all(_is_int(d) for d in dims):
        raise ParameterError(where, field, f"{value!r} is not an int or a tuple of ints.",
                             "give a positive int (e.g. 8) or a tuple of them (e.g. (2, 4)); bools, "
                             "floats and strings are refused.")
    dims = tuple(int(d) for d in dims)
    if any(d <= 0 for d in dims):
        raise ParameterError(where, field, f"{dims} must have positive sizes.")
    size = math.prod(dims)
    if size > max_size:
        raise ParameterError(where, field, f"{dims} has {size} elements, more than the {max_size} supported.",
                             "use a smaller shape.")
    return dims


def check_real_array(where: str, field: str, value, allow_bool: bool = False,
                     error: type[SpikeattnError] = ParameterError) -> np.ndarray:
    """``value`` as a numpy array of real numbers (no object, str, complex or time dtypes)."""
    if isinstance(value, (str, bytes, Mapping)) or value is None:
        _raise(error, where, field, f"is {type(value).__name__} {_short(value)}; must be numbers.")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists, objects numpy cannot convert
        _raise(error, where, field, f"could not be converted to an array ({type(exc).__name__}: "
               f"{str(exc)[:120]}).", "pass a rectangular array of real numbers.")
    kinds = REAL_KINDS + ("b" if allow_bool else "")
    if arr.dtype.kind not in kinds:
        _raise(error, where, field, f"has dtype {arr.dtype}; expected real numbers"
               f"{' or bools' if allow_bool else ''}.", "convert the data to int or float.")
    return arr


def check_finite(where: str, field: str, arr: np.ndarray, error: type[SpikeattnError] = ParameterError) -> None:
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        _raise(error, where, field, "contains NaN or inf.", "replace non-finite values.")


def check_csr(where: str, shape, data, indices, indptr, field: str = "weights") -> tuple:
    """Validate CSR arrays *before* scipy or an engine indexes with them.

    Returns ``(data, indices, indptr)`` with the index arrays as int32 (int64 if the sizes
    need it).  Duplicate (row, column) entries are allowed: they mean the sum of their values
    (scipy's convention), and :class:`~spikeattn.ir.Projection` sums them on construction.
    """
    rows, cols = shape
    for name, a in (("indptr", indptr), ("indices", indices)):
        a = np.asarray(a)
        if a.ndim != 1 or a.dtype.kind not in INT_KINDS:
            raise ParameterError(where, f"{field}.{name}", f"has dtype {a.dtype} and {a.ndim} dimensions; must be "
                                 "a 1-D integer array.", "build the matrix with scipy.sparse.csr_matrix.")
    indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
    if data.ndim != 1 or data.dtype.kind not in REAL_KINDS + "b":
        raise ParameterError(where, f"{field}.data", f"has dtype {data.dtype} and {data.ndim} dimensions; must be a "
                             "1-D array of real numbers.")
    nnz = data.shape[0]
    if indptr.shape[0] != rows + 1:
        raise ParameterError(where, f"{field}.indptr", f"has {indptr.shape[0]} entries; a CSR matrix with {rows} rows "
                             f"needs {rows + 1}.")
    if indices.shape[0] != nnz:
        raise ParameterError(where, f"{field}.indices", f"has {indices.shape[0]} entries but data has {nnz}.")
    if int(indptr[0]) != 0 or int(indptr[-1]) != nnz:
        raise ParameterError(where, f"{field}.indptr", f"runs from {int(indptr[0])} to {int(indptr[-1])}; it must start "
                             f"at 0 and end at nnz = {nnz}.")
    if rows and np.any(np.diff(indptr.astype(np.int64)) < 0):
        i = int(np.argmax(np.diff(indptr.astype(np.int64)) < 0))
        raise ParameterError(where, f"{field}.indptr", f"decreases at row {i} ({int(indptr[i])} -> "
                             f"{int(indptr[i + 1])}); it must be non-decreasing.")
    if nnz:
        lo, hi = int(indices.min()), int(indices.max())
        if lo < 0 or hi >= cols:
            bad = lo if lo < 0 else hi
            raise ParameterError(where, f"{field}.indices", f"holds column {bad}, outside [0, {cols}) for a matrix "
                                 f"of shape ({rows}, {cols}).", "fix the column indices.")
    itype = np.int32 if max(nnz, rows, cols) < 2**31 - 1 else np.int64
    return data, indices.astype(itype, copy=False), indptr.astype(itype, copy=False)


def csr_is_canonical(indices: np.ndarray, indptr: np.ndarray) -> bool:
    """True if the column indices of every row are strictly increasing (sorted, no
    duplicates); computed from the arrays (scipy's cached flag can be stale after an
    in-place edit).  ``indptr``/``indices`` must have passed :func:`check_csr`."""
    nnz = len(indices)
    if nnz < 2:
        return True
    d = np.diff(indices.astype(np.int64))
    new_row = np.zeros(nnz - 1, bool)
    starts = np.asarray(indptr[1:-1], np.int64)
    starts = starts[(starts >= 1) & (starts < nnz)]
    new_row[starts - 1] = True
    return bool(np.all((d > 0) | new_row))


def check_json_value(where: str, value, path: str = "meta"):
    """``value`` as a JSON-round-trippable Python value: dict with str keys, list, str,
    int, finite float, bool, None.  numpy scalars become Python scalars (they compare equal);
    tuples, sets, arrays and other objects are refused (they would load back as a different
    type and ``load(save(c)) != c``)."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(where, path, f"is {value!r}; JSON has no NaN or inf.", "store a finite number or None.")
        return value
    if isinstance(value, list):
        return [check_json_value(where, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValidationError(where, f"{path}[{k!r}]", f"has a {type(k).__name__} key; JSON keys are strings "
                                      "and would load back as str.", "use str keys.")
            out[k] = check_json_value(where, v, f"{path}[{k!r}]")
        return out
    fix = "use a list." if isinstance(value, (tuple, set, frozenset, np.ndarray)) else "store str, int, float, bool, None, lists or dicts."
    raise ValidationError(where, path, f"is a {type(value).__name__}, which does not round-trip through JSON.", fix)


# --------------------------------------------------------------------------- memory
def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), else physical pages available, else None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def estimate_run_bytes(circuit, steps: int, batch: int) -> int:
    """Lower bound of the bytes a run allocates (Python ints, no overflow):

    spike records ``steps * batch * size`` per population (1 B for binary, 8 B for graded
    models) and per source (1 B), probes ``8 * steps * batch * size`` per variable, two ring
    buffers ``8 * (max delay + 1) * batch * size`` per population, the neurons' parameters
    ``64 * size`` (eight per-neuron float64 arrays) and their state during a step
    ``8 * batch * size * (2 * n_state + 6)`` (state before and after, temporaries of the step),
    and the event counts ``8 * steps * batch`` per field of every element (5 per population,
    1 per source, 4 per projection)."""
    total = 0
    ring = {n: 1 for n in circuit.populations}
    for p in circuit.projections.values():
        if p.post in ring:
            ring[p.post] = max(ring[p.post], int(p.delay) + 1)
    for n, pop in circuit.populations.items():
        total += steps * batch * pop.size * (8 if pop.model.graded_output else 1)
        total += 2 * 8 * ring[n] * batch * pop.size + 5 * 8 * steps * batch
        total += 64 * pop.size + 8 * batch * pop.size * (2 * len(pop.model.state) + 6)
    for s in circuit.sources.values():
        total += steps * batch * s.size + 8 * steps * batch
    total += 4 * 8 * steps * batch * len(circuit.projections)
    for pr in circuit.probes:
        pop = circuit.populations.get(pr.target)
        if pop is not None:
            total += 8 * steps * batch * pop.size * len(pr.variables)
    return total


def check_input_memory(circuit, steps: int, batch: int) -> int:
    """The encoded inputs alone (``8 * steps * batch * size`` per source, float64 at most),
    for engines that estimate the rest of a run themselves: refused like
    :func:`check_run_memory` before the inputs are encoded."""
    from .errors import MemoryLimitError
    need = sum(8 * steps * batch * s.size for s in circuit.sources.values())
    avail = available_bytes()
    if need > MAX_BYTES or (avail is not None and need > avail):
        raise MemoryLimitError(f"simulate(): the inputs of circuit '{circuit.name}' with steps={steps}, "
                               f"batch={batch} need {need:,} bytes ({need / 2**30:.3g} GiB) once encoded, more than "
                               "is available. Fix: run fewer steps or a smaller batch (split the run).")
    return need


def check_run_memory(circuit, steps: int, batch: int) -> int:
    """Raise :class:`MemoryLimitError` if the run cannot fit: more than ``MAX_BYTES`` or
    more than the memory available now.  Returns the estimate."""
    from .errors import MemoryLimitError
    need = estimate_run_bytes(circuit, steps, batch)
    avail = available_bytes()
    if need > MAX_BYTES or (avail is not None and need > avail):
        limit = f"{avail / 2**30:.1f} GiB available" if avail is not None and need <= MAX_BYTES else \
            f"the {MAX_BYTES / 2**40:.0f} TiB limit"
        raise MemoryLimitError(f"simulate(): circuit '{circuit.name}' with steps={steps}, batch={batch} needs at "
                               f"least {need:,} bytes ({need / 2**30:.3g} GiB) for spike records, probes, ring "
                               f"buffers and counts, more than {limit}. Fix: run fewer steps or a smaller batch "
                               "(split the run), or shrink the populations.")
    return need


def _short(value, n: int = 60) -> str:
    r = repr(value)
    return r if len(r) <= n else r[:n] + "..."


def _raise(error, where, field, problem, fix=None):
    if issubclass(error, ValidationError):
        raise error(where, field, problem, fix)
    raise error(f"{where}, field '{field}': {problem}" + (f" Fix: {fix}" if fix else ""))


__all__ = ["check_int", "check_real", "check_str", "check_mapping", "check_shape", "check_real_array",
           "check_finite", "check_csr", "csr_is_canonical", "check_json_value", "estimate_run_bytes", "check_run_memory",
           "check_input_memory",
           "available_bytes", "MAX_SIZE", "MAX_BYTES", "InputError"]
