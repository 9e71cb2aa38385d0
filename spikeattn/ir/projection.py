"""Projection: synapses from one node (source or population) to a population."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError, ShapeMismatchError
from .population import check_name

MESSAGES = ("binary", "graded")
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

    ``message``: ``"binary"`` delivers ``W @ (s != 0)`` (accumulate-only ops);
    ``"graded"`` delivers ``W @ s`` (multiply-accumulate ops; graded spikes carry values).

    Fixed-point (Loihi) parameters, used when ``post`` is a fixed-point model: weights must
    be integers; they are clipped to 8 bits and truncated to ``num_weight_bits`` according
    to ``sign_mode`` ("auto" detects it from the signs, as Lava does), and the accumulated
    input is shifted by ``weight_exp`` (``<<`` if positive, ``>>`` if negative).
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
        check_name("projection", self.name)
        where = f"projection '{self.name}' ({self.pre} -> {self.post})"
        w = self.weights
        if sp.issparse(w):
            w = sp.csr_matrix(w)
            if not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w.data):
                raise ParameterError(where, "weights", f"has dtype {w.dtype}; expected real numbers.")
            w.eliminate_zeros()
            w.sort_indices()
            data = w.data
        else:
            try:
                w = np.array(w)
            except Exception:
                raise ParameterError(where, "weights", "could not be converted to an array.") from None
            if w.dtype == object or not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w):
                raise ParameterError(where, "weights", f"has dtype {w.dtype}; expected real numbers.")
            if w.ndim != 2:
                raise ShapeMismatchError(where, "weights", f"must be 2-D (post, pre), got shape {w.shape}.")
            data = w
        if not np.all(np.isfinite(data)):
            bad = np.argwhere(~np.isfinite(w.toarray() if sp.issparse(w) else w))[0]
            raise ParameterError(where, "weights", f"contains NaN or inf (first at post={bad[0]}, pre={bad[1]}).",
                                 "replace non-finite weights before building the projection.")
        self.weights = w
        if not isinstance(self.delay, (int, np.integer)) or self.delay < 0 or self.delay > 1024:
            raise ParameterError(where, "delay", f"is {self.delay!r}; must be an int in [0, 1024] steps.")
        self.delay = int(self.delay)
        if self.message not in MESSAGES:
            raise ParameterError(where, "message", f"is {self.message!r}.", f"use one of {list(MESSAGES)}.")
        if self.sign_mode not in SIGN_MODES:
            raise ParameterError(where, "sign_mode", f"is {self.sign_mode!r}.", f"use one of {list(SIGN_MODES)}.")
        if not isinstance(self.num_weight_bits, (int, np.integer)) or not 1 <= self.num_weight_bits <= 8:
            raise ParameterError(where, "num_weight_bits", f"is {self.num_weight_bits!r}; must be an int in [1, 8].")
        if not isinstance(self.weight_exp, (int, np.integer)) or not -16 <= self.weight_exp <= 16:
            raise ParameterError(where, "weight_exp", f"is {self.weight_exp!r}; must be an int in [-16, 16].")

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
