"""Modes: rewrite a captured graph for conversion, calibrate it and fine-tune it.

``prepare(gm, mode, levels)`` edits the FX graph of ``ExportedProgram.module()``:

* ``scaled_dot_product_attention`` is decomposed: ``softmax(Q K^T * scale + mask) V``;
* dropout is removed;
* ``relu`` / ``gelu`` (either approximation) / ``silu`` become unsigned quantisers (``gelu``
  and ``silu`` are approximated by a quantised ReLU; the fine-tune absorbs the difference);
* both operands of every product of two variable tensors (``matmul``/``bmm``, and an
  elementwise ``mul`` such as SwiGLU's ``silu(x W1) * (x W3)``) get signed quantisers unless
  they are quantiser outputs, so products become accumulate-only gates between integer levels;
* ``softmax``: ``exact`` / ``rate`` keep it (a floating-point host stage per step) and
  quantise its output; ``accumulate`` replaces it by ReLU attention
  ``quant(scores) / N_keys`` (no exponentials, no division by a variable);
* ``layer_norm``: ``exact`` / ``rate`` keep it (host stage); ``accumulate`` folds it to the
  affine map ``(x - mean(x)) * w / sigma + b`` with ``sigma`` the mean standard deviation
  on the calibration set (then a short fine-tune), so it joins the adjacent linear maps;
  ``rms_norm`` (``nn.RMSNorm`` or hand-written, see :func:`_normalise`) likewise: a host
  stage in ``exact`` / ``rate``, ``x * w / rms`` with ``rms`` frozen in ``accumulate``;
* max pooling (``max(dim)``, ``amax``) in ``accumulate`` mode gets a signed quantiser on its
  input, so :mod:`.ops.pooling` computes it exactly with accumulate-only neurons.

``levels`` = L activation levels (``exact``/``accumulate``, after quantisation-aware
fine-tuning); ``rate`` uses one level (binary IF neurons) with thresholds balanced to the
99.9th percentile of each activation on the calibration set and no fine-tune.
"""
from __future__ import annotations

import math

from ..errors import ParameterError
from .capture import where
from .quantiser import MASKED, setup_quantiser
from .registry import ConversionError

MODES = ("exact", "accumulate", "rate")
SHAPE_OPS = {"view", "reshape", "transpose", "permute", "select", "slice", "unsqueeze", "squeeze", "expand",
             "contiguous", "clone", "t", "flatten", "unflatten", "alias", "_unsafe_view"}


def _name(node):
    t = node.target
    return getattr(t, "__name__", str(t)).split(".")[0]


def _folded_ln_class(torch):
    class FoldedLayerNorm(torch.nn.Module):
        """``(x - mean(x)) * g + b``: LayerNorm with its standard deviation frozen;
        ``centre=False``: RMSNorm, ``x * g`` with its root mean square frozen."""

        def __init__(self, shape, weight, bias, eps, centre=True):
            super().__init__()
            n = int(math.prod(shape))
            self.shape, self.eps, self.centre = tuple(shape), float(eps), bool(centre)
            self.w0 = weight.detach().clone() if weight is not None else torch.ones(n)
            self.g = torch.nn.Parameter(self.w0.clone())
            self.b = torch.nn.Parameter(bias.detach().clone() if bias is not None else torch.zeros(n))
            self.state, self.stds = "quant", []

        def forward(self, x):
            dims = tuple(range(-len(self.shape), 0))
            c = x - x.mean(dims, keepdim=True) if self.centre else x
            if self.state == "observe":
                sd = torch.sqrt((c * c).mean(dims, keepdim=True) + self.eps)
                self.stds.append(sd.detach().reshape(-1).double())
                return c / sd * self.w0 + self.b
            return c * self.g + self.b
    return FoldedLayerNorm


