"""Turn user data into per-step input arrays for every source of a circuit.

Encoding happens once, before any engine runs, so every engine receives the very same
input spikes (see :class:`spikeattn.ir.SpikeSource` for the encoders).  The result maps
each source name to an array of shape ``(steps, batch, size)``: ``bool`` for binary
encoders, ``float64`` (or ``int64`` for fixed-point circuits) for graded ones.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .errors import InputError
from .ir import Circuit, SpikeSource


def _as_array(name: str, data) -> np.ndarray:
    """``data`` as a real or bool array (str, complex, timedelta, object refused), finite."""
    if isinstance(data, (str, bytes, dict)) or data is None:
        raise InputError(f"input '{name}': is {type(data).__name__}; expected an array of numbers.")
    try:
        arr = np.asarray(data)
    except Exception as exc:
        raise InputError(f"input '{name}': could not be converted to an array ({type(exc).__name__}); "
                         "pass a rectangular array of numbers.") from None
    if arr.dtype.kind not in "biuf":
        raise InputError(f"input '{name}': has dtype {arr.dtype}; expected real numbers or bools.")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise InputError(f"input '{name}': contains NaN or inf.")
    return arr


def _static(src: SpikeSource, arr: np.ndarray, batch: int | None) -> np.ndarray:
    """(N,) or (B, N) -> (B, N)."""
    n = src.size
    if arr.ndim == 1 and arr.shape[0] == n:
        arr = arr[None, :]
        if batch:
            arr = np.repeat(arr, batch, axis=0)
    elif not (arr.ndim == 2 and arr.shape[1] == n):
        raise InputError(f"input '{src.name}' (encoder '{src.encoder}'): shape {arr.shape}; expected "
                         f"({n},) or (batch, {n}).")
    return arr


def _timed(src: SpikeSource, arr: np.ndarray, steps: int, batch: int | None) -> np.ndarray:
    """(T, N) or (T, B, N) -> (steps, B, N), zero-padded or an error if too short."""
    n = src.size
    if arr.ndim == 2 and arr.shape[1] == n:
        arr = arr[:, None, :]
        if batch:
            arr = np.repeat(arr, batch, axis=1)
    elif not (arr.ndim == 3 and arr.shape[2] == n):
        raise InputError(f"input '{src.name}' (encoder '{src.encoder}'): shape {arr.shape}; expected "
                         f"(steps, {n}) or (steps, batch, {n}).")
    if arr.shape[0] < steps:
        pad = np.zeros((steps - arr.shape[0],) + arr.shape[1:], arr.dtype)
        arr = np.concatenate([arr, pad])
    return arr[:steps]


def encode_source(src: SpikeSource, data, steps: int, batch: int | None, seed: int,
                  fixed_point: bool) -> np.ndarray:
    arr = _as_array(src.name, data)
    enc = src.encoder
    if enc == "spikes" or (enc == "graded" and arr.ndim == 3):
        out = _timed(src, arr, steps, batch)
        if enc == "spikes" and out.dtype != bool and np.all((out == 0) | (out == 1)):
            out = out.astype(bool)
    elif enc == "graded":
        static = _static(src, arr, batch)
        out = np.broadcast_to(static[None], (steps,) + static.shape).copy()
    else:
        p = _static(src, arr, batch).astype(np.float64)
        if np.any(p < 0) or np.any(p > 1):
            raise InputError(f"input '{src.name}' (encoder '{enc}'): values must lie in [0, 1], got "
                             f"[{p.min()}, {p.max()}]. Scale the data first.")
        t = np.arange(steps)[:, None, None]
        if enc == "poisson":
            rng = np.random.default_rng([seed, src.seed])
            out = rng.random((steps,) + p.shape) < p[None]
        elif enc == "rate":
            out = np.floor((t + 1) * p[None] + 1e-12) > np.floor(t * p[None] + 1e-12)
        else:  # ttfs
            window = src.window or steps
            first = np.rint((1.0 - p) * (window - 1)).astype(np.int64)
            out = (t == first[None]) & (p[None] > 0)
    if fixed_point and out.dtype != bool:
        if not np.all(np.equal(np.mod(out, 1), 0)):
            raise InputError(f"input '{src.name}': graded inputs to a fixed-point circuit must be integers.")
        if out.size and (np.min(out) < -(2**31) or np.max(out) > 2**31 - 1):
            raise InputError(f"input '{src.name}': graded inputs to a fixed-point circuit must fit in 32-bit "
                             f"integers (Loihi/Lava), got [{np.min(out)}, {np.max(out)}].")
        out = out.astype(np.int64)
    return out


def encode_inputs(circuit: Circuit, inputs: Mapping[str, object] | None, steps: int,
                  batch: int | None = None, seed: int = 0) -> tuple[dict[str, np.ndarray], int]:
    """Encode ``inputs`` (source name -> data) for ``steps`` steps; returns the arrays and
    the batch size.  Sources without data receive no spikes.  Data holding zero samples
    (batch 0) are refused with an :class:`InputError`: every run simulates >= 1 sample."""
    if inputs is not None and not isinstance(inputs, Mapping):
        raise InputError(f"inputs: is a {type(inputs).__name__}; must be a dict mapping source names to data.")
    inputs = dict(inputs or {})
    bad = [k for k in inputs if not isinstance(k, str)]
    if bad:
        raise InputError(f"inputs: key {bad[0]!r} is not a source name (str); sources of '{circuit.name}' are "
                         f"{sorted(circuit.sources)}.")
    sources = circuit.sources
    unknown = sorted(set(inputs) - set(sources))
    if unknown:
        raise InputError(f"inputs {unknown} are not sources of circuit '{circuit.name}'; its input ports are "
                         f"{sorted(sources)}.")
    encoded = {n: encode_source(sources[n], d, steps, batch, seed, circuit.fixed_point) for n, d in inputs.items()}
    batches = {a.shape[1] for a in encoded.values()}
    if batch is not None:
        batches.add(int(batch))
    if len(batches) > 1:
        raise InputError(f"inputs disagree on the batch size: {sorted(batches)}; give every input the same batch "
                         "dimension (or pass 1-D data to repeat it across the batch).")
    b = batches.pop() if batches else 1
    if b == 0:   # the contract: a run simulates at least one sample (no engine returns an empty result)
        empty = sorted(n for n, a in encoded.items() if a.shape[1] == 0)
        raise InputError(f"simulate(), field 'inputs': {empty} hold 0 samples (batch 0); a run needs at least one. "
                         "Fix: give (steps, batch >= 1, size) or (batch >= 1, size) data, or skip the call.")
    for n, src in sources.items():
        if n not in encoded:
            encoded[n] = np.zeros((steps, b, src.size), bool)
        elif encoded[n].shape[1] != b:
            encoded[n] = np.repeat(encoded[n], b, axis=1)
    return encoded, b
