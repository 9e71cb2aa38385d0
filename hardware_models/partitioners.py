"""Which partitioner forms the cores from the slices: Kernighan-Lin (networkx) or METIS (pymetis).

:func:`partition_slices` is the partitioning step of :func:`hardware_models.placement.place`
(and of the exact structured placement): it takes the slices of
:func:`hardware_models.partition.make_slices` and returns the slices of every core, in core
order, with the name of the partitioner that ran.  Both partitioners do the same two things:

1. **Recursive bisection** of the slice graph (nodes: slices; edge weights: expected spike
   messages between them) into two halves of equal slice count minimising the cut, until every
   part fits one core (:func:`hardware_models.partition.fits`).
2. **Greedy merge** of the parts joined by the heaviest traffic while the union fits
   (:func:`hardware_models.partition.merge`).

``"kernighan-lin"`` is the original method: networkx's Kernighan-Lin bisection on a networkx
graph (:func:`~hardware_models.partition.slice_graph`), each pass quadratic in the part's
slices and every edge handled in Python.  ``"metis"`` builds the slice graph as one scipy
sparse matrix (:func:`slice_adjacency`, vectorised), bisects with METIS's multilevel
recursive bisection (``pymetis``, the optional ``placement`` extra, imported only when it
runs; edge weights scaled to integers, :func:`integer_weights`) and merges on the graph of
parts (one edge per pair of parts, weights summed), so a graph of millions of edges is
partitioned in seconds.  ``"auto"`` (the default) keeps Kernighan-Lin for graphs of at most
``KL_MAX_SLICES`` slices (the placement of small circuits, and every number costed from
them, is unchanged) and runs METIS above when pymetis is installed, Kernighan-Lin otherwise.
"""
from __future__ import annotations

import importlib

import numpy as np
import scipy.sparse as sp

from spikeattn.errors import ParameterError

from .partition import Slice, bisect, fits, merge, pre_slice_pairs, slice_graph

PARTITIONERS = ("auto", "metis", "kernighan-lin")
KL_MAX_SLICES = 256          # "auto": Kernighan-Lin up to this many slices, METIS above (when installed)
WEIGHT_TOTAL = 1 << 30       # integer edge weights of one METIS call sum to about this (fits a 32-bit idx_t)


def pymetis_module():
    """The ``pymetis`` module, or None when it is not installed (imported on first use only)."""
    try:
        return importlib.import_module("pymetis")
    except ImportError:
        return None


def choose(method: str | None, n_slices: int) -> str:
    """The partitioner that runs for ``method`` on ``n_slices`` slices (see the module docstring)."""
    method = "auto" if method is None else method
    if method not in PARTITIONERS:
        raise ParameterError("place()", "partitioner", f"is {method!r}.", f"use one of {list(PARTITIONERS)}.")
    if method == "metis":
        if pymetis_module() is None:
            raise ParameterError("place()", "partitioner", "is 'metis' but pymetis is not installed.",
                                 "pip install pymetis (the 'placement' extra), or use partitioner='auto'.")
        return "metis"
    if method == "auto" and n_slices > KL_MAX_SLICES and pymetis_module() is not None:
        return "metis"
    return "kernighan-lin"


def partition_slices(circuit, slices: list[Slice], spikes, lim, seed: int = 0,
                     method: str | None = "auto") -> tuple[list[list[int]], str]:
    """``(parts, partitioner)``: the slice ids of every core in core order, and which
    partitioner ran (``"kernighan-lin"`` or ``"metis"``)."""
    used = choose(method, len(slices))
    if used == "kernighan-lin":
        g = slice_graph(circuit, slices, spikes)
        parts: list[list[int]] = []
        bisect(list(range(len(slices))), g, slices, lim, seed, parts)
        return merge(parts, g, slices, lim), used
    a = slice_adjacency(circuit, slices, spikes)
    parts = metis_bisect(a, slices, lim, seed)
    return merge(parts, part_graph(a, parts), slices, lim), used


# ---------------------------------------------------------------------- the slice graph, sparse
def slice_adjacency(circuit, slices: list[Slice], spikes) -> sp.csr_matrix:
    """The slice graph of :func:`~hardware_models.partition.slice_graph` as a symmetric
    ``(slices, slices)`` CSR matrix: entry (a, b) is the expected spike messages between slices
    a and b (pairs without traffic left out, no diagonal)."""
    n = len(slices)
    by_pop: dict[str, list[int]] = {}
    for i, s in enumerate(slices):
        by_pop.setdefault(s.pop, []).append(i)
    owner_of: dict[str, np.ndarray] = {}

    def owner(name: str) -> np.ndarray:         # slice id (global) of every neuron of population ``name``
        if name not in owner_of:
            o = np.full(circuit.node(name).size, -1, np.int64)
            for i in by_pop[name]:
                o[slices[i].start:slices[i].stop] = i
            owner_of[name] = o
        return owner_of[name]

    rows, cols, vals = [], [], []
    for p in circuit.projections.values():
        if p.pre not in by_pop or p.post not in by_pop:
            continue
        post_owner = owner(p.post)
        pre_n, post_s = pre_slice_pairs(p.weights, post_owner)
        w = np.asarray(spikes(p.pre, circuit.node(p.pre).size), float)[pre_n]
        a = owner(p.pre)[pre_n]
        keep = (a != post_s) & (w != 0)
        rows.append(np.minimum(a, post_s)[keep])
        cols.append(np.maximum(a, post_s)[keep])
        vals.append(w[keep])
    if not rows:
        return sp.csr_matrix((n, n))
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    upper = sp.coo_matrix((v, (r, c)), shape=(n, n)).tocsr()     # duplicates summed
    out = (upper + upper.T).tocsr()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def integer_weights(w: np.ndarray, total: int = WEIGHT_TOTAL) -> np.ndarray:
    """Positive integer edge weights for METIS in proportion to ``w`` (> 0), summing to about
    ``total``; a weight too small to show at that scale counts 1."""
    w = np.asarray(w, float)
    if not w.size:
        return np.zeros(0, np.int64)
    scale = total / max(float(w.sum()), 1e-300)
    return np.maximum(1, np.rint(w * scale)).astype(np.int64)