def prepare(gm, mode: str, levels: int = 4):
    """Rewrite ``gm`` in place for ``mode`` (see module docstring) and return it."""
    if mode not in MODES:
        raise ParameterError("convert()", "mode", f"is {mode!r}.", f"use one of {list(MODES)}.")
    torch = setup_quantiser()
    from .quantiser import QuantModule
    aten = torch.ops.aten
    FoldedLN = _folded_ln_class(torch)
    L = 1 if mode == "rate" else int(levels)
    g = gm.graph
    counter = [0]

    def add_module(mod, prefix):
        counter[0] += 1
        name = f"spikeattn_{prefix}_{counter[0]}"
        gm.add_submodule(name, mod)
        return name

    def new_quant(signed, role, node):
        m = QuantModule(L, signed, 0.0 if signed else 0.5, role)
        m.origin = node.meta.get("spikeattn_origin") or where(node)
        return m

    def quant_after(node, signed, role, replace_uses=True):
        name = add_module(new_quant(signed, role, node), "q")
        with g.inserting_after(node):
            q = g.call_module(name, (node,))
        if replace_uses:
            node.replace_all_uses_with(q, delete_user_cb=lambda u: u is not q)
        q.meta = dict(node.meta)
        return q

    for node in list(g.nodes):
        if node.op == "call_module" and str(node.target).startswith("_guards"):
            g.erase_node(node)
    _normalise(g, aten)
    # 1. decompose scaled_dot_product_attention
    for node in list(g.nodes):
        if node.op == "call_function" and node.target is aten.scaled_dot_product_attention.default:
            q, k, v = node.args[:3]
            mask = node.args[3] if len(node.args) > 3 else node.kwargs.get("attn_mask")
            causal = node.args[5] if len(node.args) > 5 else node.kwargs.get("is_causal", False)
            scale = node.kwargs.get("scale")
            qs, ks = q.meta["val"].shape, k.meta["val"].shape
            scale = 1.0 / math.sqrt(int(qs[-1])) if scale is None else float(scale)
            add = torch.zeros(int(qs[-2]), int(ks[-2]))
            if causal:
                add = add.masked_fill(~torch.ones_like(add, dtype=torch.bool).tril(), -1e4)
            if mask is not None:
                if mask.op != "get_attr":
                    raise ParameterError("convert()", "attn_mask", "only constant attention masks convert.",
                                         "make the mask a buffer of the model.")
                m = _attr(gm, mask.target)
                add = add + (torch.where(m, 0.0, -1e4) if m.dtype == torch.bool else m.float())
            buf = f"spikeattn_mask_{counter[0] + 1}"
            counter[0] += 1
            gm.register_buffer(buf, add)
            with g.inserting_before(node):
                kt = g.call_function(aten.transpose.int, (k, -2, -1))
                s = g.call_function(aten.matmul.default, (q, kt))
                s = g.call_function(aten.mul.Tensor, (s, scale))
                mk = g.get_attr(buf)
                s = g.call_function(aten.add.Tensor, (s, mk))
                a = g.call_function(aten.softmax.int, (s, -1))
                a.meta["spikeattn_origin"] = where(node)   # (not its nn_module_stack: the re-export reads that)
                a.meta["n_keys"] = int(ks[-2])
                out = g.call_function(aten.matmul.default, (a, v))
            out.meta = dict(node.meta)
            node.replace_all_uses_with(out)
            g.erase_node(node)
    # 2. the main pass
    for node in list(g.nodes):
        if node.op != "call_function":
            continue
        t = node.target
        if t in (aten.dropout.default, aten.feature_dropout.default, aten.alpha_dropout.default):
            node.replace_all_uses_with(node.args[0])
            g.erase_node(node)
        elif t in (aten.relu.default, aten.gelu.default, aten.relu_.default, aten.silu.default):
            name = add_module(new_quant(False, _name(node), node), "q")
            with g.inserting_after(node):
                q = g.call_module(name, (node.args[0],))
            q.meta = dict(node.meta)
            node.replace_all_uses_with(q)
            g.erase_node(node)
        elif t in (aten.softmax.int, aten._softmax.default):
            n_keys = node.meta.get("n_keys") or int(node.meta["val"].shape[-1])
            if mode == "accumulate":
                name = add_module(new_quant(False, "relu_attention", node), "q")
                with g.inserting_after(node):
                    q = g.call_module(name, (node.args[0],))
                with g.inserting_after(q):
                    out = g.call_function(aten.mul.Tensor, (q, 1.0 / n_keys))
                node.replace_all_uses_with(out)
                g.erase_node(node)
            else:
                quant_after(node, False, "softmax")
        elif t is aten.layer_norm.default and mode == "accumulate":
            x, shape = node.args[:2]
            w = node.args[2] if len(node.args) > 2 else None
            b = node.args[3] if len(node.args) > 3 else None
            eps = node.args[4] if len(node.args) > 4 else 1e-5
            wt = _attr(gm, w.target) if w is not None else None
            bt = _attr(gm, b.target) if b is not None else None
            name = add_module(FoldedLN(shape, wt, bt, eps), "ln")
            with g.inserting_after(node):
                f = g.call_module(name, (x,))
            f.meta = dict(node.meta)
            node.replace_all_uses_with(f)
            g.erase_node(node)
        elif t is aten.rms_norm.default and mode == "accumulate":
            x, shape = node.args[:2]
            w = node.args[2] if len(node.args) > 2 else None
            eps = node.args[3] if len(node.args) > 3 and node.args[3] is not None else torch.finfo(torch.float32).eps
            wt = _attr(gm, w.target) if w is not None else None
            name = add_module(FoldedLN(shape, wt, None, eps, centre=False), "rms")
            with g.inserting_after(node):
                f = g.call_module(name, (x,))
            f.meta = dict(node.meta)
            node.replace_all_uses_with(f)
            g.erase_node(node)
        elif t in (aten.max.dim, aten.amax.default) and mode == "accumulate" and not _from_quant(gm, node.args[0]):
            name = add_module(new_quant(True, "operand", node), "q")   # max of quantised values: exact gates
            with g.inserting_before(node):
                q = g.call_module(name, (node.args[0],))
            node.replace_input_with(node.args[0], q)
    varying = _input_dependent(g)
    for node in list(g.nodes):
        gating = node.op == "call_function" and node.target is aten.mul.Tensor and \
            all(isinstance(a, torch.fx.Node) and a in varying for a in node.args[:2])   # SwiGLU / GeGLU
        if gating or (node.op == "call_function" and node.target in (aten.matmul.default, aten.bmm.default)):
            for arg in node.args[:2]:
                if arg.op == "get_attr" or _from_quant(gm, arg):
                    continue
                name = add_module(new_quant(True, "operand", node), "q")
                with g.inserting_before(node):
                    q = g.call_module(name, (arg,))
                node.replace_input_with(arg, q)
    g.eliminate_dead_code()
    g.lint()
    gm.recompile()
    return gm


