"""Slicing populations into core-sized pieces and partitioning them onto cores.

Helpers of :func:`hardware_models.placement.place` (see its module docstring for the method):
``make_slices`` cuts populations under the per-core limits, ``slice_graph`` weighs slice pairs by
expected spike messages, ``bisect`` (recursive Kernighan-Lin) and ``merge`` (greedy) form cores.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp

from .errors import PlacementError
from .model import CoreLimits


@dataclass
class Slice:
    """Neurons ``start:stop`` of population ``pop``."""

    pop: str
    start: int
    stop: int
    synapse_bytes: float = 0.0
    axons: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # global pre-neuron ids

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def label(self) -> str:
        return f"{self.pop}[{self.start}:{self.stop}]"


def dest_cores(weights, post_core: np.ndarray, n_cores: int) -> sp.coo_matrix:
    """Boolean (pre, cores) matrix: pre-neuron i has a synapse onto a neuron on core k."""
    b = (sp.csr_matrix(weights) != 0).astype(np.int64).T.tocsr()  # (pre, post)
    a = sp.csr_matrix((np.ones(len(post_core), np.int64), (np.arange(len(post_core)), post_core)),
                      shape=(len(post_core), max(n_cores, 1)))
    d = (b @ a).tocoo()
    d.data[:] = 1
    return d


# ---------------------------------------------------------------------- slicing
def _axon_ids(circuit) -> dict[str, int]:
    """Offset of each node's neurons in one global pre-neuron numbering."""
    off, out = 0, {}
    for n, obj in circuit.nodes().items():
        out[n] = off
        off += obj.size
    return out


