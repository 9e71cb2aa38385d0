"""Affine values: how a converted tensor is read from the circuit's outputs.

Every tensor between two nonlinearities of a converted model is an affine function of the
outputs of circuit nodes (neuron populations and sources) in one time step::

    value[t] = sum_node  M_node @ out_node[t]  +  bias            (flattened, one sample)

``M_node`` is a sparse ``(numel, node.size)`` matrix.  Linear operations (linear layers,
reshapes, permutations, slicing, concatenation, addition, scaling by constants, mean
pooling, folded LayerNorm, embedding lookups, patch convolutions) only transform the
matrices and the bias; they add no neurons.  A nonlinearity (a quantiser) turns an affine
value into a population whose input projections are the ``M_node`` and whose bias is
``bias``.  Shapes are the tensor's shape for one sample (the batch dimension of size 1 kept).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass
class Affine:
    shape: tuple
    terms: dict = field(default_factory=dict)   # node name -> csr (numel, node size)
    bias: np.ndarray | None = None

    def __post_init__(self):
        self.shape = tuple(int(s) for s in self.shape)
        if self.bias is None:
            self.bias = np.zeros(self.numel)
        self.bias = np.asarray(self.bias, np.float64).reshape(-1)

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @classmethod
    def constant(cls, array) -> "Affine":
        a = np.asarray(array, np.float64)
        return cls(a.shape, {}, a.reshape(-1).copy())

    @classmethod
    def node(cls, name: str, shape, scale=1.0) -> "Affine":
        n = int(np.prod(shape, dtype=np.int64))
        return cls(shape, {name: sp.identity(n, format="csr") * float(scale)}, np.zeros(n))

    def gather(self, idx: np.ndarray) -> "Affine":
        """The value whose element k is element ``idx.flat[k]`` of this one (shape ``idx.shape``)."""
        flat = np.asarray(idx, np.int64).reshape(-1)
        return Affine(idx.shape, {k: m[flat] for k, m in self.terms.items()}, self.bias[flat])

    def map_rows(self, m) -> "Affine":
        """``m @ self`` for a ``(new numel, numel)`` matrix, reshaped to ``shape`` later."""
        m = sp.csr_matrix(m)
        return Affine((m.shape[0],), {k: (m @ t).tocsr() for k, t in self.terms.items()}, m @ self.bias)

    def reshape(self, shape) -> "Affine":
        return Affine(tuple(shape), self.terms, self.bias)

    def scale_rows(self, c: np.ndarray) -> "Affine":
        c = np.asarray(c, np.float64).reshape(-1)
        d = sp.diags(c)
        return Affine(self.shape, {k: (d @ m).tocsr() for k, m in self.terms.items()}, self.bias * c)

    def __add__(self, other: "Affine") -> "Affine":
        terms = dict(self.terms)
        for k, m in other.terms.items():
            terms[k] = (terms[k] + m).tocsr() if k in terms else m
        return Affine(self.shape, terms, self.bias + other.bias)

    def evaluate(self, outputs: dict) -> np.ndarray:
        """Evaluate for recorded node outputs ``{node: (..., size)}`` -> ``(..., numel)``."""
        res = None
        for k, m in self.terms.items():
            o = np.asarray(outputs[k], np.float64)
            part = (m @ o.reshape(-1, o.shape[-1]).T).T.reshape(o.shape[:-1] + (self.numel,))
            res = part if res is None else res + part
        return self.bias if res is None else res + self.bias

    @property
    def is_constant(self) -> bool:
        return not self.terms

    def selection(self):
        """If this value is ``scale * out_node[j(k)]`` (one node, one entry per row, no bias),
        return ``(node, cols, scales)``; else None."""
        if len(self.terms) != 1 or np.any(self.bias != 0):
            return None
        (k, m), = self.terms.items()
        m = m.tocsr()
        if np.any(np.diff(m.indptr) != 1):
            return None
        return k, m.indices.copy(), m.data.copy()


def broadcast_index(shape, out_shape) -> np.ndarray:
    """Index array mapping each element of ``out_shape`` to the broadcast source element."""
    return np.broadcast_to(np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape), out_shape)


def broadcast_to(a: Affine, out_shape) -> Affine:
    out_shape = tuple(out_shape)
    if a.shape == out_shape:
        return a
    return a.gather(np.ascontiguousarray(broadcast_index(a.shape, out_shape)))