def _input_dependent(g) -> set:
    """The nodes of ``g`` whose value depends on a graph input (not constants only)."""
    out = set()
    for node in g.nodes:
        if node.op == "placeholder" or any(a in out for a in node.all_input_nodes):
            out.add(node)
    return out


def _attr(gm, target):
    obj = gm
    for part in str(target).split("."):
        obj = getattr(obj, part)
    return obj


def _from_quant(gm, node) -> bool:
    from .quantiser import QuantModule
    while node.op == "call_function" and _name(node) in SHAPE_OPS:
        node = node.args[0]
    return node.op == "call_module" and isinstance(gm.get_submodule(node.target), QuantModule)


def calibrate(gm, x, mode: str, batch: int = 256) -> None:
    """Set every quantiser's threshold from activation percentiles on ``x``: ``vth =
    P / L`` with ``P`` the 99.9th (rate) or 99th percentile of ``|x|``; fold LayerNorms."""
    torch = setup_quantiser()
    from .quantiser import QuantModule
    qs = [m for m in gm.modules() if isinstance(m, QuantModule)]
    lns = [m for m in gm.modules() if hasattr(m, "stds")]
    for m in qs + lns:
        m.state = "observe"
    with torch.no_grad():
        for i in range(0, len(x), batch):
            gm(x[i:i + batch])
    pct = 99.9 if mode == "rate" else 99.0
    with torch.no_grad():
        for m in lns:
            sd = torch.cat(m.stds).mean()
            m.g.copy_(m.w0 / sd)
            m.stds, m.state = [], "quant"
        for m in qs:
            a = torch.cat(m.samples).float()
            p = float(torch.quantile(a[:200000], pct / 100)) if a.numel() else 1.0
            m.vth.fill_(max(p, 1e-3) / m.levels)
            m.samples, m.state = [], "quant"


