"""The structured program: one shaped circuit built from :mod:`.structured_affine` values.

What becomes what (``accumulate`` mode: no host stage, one segment, every projection delay 0,
so one step carries a whole forward pass, as in the flat :class:`~.program.Program`):

* **inputs** are ``graded`` sources.  A source is a free view of the model input: the
  encoder gathers ``x[perm]`` (``perm = -1``: a zero), so a patch embedding (``conv2d``
  with any stride, or a reshape into patches) reads a source laid out patch by patch
  (im2col) through one :class:`~spikeattn.ir.structured.SharedProjection`, and a token
  shift (a CLS token concatenated in front) is a zero row of the source.  Token ids are
  one-hot ``count`` sources ``(positions, vocab)`` read through the shared ``W_embᵀ``.
* a **quantiser** is one shaped ``MultiThresholdIF`` population whose layout is chosen from
  its input's view (:func:`~.structured_affine.factor`): ``(t, h, d)`` for a head split of
  ``(t, h*d)`` features, so the population is read through a view and products are einsums
  over population axes.  Its input is one projection per term: ``shared`` where the map is
  ``I kron W``, ``index`` where ``W`` has one entry per row (a scaled copy, a column
  selection), a flat CSR only for small irregular pieces; the affine bias is the neurons' bias.
* a **product** of two quantised tensors (QKᵀ, attention x V) is a
  :class:`~spikeattn.ir.structured.ProductProjection` (weight 1: integer levels in, integer
  sums out) straight into the quantiser that reads it when that quantiser's input is
  ``scale * product + bias``; its mask is the set of outputs whose quantiser can never fire
  whatever the product (``bias + bound <= 0``: the ``-1e4`` of a causal or padding mask in
  front of an unsigned quantiser), so masked terms are neither computed nor counted.
* a product read by anything else (attention x V goes through ``W_o`` into the residual
  stream) goes into a **relay pair** ``(+, -)``: two ``GradedReLU(vth=0)`` populations fed
  ``+P`` and ``-P`` (memoryless: ``r+ - r- = P`` exactly every step), read with ``count``
  messages.  The IR has no signed memoryless relay, so the pair costs the product twice
  (two ProductProjections); a signed graded relay model would halve that (noted in the
  converter's report).
* **residual streams** stay explicit sums of terms while they are short.  A value with more
  than ``max_terms`` node terms (or a term whose fan-in is much wider than the value, e.g.
  a 50k-word embedding) that is about to be composed into a new linear map is first put
  into a relay pair (``graded`` messages: the stream is real-valued) -- the *stream node*.
  Without it every quantiser of layer l would hold a ``d x d`` matrix from every node of
  every earlier layer: O(L²) matrices.  With it each layer holds O(1) matrices, at the
  price of multiply-accumulates where a layer reads the stream (``max_terms=None``: never,
  which is the flat path's structure: accumulate-only, O(L²)).  The bias of a relayed
  value stays symbolic (it moves on to the neurons that read it), so relays need no bias.

Every node remembers its message kind (``count`` for quantisers, product relays, one-hot and
integer inputs; ``graded`` for real-valued inputs and stream relays) and every quantiser the
view through which the graph reads it (``quant_views``: graph node -> population and the
population position of every tensor element), which is how the structured circuit is
compared with the flat one neuron by neuron.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..ir import Circuit
from ..ir.neurons_convert import MultiThresholdIF
from ..ir.neurons_extra import GradedReLU
from .structured_affine import (Flat, FlatTooLarge, Kron, Prod, SValue, canonical_form, factor, kron_flat,
                                one_per_row, product_layout, rows_of, selection, view_positions)

#: a term whose node group is this many times wider than the value's features is relayed
#: before it is composed (an embedding from a large vocabulary)
WIDE_FANIN = 4


class StructuredProgram:
    """Build-time description of a structured conversion (see the module docstring)."""

    def __init__(self, name: str = "converted", max_terms: int | None = 4):
        self.name = name
        self.circuit = Circuit(name)
        self.message: dict[str, str] = {}
        self.levels: dict[str, tuple] = {}
        self.inputs: dict[str, dict] = {}
        self.quant_views: dict[str, tuple] = {}
        self.output: SValue | None = None
        self.max_terms = max_terms
        self.relays: list[tuple] = []
        self.attention: list = []          # (kind "product" | "stream", plus name, minus name)
        self._relayouts: dict = {}
        self._count = 0
        self._proj_names: set = set()

    # ------------------------------------------------------------------ naming and sizes
    def _name(self, hint: str) -> str:
        self._count += 1
        clean = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in hint)[:40] or "n"
        return f"n{self._count}_{clean}"

    def _proj_name(self, pre: str, post: str) -> str:
        base = f"{pre}->{post}"
        name, k = base, 1
        while name in self._proj_names:
            k += 1
            name = f"{base}#{k}"
        self._proj_names.add(name)
        return name

    def size(self, node: str) -> int:
        return self.circuit.node(node).size

    @property
    def node_sizes(self) -> dict:
        return {n: o.size for n, o in self.circuit.nodes().items()}

    # ------------------------------------------------------------------ inputs
    def add_input(self, shape, kind: str = "count", scale: float = 1.0, vocab: int | None = None,
                  perm: np.ndarray | None = None, hint: str = "x") -> str:
        """A model input as a ``graded`` source: element k is ``x.flat[perm[k]] / scale``
        (``perm[k] = -1``: 0), one-hot over ``vocab`` words per element for token ids."""
        name = self._name(hint)
        n = int(np.prod(shape)) if perm is None else len(perm)
        self.circuit.add_source(name, (n, vocab) if vocab else (n,), encoder="graded")
        self.message[name] = kind
        self.inputs[name] = {"shape": tuple(int(s) for s in shape), "kind": kind, "scale": float(scale),
                             "vocab": vocab, "perm": None if perm is None else np.asarray(perm, np.int64)}
        return name

    def source_perm(self, src: str) -> np.ndarray:
        info = self.inputs[src]
        if info["perm"] is not None:
            return info["perm"]
        return np.arange(int(np.prod(info["shape"])), dtype=np.int64)

    def relayout(self, src: str, element_perm: np.ndarray, hint: str = "x") -> str:
        """A source whose element k is element ``element_perm[k]`` of source ``src``
        (``-1``: zero); for one-hot sources the elements are positions (rows of ``vocab``)."""
        key = (src, element_perm.tobytes())
        if key in self._relayouts:
            return self._relayouts[key]
        old = self.source_perm(src)
        new = np.where(element_perm >= 0, old[np.maximum(element_perm, 0)], -1)
        info = self.inputs[src]
        name = self.add_input(info["shape"], info["kind"], info["scale"], info["vocab"], new, hint=hint)
        self._relayouts[key] = name
        return name

    def relayout_term(self, t: Kron) -> Kron:
        """A Kron term on a source with a token map ``A`` that is a (scaled) selection: the
        same term on a re-laid-out source with ``A = None`` (sources are free views)."""
        A = sp.csr_matrix(t.A)
        A.eliminate_zeros()
        counts = np.diff(A.indptr)
        if np.any(counts > 1):
            return t
        vals = A.data
        if vals.size and np.any(vals != vals[0]):
            return t
        c = float(vals[0]) if vals.size else 1.0
        rows = np.full(A.shape[0], -1, np.int64)
        rows[counts == 1] = A.indices
        vocab = self.inputs[t.node]["vocab"]
        if vocab:
            if t.n_in != vocab:
                return t
            elem = rows
        else:
            base = np.arange(self.size(t.node), dtype=np.int64).reshape(-1, t.n_in)
            elem = np.where(rows[:, None] >= 0, base[np.maximum(rows, 0)], -1).reshape(-1)
        new = self.relayout(t.node, elem)
        return Kron(new, t.n_in, t.W, None, t.coef * c)

    # ------------------------------------------------------------------ emission
    def emit(self, t, post: str, G: int, F: int, sign: float = 1.0) -> None:
        """Add the projection(s) of one term into population ``post`` (grouped ``(G, F)``)."""
        c = self.circuit
        if isinstance(t, Kron) and t.A is not None and t.node in self.inputs:
            t = self.relayout_term(t)
        msg = self.message[t.node]
        if isinstance(t, Kron) and t.A is None:
            G_node = self.size(t.node) // t.n_in
            assert G_node == G and t.W.shape[0] == F, (t.node, G_node, G, t.W.shape, F)
            sel = one_per_row(t.W)
            if sel is not None:
                cols, vals = sel
                idx = np.arange(G, dtype=np.int64)[:, None] * t.n_in + cols[None, :]
                idx[:, cols < 0] = -1
                w = vals * (t.coef * sign)
                live = w[cols >= 0]
                if not live.size or not np.any(live):
                    return
                weights = float(live[0]) if np.all(live == live[0]) else np.tile(w, G)
                c.connect_index(t.node, post, idx.reshape(-1), weights, name=self._proj_name(t.node, post),
                                delay=0, message=msg)
            else:
                W = (t.W.toarray() if sp.issparse(t.W) else np.asarray(t.W)) * (t.coef * sign)
                c.connect_shared(t.node, post, W, name=self._proj_name(t.node, post), delay=0, message=msg)
            return
        if isinstance(t, Kron):
            A = t.A
            G_node = self.size(t.node) // t.n_in
            if A.shape == (G, G_node) and G == G_node:
                d = A.diagonal()
                off = A - sp.diags(d)
                if off.count_nonzero() == 0 and np.all(d != 0):
                    W = (t.W.toarray() if sp.issparse(t.W) else np.asarray(t.W)) * (t.coef * sign)
                    c.connect_shared(t.node, post, W, name=self._proj_name(t.node, post), delay=0, message=msg,
                                     scale=np.asarray(d, np.float64))
                    return
            M = kron_flat(t, G)
        else:
            M = t.M
        M = sp.csr_matrix(M * sign)
        M.eliminate_zeros()
        if M.nnz:
            c.connect(t.node, post, M, name=self._proj_name(t.node, post), delay=0, message=msg)

    def _population(self, hint: str, shape, model, initial=None) -> str:
        name = self._name(hint)
        self.circuit.add_population(name, tuple(int(s) for s in shape) or (1,), model, initial=initial or {})
        return name

    # ------------------------------------------------------------------ quantisers
    def quantiser(self, hint: str, v: SValue, vth: float, levels: int, signed: bool, v0: float,
                  graph_name: str | None = None) -> SValue:
        """``MultiThresholdIF(vth, levels, signed)`` with initial ``v = v0`` fed by ``v``; the
        value read downstream is ``vth * n`` through the population's view."""
        vth = float(vth)
        if v.product is not None and product_layout(v.index, v.shape, v.product) is None:
            self.relay_product(v)
        p = v.product
        if p is not None:
            letters = product_layout(v.index, v.shape, p)
            pop_shape = tuple(p.sizes[ch] for ch in letters)
            bias = v.bias.reshape(-1)
            mask = None
            if not signed:
                bound = abs(p.weight) * self.levels[p.a][0] * self.levels[p.b][0] * math.prod(
                    p.sizes[ch] for ch in set(p.sa + p.sb) - set(letters))
                dead = bias + bound <= 0
                if dead.any():
                    mask = ~dead.reshape(pop_shape)
            model = MultiThresholdIF(vth=vth, levels=int(levels), signed=bool(signed),
                                     bias=bias.copy() if np.any(bias) else 0.0)
            name = self._population(hint, pop_shape, model, {"v": float(v0)} if v0 else None)
            self.circuit.connect_product(p.a, p.b, name, f"{p.sa},{p.sb}->{letters}", weight=float(p.weight),
                                         mask=mask, name=self._proj_name(f"{p.a}*{p.b}", name), delay=0)
            pos = None
            R = v.numel // (v.shape[-1] if v.shape and v.shape[-1] else 1)
            G, F = R, v.numel // R
        else:
            f = factor(v) if v.terms else None
            if f is not None:
                perm, rows, cols, sizes, n_row = f
                G, F = len(rows), len(cols)
                terms = [self._rebase(t, rows, cols, v.G) for t in v.terms]
                pos = view_positions(v.shape, perm)
                pop_shape = sizes
                bias = np.empty(v.numel)
                bias[pos] = v.bias.reshape(-1)
                if np.array_equal(pos, np.arange(v.numel)):
                    pos = None
            else:
                cv = canonical_form(v, self.node_sizes, self._source_view)
                G, F, terms, pos, bias = cv.G, cv.F, cv.terms, None, cv.bias.reshape(-1)
                pop_shape = tuple(s for s in v.shape if s > 1) or (1,)
            model = MultiThresholdIF(vth=vth, levels=int(levels), signed=bool(signed),
                                     bias=bias.copy() if np.any(bias) else 0.0)
            name = self._population(hint, pop_shape, model, {"v": float(v0)} if v0 else None)
            for t in terms:
                self.emit(t, name, G, F)
        self.message[name], self.levels[name] = "count", (int(levels), bool(signed))
        if graph_name is not None:
            self.quant_views[graph_name] = (name, pos)
        out = SValue(v.shape, G, F, [Kron(name, F, sp.identity(F, format="csr"), None, vth)], pos)
        return out

    def _rebase(self, t, rows, cols, G):
        from .structured_affine import gather_flat, rebase_kron
        if isinstance(t, Kron):
            return rebase_kron(t, rows, cols, G)
        # a Flat term on the grid (len(rows), len(cols)): element (r, c) is base row rows[r], column cols[c]
        F_old = t.M.shape[0] // G
        idx = (rows[:, None] * F_old + cols[None, :]).reshape(-1)
        idx[np.repeat(rows < 0, len(cols))] = -1
        return Flat(t.node, gather_flat(t.M, idx))

    # ------------------------------------------------------------------ relays
    def _relay_pair(self, hint: str, shape, kind: str, message: str) -> tuple[str, str]:
        plus = self._population(f"{hint}_p", shape, GradedReLU(vth=0.0))
        minus = self._population(f"{hint}_m", shape, GradedReLU(vth=0.0))
        for n in (plus, minus):
            self.message[n] = message
        self.relays.append((kind, plus, minus))
        return plus, minus

    def relay_product(self, v: SValue) -> SValue:
        """Replace (in place) a product value by ``weight * (r+ - r-)`` of a relay pair laid
        out as the value (see the module docstring)."""
        p = v.product
        letters = product_layout(v.index, v.shape, p)
        if letters is None:
            # an irregular view of the product: relay on the natural grid, keep the view
            letters, index, shape = p.out, v.index, v.shape
            pop_shape = p.grid
        else:
            index, shape = None, v.shape
            pop_shape = tuple(p.sizes[ch] for ch in letters)
        plus, minus = self._relay_pair("relay", pop_shape, "product", "count")
        for post, sgn in ((plus, 1.0), (minus, -1.0)):
            self.circuit.connect_product(p.a, p.b, post, f"{p.sa},{p.sb}->{letters}", weight=sgn,
                                         name=self._proj_name(f"{p.a}*{p.b}", post), delay=0)
        N = math.prod(pop_shape)
        F = pop_shape[-1] if index is not None else (shape[-1] if shape and shape[-1] else 1)
        F = max(int(F), 1)
        I = sp.identity(F, format="csr")
        terms = [Kron(plus, F, I, None, float(p.weight)), Kron(minus, F, I, None, -float(p.weight))]
        return v.assign(SValue(shape, N // F, F, terms, index, v.bias))

    def stream(self, v: SValue, hint: str = "stream") -> SValue:
        """Replace (in place) a canonical value by ``r+ - r- + bias`` of a relay pair fed by
        its terms (the stream node; see the module docstring)."""
        shape = tuple(s for s in v.shape if s > 1) or (1,)
        plus, minus = self._relay_pair(hint, shape, "stream", "graded")
        for t in v.terms:
            self.emit(t, plus, v.G, v.F, 1.0)
            self.emit(t, minus, v.G, v.F, -1.0)
        I = sp.identity(v.F, format="csr")
        return v.assign(SValue(v.shape, v.G, v.F, [Kron(plus, v.F, I, None, 1.0), Kron(minus, v.F, I, None, -1.0)],
                               None, v.bias))

    # ------------------------------------------------------------------ normal forms
    def canonical(self, v: SValue) -> SValue:
        """``v`` in canonical form, in place (products relayed first)."""
        if v.product is not None:
            self.relay_product(v)
        if not v.is_canonical():
            v.assign(canonical_form(v, self.node_sizes, self._source_view))
        return v

    def _source_view(self, node: str, positions: np.ndarray) -> str | None:
        """A source whose element k is element ``positions[k]`` of source ``node`` (None if
        ``node`` is not a plain source)."""
        if node not in self.inputs or self.inputs[node]["vocab"]:
            return None
        return self.relayout(node, positions)

    def compose_ready(self, v: SValue) -> SValue:
        """``v`` canonical and, if its term list is long or a term is much wider than the
        value, relayed into a stream node (in place) before a linear map is composed onto it."""
        self.canonical(v)
        if self.max_terms is None or not v.terms:
            return v
        wide = any(isinstance(t, Kron) and t.n_in > WIDE_FANIN * max(v.F, 1) and t.node in self.inputs
                   for t in v.terms)
        if len(v.nodes()) > self.max_terms or wide:
            self.stream(v)
        return v

    def finish(self, out: SValue) -> None:
        if out.product is not None:
            self.relay_product(out)
        terms = []
        for t in out.terms:         # drop empty terms; read sources through their re-laid-out copies
            if isinstance(t, Kron) and t.A is not None:
                if t.A.count_nonzero() == 0:
                    continue
                if t.node in self.inputs:
                    t = self.relayout_term(t)
            terms.append(t)
        out.terms = terms
        self.output = out
        # sources that nothing reads any more (replaced by a re-laid-out copy)
        read = {u for u, _ in self.circuit.graph.out_edges()} | set(out.nodes())
        for src in list(self.inputs):
            if src not in read:
                self.circuit.graph.remove_node(src)
                del self.inputs[src]
        if not self.circuit.populations:
            self._population("idle", (1,), MultiThresholdIF(vth=1.0, levels=1))


__all__ = ["StructuredProgram", "FlatTooLarge", "Flat", "Kron", "Prod", "SValue", "rows_of", "selection"]
