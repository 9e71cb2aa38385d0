"""Projections as torch operations: one lowering per projection type (Nengo's builder style).

At each step, once all its pre nodes have emitted, a lowered projection turns their
outputs into

* ``emit(t, outs, nzs, cols) -> (value, event)``: ``value`` is the input it adds to its post,
  ``(batch, n_post)`` in the run's dtype, ``W @ m(s)`` with the message value ``m`` of
  :mod:`spikeattn.dynamics.synapses` (binary ``[s != 0]``, or ``sign(s)`` from a
  signed-output model; graded and count ``s``) — or, from a shared projection with delay 0,
  a :class:`~.structured.SharedTerm` that the post multiplies together with the other terms
  of the same matrix (:func:`~.structured.arrived_sum`); ``event`` is kept in the delay ring
  with it;
* ``received(event)``: ``(batch, n_post)`` bool, the post neurons that get at least one event
  over an existing synapse, for the active-update rule of :mod:`spikeattn.counts` (asked only
  where a post neuron does not carry state anyway);
* its synaptic ops and messages: for projections with a per-pre-neuron ``fan_out`` the
  engine counts them for all projections of a pre node at once
  (:class:`~spikeattn.engines.torch.counters.NodeCounter`); a lowering without ``fan_out``
  (a product) writes them itself in ``emit``, into ``counts`` (``(2, steps, batch)``: ops,
  messages), which the engine gives it.

``outs`` (the outputs), ``nzs`` (``outs != 0``) and ``cols`` hold one entry per pre node;
``cols[k]`` is, on the CPU, the indices of the pre neurons that are non-zero in some sample
(a lowering may then touch only their rows, as the numpy engine touches only the rows of
spiking neurons), and None on a GPU (where finding them would cost a host sync per step).

:func:`lower` dispatches on the projection's class hierarchy (:func:`register_lowering`;
:mod:`.structured` registers the structured kinds); a projection type without a lowering is
refused up front by the engine's feature check.  Every lowering states ``device_bytes(batch)``
and ``event_bytes(batch)``, the memory it holds on the device and per delay slot, so the
engine can refuse a run before allocating it.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...dynamics.synapses import SynapseTable, signed_output
from ...errors import UnsupportedFeatureError
from ...ir import Projection

LOWERINGS: dict[type, type] = {}

#: A flat projection runs as a dense matmul unless it is large and sparse: more than
#: DENSE_MAX_ENTRIES matrix entries with a density below DENSE_MIN_DENSITY (then torch CSR).
DENSE_MAX_ENTRIES = 1 << 16
DENSE_MIN_DENSITY = 0.1
#: On the CPU a dense product uses only the rows of the active pre neurons when they are
#: fewer than this fraction of the pre neurons (gathering them costs less than the product).
COMPACT_MAX_FRACTION = 0.5
#: ... and a CSR product gathers the synapses of the active rows (batch x synapses entries)
#: up to this many entries.
GATHER_MAX_ENTRIES = 1 << 21


def register_lowering(proj_type: type):
    """Class decorator: ``@register_lowering(Projection) class FlatLowering: ...``."""
    def deco(cls):
        LOWERINGS[proj_type] = cls
        return cls
    return deco


def lowering_class(proj) -> type:
    for k in type(proj).__mro__:
        if k in LOWERINGS:
            return LOWERINGS[k]
    raise UnsupportedFeatureError(f"engine 'torch' has no lowering for projection '{proj.name}' "
                                  f"({type(proj).__name__}).")


class Context:
    """What every lowering needs: ``torch``, ``device``, ``dtype`` (float of the run),
    ``batch``, the ``circuit``, ``signed`` (node -> whether its outputs carry a sign) and
    ``bool_inputs`` (source -> whether its encoded input is bool); :meth:`memo` shares a
    result between lowerings within one step."""

    def __init__(self, torch, device, dtype, batch: int, circuit, inputs: dict):
        self.torch, self.device, self.dtype, self.batch, self.circuit = torch, device, dtype, batch, circuit
        self.signed = {n: signed_output(circuit, n) for n in circuit.nodes()}
        self.bool_inputs = {n: np.asarray(x).dtype == bool for n, x in inputs.items()}
        self.itemsize = torch.empty((), dtype=dtype).element_size()
        self._memo: dict = {}

    def new_step(self) -> None:
        """Forget the results of the previous step (:meth:`memo`)."""
        self._memo.clear()

    def memo(self, key, tensors: tuple, compute):
        """``compute()``, or its result from earlier in this step for the same ``key`` and the
        very same ``tensors`` (e.g. the two relays of a signed product: one einsum).  The entry
        holds the tensors, so none of them is freed and its id reused within the step."""
        hit = self._memo.get(key)
        if hit is not None and len(hit[0]) == len(tensors) and all(x is y for x, y in zip(hit[0], tensors)):
            return hit[1]
        value = compute()
        self._memo[key] = (tensors, value)
        return value

    def tensor(self, arr, dtype=None):
        return self.torch.as_tensor(np.require(arr, requirements=("C", "W")), dtype=dtype or self.dtype,
                                    device=self.device)


class Lowered:
    """Base class.  ``pres``: pre node names; ``post``; ``delay``; ``message``; ``graded``
    (ops are multiply-accumulates); ``n_pre`` (all pre nodes), ``n_post``; ``fan_out``:
    existing synapses per pre neuron (numpy int64), or None when ``emit`` counts the
    projection itself (into ``counts``)."""

    fan_out: np.ndarray | None = None
    weight_bytes: int = 4          # float32 weights on the modelled hardware
    counts = None
    uses_cols = False              # whether emit / received read ``cols`` (CPU)
    period: int | None = None      # fan_out repeats every this many pre neurons (a hint for counting)

    def _common(self, proj, ctx: Context, n_pre: int, n_post: int) -> None:
        self.ctx, self.name, self.pres, self.post = ctx, proj.name, tuple(getattr(proj, "pres", (proj.pre,))), proj.post
        self.delay, self.message, self.graded = int(proj.delay), proj.message, proj.message == "graded"
        self.n_pre, self.n_post = n_pre, n_post

    def event_bytes(self, batch: int) -> int:
        """Device bytes of one delay slot's event (default: the pre spikes, one byte each)."""
        return batch * self.n_pre

    def describe(self) -> str:
        return type(self).__name__

    def message_value(self, s, nz, pre: str):
        """``m(s)`` in the run's dtype (``nz = s != 0``, already computed)."""
        ctx = self.ctx
        if self.message == "binary":
            return ctx.torch.sign(s).to(ctx.dtype) if ctx.signed[pre] else nz.to(ctx.dtype)
        return s.to(ctx.dtype)