def check_signal(gm, dense, x, train=None, batch: int = 256) -> None:
    """Refuse a quantised model ``gm`` that has lost the signal of the dense model ``dense``.

    A quantiser is dead when it rounds every one of its calibration inputs that carries
    signal to zero (unsigned: inputs > 0; signed: inputs != 0; masked attention scores, at
    or below ``quantiser.MASKED``, carry none).  The model is refused when on the calibration
    set ``x`` it predicts one class (argmax of the last dimension) where the dense model
    predicts several (none for more than 90 % of the samples) and some quantiser is dead (the issue's causal decoder at chance, whose
    attention thresholds were set by the mask); or, with ``train = (x, y)``, when its
    accuracy there is within 5 points of chance (the most frequent label) while the dense
    model's is at least 20 points above it.  The error names the dead quantisers' layers
    and the fix.  A model that keeps its predictions passes, even with a dead quantiser on
    a residual branch; an untrained model whose few quantisation levels flip its
    predictions, with no dead quantiser, passes too."""
    torch = setup_quantiser()
    from .quantiser import QuantModule
    seen, hooks = {}, []

    def hook(m, inp, out):
        v = inp[0].detach()
        live = (v > 0) if not m.signed else ((v != 0) & (v > MASKED) & torch.isfinite(v))
        s = seen.setdefault(m, [0, 0, 0.0])
        s[0] += int(live.sum())
        s[1] += int(((out.detach() != 0) & live).sum())
        if bool(live.any()):
            s[2] = max(s[2], float(v[live].abs().max()))

    def predict(model, data):
        with torch.no_grad():
            return torch.cat([model(data[i:i + batch]).argmax(-1).reshape(-1) for i in range(0, len(data), batch)])
    for m in gm.modules():
        if isinstance(m, QuantModule):
            hooks.append(m.register_forward_hook(hook))
    try:
        pq = predict(gm, x)
    finally:
        for h in hooks:
            h.remove()
    pd = predict(dense, x)
    lost = len(torch.unique(pq)) == 1 and int(torch.bincount(pd).max()) <= 0.9 * len(pd)
    what = f"predicts class {int(pq[0])} for every calibration sample where the dense model predicts " \
           f"{len(torch.unique(pd))} classes"
    if not lost and train is not None:
        xt, yt = train
        yt = yt.reshape(-1)
        chance = float(torch.bincount(yt).max()) / len(yt)
        aq, ad = (float((predict(mod, xt) == yt).float().mean()) for mod in (gm, dense))
        lost = ad >= chance + 0.2 and aq <= chance + 0.05
        what = f"scores {aq:.1%} on the training data (chance {chance:.1%}) against the dense model's {ad:.1%}"
    dead = [f"the {m.role} quantiser of {m.origin or 'an unnamed layer'} (threshold {float(m.vth.detach().abs()):.4g}, "
            f"largest of its {n} non-zero inputs {peak:.4g})" for m, (n, kept, peak) in seen.items() if n and not kept]
    if not lost or (not dead and train is None):   # unlabelled: a collapse with a cause, not a random model's noise
        return
    where_ = ("; ".join(dead) + (" rounds" if len(dead) == 1 else " round") + " every calibration input to zero"
              if dead else "no single quantiser rounds every calibration input to zero")
    raise ConversionError(
        f"the quantised model lost the signal: it {what}; {where_}. Fix: calibrate on data the model was "
        "trained on (calib=), let convert() see masked positions (attn_mask / is_causal, or masked_fill with a "
        "constant mask and -inf), raise levels, or fine-tune (train=, epochs=); convert(signal_check=False) "
        "converts a model whose predictions do not matter (random weights for a cost study).")


#: the grids (steps T) the accumulate-mode fine-tune trains on (see :func:`finetune`)
ACCUMULATE_GRIDS = (1, 2, 4, 8, 16)


