"""The dense ANN a spiking circuit stands for, and its workload (FLOPs, bytes) counted by torch.

``dense_model(circuit)``: every population becomes ``ReLU(sum_p W_p x_pre + bias)`` with the
circuit's own weights (each projection an ``nn.Linear``, no bias unless the population has
one); sources are the model's inputs.  Structured projections stay structured: ``shared`` a
batched matmul of the one ``W`` over the groups (times ``scale``), ``index`` a gather,
``conv`` ``conv2d``, ``product`` an ``einsum`` of the two activations (times its weight and
mask), so a transformer's dense equivalent holds each weight once, as the ANN does.  Populations are evaluated in the circuit's update
order; a projection from a population not yet evaluated in this pass (a recurrent or
backward edge) reads that population's output of the previous pass (zero at first).

``dense_attention_model(n_tokens, dim, heads)``: softmax attention with the same shapes as a
spiking attention circuit: inputs ``q, k, v`` of shape ``(B, N, D)``, ``softmax(Q K^T /
sqrt(D/H)) V`` per head, optionally with the Q/K/V/output projections.

``dense_workload(circuit, steps, batch)``: one forward pass per sample (the dense ANN needs
no time steps: ``steps`` is recorded, not multiplied) on the ``meta`` device, with

* FLOPs from ``torch.utils.flop_counter.FlopCounterMode`` (no hand-written formulas; it
  counts matmul-class ops: ``2 * M * N * K`` per matmul; softmax, scaling and ReLU are not
  FLOPs to it and are reported as element-wise ops instead);
* bytes from a dispatch-level counter of every aten op's tensors: ``weight_bytes`` (the
  parameters, read once per pass), ``activation_bytes`` (every non-parameter tensor an op
  reads or writes: the unfused upper bound), ``attention_map_bytes`` (the part of it that is
  ``(.., N, N)`` score/probability maps), ``io_bytes`` (model inputs + outputs: what a fully
  fused kernel still moves).  Sizes use ``dtype_bytes`` (2 for fp16) per element.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from spikeattn.errors import ParameterError, require
from spikeattn.ir import Circuit


TORCH_PURPOSE = "The dense (GPU) equivalent of a circuit"     # what torch is needed for (MissingExtraError)


def _torch():
    return require("torch", "torch", TORCH_PURPOSE)


@dataclass
class Workload:
    """The dense workload of one batch: FLOPs and bytes moved (see the module docstring)."""

    name: str
    batch: int
    steps: int
    flops: int
    flops_by_op: dict
    elementwise_ops: int
    weight_bytes: int
    activation_bytes: int
    attention_map_bytes: int
    io_bytes: int
    dtype_bytes: int
    params: int
    notes: list = field(default_factory=list)
    factory: object = field(default=None, repr=False, compare=False)   # () -> (model, inputs) for measuring
    kernels: int = 0    # non-view aten ops of one eager forward pass (one GPU kernel launch each)
    flops_by_layer: dict = field(default_factory=dict)

    @classmethod
    def from_counts(cls, d: dict, name: str, steps: int = 1, batch: int | None = None) -> "Workload":
        """From :func:`spikeattn.convert.dense_workload.count_dense`'s dict (a recorded dense workload)."""
        keys = ("flops", "elementwise_ops", "weight_bytes", "activation_bytes", "attention_map_bytes", "io_bytes",
                "dtype_bytes", "params", "kernels")
        missing = [k for k in keys if not isinstance(d.get(k), int) or isinstance(d.get(k), bool) or d[k] < 0]
        if missing:
            raise ParameterError("dense workload", missing[0], f"is {d.get(missing[0])!r}; must be an integer >= 0.",
                                 "record it with spikeattn.convert.dense_workload.count_dense.")
        return cls(name=name, batch=int(d.get("batch", 1) if batch is None else batch), steps=int(steps),
                   flops_by_op=dict(d.get("flops_by_op", {})), flops_by_layer=dict(d.get("flops_by_layer", {})),
                   notes=["FLOPs by torch FlopCounterMode (matmul-class ops only); softmax, scaling and ReLU "
                          "counted as element-wise ops, not FLOPs",
                          "one dense forward pass per sample: the ANN needs no time steps"],
                   **{k: int(d[k]) for k in keys})

    @property
    def bytes_high(self) -> int:
        """Unfused: every op reads and writes its tensors in DRAM."""
        return self.weight_bytes + self.activation_bytes

    @property
    def bytes_low(self) -> int:
        """Fully fused: weights read once, inputs read and outputs written once."""
        return self.weight_bytes + self.io_bytes

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "factory"}
        d.update(bytes_low=self.bytes_low, bytes_high=self.bytes_high)
        return d


