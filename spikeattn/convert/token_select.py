"""Top-k token selection: a k-WTA spiking stage between two segments of a converted model.

Spec ``"topk:K@l"`` (``l`` default 1): before attention layer ``l`` keep the ``keep``
leading tokens (default 1: the CLS token the readout uses) and the ``K`` most important of
the other ``n - keep`` tokens; layers ``l, l+1, ...`` run on ``keep + K`` tokens.

Importance = the attention a token receives in layer ``l - 1``, in spike counts: with
``n_{h,q,i}(t)`` the level emitted at step ``t`` by the attention-map quantiser (head
``h``, query ``q``, key ``i``; integer 0..L)::

    s_i = sum_t sum_{h,q} n_{h,q,i}(t)            (torch reference: the one-step levels)
    s'_i = C * s_i + (C - 1 - c)                  c = candidate index 0..C-1, C = n - keep

``s'`` are distinct integers (ties broken toward the lower token index), so exactly ``K``
tokens are selected: the top-K of ``s'`` = ``np.argsort(-s', kind="stable")[:K]``.

Torch (quantised reference, fine-tune): the op ``spikeattn::token_select(x, att, vth, K,
keep)`` gathers ``x[:, :keep]`` and the selected tokens in index order (gradient flows to
``x``).  :func:`insert_token_select` puts it into a prepared graph in front of layer ``l``
and rewrites the downstream shapes (literal ``n`` -> ``keep + K``; all-zero attention
masks sliced; a non-zero mask is refused).

Spiking: the converter makes the op a stage of the Program (a :class:`~.program.HostStage`
of kind ``"kwta"``, so it ends a segment) whose function :class:`KWTAStage` runs
:func:`spikeattn.circuits.routing.kwta` (count mode) as a spiking circuit: the levels are
presented as threshold-line spikes (input neuron ``(h,q,i)`` spikes at window step
``t*L + m - 1`` iff ``n_{h,q,i}(t) >= m``; window ``T*L`` steps) plus one tie-break
neuron spiking at step 0, weights ``C`` and ``C - 1 - c``.  Its winners select which
tokens' recorded values reach the next segment (graded values: multiply-accumulates in
the first projections after the stage); unselected tokens have no neurons downstream.
The stage's events (``KWTAStage.counts``) are added by :func:`stage_counts`.  Latency:
the stage decides after ``T*L + C*(T*L*H*n_q) + C + 4`` steps of the k-WTA circuit.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import ParameterError, SpikeattnError
from .affine import Affine
from .registry import register_op

_OP = None


def _setup():
    """Register ``spikeattn::token_select`` (torch, lazily)."""
    global _OP
    import torch
    if _OP is not None:
        return torch

    def _index(att, vth, k, keep):
        n = att.shape[-1]
        c = n - keep
        counts = torch.round(att.detach().double() / (vth.detach().double().abs() + 1e-8))
        s = counts.sum(dim=(1, 2))[:, keep:]                       # (b, C)
        s2 = s * c + (c - 1 - torch.arange(c, dtype=s.dtype))
        top = torch.topk(s2, k, dim=1).indices.sort(dim=1).values + keep
        lead = torch.arange(keep).expand(att.shape[0], keep)
        return torch.cat([lead, top], dim=1)                       # (b, keep + k)

    @torch.library.custom_op("spikeattn::token_select", mutates_args=(),
                             schema="(Tensor x, Tensor att, Tensor vth, int k, int keep) -> Tensor")
    def token_select(x, att, vth, k, keep):
        idx = _index(att, vth, k, keep)
        return torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[-1])).clone()

    @token_select.register_fake
    def _(x, att, vth, k, keep):
        return x.new_empty((x.shape[0], keep + k, x.shape[2]))

    def setup_context(ctx, inputs, output):
        x, att, vth, k, keep = inputs
        ctx.save_for_backward(att, vth)
        ctx.k, ctx.keep, ctx.xshape = k, keep, x.shape

    def backward(ctx, grad):
        att, vth = ctx.saved_tensors
        idx = _index(att, vth, ctx.k, ctx.keep)
        gx = grad.new_zeros(ctx.xshape)
        gx.scatter_add_(1, idx[..., None].expand(-1, -1, ctx.xshape[-1]), grad)
        return gx, None, None, None, None

    token_select.register_autograd(backward, setup_context=setup_context)
    _OP = token_select
    return torch


def parse_topk(value: str):
    """``"K"`` or ``"K@l"`` -> ``(K, l)``."""
    k, _, layer = str(value).partition("@")
    try:
        k, layer = int(k), int(layer) if layer else 1
    except ValueError:
        k = layer = -1
    if k < 1 or layer < 1:
        raise ParameterError("sparsify", "topk", f"is 'topk:{value}'.",
                             "use 'topk:K' or 'topk:K@l' with K >= 1 tokens kept and layer l >= 1 "
                             "(scores come from the attention of layer l-1).")
    return k, layer


def insert_token_select(gm, k: int, layer: int = 1, keep: int = 1) -> dict:
    """Insert the selection before attention layer ``layer`` of a prepared graph module, in
    place (module docstring).  Returns ``{"layer", "k", "keep", "tokens_before", "tokens_after"}``."""
    torch = _setup()
    from .heads import find_attention
    atts = find_attention(gm)
    if not 1 <= layer < len(atts):
        raise ParameterError("sparsify", "topk", f"selects before layer {layer}; the model has {len(atts)} "
                             "attention layer(s) and scores come from the previous one.",
                             f"use 'topk:K@l' with 1 <= l <= {len(atts) - 1} (a model with >= 2 layers).")
    g = gm.graph
    nodes = {n.name: n for n in g.nodes}
    av_prev = nodes[atts[layer - 1].node]
    from .heads import quant_role
    att = av_prev.args[0]                     # back from A @ V to the attention-map quantiser
    for _ in range(8):
        if quant_role(gm, att) in ("relu_attention", "softmax"):
            break
        att = att.args[0]
    else:
        raise SpikeattnError(f"topk: no attention-map quantiser before '{av_prev.name}'.")
    # the residual stream entering layer `layer`: input of the module feeding its Q projection
    q_lin = next(n for n in g.nodes if n.op == "call_function" and "linear" in str(n.target)
                 and n.args[1].op == "get_attr" and str(n.args[1].target) == atts[layer].q + ".weight")
    x = q_lin.args[0]
    while not (x.op == "call_function" and "add" in str(x.target)):
        if x.op not in ("call_module", "call_function") or not x.args:
            raise SpikeattnError(f"topk: no residual stream found before layer {layer}. Fix: use a pre-norm "
                                 "transformer (x + attn(norm(x))).")
        x = x.args[0]
    n = int(x.meta["val"].shape[1])
    if not 1 <= k <= n - keep - 1:
        raise ParameterError("sparsify", "topk", f"keeps {k} of the {n - keep} candidate tokens.",
                             f"use 1 <= K <= {n - keep - 1} (K = {n - keep} would select every token).")
    new_n = keep + k
    with g.inserting_after(x):
        vth = g.get_attr(f"{att.target}.vth")
    with g.inserting_after(vth):
        sel = g.call_function(torch.ops.spikeattn.token_select.default, (x, att, vth, int(k), int(keep)))
    x.replace_all_uses_with(sel, delete_user_cb=lambda u: u is not sel)
    down, order = {sel}, list(g.nodes)
    for node in order[order.index(sel) + 1:]:
        if any(isinstance(a, torch.fx.Node) and a in down for a in node.all_input_nodes):
            down.add(node)
    from .modes import SHAPE_OPS
    counter = 0
    for node in order:
        if node not in down or node is sel or node.op != "call_function":
            continue
        name = getattr(node.target, "__name__", str(node.target)).split(".")[0]
        if name in SHAPE_OPS and len(node.args) > 1 and isinstance(node.args[1], (list, tuple)):
            node.args = (node.args[0], type(node.args[1])(new_n if a == n else a for a in node.args[1])) + \
                tuple(node.args[2:])
        for a in node.args:
            if isinstance(a, torch.fx.Node) and a.op == "get_attr" and str(a.target).startswith("spikeattn_mask_"):
                m = getattr(gm, str(a.target))
                if torch.any(m != 0):
                    raise ParameterError("sparsify", "topk", "an attention layer after the selection has a "
                                         "non-zero (causal or padding) mask.", "select tokens only in "
                                         "unmasked (bidirectional) attention.")
                counter += 1
                buf = f"{a.target}_sel{counter}"
                gm.register_buffer(buf, m[:new_n, :new_n].clone())
                with g.inserting_before(node):
                    na = g.get_attr(buf)
                node.replace_input_with(a, na)
    g.eliminate_dead_code()
    g.lint()
    gm.recompile()
    return {"layer": int(layer), "k": int(k), "keep": int(keep), "tokens_before": n, "tokens_after": new_n}


class KWTAStage:
    """The stage function: ``(x values, attention levels) -> selected x values`` per step,
    the selection made by a spiking k-WTA circuit (module docstring).  ``counts`` sums the
    circuit's EventCounts totals over calls; ``last_winners`` is the last batch's
    ``(batch, C)`` selection; ``circuits`` the k-WTA circuit per T."""

    def __init__(self, n, d, heads, n_q, k, keep, levels, engine="numpy"):
        self.n, self.d, self.heads, self.n_q, self.k, self.keep, self.levels = n, d, heads, n_q, k, keep, levels
        self.engine = engine
        self.counts: dict = {}
        self.circuits: dict = {}
        self.results: list = []
        self.taken = 0
        self.last_winners = None

    def take_results(self) -> list:
        """``[(circuit, EventCounts)]`` of the runs since the last call (for
        ``SpikingModel.run`` to add to its counts and ``last_results``)."""
        out, self.results = self.results, []
        self.taken += len(out)
        return out

    @property
    def candidates(self) -> int:
        return self.n - self.keep

    def circuit(self, T: int):
        from ..circuits.routing.wta import kwta
        if T not in self.circuits:
            C, L = self.candidates, self.levels
            per = self.heads * self.n_q
            rows = np.repeat(np.arange(C), per)
            # input neuron (h, q, c): flat index (h * n_q + q) * C + c of the candidate attention
            cols = (np.arange(per)[None, :] * C + np.arange(C)[:, None]).reshape(-1)
            W = sp.csr_matrix((np.full(rows.size, float(C)), (rows, cols)), shape=(C, per * C + 1)).tolil()
            W[:, per * C] = (C - 1 - np.arange(C)).astype(float)[:, None]
            s_max = float(C * T * L * per + C - 1)
            self.circuits[T] = kwta(C, self.k, "count", window=T * L, scores=W.tocsr(), score_max=s_max,
                                    name="kwta_tokens")
        return self.circuits[T]

    def spikes_in(self, levels: np.ndarray) -> np.ndarray:
        """``(T, batch, H*n_q*C)`` integer levels -> ``(T*L + 1, batch, H*n_q*C + 1)`` line spikes."""
        T, B, D = levels.shape
        L = self.levels
        m = np.arange(1, L + 1)
        lines = levels[:, :, None, :] >= m[None, None, :, None]           # (T, B, L, D)
        s = np.zeros((T * L, B, D + 1), bool)
        s[:, :, :D] = lines.transpose(0, 2, 1, 3).reshape(T * L, B, D)
        s[0, :, D] = True
        return s

    def select(self, levels: np.ndarray) -> np.ndarray:
        """Winners ``(batch, C)`` of the k-WTA circuit for levels ``(T, batch, H, n_q, n)``."""
        from ..circuits.routing.wta import required_steps, winners_from_spikes
        from ..simulate import simulate
        T = levels.shape[0]
        cand = levels[..., self.keep:].reshape(T, levels.shape[1], -1)
        c = self.circuit(T)
        steps = required_steps(c.meta)
        x = np.zeros((steps, cand.shape[1], cand.shape[2] + 1), bool)
        x[:T * self.levels] = self.spikes_in(np.rint(cand).astype(np.int64))
        r = simulate(c, {"in": x.astype(np.float64)}, steps=steps, engine=self.engine)
        self.results.append((c, r.counts))
        for key, v in r.counts.totals().items():
            self.counts[key] = self.counts.get(key, 0) + int(v)
        win = winners_from_spikes(r.spikes["winners"])
        if not np.all(win.sum(axis=1) == self.k):
            raise SpikeattnError(f"kwta stage: {win.sum(axis=1).tolist()} winners, expected {self.k} "
                                 "(the tie-break weights should make scores distinct).")
        self.last_winners = win
        return win

    def __call__(self, xv, av):
        T, B = xv.shape[:2]
        lv = av.reshape(T, B, self.heads, self.n_q, self.n)
        win = self.select(lv)
        idx = np.zeros((B, self.keep + self.k), np.int64)
        idx[:, :self.keep] = np.arange(self.keep)
        idx[:, self.keep:] = np.nonzero(win)[1].reshape(B, self.k) + self.keep
        x = xv.reshape(T, B, self.n, self.d)
        out = np.take_along_axis(x, idx[None, :, :, None], axis=2)
        return out.reshape(T, B, -1)


@register_op("spikeattn.token_select.default")
def token_select_op(ctx, node, x, att, vth, k, keep):
    if not isinstance(x, Affine) or not isinstance(att, Affine) or att.selection() is None:
        ctx.fail("token_select needs a circuit value x and quantised attention levels.",
                 "insert it with spikeattn.convert.token_select.insert_token_select.")
    name, cols, _scale = att.selection()
    size = ctx.program._size(name)
    levels = Affine(att.shape, {name: sp.csr_matrix((np.ones(len(cols)), (np.arange(len(cols)), cols)),
                                                    shape=(len(cols), size))}, np.zeros(len(cols)))
    _, n, d = x.shape
    _, H, nq, nk = att.shape
    L = ctx.program.levels[name][0]
    stage = KWTAStage(int(n), int(d), int(H), int(nq), int(k), int(keep), int(L))
    return ctx.program.host("kwta", stage, [x, levels], (1, int(keep) + int(k), int(d)))


def kwta_stages(sm) -> list:
    """The :class:`KWTAStage` s of a converted model (``SpikingModel``)."""
    return [h.fn for h in sm.program.host_stages if isinstance(h.fn, KWTAStage)]


def stage_counts(sm) -> dict:
    """EventCounts totals of the k-WTA stages since they were built (or last reset), to add
    to ``sm.last_counts["totals"]`` (unless ``SpikingModel.run`` took them already:
    :func:`counted_by_run`)."""
    out: dict = {}
    for st in kwta_stages(sm):
        for key, v in st.counts.items():
            out[key] = out.get(key, 0) + v
    return out


def counted_by_run(sm) -> bool:
    """True when ``SpikingModel.run`` already adds the stages' events to its counts."""
    return any(st.taken for st in kwta_stages(sm))


def reset_stage_counts(sm) -> None:
    for st in kwta_stages(sm):
        st.counts, st.results = {}, []