def finetune(gm, x, y, epochs: int = 30, lr: float = 2e-3, batch: int = 64, seed: int = 0,
             cosine: bool = True, after_step=None, grids=(1,)) -> None:
    """Quantisation-aware fine-tune: Adam on cross-entropy through the quantisers (STE),
    with a cosine learning-rate schedule unless ``cosine=False``; ``after_step()`` runs
    after every optimiser step (e.g. to hold pruned weights at zero).

    ``grids``: each batch is quantised on the grid of one T drawn from it (every quantiser
    ``vth / T`` with ``T L`` levels, :class:`~.quantiser.QuantModule` ``grid``), the draws
    cycling through ``grids`` in a seeded random order.  A circuit run for T steps computes
    the model on the grid of T (reset by subtraction keeps the residual: finer steps, a
    smaller dead zone), so weights tuned on T = 1's grid alone can be poor on the others --
    mnist1d-attention fell from 54.8 % on T = 1's grid to 33.3 % on T = 16's (the ReLU
    attention relied on the coarse grid's dead zone) -- which is what made accuracy fall
    with T.  The quantisers are left on grid 1."""
    torch = setup_quantiser()
    from .quantiser import QuantModule
    qs = [m for m in gm.modules() if isinstance(m, QuantModule)]
    grids = tuple(int(t) for t in grids) or (1,)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(gm.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1)) if cosine else None
    k = 0
    try:
        for _ in range(epochs):
            perm = torch.randperm(len(x), generator=g)
            for i in range(0, len(x), batch):
                if len(grids) > 1:
                    if k % len(grids) == 0:
                        order = torch.randperm(len(grids), generator=g).tolist()
                    for m in qs:
                        m.grid = grids[order[k % len(grids)]]
                    k += 1
                idx = perm[i:i + batch]
                loss = torch.nn.functional.cross_entropy(gm(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                if after_step is not None:
                    after_step()
            if sched is not None:
                sched.step()
    finally:
        for m in qs:
            m.grid = 1


def _val(node):
    return node.meta.get("val") if hasattr(node, "meta") else None


def _float_cast(node) -> bool:
    """A dtype cast from one floating type to another (``x.float()``, ``type_as``, ``to``)."""
    src, out = _val(node.args[0]), _val(node)
    return src is not None and out is not None and hasattr(src, "dtype") and hasattr(out, "dtype") and \
        src.dtype.is_floating_point and out.dtype.is_floating_point


def _normalise(g, aten) -> None:
    """What ``torch.export`` leaves in a graph that the float64 conversion must not keep:

    * ``view`` becomes ``reshape``: export drops ``.contiguous()`` (nanoGPT's
      ``y.transpose(1, 2).contiguous().view(B, T, C)``), and the decomposed attention's
      outputs are not laid out as the original kernel's were;
    * floating-point casts (``x.float()``, ``type_as``, ``to(dtype)``) and the dtype asserts
      they leave are removed: the model is converted and checked in float64;
    * a ``masked_fill`` with ``-inf`` (or any value at or below ``quantiser.MASKED``) fills
      ``-1e4``, as ``prepare`` does for ``attn_mask`` and ``is_causal``, so masked scores stay
      finite and calibration recognises them;
    * a hand-written RMSNorm, ``x * rsqrt(mean(x ** 2, -1, keepdim=True) + eps)`` (or
      ``x / sqrt(...)``), becomes ``aten.rms_norm``.
    """
    for node in list(g.nodes):
        if node.op != "call_function":
            continue
        t = node.target
        if t is aten._assert_tensor_metadata.default:
            g.erase_node(node)
        elif t in (aten.to.dtype, aten._to_copy.default, aten.type_as.default) and _float_cast(node):
            node.replace_all_uses_with(node.args[0])
            g.erase_node(node)
        elif t is aten.view.default:
            node.target = aten.reshape.default
        elif t is aten.masked_fill.Scalar and float(node.args[2]) <= MASKED:
            node.args = (node.args[0], node.args[1], -1e4)
    for node in list(g.nodes):
        if node.op == "call_function" and node.target in (aten.mul.Tensor, aten.div.Tensor):
            _rms_pattern(g, aten, node)


def _rms_pattern(g, aten, node) -> None:
    """Replace ``node`` = ``x * rsqrt(mean(x^2) + eps)`` / ``x / sqrt(mean(x^2) + eps)`` by
    ``aten.rms_norm(x, shape, None, eps)`` when it is one."""
    import torch
    want = aten.rsqrt.default if node.target is aten.mul.Tensor else aten.sqrt.default
    a, b = node.args[:2]
    pairs = [(a, b), (b, a)] if node.target is aten.mul.Tensor else [(a, b)]
    for x, r in pairs:
        if not (isinstance(x, torch.fx.Node) and isinstance(r, torch.fx.Node)) or r.target is not want:
            continue
        add = r.args[0]
        if not isinstance(add, torch.fx.Node) or add.target not in (aten.add.Tensor, aten.add.Scalar) or \
                not isinstance(add.args[1], (int, float)):
            continue
        mean = add.args[0]
        if not isinstance(mean, torch.fx.Node) or mean.target is not aten.mean.dim or len(mean.args) < 3 or \
                not mean.args[2]:
            continue
        sq = mean.args[0]
        square = isinstance(sq, torch.fx.Node) and (
            (sq.target is aten.pow.Tensor_Scalar and sq.args[0] is x and sq.args[1] == 2) or
            (sq.target is aten.mul.Tensor and sq.args[0] is x and sq.args[1] is x))
        xv = _val(x)
        if not square or xv is None:
            continue
        nd = len(xv.shape)
        dims = sorted(d % nd for d in mean.args[1])
        if dims != list(range(nd - len(dims), nd)):
            continue
        shape = [int(xv.shape[d]) for d in dims]
        with g.inserting_before(node):
            rms = g.call_function(aten.rms_norm.default, (x, shape, None, float(add.args[1])))
        rms.meta = dict(node.meta)
        node.replace_all_uses_with(rms)
        g.erase_node(node)
        return