# ----------------------------------------------------------------------------- models
def dense_model(circuit: Circuit):
    """``torch.nn.Module`` of the dense ANN behind ``circuit`` (float32, circuit weights)."""
    torch = _torch()
    nn = torch.nn
    circuit.validate()
    order = [n for n in circuit.update_order() if n in circuit.populations]

    class DenseEquivalent(nn.Module):
        """Populations as ReLU units, projections as Linear layers (see dense_equivalent)."""

        def __init__(self):
            super().__init__()
            self.order, self.sizes = order, {n: circuit.node(n).size for n in circuit.nodes()}
            self.links = nn.ModuleDict()
            self.edges = []                                   # (key, pre, post)
            for i, (name, p) in enumerate(sorted(circuit.projections.items())):
                key = f"p{i}"
                if getattr(p, "structured", False):
                    self.links[key] = _structured_module(torch, p)
                    self.edges.append((key, tuple(p.pres), p.post))
                    continue
                lin = nn.Linear(p.shape[1], p.shape[0], bias=False)
                with torch.no_grad():
                    lin.weight.copy_(torch.as_tensor(p.dense_weights(), dtype=torch.float32))
                self.links[key] = lin
                self.edges.append((key, (p.pre,), p.post))
            self.bias = nn.ParameterDict()
            for n in order:
                b = np.broadcast_to(np.asarray(getattr(circuit.node(n).model, "bias", 0.0), float),
                                    (self.sizes[n],))
                if np.any(b != 0):
                    self.bias[n.replace(".", "_")] = nn.Parameter(torch.as_tensor(b.copy(), dtype=torch.float32))
            self.state = {}

        def forward(self, **inputs):
            acts = dict(inputs)
            ref = next(iter(inputs.values()))
            for n in self.order:
                total = None
                for key, pres, post in self.edges:
                    if post != n:
                        continue
                    xs = []
                    for pre in pres:
                        x = acts.get(pre)
                        if x is None:                          # backward edge: previous pass
                            x = self.state.get(pre, ref.new_zeros(ref.shape[0], self.sizes[pre]))
                        xs.append(x)
                    y = self.links[key](*xs)
                    total = y if total is None else total + y
                if total is None:
                    total = ref.new_zeros(ref.shape[0], self.sizes[n])
                bkey = n.replace(".", "_")
                if bkey in self.bias:
                    total = total + self.bias[bkey]
                acts[n] = torch.relu(total)
            self.state = {n: acts[n].detach() for n in self.order}
            return {n: acts[n] for n in self.order}

    return DenseEquivalent()


