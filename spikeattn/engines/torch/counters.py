"""Event counting on the device, step by step, from the spike tensors.

The counts are those of :mod:`spikeattn.counts` (the numpy engine's, field by field):

* a node's ``spikes[t]`` = its non-zero outputs;
* a projection's ``messages[t]`` = non-zero pre outputs whose neuron has ``fan_out > 0``,
  its ops (``synaptic_acs``, or ``synaptic_macs`` for graded messages) = the sum over the
  pre outputs of ``fan_out`` (``trunc(|s|) * fan_out`` for count messages);
* a population's ``neuron_updates_active[t]`` = neurons that carry state or receive an event;
  ``idle = size - active``, ``state_bytes_* = active * state_bytes``.

A node's spikes are counted every step (one byte sum of ``s != 0``; a source's bool inputs for
all steps at once, before the run).  The ops and messages of
all its outgoing fan-out projections are the rows of ``M`` (``fan_out`` and ``[fan_out > 0]``
per projection; for count messages ``fan_out`` times ``trunc(|s|)``) summed over its
non-zero outputs, in float64 (exact: every sum is an integer far below 2**53), once per block
of steps: over the block's non-zero entries (``nonzero`` and ``index_add_``: one byte read per
output plus work per spike) when the outputs are sparse, as one product ``[s != 0] @ M`` when
they are dense (the spike counts of the block tell which).  A node's outputs are read where
the run keeps them anyway on the device (a source's inputs; a recorded population's record
on the CPU), else copied into a block buffer, one copy per step.  The per-step results stay
on the device and go to numpy once, in :meth:`DeviceCounts.finish`.

Where every outgoing ``fan_out`` repeats every ``p`` neurons (a shared matrix's depends only
on the input feature; a full one is constant), the outputs of each step are summed over the
``size / p`` groups instead (one byte pass, which also gives the spikes), and one product
with the ``p`` rows of ``M`` after the last step gives the ops and messages: no copy of the
outputs and no float pass over them.
"""
from __future__ import annotations

import numpy as np

#: bytes of temporaries one block sum may take (the block length follows)
BLOCK_BYTES = 32 << 20
MAX_BLOCK = 64
#: above this fraction of non-zero outputs a block is summed as one dense product
DENSE_BLOCK = 0.25


