"""Projection: synapses from one node (source or population) to a population."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError, ShapeMismatchError
from ..validation import check_csr, check_int, check_real_array, check_str, csr_is_canonical
from .population import check_name

MESSAGES = ("binary", "graded", "count")
SIGN_MODES = ("auto", "mixed", "excitatory", "inhibitory")


@dataclass(eq=False)
class Projection:
    """Weighted synapses ``pre -> post`` with a fixed delay.

    ``weights`` has shape ``(post.size, pre.size)`` (the Lava / NIR orientation, so the
    input to ``post`` is ``W @ s_pre``): a dense numpy array or a scipy sparse matrix
    (stored as CSR; explicit zeros are dropped — only existing synapses count events).

    Timing: a spike emitted by ``pre`` at step t is added to the input ``a_in`` of ``post``
    at step ``t + delay``.  ``delay = 1`` is Lava's Dense (its one-step delay); ``delay = 0``
    delivers within the same step (the update order follows the zero-delay graph, which
    must be acyclic).

    ``message``: ``"binary"`` delivers ``W @ (s != 0)`` (accumulate-only ops; from a
    signed-output model ``W @ sign(s)``); ``"graded"`` delivers ``W @ s`` (multiply-accumulate
    ops; graded spikes carry values); ``"count"`` delivers ``W @ s`` for integer levels ``s``
    and counts ``|s|`` accumulates per synapse (a burst of unit spikes).

    Fixed-point (Loihi) parameters, used when ``post`` is a fixed-point model: weights must
    be integers; they are clipped to 8 bits and truncated to ``num_weight_bits`` according
    to ``sign_mode`` ("auto" detects it from the signs, as Lava does), and the accumulated
    input is shifted by ``weight_exp`` (``<<`` if positive, ``>>`` if negative).

    Sparse weights are validated structurally before use (see
    :func:`spikeattn.validation.check_csr`): CSR/CSC index arrays must be integer, in range
    and monotone; COO coordinates in range.  Duplicate (post, pre) entries are *summed*
    (scipy's meaning of a duplicate), so a stored projection never holds duplicates.
    """

    name: str
    pre: str
    post: str
    weights: object
    delay: int = 1
    message: str = "binary"
    weight_exp: int = 0
    num_weight_bits: int = 8
    sign_mode: str = "auto"

    def __post_init__(self):
        self.check(copy=True)

    def check(self, copy: bool = False) -> "Projection":
        """(Re-)validate every field, the weights' CSR structure included, before any
        native code reads them; :meth:`Circuit.validate` calls it after any mutation."""
        check_name("projection", self.name)
        for role in ("pre", "post"):
            if not isinstance(getattr(self, role), str):
                raise ParameterError(f"projection '{self.name}'", role, f"is {getattr(self, role)!r}; must be "
                                     "the name (str) of a node.")
        where = f"projection '{self.name}' ({self.pre} -> {self.post})"
        self.weights = _normalise_weights(where, self.weights, copy)
        self.delay = check_int(where, "delay", self.delay, 0, 1024, unit=" steps")
        check_str(where, "message", self.message, MESSAGES)
        check_str(where, "sign_mode", self.sign_mode, SIGN_MODES)
        self.num_weight_bits = check_int(where, "num_weight_bits", self.num_weight_bits, 1, 8)
        self.weight_exp = check_int(where, "weight_exp", self.weight_exp, -16, 16)
        return self

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.weights.shape)

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.weights)

    def dense_weights(self) -> np.ndarray:
        return self.weights.toarray() if self.sparse else np.asarray(self.weights)

    def synapse_count(self) -> int:
        """Number of existing (non-zero) synapses."""
        return int(self.weights.nnz if self.sparse else np.count_nonzero(self.weights))

    def check_fixed_point(self) -> None:
        where = f"projection '{self.name}' ({self.pre} -> {self.post})"
        data = self.weights.data if self.sparse else self.weights
        if not np.all(np.equal(np.mod(data, 1), 0)):
            raise ParameterError(where, "weights", "must be integers for a fixed-point (Loihi) target.",
                                 "quantise the weights (e.g. np.round) before building the projection.")

    def __eq__(self, other):
        if not isinstance(other, Projection):
            return False
        same = all(getattr(self, f) == getattr(other, f) for f in
                   ("name", "pre", "post", "delay", "message", "weight_exp", "num_weight_bits", "sign_mode"))
        if not same or self.sparse != other.sparse or self.shape != other.shape:
            return False
        if self.sparse:
            a, b = self.weights, other.weights
            return (a.dtype == b.dtype and np.array_equal(a.indptr, b.indptr)
                    and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))
        return self.weights.dtype == other.weights.dtype and np.array_equal(self.weights, other.weights)

    __hash__ = object.__hash__


def _normalise_weights(where: str, w, copy: bool):
    """Dense: a 2-D real, finite ndarray.  Sparse: a canonical CSR matrix (validated
    structure, sorted, summed duplicates, explicit zeros dropped), real and finite."""
    if sp.issparse(w):
        w = _checked_csr(where, w, copy)
        data = w.data
    else:
        w = check_real_array(where, "weights", w)
        if copy:
            w = w.copy()
        if w.ndim != 2:
            raise ShapeMismatchError(where, "weights", f"must be 2-D (post, pre), got shape {w.shape}.")
        data = w
    if not np.all(np.isfinite(data)):
        bad = np.argwhere(~np.isfinite(w.toarray() if sp.issparse(w) else w))[0]
        raise ParameterError(where, "weights", f"contains NaN or inf (first at post={bad[0]}, pre={bad[1]}).",
                             "replace non-finite weights before building the projection.")
    return w


def _checked_csr(where: str, w, copy: bool = True):
    """Any scipy sparse matrix as a canonical CSR, its structure checked before scipy's
    native routines (which trust it) touch it.  With ``copy`` the caller's arrays are never
    shared (canonicalising works in place)."""
    shape = tuple(int(n) for n in w.shape)
    if len(shape) != 2:
        raise ShapeMismatchError(where, "weights", f"must be 2-D (post, pre), got shape {shape}.")
    if w.dtype.kind not in "iuf":
        raise ParameterError(where, "weights", f"has dtype {w.dtype}; expected real numbers.")
    fmt = w.format
    if fmt == "csr":
        data, indices, indptr = check_csr(where, shape, w.data, w.indices, w.indptr)
        canonical = csr_is_canonical(indices, indptr) and bool(np.all(data != 0))
        if not copy and canonical and isinstance(w, sp.csr_matrix) and indices is w.indices and indptr is w.indptr:
            return w  # re-check of a stored, canonical matrix: keep the object
        if copy or not canonical:
            data, indices, indptr = data.copy(), indices.copy(), indptr.copy()
        out = sp.csr_matrix((data, indices, indptr), shape=shape)
        out.has_canonical_format = canonical  # computed above; scipy's flag may be stale
    elif fmt == "csc":
        data, indices, indptr = check_csr(where, shape[::-1], w.data, w.indices, w.indptr)
        out = sp.csc_matrix((data, indices, indptr), shape=shape).tocsr()
    else:
        if fmt == "coo":
            coo = w
        elif fmt == "bsr":
            r, c = w.blocksize
            check_csr(where, (shape[0] // r, shape[1] // c), np.zeros(len(w.indices)), w.indices, w.indptr)
            coo = w.tocoo()
        else:  # dok, lil, dia: built by scipy's Python code from checked coordinates
            coo = w.tocoo()
        row, col = np.asarray(coo.row), np.asarray(coo.col)
        for name, a, n in (("row", row, shape[0]), ("col", col, shape[1])):
            if a.dtype.kind not in "iu" or (a.size and (a.min() < 0 or a.max() >= n)):
                raise ParameterError(where, f"weights.{name}", f"holds indices outside [0, {n}) (or of dtype "
                                     f"{a.dtype}) for shape {shape}.")
        out = sp.coo_matrix((np.asarray(coo.data), (row.astype(np.int64), col.astype(np.int64))),
                            shape=shape).tocsr()
    out.sum_duplicates()        # sorts the indices too
    out.eliminate_zeros()
    return out
