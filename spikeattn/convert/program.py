"""The converted program: circuit segments, host stages between them, and the readout.

A converted model is a chain of :class:`Segment` s.  Each segment is one
:class:`~spikeattn.Circuit` whose projections all have delay 0, so one time step carries a
whole forward pass (latency 1 step); the neurons keep their membrane state from step to
step (reset by subtraction), which is what makes more steps more precise.  A *host stage*
(softmax or LayerNorm kept in floating point: ``exact`` and ``rate`` modes only) ends a
segment: per step it reads affine values of the nodes recorded so far, applies its numpy
function and feeds the result to the next segment as a ``graded`` source.  Nodes of an
earlier segment used in a later one reach it through a *proxy* source replaying their
recorded outputs.  ``accumulate`` mode has no host stage: one segment.

Messages: a node's output is read by ``count`` projections (integer levels of
``MultiThresholdIF`` neurons, gated counts, integer input pixels: accumulate-only),
``binary`` projections (threshold-line neurons) or ``graded`` projections (floating-point
host outputs and non-integer inputs: multiply-accumulates).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..ir import Circuit
from ..ir.neurons_extra import GradedReLU
from ..ir.neurons_convert import MultiThresholdIF
from .affine import Affine


@dataclass
class HostStage:
    name: str
    fn: object                 # callable(*inputs (..., numel)) -> (..., numel_out)
    inputs: list
    shape: tuple
    kind: str                  # e.g. "softmax", "layer_norm"


@dataclass
class Segment:
    circuit: Circuit
    proxies: dict = field(default_factory=dict)   # source name -> origin node name
    host: dict = field(default_factory=dict)      # source name -> HostStage


class Program:
    """Build-time and run-time description of a converted model (see module docstring)."""

    def __init__(self, name: str = "converted"):
        self.name = name
        self.segments: list[Segment] = [Segment(Circuit(f"{name}.0"))]
        self.node_seg: dict[str, int] = {}
        self.message: dict[str, str] = {}      # node -> message kind its readers use
        self.levels: dict[str, tuple] = {}     # quantiser node -> (levels, signed)
        self.inputs: dict[str, dict] = {}      # source -> {"shape", "kind", "scale", "vocab"}
        self.output: Affine | None = None
        self.host_stages: list[HostStage] = []
        self.layer_names: dict[str, str] = {}  # node -> graph node it came from
        self._lines: dict[str, str] = {}
        self.attention: list = []              # (attention-map quantiser node, shape, vth), graph order
        self.latency: dict[str, int] = {}      # pipelined programs (loihi8): node -> depth in steps
        self.constants: dict[str, np.ndarray] = {}   # sources with a constant value per step (loihi8 bias)
        self.quantisation: dict | None = None
        self._count = 0

    # ------------------------------------------------------------------ naming
    def _name(self, hint: str) -> str:
        self._count += 1
        clean = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in hint)[:40] or "n"
        return f"n{self._count}_{clean}"

    @property
    def current(self) -> Segment:
        return self.segments[-1]

    # ------------------------------------------------------------------ nodes
    def add_input(self, shape, kind: str = "count", scale: float = 1.0, vocab: int | None = None,
                  hint: str = "x") -> str:
        """A model input as a ``graded`` source (values per sample, repeated every step)."""
        name = self._name(hint)
        size = int(np.prod(shape)) * (vocab or 1)
        self.current.circuit.add_source(name, size, encoder="graded")
        self.node_seg[name], self.message[name] = len(self.segments) - 1, kind
        self.inputs[name] = {"shape": tuple(shape), "kind": kind, "scale": float(scale), "vocab": vocab}
        return name

    def _local(self, node: str) -> str:
        """The name under which ``node`` is visible in the current segment (a proxy if needed)."""
        seg = self.current
        if self.node_seg[node] == len(self.segments) - 1:
            return node
        proxy = f"{node}@{len(self.segments) - 1}"
        if proxy not in seg.circuit.sources:
            size = self._size(node)
            seg.circuit.add_source(proxy, size, encoder="graded")
            seg.proxies[proxy] = node
        return proxy

    def _size(self, node: str) -> int:
        return self.segments[self.node_seg[node]].circuit.node(node).size

    def population(self, hint: str, value: Affine, model, initial=None, bias_into_model=True) -> str:
        """A population of ``value.numel`` neurons of ``model`` driven by ``value``: one
        delay-0 projection per term, the affine bias as the neurons' bias."""
        name = self._name(hint)
        if bias_into_model and np.any(value.bias != 0):
            params = model.params()
            params["bias"] = np.asarray(params.get("bias", 0.0), np.float64) + value.bias
            model = type(model)(**params)
        self.current.circuit.add_population(name, value.numel, model, initial=initial or {})
        self.node_seg[name] = len(self.segments) - 1
        for node, m in value.terms.items():
            m = sp.csr_matrix(m)
            m.eliminate_zeros()
            if m.nnz == 0:
                continue
            self.current.circuit.connect(self._local(node), name, m, name=f"{node}->{name}", delay=0,
                                         message=self.message[node])
        return name

    def quantiser(self, hint: str, value: Affine, vth, levels: int, signed: bool, v0: float) -> Affine:
        """``MultiThresholdIF(vth, levels, signed)`` neurons with initial ``v = v0``: at step 1
        they emit ``clip(ceil((x + v0) / vth) - 1, 0, L)`` (signed: mirrored), the value
        read downstream as ``vth * n``."""
        vth = float(vth)
        name = self.population(hint, value, MultiThresholdIF(vth=vth, levels=int(levels), signed=bool(signed)),
                               initial={"v": float(v0)} if v0 else None)
        self.message[name], self.levels[name] = "count", (int(levels), bool(signed))
        return Affine.node(name, value.shape, scale=vth)

    def lines(self, node: str) -> tuple[str, int, int]:
        """Threshold lines of a quantiser node: neuron ``(sign, m, j)`` fires iff
        ``sign * n_j >= m`` (``GradedReLU(vth=m-1)`` fed ``sign * n_j`` by a count synapse)."""
        L, signed = self.levels[node]
        n = self._size(node)
        signs = 2 if signed else 1
        if node in self._lines and self.node_seg[self._lines[node]] == len(self.segments) - 1:
            return self._lines[node], L, signs
        rows, cols, vals, vth = [], [], [], []
        for si, sg in enumerate((1.0, -1.0)[:signs]):
            for m in range(1, L + 1):
                base = (si * L + (m - 1)) * n
                rows.append(base + np.arange(n)); cols.append(np.arange(n)); vals.append(np.full(n, sg))
                vth.append(np.full(n, m - 1.0))
        size = signs * L * n
        w = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, n))
        name = self._name(f"lines_{node}")
        self.current.circuit.add_population(name, size, GradedReLU(vth=np.concatenate(vth)))
        self.node_seg[name], self.message[name] = len(self.segments) - 1, "binary"
        self.current.circuit.connect(self._local(node), name, w, name=f"{node}->{name}", delay=0, message="count")
        self._lines[node] = name
        return name, L, signs

    def product(self, hint: str, a: Affine, b: Affine, out_shape, ia: np.ndarray, ib: np.ndarray,
                io: np.ndarray) -> Affine:
        """``out[io_p] += a[ia_p] * b[ib_p]`` for pairs p, with accumulate-only gates.

        ``a`` and ``b`` must be quantiser outputs (selections).  For every pair, threshold
        line ``(sa, m)`` of ``a``'s element and pass sign ``sb``: a gate
        ``GradedReLU(vth=Lb)`` fed ``Lb`` by the line (binary) and ``sb * n_b`` (count)
        emits ``max(sb * n_b, 0)`` when the line fires, else 0 (``|n_b| <= Lb``); so
        ``n_a n_b = sum_{sa, m, sb} sa sb [sa n_a >= m] max(sb n_b, 0)``."""
        sel_a, sel_b = a.selection(), b.selection()
        node_a, ca, scale_a = sel_a
        node_b, cb, scale_b = sel_b
        lines, La, signs_a = self.lines(node_a)
        Lb, signed_b = self.levels[node_b]
        n_a = self._size(node_a)
        signs_b = (1.0, -1.0) if signed_b else (1.0,)
        P = len(ia)
        combos = [(si, sa, m, sb) for si, sa in enumerate((1.0, -1.0)[:signs_a]) for m in range(1, La + 1)
                  for sb in signs_b]
        G = P * len(combos)
        name = self._name(hint)
        self.current.circuit.add_population(name, G, GradedReLU(vth=float(Lb)))
        self.node_seg[name], self.message[name] = len(self.segments) - 1, "count"
        gate = np.arange(G).reshape(len(combos), P)
        lrow, lcol, brow, bcol, bval, orow, ocol, oval = [], [], [], [], [], [], [], []
        for ci, (si, sa, m, sb) in enumerate(combos):
            g = gate[ci]
            lrow.append(g); lcol.append((si * La + (m - 1)) * n_a + ca[ia])
            brow.append(g); bcol.append(cb[ib]); bval.append(np.full(P, sb))
            orow.append(io); ocol.append(g); oval.append(sa * sb * scale_a[ia] * scale_b[ib])
        cat = np.concatenate
        wl = sp.csr_matrix((np.full(G, float(Lb)), (cat(lrow), cat(lcol))), shape=(G, signs_a * La * n_a))
        wb = sp.csr_matrix((cat(bval), (cat(brow), cat(bcol))), shape=(G, self._size(node_b)))
        self.current.circuit.connect(self._local(lines), name, wl, name=f"{lines}->{name}", delay=0,
                                     message="binary")
        self.current.circuit.connect(self._local(node_b), name, wb, name=f"{node_b}->{name}", delay=0,
                                     message="count")
        n_out = int(np.prod(out_shape))
        wo = sp.csr_matrix((cat(oval), (cat(orow), cat(ocol))), shape=(n_out, G))
        return Affine(tuple(out_shape), {name: wo}, np.zeros(n_out))

    def host(self, kind: str, fn, inputs: list, shape) -> Affine:
        """A floating-point host stage; it starts a new segment and returns its output."""
        k = len(self.segments)
        self.segments.append(Segment(Circuit(f"{self.name}.{k}")))
        name = self._name(kind)
        stage = HostStage(name, fn, list(inputs), tuple(shape), kind)
        self.current.circuit.add_source(name, int(np.prod(shape)), encoder="graded")
        self.current.host[name] = stage
        self.host_stages.append(stage)
        self.node_seg[name], self.message[name] = k, "graded"
        return Affine.node(name, shape)

    def finish(self, output: Affine) -> None:
        self.output = output
        # drop empty trailing segments (a host stage whose output only feeds the readout)
        for seg in self.segments:
            if not seg.circuit.populations:
                seg.circuit.add_population(f"{seg.circuit.name}_idle", 1, MultiThresholdIF(vth=1.0, levels=1))

    def merged_circuit(self) -> Circuit:
        """All segments in one circuit (for saving and costing): segment k's elements are
        prefixed ``s{k}``; proxies are bound to their origin; host sources stay sources."""
        if len(self.segments) == 1:
            return self.segments[0].circuit
        c = Circuit(self.name)
        where: dict[str, str] = {}
        for k, seg in enumerate(self.segments):
            bind = {p: where[o] for p, o in seg.proxies.items()}
            mapping = c.include(seg.circuit, f"s{k}", bind=bind)
            for n, m in mapping.items():
                where.setdefault(n, m)
        c.meta["host_stages"] = [f"s{self.node_seg[h.name]}.{h.name}: {h.kind}" for h in self.host_stages]
        return c