def _full(nnz: int, n_pre: int, n_post: int) -> bool:
    return nnz == n_pre * n_post


@register_lowering(Projection)
class FlatLowering(Lowered):
    """A flat :class:`~spikeattn.ir.Projection` from its :class:`SynapseTable`.

    Dense ``(n_pre, n_post)`` weights and ``m @ W_t`` when the matrix is small or dense (on the
    CPU only the rows of the active pre neurons when they are few); else torch CSR
    ``(n_post, n_pre)`` and ``(W @ m^T)^T``, and on the CPU, when the active rows hold few
    synapses, a gather of those rows of ``W_t`` and one ``index_add_`` (the numpy engine's
    event-driven propagation).  ``received``: the same product with the synapse pattern (ones)
    ``> 0``; a full matrix needs none: every post neuron of a sample receives an event iff any
    pre neuron of the sample spiked."""

    uses_cols = True

    def __init__(self, proj, ctx: Context, table: SynapseTable):
        self._common(proj, ctx, table.n_pre, table.n_post)
        self.table = table
        self.fan_out, self.weight_bytes = table.fan_out, table.weight_bytes
        nnz = table.synapses
        entries = self.n_pre * self.n_post
        self.dense = entries <= DENSE_MAX_ENTRIES or nnz >= DENSE_MIN_DENSITY * entries
        self.full = _full(nnz, self.n_pre, self.n_post)
        self.cpu = ctx.device.type == "cpu"
        self.w = self.pattern = self.rows = None

    def device_bytes(self, batch: int) -> int:
        nnz, item = self.table.synapses, self.ctx.itemsize
        if self.dense:
            return self.n_pre * self.n_post * item * (1 if self.full else 2)
        csr = nnz * (item + 8) + (self.n_post + 1) * 8
        rows = nnz * (item + 8) + (self.n_pre + 1) * 8 + GATHER_MAX_ENTRIES * (item + 24) if self.cpu else 0
        return csr * (1 if self.full else 2) + rows

    def build(self) -> None:
        """Move the weights (and the synapse pattern) to the device."""
        ctx, torch = self.ctx, self.ctx.torch
        w_t = self.table.w_t
        if self.dense:
            self.w = ctx.tensor(w_t.toarray())
            if not self.full:
                self.pattern = ctx.tensor(w_t.toarray() != 0)
            return
        w = w_t.T.tocsr()
        w.sort_indices()

        def csr(data):   # indices from a canonical scipy CSR: torch's invariant check is not needed
            return torch.sparse_csr_tensor(ctx.tensor(w.indptr, torch.int64), ctx.tensor(w.indices, torch.int64),
                                           ctx.tensor(data), size=w.shape, check_invariants=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
            self.w = csr(w.data)
            if not self.full:
                self.pattern = csr(np.ones_like(w.data))
        if self.cpu:   # the rows of W_t (pre -> its synapses), for the event-driven gather
            self.rows = (ctx.tensor(w_t.indptr, torch.int64), ctx.tensor(w_t.indices, torch.int64),
                         ctx.tensor(w_t.data))

    def describe(self) -> str:
        return ("dense" if self.dense else "csr") + (", full" if self.full else "")

    def _mode(self, cols) -> str:
        """"rows" (dense, CPU, few active pre neurons), "gather" (CSR, CPU, the active rows
        hold few synapses) or "all"."""
        if cols is None or cols.numel() >= COMPACT_MAX_FRACTION * self.n_pre:
            return "all"
        if self.dense:
            return "rows"
        total = int(self.fan_out[cols.numpy()].sum())
        return "gather" if total * self.ctx.batch <= GATHER_MAX_ENTRIES else "all"

    def _gather(self, m_c, cols, values: bool):
        """``m_c @ W_t[cols]`` (``values``: the weights, else the pattern) by gathering the
        synapses of the active rows: ``(batch, n_post)``."""
        torch = self.ctx.torch
        indptr, indices, data = self.rows
        starts = indptr[cols]
        lengths = indptr[cols + 1] - starts
        owner = torch.repeat_interleave(torch.arange(cols.numel()), lengths)
        idx = torch.repeat_interleave(starts - (torch.cumsum(lengths, 0) - lengths), lengths) + \
            torch.arange(owner.numel())
        contrib = m_c[:, owner] * data[idx] if values else m_c[:, owner]
        out = torch.zeros((m_c.shape[0], self.n_post), dtype=self.ctx.dtype)
        return out.index_add_(1, indices[idx], contrib)

    def _product(self, cols, values: bool, m_of):
        """``m @ W_t`` (``values``) or ``m @ pattern``, ``m = m_of(sel)`` the message values of
        the pre columns ``sel`` (None: all)."""
        mode = self._mode(cols)
        mat = self.w if values else self.pattern
        if mode == "rows":
            return m_of(cols) @ mat.index_select(0, cols)
        if mode == "gather":
            return self._gather(m_of(cols), cols, values)
        m = m_of(None)
        return m @ mat if self.dense else self.ctx.torch.sparse.mm(mat, m.T).T

    def emit(self, t, outs, nzs, cols):
        s, nz = outs[0], nzs[0]

        def m_of(sel):
            return self.message_value(s, nz, self.pres[0]) if sel is None else \
                self.message_value(s.index_select(1, sel), nz.index_select(1, sel), self.pres[0])
        return self._product(cols[0], True, m_of), (nz, cols[0])

    def received(self, event):
        nz, cols = event
        if self.full:
            return nz.any(dim=1, keepdim=True).expand(-1, self.n_post)
        dtype = self.ctx.dtype
        return self._product(cols, False, lambda sel: (nz if sel is None else nz.index_select(1, sel)).to(dtype)) > 0


def lower(circuit, ctx: Context, tables: dict) -> dict[str, Lowered]:
    """Every projection of ``circuit`` lowered (nothing on the device yet: call ``build()``);
    ``tables``: the SynapseTables of the flat projections."""
    return {name: lowering_class(proj)(proj, ctx, tables.get(name)) for name, proj in circuit.projections.items()}