def block_steps(size: int, batch: int, k: int) -> int:
    """Steps per block: at most MAX_BLOCK, and temporaries (indices and gathered rows of
    ``M`` for every output, in the worst case that all are non-zero) within BLOCK_BYTES."""
    return max(1, min(MAX_BLOCK, BLOCK_BYTES // ((24 + 8 * k) * size * batch)))


def fan_out_period(outgoing: list, size: int) -> int | None:
    """The smallest ``p < size`` among the candidates (1 and the lowerings' ``period``) with
    every outgoing ``fan_out`` repeating every ``p`` neurons (e.g. a shared matrix's fan-out
    depends only on the input feature), or None."""
    fos = [lw.fan_out for lw in outgoing if lw.fan_out is not None]
    if not fos:
        return None
    for p in sorted({1, *(lw.period for lw in outgoing if lw.period)}):
        if p < size and size % p == 0 and all((fo.reshape(-1, p) == fo[:p]).all() for fo in fos):
            return p
    return None


#: int64 words summed per lane sum: each of a word's 8 bytes is 0 or 1, so a byte lane of the
#: sum of at most 255 words holds its count without a carry into the next lane
LANE_WORDS = 255
#: below this many mask entries the plain int32 byte sum (fewer operations) is faster
SWAR_MIN = 1 << 19


def count_true(torch, mask, out) -> None:
    """``out[b] = mask[b].sum()`` for a (batch, size) bool mask (bytes 0/1, as torch's bool
    results are).  A contiguous mask whose size is a multiple of 8 is read as int64 words and
    summed in groups of :data:`LANE_WORDS` (SWAR: eight byte counters per word, no carry),
    then the bytes of those few sums are added; torch's int32 sum of the bytes would first
    copy the whole mask to int32.  Else (small or other masks) that int32 sum."""
    b, n = mask.shape
    if not (mask.is_contiguous() and n % 8 == 0 and n >= 8 * LANE_WORDS and b * n >= SWAR_MIN):
        torch.sum(mask.view(torch.uint8), dim=1, dtype=torch.int32, out=out)
        return
    words = mask.view(torch.int64)                     # (b, n / 8)
    k = words.shape[1]
    full = k - k % LANE_WORDS
    lanes = [words[:, :full].reshape(b, -1, LANE_WORDS).sum(dim=2)]
    if full < k:
        lanes.append(words[:, full:].sum(dim=1, keepdim=True))
    lanes = lanes[0] if len(lanes) == 1 else torch.cat(lanes, dim=1)
    torch.sum(lanes.view(torch.uint8), dim=1, dtype=torch.int32, out=out)


def group_count(torch, mask, p: int):
    """``mask.view(batch, -1, p).sum(1)`` as int32 ``(batch, p)`` for a bool mask: with
    ``p % 8 == 0`` (contiguous) as int64 words summed over at most 255 groups at a time (byte
    lanes, no carry: see :func:`count_true`), else torch's int32 byte sum (a copy to int32)."""
    b = mask.shape[0]
    if p % 8 or not mask.is_contiguous() or mask.numel() < SWAR_MIN:
        return torch.sum(mask.reshape(b, -1, p).view(torch.uint8), dim=1, dtype=torch.int32)
    words = mask.view(torch.int64).view(b, -1, p // 8)           # (b, groups, p / 8)
    g = words.shape[1]
    full = g - g % LANE_WORDS
    lanes = [words[:, :full].reshape(b, -1, LANE_WORDS, p // 8).sum(dim=2)] if full else []
    if full < g:
        lanes.append(words[:, full:].sum(dim=1, keepdim=True))
    lanes = lanes[0] if len(lanes) == 1 else torch.cat(lanes, dim=1)   # (b, chunks, p / 8)
    return torch.sum(lanes.view(torch.uint8), dim=1, dtype=torch.int32)


class NodeCounter:
    """Spikes of one node and the ops/messages of its outgoing fan-out projections.

    ``history``: a ``(steps, batch, size)`` tensor on the device that holds the node's output
    of every step once the step has run, or None (the counter keeps a block buffer);
    ``known``: it holds every step's output already (a source's inputs), so a bool history's
    spikes are counted at once.  ``nonneg`` / ``integer`` (set by :meth:`DeviceCounts.add_node`):
    the outputs are never negative / integer levels, so ``trunc|s|`` skips the abs / trunc."""

    nonneg = integer = False

    def __init__(self, torch, device, name: str, size: int, outgoing: list, steps: int, batch: int,
                 history=None, known: bool = False):
        self.torch, self.device, self.name, self.steps, self.size = torch, device, name, steps, size
        self.spikes = torch.zeros((steps, batch), dtype=torch.int32, device=device)
        cols, abs_cols = [], []
        self.ops_col, self.msg_col = {}, {}        # projection -> ("plain" | "abs", column)
        for lw in outgoing:
            fo = lw.fan_out
            if fo is None:
                continue
            if lw.message == "count":
                self.ops_col[lw.name] = ("abs", len(abs_cols))
                abs_cols.append(fo)
            else:
                self.ops_col[lw.name] = ("plain", len(cols))
                cols.append(fo)
            self.msg_col[lw.name] = len(cols)
            cols.append(fo > 0)
        f64 = torch.float64
        self.m = self.buf = self.m_abs = self.abs_buf = None
        # fan-outs that repeat every p neurons: per step, the outputs summed over the groups of p
        self.period = p = fan_out_period(outgoing, size)
        if p is not None:
            cols, abs_cols = [c[:p] for c in cols], [c[:p] for c in abs_cols]
            self.red = torch.zeros((steps, batch, p), dtype=f64, device=device)
            self.abs_red = torch.zeros((steps, batch, p), dtype=f64, device=device) if abs_cols else None
        if cols:
            self.m = torch.as_tensor(np.stack(cols, 1).astype(np.float64), dtype=f64, device=device)
            self.buf = torch.zeros((steps, batch, len(cols)), dtype=f64, device=device)
        if abs_cols:
            self.m_abs = torch.as_tensor(np.stack(abs_cols, 1).astype(np.float64), dtype=f64, device=device)
            self.abs_buf = torch.zeros((steps, batch, len(abs_cols)), dtype=f64, device=device)
        self.history, self.block = history, block_steps(size, batch, len(cols) + len(abs_cols))
        self.blk, self.t0 = None, 0
        # outputs known before the run (a source's inputs): every step's spikes in one pass
        self.counted = known and history.dtype is torch.bool
        if self.counted:    # step by step: torch's int32 sum of one (steps * batch, size) block is ~5x slower
            for t in range(steps):
                count_true(torch, history[t], self.spikes[t])

    @staticmethod
    def estimate(size: int, outgoing: list, steps: int, batch: int, item: int = 8) -> int:
        """Device bytes: count buffers, the block buffer and the block sum's temporaries (or
        the per-step group sums of a periodic fan-out)."""
        k = sum(2 for lw in outgoing if lw.fan_out is not None)
        p = fan_out_period(outgoing, size)
        if p is not None:
            return 4 * steps * batch + 8 * k * (p + steps * batch) + 16 * steps * batch * p + 4 * batch * p
        extra = block_steps(size, batch, k) * batch * size * (item + 24 + 8 * k) if k else 0
        return 4 * steps * batch + 8 * k * (size + steps * batch) + extra

    def step(self, t: int, out, nz) -> None:
        """Step ``t``'s output ``out`` ``(batch, size)`` and ``nz = out != 0``."""
        if self.period is not None:
            return self._step_periodic(t, out, nz)
        if not self.counted:
            count_true(self.torch, nz, self.spikes[t])
        if self.m is None and self.m_abs is None:
            return
        if self.history is None:
            if self.blk is None:
                self.blk = self.torch.empty((self.block,) + tuple(out.shape), dtype=out.dtype, device=self.device)
            self.blk[t - self.t0].copy_(out)
        if t + 1 - self.t0 == self.block or t + 1 == self.steps:
            self._flush(t + 1)

    def _step_periodic(self, t: int, out, nz) -> None:
        """Sum the outputs over the ``size / p`` groups (a byte sum; ``trunc|s|`` for count
        messages) into ``red[t]``; the spikes are its sum; after the last step one product
        with the ``p`` rows of ``M`` gives every step's ops and messages."""
        torch, p = self.torch, self.period
        grouped = group_count(torch, nz, p)
        if not self.counted:
            torch.sum(grouped, dim=1, dtype=torch.int32, out=self.spikes[t])
        self.red[t].copy_(grouped)
        if self.abs_red is not None:
            if out.dtype is torch.bool:
                self.abs_red[t].copy_(grouped)
            else:
                lv = out if self.nonneg else out.abs()
                lv = lv if self.integer else lv.trunc()
                torch.sum(lv.reshape(out.shape[0], -1, p), dim=1, dtype=torch.float64, out=self.abs_red[t])
        if t + 1 == self.steps:
            rows = self.steps * self.red.shape[1]
            for m, red, buf in ((self.m, self.red, self.buf), (self.m_abs, self.abs_red, self.abs_buf)):
                if m is not None:
                    torch.mm(red.view(rows, -1), m, out=buf.view(rows, -1))

    def _flush(self, t1: int) -> None:
        torch, t0 = self.torch, self.t0
        self.t0 = t1
        x = self.history[t0:t1] if self.history is not None else self.blk[:t1 - t0]
        flat = x.reshape(-1, self.size)
        nz = flat if flat.dtype is torch.bool else flat != 0
        spikes = int(self.spikes[t0:t1].sum())
        if not spikes:
            return
        targets = [(self.m, self.buf, None), (self.m_abs, self.abs_buf, "abs")]
        if spikes > DENSE_BLOCK * flat.numel():
            for m, buf, kind in targets:
                if m is not None:
                    v = nz.to(torch.float64) if kind is None else flat.to(torch.float64).abs().trunc()
                    torch.mm(v, m, out=buf[t0:t1].view(flat.shape[0], -1))
            return
        rows, cols = nz.nonzero(as_tuple=True)
        for m, buf, kind in targets:
            if m is not None:
                rows_m = m[cols] if kind is None else m[cols] * flat[rows, cols].to(torch.float64).abs().trunc()[:, None]
                buf[t0:t1].view(flat.shape[0], -1).index_add_(0, rows, rows_m)


class DeviceCounts:
    """Per-step count buffers of a run on the device; :meth:`finish` fills an EventCounts."""

    def __init__(self, torch, device, steps: int, batch: int):
        self.torch, self.device, self.steps, self.batch = torch, device, steps, batch
        self.nodes: dict[str, NodeCounter] = {}
        self.active: dict[str, object] = {}       # population -> (steps, batch) int32
        self.own: dict[str, tuple] = {}           # projection counted by itself -> (ops, msgs) buffers

    def add_node(self, name: str, size: int, outgoing: list, history=None, known: bool = False,
                 nonneg: bool = False, integer: bool = False) -> NodeCounter:
        nc = self.nodes[name] = NodeCounter(self.torch, self.device, name, size, outgoing, self.steps, self.batch,
                                            history, known)
        nc.nonneg, nc.integer = nonneg, integer
        return nc

    def add_population(self, name: str):
        self.active[name] = self.torch.zeros((self.steps, self.batch), dtype=self.torch.int32, device=self.device)
        return self.active[name]

    def add_own(self, name: str):
        z = self.torch.zeros((2, self.steps, self.batch), dtype=self.torch.float64, device=self.device)
        self.own[name] = z
        return z

    def finish(self, counts, circuit, lowered: dict) -> None:
        """Copy every buffer to numpy once and fill ``counts`` (an EventCounts from new_counts)."""
        def host(x):
            return None if x is None else np.rint(x.cpu().numpy()).astype(np.int64)

        el = counts.elements
        for name, nc in self.nodes.items():
            el[name].fields["spikes"][:] = nc.spikes.cpu().numpy()
            plain, absb = host(nc.buf), host(nc.abs_buf)
            for pname, (kind, col) in nc.ops_col.items():
                ops = (plain if kind == "plain" else absb)[:, :, col]
                self._projection(el[pname].fields, ops, plain[:, :, nc.msg_col[pname]], lowered[pname])
        for pname, buf in self.own.items():
            both = host(buf)
            self._projection(el[pname].fields, both[0], both[1], lowered[pname])
        pops = circuit.populations
        for name, buf in self.active.items():
            f = el[name].fields
            n_active = buf.cpu().numpy().astype(np.int64)
            size, sb = pops[name].size, pops[name].model.state_bytes
            f["neuron_updates_active"][:] = n_active
            f["neuron_updates_idle"][:] = size - n_active
            f["state_bytes_read"][:] = f["state_bytes_written"][:] = n_active * sb

    @staticmethod
    def _projection(fields: dict, ops, msgs, lw) -> None:
        fields["synaptic_macs" if lw.graded else "synaptic_acs"][:] = ops
        fields["messages"][:] = msgs
        fields["weight_bytes_read"][:] = ops * lw.weight_bytes