def dense_attention_model(n_tokens: int, dim: int, heads: int = 1, n_keys: int | None = None,
                          projections: bool = False):
    """Softmax attention with the shapes of a spiking attention circuit.

    ``forward(q, k, v)`` with ``(B, N, D)`` tensors returns ``(B, N, D)``:
    ``softmax(Q_h K_h^T / sqrt(D / H)) V_h`` per head ``h`` (``D / H`` channels each); with
    ``projections=True`` Q, K, V are first multiplied by ``D x D`` Linear layers and the
    result by an output Linear, as in a transformer block."""
    torch = _torch()
    nn = torch.nn
    for k, v in (("n_tokens", n_tokens), ("dim", dim), ("heads", heads)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError("dense_attention_model", k, f"is {v!r}; must be an int >= 1.")
    if dim % heads:
        raise ParameterError("dense_attention_model", "heads", f"{heads} does not divide dim={dim}.")

    class DenseAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_q, self.n_k, self.dim, self.heads = n_tokens, n_keys or n_tokens, dim, heads
            self.proj = nn.ModuleList([nn.Linear(dim, dim, bias=False) for _ in range(4)]) if projections else None

        def forward(self, q, k, v):
            if self.proj is not None:
                q, k, v = self.proj[0](q), self.proj[1](k), self.proj[2](v)
            b, h, dh = q.shape[0], self.heads, self.dim // self.heads
            qh = q.reshape(b, -1, h, dh).transpose(1, 2)
            kh = k.reshape(b, -1, h, dh).transpose(1, 2)
            vh = v.reshape(b, -1, h, dh).transpose(1, 2)
            scores = torch.matmul(qh, kh.transpose(-2, -1)) * (1.0 / dh ** 0.5)
            out = torch.matmul(torch.softmax(scores, dim=-1), vh).transpose(1, 2).reshape(b, -1, self.dim)
            return self.proj[3](out) if self.proj is not None else out

    return DenseAttention()


def _structured_module(torch, p):
    """The dense form of a structured projection (see the module docstring), input and output
    flat ``(batch, size)`` like ``nn.Linear``'s."""
    nn = torch.nn
    f32 = lambda a: torch.as_tensor(np.asarray(a, np.float64), dtype=torch.float32)  # noqa: E731

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(f32(p.weights))
            self.scale = None if p.scale is None else nn.Parameter(f32(p.scale).reshape(-1, 1))

        def forward(self, x):
            y = x.reshape(x.shape[0], -1, self.weight.shape[1]) @ self.weight.t()
            return (y if self.scale is None else y * self.scale).reshape(x.shape[0], -1)

    class Index(nn.Module):
        def __init__(self):
            super().__init__()
            w = np.broadcast_to(np.asarray(p.weights, np.float64), p.index.shape) * (p.index >= 0)
            self.register_buffer("idx", torch.as_tensor(np.maximum(p.index, 0), dtype=torch.long))
            self.weight = nn.Parameter(f32(w))

        def forward(self, x):
            return x[:, self.idx] * self.weight

    class Conv(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(f32(p.weights))

        def forward(self, x):
            y = torch.nn.functional.conv2d(x.reshape(x.shape[0], -1, *p.input_hw), self.weight,
                                           stride=p.stride, padding=p.padding)
            return y.reshape(x.shape[0], -1)

    class Product(nn.Module):
        def __init__(self):
            super().__init__()
            a, b, o = p.subscripts
            self.eq = f"z{a},z{b}->z{o}"
            m = p.full_mask().reshape(-1) if p.mask is not None else None
            self.register_buffer("mask", None if m is None else f32(m * p.weight))

        def forward(self, xa, xb):
            y = torch.einsum(self.eq, xa.reshape(xa.shape[0], *p.pre_shape),
                             xb.reshape(xb.shape[0], *p.pre_b_shape)).reshape(xa.shape[0], -1)
            return y * self.mask if self.mask is not None else y * p.weight

    return {"shared": Shared, "index": Index, "conv": Conv, "product": Product}[p.kind]()


# ----------------------------------------------------------------------------- counting
def count_workload(model, inputs: dict, name: str, batch: int, steps: int = 1, dtype_bytes: int = 2,
                   map_shape: tuple | None = None) -> Workload:
    """Run ``model(**inputs)`` once under FlopCounterMode and the byte counter (on ``meta``):
    :func:`spikeattn.convert.dense_workload.count_dense`, the one counter, as a Workload."""
    _torch()
    from spikeattn.convert.dense_workload import count_dense
    return Workload.from_counts(count_dense(model, inputs, dtype_bytes, map_shape), name, steps, batch=batch)


def dense_workload(circuit: Circuit, steps: int = 1, batch: int = 1, dtype_bytes: int = 2,
                   projections: bool = False) -> Workload:
    """The dense workload behind ``circuit`` for ``batch`` samples.

    Attention circuits (``circuit.meta["attention"]`` with ``n_query``, ``n_key``, ``dim``,
    ``heads``, as the builders in ``spikeattn.circuits.attention`` record) use
    :func:`dense_attention_model`; other circuits :func:`dense_model`."""
    torch = _torch()
    if not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ParameterError("dense_workload", "batch", f"is {batch!r}; must be an int >= 1.")
    att = circuit.meta.get("attention") if isinstance(circuit.meta, dict) else None
    if att:
        n_q, n_k, d, h = int(att["n_query"]), int(att.get("n_key", att["n_query"])), int(att["dim"]), int(att.get("heads", 1))
        model = dense_attention_model(n_q, d, h, n_keys=n_k, projections=projections)
        inputs = {"q": torch.zeros(batch, n_q, d), "k": torch.zeros(batch, n_k, d), "v": torch.zeros(batch, n_k, d)}
        w = count_workload(model, inputs, f"{circuit.name}: dense softmax attention", batch, steps, dtype_bytes,
                           map_shape=(n_q, n_k))
        w.factory = lambda: (dense_attention_model(n_q, d, h, n_keys=n_k, projections=projections),
                             {k: torch.randn(v.shape) for k, v in inputs.items()})
        if att.get("masked"):
            w.notes.append("the spiking circuit is masked; the dense baseline computes the full N x N map")
        return w
    model = dense_model(circuit)
    inputs = {n: torch.zeros(batch, s.size) for n, s in circuit.sources.items()}
    w = count_workload(model, inputs, f"{circuit.name}: dense ReLU network", batch, steps, dtype_bytes)
    w.factory = lambda: (dense_model(circuit), {k: torch.rand(v.shape) for k, v in inputs.items()})
    return w