def bisect_once(a: sp.csr_matrix, seed: int) -> np.ndarray:
    """Side (0 or 1) of every node of graph ``a`` (symmetric CSR) in METIS's bisection into two
    halves of equal node count minimising the cut; halves by position when METIS leaves a side
    empty (a graph without edges)."""
    n = a.shape[0]
    side = np.zeros(n, np.int64)
    side[n // 2:] = 1                                   # fallback: the two halves in order
    if a.nnz:
        pm = pymetis_module()
        opts = pm.Options(seed=int(seed))
        xadj, adjncy = a.indptr.astype(np.int64), a.indices.astype(np.int64)
        ew = integer_weights(a.data)
        if hasattr(pm, "CSRAdjacency"):
            res = pm.part_graph(2, pm.CSRAdjacency(xadj, adjncy), eweights=ew, options=opts, recursive=True)
        else:                                           # pymetis before the CSRAdjacency API
            res = pm.part_graph(2, xadj=xadj, adjncy=adjncy, eweights=ew, options=opts, recursive=True)
        got = np.asarray(res[1], np.int64)
        if 0 < got.sum() < n:
            side = balance(a, got)
    return side


def balance(a: sp.csr_matrix, side: np.ndarray) -> np.ndarray:
    """``side`` with exactly ``n // 2`` nodes on side 0 (as Kernighan-Lin's halves): METIS
    allows a small imbalance, and a half one slice too large needs one more bisection and
    often one more core.  The surplus side gives up the nodes that lose least by moving
    (traffic to the other side minus traffic to their own, from the cut METIS found)."""
    n = len(side)
    want1 = n - n // 2
    extra = int(side.sum()) - want1                      # > 0: side 1 too large; < 0: side 0
    if extra == 0:
        return side
    src = 1 if extra > 0 else 0
    to_one = a @ side.astype(float)                      # traffic of each node to side 1
    to_zero = np.asarray(a.sum(axis=1)).ravel() - to_one
    gain = np.where(side == 1, to_zero - to_one, to_one - to_zero)
    cand = np.flatnonzero(side == src)
    move = cand[np.argsort(-gain[cand], kind="stable")[:abs(extra)]]
    out = side.copy()
    out[move] = 1 - src
    return out


def metis_bisect(a: sp.csr_matrix, slices: list[Slice], lim, seed: int = 0) -> list[list[int]]:
    """Recursive METIS bisection of the slice graph ``a`` until every part fits one core (or is
    one slice), parts in bisection order (side 0 first), as
    :func:`~hardware_models.partition.bisect` does with Kernighan-Lin."""
    out: list[list[int]] = []
    stack = [np.arange(len(slices), dtype=np.int64)]
    while stack:
        part = stack.pop()
        items = part.tolist()
        if len(items) <= 1 or fits(items, slices, lim):
            if items:
                out.append(items)
            continue
        side = bisect_once(a[part][:, part].tocsr(), seed)
        stack.append(part[side == 1])                   # popped after side 0's whole subtree
        stack.append(part[side == 0])
    return out


class EdgeList:
    """The ``edges(data=True)`` of a graph given as arrays (what
    :func:`~hardware_models.partition.merge` reads), in array order."""

    def __init__(self, a: np.ndarray, b: np.ndarray, w: np.ndarray):
        self.a, self.b, self.w = a.tolist(), b.tolist(), w.tolist()

    def edges(self, data: bool = False):
        if data:
            return ((x, y, {"weight": z}) for x, y, z in zip(self.a, self.b, self.w))
        return zip(self.a, self.b)


def part_graph(a: sp.csr_matrix, parts: list[list[int]]) -> EdgeList:
    """The graph of parts: one edge per pair of parts with traffic (weights summed), between
    each part's first slice, pairs in order of (first part, second part)."""
    n, m = a.shape[0], len(parts)
    part_of = np.zeros(n, np.int64)
    for k, p in enumerate(parts):
        part_of[p] = k
    ind = sp.csr_matrix((np.ones(n), (np.arange(n), part_of)), shape=(n, m))
    c = sp.triu(ind.T @ a @ ind, k=1).tocoo()
    keep = c.data != 0
    r, q, w = c.row[keep], c.col[keep], c.data[keep]
    order = np.lexsort((q, r))
    first = np.array([p[0] for p in parts], np.int64)
    return EdgeList(first[r[order]], first[q[order]], w[order])


def cut_weight(a: sp.csr_matrix, core_of_slice) -> float:
    """Traffic of the slice graph ``a`` between slices on different cores (each pair once)."""
    k = np.asarray(core_of_slice, np.int64)
    c = sp.triu(a, k=1).tocoo()
    return float(c.data[k[c.row] != k[c.col]].sum())
