"""Circuit: populations, sources and projections as a validated networkx multigraph.

Nodes are :class:`Population` and :class:`SpikeSource` objects (attribute ``obj``); edges
are :class:`Projection` objects keyed by projection name.  A circuit's *input ports* are
its sources; its *output ports* map port names to populations.  Circuits compose with
:meth:`Circuit.include`, which copies another circuit under a name prefix and can bind the
other circuit's input sources to nodes of this one (their projections are re-sourced).

The IR is plain data: it imports no engine.
"""
from __future__ import annotations

import copy
import numbers
from typing import Iterable, Mapping

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ..errors import LoopError, ParameterError, ShapeMismatchError, ValidationError
from ..validation import check_mapping, check_real
from .expand import expand_circuit
from .neurons import NeuronModel
from .population import Population, check_name
from .probe import Probe
from .projection import Projection
from .source import SpikeSource
from .structured import (ConvProjection, IndexProjection, ProductProjection, SharedProjection,
                         StructuredProjection)


class Circuit:
    """A spiking circuit.  ``dt`` is the duration of one step in seconds (used to convert
    steps to time, e.g. for Brian2 and latency); the dynamics are defined per step."""

    def __init__(self, name: str = "circuit", dt: float = 1e-3):
        check_name("circuit", name)
        self.name, self.dt = name, check_real(f"circuit '{name}'", "dt", dt, positive=True)
        self.graph = nx.MultiDiGraph()
        self.outputs: dict[str, str] = {}
        self.probes: list[Probe] = []
        self.meta: dict = {}

    # ------------------------------------------------------------------ building
    def _add_node(self, obj):
        if obj.name in self.graph:
            raise ValidationError(f"circuit '{self.name}'", "name", f"node '{obj.name}' already exists.",
                                  "choose a unique name.")
        if any(k == obj.name for _, _, k in self.graph.edges(keys=True)):
            raise ValidationError(f"circuit '{self.name}'", "name", f"'{obj.name}' is already the name of a "
                                  "projection; EventCounts and results name every element once.",
                                  "choose a node name no projection has.")
        self.graph.add_node(obj.name, obj=obj)
        return obj

    def add_population(self, name: str, shape, model: NeuronModel, initial: dict | None = None) -> Population:
        """Add ``shape`` neurons of ``model``; see :class:`Population`."""
        initial = {} if initial is None else initial
        if not isinstance(initial, Mapping):
            raise ParameterError(f"population {name!r}", "initial", f"is a {type(initial).__name__}; must be a "
                                 "dict mapping state names to values.", "e.g. initial={'v': 0.5}.")
        return self.add(Population(name, shape, model, dict(initial)))

    def add_source(self, name: str, shape, encoder: str = "spikes", seed: int = 0,
                   window: int | None = None) -> SpikeSource:
        """Add an input port; see :class:`SpikeSource` for the encoders."""
        return self.add(SpikeSource(name, shape, encoder, seed, window))

    def add(self, obj):
        """Add a Population, SpikeSource, Projection or Probe object."""
        if isinstance(obj, (Population, SpikeSource)):
            return self._add_node(obj)
        if isinstance(obj, (Projection, StructuredProjection)):
            self._check_projection(obj)
            for pre in dict.fromkeys(_pres(obj)):   # a product has two pre nodes: one edge from each
                self.graph.add_edge(pre, obj.post, key=obj.name, obj=obj)
            return obj
        if isinstance(obj, Probe):
            self._check_probe(obj)
            self.probes.append(obj)
            return obj
        raise ValidationError(f"circuit '{self.name}'", None, f"cannot add {type(obj).__name__}.",
                              "add a Population, SpikeSource, Projection, structured projection or Probe.")

    def connect(self, pre: str, post: str, weights, name: str | None = None, *, delay: int = 1,
                message: str = "binary", weight_exp: int = 0, num_weight_bits: int = 8,
                sign_mode: str = "auto") -> Projection:
        """Add a projection ``pre -> post``; ``weights`` is ``(post.size, pre.size)``.

        A scalar ``weights`` means one-to-one (diagonal) connections of that weight."""
        name = f"{pre}->{post}" if name is None else name
        if isinstance(weights, (numbers.Number, np.generic)) and not sp.issparse(weights):
            weights = check_real(f"projection '{name}'", "weights", weights)
            n_pre, n_post = self.node(pre).size, self.node(post).size
            if n_pre != n_post:
                raise ShapeMismatchError(f"projection '{name}'", "weights",
                                         f"a scalar weight means one-to-one, but '{pre}' has {n_pre} "
                                         f"and '{post}' has {n_post} neurons.", "give a (post, pre) matrix.")
            weights = sp.identity(n_pre, format="csr") * weights
        return self.add(Projection(name, pre, post, weights, delay, message, weight_exp, num_weight_bits, sign_mode))

    # ------------------------------------------------------------------ structured projections
    def connect_shared(self, pre: str, post: str, weights, name: str | None = None, *, delay: int = 1,
                       message: str = "binary", scale=None) -> SharedProjection:
        """``weights`` ``(n_out, n_in)`` applied to every group of ``n_in`` pre neurons; see
        :class:`~spikeattn.ir.structured.SharedProjection`."""
        return self.add(SharedProjection(name or f"{pre}->{post}", pre, post, weights, delay, message, scale))

    def connect_index(self, pre: str, post: str, index, weights=1.0, name: str | None = None, *, delay: int = 1,
                      message: str = "binary") -> IndexProjection:
        """``post[i] += weights[i] * m(pre[index[i]])`` (``index[i] = -1``: none); see
        :class:`~spikeattn.ir.structured.IndexProjection`."""
        return self.add(IndexProjection(name or f"{pre}->{post}", pre, post, index, weights, delay, message))

    def connect_conv(self, pre: str, post: str, weights, input_hw, stride=(1, 1), padding=(0, 0),
                     name: str | None = None, *, delay: int = 1, message: str = "binary") -> ConvProjection:
        """2-D convolution ``(C_in, H, W) -> (C_out, H_out, W_out)``; see
        :class:`~spikeattn.ir.structured.ConvProjection`."""
        return self.add(ConvProjection(name or f"{pre}->{post}", pre, post, weights, input_hw, stride, padding,
                                       delay, message))

    def connect_product(self, a: str, b: str, post: str, equation: str, weight: float = 1.0, mask=None,
                        name: str | None = None, *, delay: int = 1, levels=None) -> ProductProjection:
        """``post += weight * einsum(equation, a, b)`` (unmasked terms), accumulate-only;
        ``levels``: declared bounds ``(L_a, L_b)`` for inputs whose model has none; see
        :class:`~spikeattn.ir.structured.ProductProjection`."""
        return self.add(ProductProjection(name or f"{a}*{b}->{post}", a, b, post, equation, weight, mask, delay,
                                          levels))

    @property
    def structured(self) -> bool:
        """Whether any projection is structured (shared, index, conv, product)."""
        return any(isinstance(p, StructuredProjection) for p in self.projections.values())

    def flat_part(self) -> "Circuit":
        """A shallow view holding every node and only the flat projections (for code that
        reads flat weight matrices, e.g. synapse tables of a structured circuit's flat part)."""
        c = Circuit(self.name, self.dt)
        c.graph.add_nodes_from(self.graph.nodes(data=True))
        for u, v, k, d in self.graph.edges(keys=True, data=True):
            if not isinstance(d["obj"], StructuredProjection):
                c.graph.add_edge(u, v, key=k, **d)
        return c

    def expand(self, max_bytes: int | None = None) -> "Circuit":
        """The equivalent neuron-level circuit (every element name kept; see
        :mod:`spikeattn.ir.expand`).  Refused with a :class:`MemoryLimitError` stating the
        estimate before anything is allocated when it would need more than ``max_bytes``
        (default: the memory available now)."""
        return expand_circuit(self, max_bytes)

    def probe(self, target: str, variables=("v",)) -> Probe:
        """Record ``variables`` of population ``target`` every step."""
        return self.add(Probe(target, variables))

    def expose(self, port: str, population: str) -> None:
        """Name ``population`` as the output port ``port``."""
        check_name("output port", port)
        if not isinstance(population, str) or not isinstance(self.graph.nodes.get(population, {}).get("obj"),
                                                             Population):
            raise ValidationError(f"output port '{port}'", "population", f"'{population}' is not a population "
                                  "of this circuit.", f"use one of {sorted(self.populations)}.")
        self.outputs[port] = population

    def include(self, other: "Circuit", prefix: str, bind: dict[str, str] | None = None) -> dict[str, str]:
        """Copy ``other`` into this circuit, naming its elements ``prefix.name``.

        ``bind`` maps input sources of ``other`` to existing nodes of this circuit: the
        source is dropped and its projections start from the bound node instead (sizes must
        match).  Output ports of ``other`` become ``prefix.port``.  Returns the mapping of
        ``other``'s node names to their names here."""
        if not isinstance(other, Circuit):
            raise ValidationError(f"include {prefix!r}", "other", f"is a {type(other).__name__}; must be a Circuit.")
        check_name(f"include into circuit '{self.name}'", prefix)
        bind = check_mapping(f"include '{prefix}'", "bind", bind, error=ValidationError)
        for src, target in bind.items():
            if not isinstance(target, str):
                raise ValidationError(f"include '{prefix}'", "bind", f"maps '{src}' to {target!r}; bind targets are "
                                      "node names (str).")
            if src not in other.sources:
                raise ValidationError(f"include '{prefix}'", "bind", f"'{src}' is not an input source of "
                                      f"'{other.name}'.", f"bind one of {sorted(other.sources)}.")
            if target not in self.graph:
                raise ValidationError(f"include '{prefix}'", "bind", f"'{target}' is not a node of '{self.name}'.")
            if self.node(target).size != other.node(src).size:
                raise ShapeMismatchError(f"include '{prefix}'", "bind", f"source '{src}' has "
                                         f"{other.node(src).size} neurons but '{target}' has {self.node(target).size}.")
        mapping = {n: (bind[n] if n in bind else f"{prefix}.{n}") for n in other.graph.nodes}
        clash = sorted(m for n, m in mapping.items() if n not in bind and m in self.graph)
        if clash:
            raise ValidationError(f"include '{prefix}'", "prefix", f"nodes {clash[:5]} already exist.",
                                  "choose another prefix.")
        for n, obj in other.nodes().items():
            if n in bind:
                continue
            obj = copy.deepcopy(obj)
            obj.name = mapping[n]
            self._add_node(obj)
        for p in other.projections.values():
            if isinstance(p, StructuredProjection):
                self.add(p.renamed(f"{prefix}.{p.name}", mapping))
                continue
            q = copy.copy(p)
            q.name, q.pre, q.post = f"{prefix}.{p.name}", mapping[p.pre], mapping[p.post]
            self.add(q)
        for pr in other.probes:
            self.add(Probe(mapping[pr.target], pr.variables))
        for port, pop in other.outputs.items():
            self.outputs[f"{prefix}.{port}"] = mapping[pop]
        return mapping

    # ------------------------------------------------------------------ access
    def node(self, name: str):
        if name not in self.graph:
            raise ValidationError(f"circuit '{self.name}'", None, f"no node named '{name}'.",
                                  f"nodes are {sorted(self.graph.nodes)[:20]}.")
        return self.graph.nodes[name]["obj"]

    def nodes(self) -> dict:
        return {n: d["obj"] for n, d in self.graph.nodes(data=True)}

    @property
    def populations(self) -> dict[str, Population]:
        return {n: o for n, o in self.nodes().items() if isinstance(o, Population)}

    @property
    def sources(self) -> dict[str, SpikeSource]:
        return {n: o for n, o in self.nodes().items() if isinstance(o, SpikeSource)}

    @property
    def inputs(self) -> list[str]:
        """Input port names (the sources)."""
        return list(self.sources)

    @property
    def projections(self) -> dict[str, Projection]:
        return {k: d["obj"] for _, _, k, d in self.graph.edges(keys=True, data=True)}

    @property
    def fixed_point(self) -> bool:
        """True if the circuit uses fixed-point (Loihi) arithmetic."""
        return any(p.model.fixed_point for p in self.populations.values())

    def update_order(self) -> list[str]:
        """Nodes in an order where every zero-delay projection goes forward."""
        zero = nx.DiGraph()
        zero.add_nodes_from(self.graph.nodes)
        zero.add_edges_from((u, v) for u, v, d in self.graph.edges(data=True) if d["obj"].delay == 0)
        try:
            return list(nx.lexicographical_topological_sort(zero))
        except nx.NetworkXUnfeasible:
            cycle = [e[0] for e in nx.find_cycle(zero)]
            raise LoopError(f"circuit '{self.name}'", "delay", "projections with delay 0 form a loop "
                            f"{' -> '.join(cycle + cycle[:1])}.", "give at least one of them delay >= 1.") from None

    # ------------------------------------------------------------------ validation
    def _check_projection(self, p) -> None:
        where = f"projection '{p.name}' ({p.pre} -> {p.post})"
        if any(k == p.name for _, _, k in self.graph.edges(keys=True)):
            raise ValidationError(where, "name", "a projection with this name already exists.", "choose a unique name.")
        self._check_unique_element_name(p.name, where)
        self._check_projection_ends(p)

    def _check_unique_element_name(self, name: str, where: str) -> None:
        """Projections and nodes share one namespace (EventCounts keys elements by name)."""
        if name in self.graph:
            raise ValidationError(where, "name", f"'{name}' is also the name of a node; EventCounts and results "
                                  "name every element once.", "choose a projection name no node has.")

    def _check_projection_ends(self, p) -> None:
        where = f"projection '{p.name}' ({p.pre} -> {p.post})"
        if isinstance(p, StructuredProjection):
            return self._check_structured_ends(p)
        for end, role in ((p.pre, "pre"), (p.post, "post")):
            if end not in self.graph:
                raise ValidationError(where, role, f"'{end}' is not a node of circuit '{self.name}'.",
                                      "add the population or source first.")
        pre, post = self.node(p.pre), self.node(p.post)
        if not isinstance(post, Population):
            raise ValidationError(where, "post", f"'{p.post}' is a source; projections must end on a population.")
        if p.shape != (post.size, pre.size):
            raise ShapeMismatchError(where, "weights", f"has shape {p.shape} but '{p.post}' has {post.size} and "
                                     f"'{p.pre}' has {pre.size} neurons.",
                                     f"give weights of shape ({post.size}, {pre.size}) = (post, pre).")
        if post.model.fixed_point:
            p.check_fixed_point()
        if isinstance(pre, Population) and pre.model.fixed_point != post.model.fixed_point:
            raise ValidationError(where, "post", "connects a fixed-point population with a floating-point one.",
                                  "use one arithmetic (all LoihiLIF or all float models) per circuit.")

    def _check_structured_ends(self, p: StructuredProjection) -> None:
        where = f"{p.kind} projection '{p.name}'"
        roles = list(zip(p._roles()[:-1], p.pres)) + [("post", p.post)]
        for role, end in roles:
            if end not in self.graph:
                raise ValidationError(where, role, f"'{end}' is not a node of circuit '{self.name}'.",
                                      "add the population or source first.")
        post = self.node(p.post)
        if not isinstance(post, Population):
            raise ValidationError(where, "post", f"'{p.post}' is a source; projections must end on a population.")
        if post.model.fixed_point:
            raise ValidationError(where, "post", f"'{p.post}' is a fixed-point ({post.model.kind}) population; "
                                  "structured projections are floating point.",
                                  "use circuit.expand() and quantise the flat projections, or float models.")
        p.bind(tuple(self.node(n).shape for n in p.pres), post.shape)

    def _check_probe(self, pr: Probe) -> None:
        if not isinstance(pr, Probe):
            raise ValidationError(f"circuit '{self.name}'", "probes", f"holds a {type(pr).__name__}; must hold Probes.")
        pr.check()
        pop = self.graph.nodes.get(pr.target, {}).get("obj")
        if not isinstance(pop, Population):
            raise ValidationError(f"probe on '{pr.target}'", "target", "is not a population of this circuit.",
                                  f"use one of {sorted(self.populations)}.")
        for v in pr.variables:
            if v not in pop.model.state:
                raise ParameterError(f"probe on '{pr.target}'", "variables", f"'{v}' is not a state of "
                                     f"{pop.model.kind}.", f"use {list(pop.model.state)}.")

    def validate(self) -> "Circuit":
        """Check the whole circuit; raise a :class:`ValidationError` naming the problem.

        Every node, projection and probe is re-checked field by field (weights' sparse
        structure included), so a mutation after construction (``p.delay = -1``,
        ``p.weights.data[0] = nan``, ``src.encoder = "x"``) is caught here; ``simulate()``
        and ``save()`` call it."""
        check_name("circuit", self.name)
        self.dt = check_real(f"circuit '{self.name}'", "dt", self.dt, positive=True)
        if not isinstance(self.meta, dict):
            raise ValidationError(f"circuit '{self.name}'", "meta", f"is a {type(self.meta).__name__}; must be a dict.")
        if not isinstance(self.outputs, dict) or not isinstance(self.probes, list):
            raise ValidationError(f"circuit '{self.name}'", "outputs", "outputs must be a dict and probes a list.")
        if not self.populations:
            raise ValidationError(f"circuit '{self.name}'", None, "has no population.", "add_population() first.")
        pops = self.populations
        for n, obj in self.nodes().items():
            if not isinstance(obj, (Population, SpikeSource)):
                raise ValidationError(f"node '{n}'", None, f"holds a {type(obj).__name__}.",
                                      "add nodes with add_population() / add_source().")
            obj.check()
            if obj.name != n:
                raise ValidationError(f"node '{n}'", "name", f"object is named '{obj.name}'.")
        kinds = {p.model.fixed_point for p in pops.values()}
        if len(kinds) > 1:
            odd = sorted(n for n, p in pops.items() if p.model.fixed_point)
            raise ValidationError(f"circuit '{self.name}'", "model", f"mixes fixed-point populations {odd} with "
                                  "floating-point ones.", "use one arithmetic per circuit.")
        for u, v, k, d in self.graph.edges(keys=True, data=True):
            p = d.get("obj")
            if not isinstance(p, (Projection, StructuredProjection)):
                raise ValidationError(f"edge {u} -> {v} '{k}'", None, f"holds a {type(p).__name__}.",
                                      "add projections with Circuit.connect() or Circuit.add().")
            p.check()
            self._check_unique_element_name(k, f"projection '{k}' ({u} -> {v})")
            if p.name != k or u not in _pres(p) or v != p.post:
                raise ValidationError(f"edge {u} -> {v} '{k}'", "name", f"holds projection '{p.name}' "
                                      f"({p.pre} -> {p.post}).", "add projections with Circuit.add().")
            self._check_projection_ends(p)
        for pr in self.probes:
            self._check_probe(pr)
        for port, pop in self.outputs.items():
            check_name("output port", port)
            if not isinstance(pop, str) or pop not in pops:
                raise ValidationError(f"output port '{port}'", "population", f"'{pop}' is not a population.")
        self.update_order()
        return self

    # ------------------------------------------------------------------ misc
    def __eq__(self, other) -> bool:
        if not isinstance(other, Circuit):
            return NotImplemented
        return (self.name == other.name and self.dt == other.dt and self.outputs == other.outputs
                and self.probes == other.probes and self.nodes() == other.nodes()
                and self.projections == other.projections and self.meta == other.meta)

    def summary(self) -> dict:
        return {"name": self.name, "populations": len(self.populations), "sources": len(self.sources),
                "projections": len(self.projections),
                "neurons": sum(p.size for p in self.populations.values()),
                "synapses": sum(p.synapse_count() for p in self.projections.values())}

    def __repr__(self) -> str:
        s = self.summary()
        return (f"Circuit({self.name!r}, populations={s['populations']}, sources={s['sources']}, "
                f"projections={s['projections']}, neurons={s['neurons']}, synapses={s['synapses']})")

    def copy(self) -> "Circuit":
        return copy.deepcopy(self)


def _pres(p) -> tuple[str, ...]:
    return p.pres if isinstance(p, StructuredProjection) else (p.pre,)


def incoming(circuit: Circuit, post: str) -> Iterable[Projection]:
    """The projections into ``post`` (each once, also a product with two pre nodes)."""
    return list({k: d["obj"] for _, _, k, d in circuit.graph.in_edges(post, keys=True, data=True)}.values())