def make_slices(circuit, lim: CoreLimits) -> list[Slice]:
    offsets = _axon_ids(circuit)
    incoming: dict[str, list] = {}
    for p in circuit.projections.values():
        incoming.setdefault(p.post, []).append(p)
    slices = []
    for name, pop in circuit.populations.items():
        mats = [(offsets[p.pre], sp.csr_matrix(p.weights)) for p in incoming.get(name, [])]

        def build(a: int, b: int) -> Slice:
            syn = sum(m[a:b].nnz for _, m in mats)
            ax = [off + np.flatnonzero(m[a:b].getnnz(axis=0)) for off, m in mats]
            axons = np.unique(np.concatenate(ax)) if ax else np.zeros(0, np.int64)
            state = (b - a) * pop.model.state_bytes if lim.state_in_core_memory else 0
            return Slice(name, int(a), int(b), syn * lim.bytes_per_synapse + state, axons)

        def ok(s: Slice) -> str | None:
            if lim.neurons is not None and s.size > lim.neurons:
                return "neurons per core"
            if lim.synaptic_memory_bytes is not None and s.synapse_bytes > lim.synaptic_memory_bytes:
                return "synaptic memory per core"
            if lim.fan_in is not None and len(s.axons) > lim.fan_in:
                return "fan-in (input axons) per core"
            return None

        n = 1 if lim.neurons is None else math.ceil(pop.size / lim.neurons)
        while True:
            edges = np.linspace(0, pop.size, n + 1).round().astype(int)
            cand = [build(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
            bad = [(s, ok(s)) for s in cand if ok(s)]
            if not bad:
                slices += cand
                break
            if n >= pop.size:
                s, why = bad[0]
                detail = {"synaptic memory per core": f"{s.synapse_bytes:.0f} B of synapses (and state) > "
                                                      f"{lim.synaptic_memory_bytes} B",
                          "fan-in (input axons) per core": f"{len(s.axons)} input axons > {lim.fan_in}",
                          "neurons per core": f"{s.size} > {lim.neurons}"}[why]
                raise PlacementError(why, f"population '{name}' neuron {s.start}", f"a single neuron needs "
                                     f"{detail}.", "reduce that neuron's fan-in (split the projection through "
                                     "relay neurons) or pick a chip with larger cores.")
            n = min(pop.size, n * 2)
    return slices


# ---------------------------------------------------------------------- partitioning
def slice_graph(circuit, slices: list[Slice], spikes) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(len(slices)))
    by_pop: dict[str, list[int]] = {}
    for i, s in enumerate(slices):
        by_pop.setdefault(s.pop, []).append(i)
    for p in circuit.projections.values():
        if p.pre not in by_pop:
            continue
        post_ids = by_pop[p.post]
        owner = np.zeros(circuit.node(p.post).size, np.int64)
        for j, i in enumerate(post_ids):
            owner[slices[i].start:slices[i].stop] = j
        d = dest_cores(p.weights, owner, len(post_ids))  # (pre, post slices)
        pre_owner = np.zeros(circuit.node(p.pre).size, np.int64)
        for i in by_pop[p.pre]:
            pre_owner[slices[i].start:slices[i].stop] = i
        w = spikes(p.pre, circuit.node(p.pre).size)[d.row]
        a_ids, b_ids = pre_owner[d.row], np.asarray(post_ids)[d.col]
        keep = a_ids != b_ids
        lo, hi = np.minimum(a_ids, b_ids)[keep], np.maximum(a_ids, b_ids)[keep]
        if lo.size:
            pairs, inv = np.unique(np.stack([lo, hi], 1), axis=0, return_inverse=True)
            tot = np.bincount(inv.ravel(), weights=w[keep], minlength=len(pairs))
            for (a, b), x in zip(pairs, tot):
                old = g.get_edge_data(int(a), int(b), {"weight": 0.0})["weight"]
                g.add_edge(int(a), int(b), weight=old + float(x))
    return g


def fits(part, slices, lim: CoreLimits) -> bool:
    if lim.neurons is not None and sum(slices[i].size for i in part) > lim.neurons:
        return False
    if lim.synaptic_memory_bytes is not None and \
            sum(slices[i].synapse_bytes for i in part) > lim.synaptic_memory_bytes:
        return False
    if lim.fan_in is not None and len(part) > 1:
        if len(np.unique(np.concatenate([slices[i].axons for i in part]))) > lim.fan_in:
            return False
    return True


def bisect(part: list[int], g: nx.Graph, slices, lim, seed: int, out: list[list[int]]) -> None:
    if fits(part, slices, lim) or len(part) == 1:
        out.append(part)
        return
    a, b = nx.algorithms.community.kernighan_lin_bisection(g.subgraph(part), weight="weight", seed=seed)
    for half in (sorted(a), sorted(b)):
        bisect(half, g, slices, lim, seed, out)


def merge(parts: list[list[int]], g: nx.Graph, slices, lim) -> list[list[int]]:
    """Greedy: merge the two parts joined by the most traffic while the union fits.

    Every limit is monotone (a union only grows), so a pair whose union did not fit never
    fits after either part grows: such pairs are remembered (by part identity) and not
    checked again, which gives the same merges as checking every pair every round."""
    parts = [list(p) for p in parts]
    ids = list(range(len(parts)))
    next_id = len(parts)
    infeasible: dict[int, set[int]] = {}
    while len(parts) > 1:
        where = {i: k for k, p in enumerate(parts) for i in p}
        between: dict[tuple[int, int], float] = {}
        for a, b, d in g.edges(data=True):
            ka, kb = sorted((where[a], where[b]))
            if ka != kb:
                between[(ka, kb)] = between.get((ka, kb), 0.0) + d.get("weight", 0.0)
        for (ka, kb), _ in sorted(between.items(), key=lambda kv: -kv[1]):
            ia, ib = ids[ka], ids[kb]
            if ib in infeasible.get(ia, ()):
                continue
            if fits(parts[ka] + parts[kb], slices, lim):
                parts[ka] = parts[ka] + parts[kb]
                del parts[kb]
                bad = infeasible.pop(ia, set()) | infeasible.pop(ib, set())
                ids[ka] = next_id
                del ids[kb]
                infeasible[next_id] = bad
                for other in bad:
                    infeasible.setdefault(other, set()).add(next_id)
                next_id += 1
                break
            infeasible.setdefault(ia, set()).add(ib)
            infeasible.setdefault(ib, set()).add(ia)
        else:
            return parts
    return parts
