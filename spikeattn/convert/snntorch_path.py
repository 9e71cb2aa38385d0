"""snnTorch models -> spikeattn circuits, spike for spike.

``snntorch_to_circuit(net)`` takes any ``nn.Module`` whose per-step ``forward`` chains
connection layers (``nn.Linear``, ``nn.Conv1d/2d/3d``) and spiking layers (``snn.Leaky``,
``snn.Synaptic``) alternately, wherever they are kept: an ``nn.Sequential``, separate
``nn.ModuleList`` s used in a loop (``self.fcs[i]``, ``self.lifs[i]``), or named attributes
called by a hand-written forward.  The order is the forward's, not the registration order:
:func:`trace` runs one step of the forward on a copy of ``net`` with a probe input, records
the calls of those leaf modules with forward hooks and follows every tensor between them
with a ``TorchFunctionMode``.  Between two layers only reshapes (``view``, ``reshape``,
``flatten``, ``squeeze``/``unsqueeze``, dtype casts) are allowed; anything else (a skip
connection, a pooling, a concatenation, a module called twice) is refused with a
:class:`~spikeattn.errors.ParameterError` that names the module and the fix.  An
``nn.ModuleList`` given directly (it has no forward) is read as the chain of its items.

snnTorch 1.0 neurons (read from its source), with ``I`` the connection's output,
``reset[t] = mem[t-1] > threshold`` (detached; = spk[t-1] for reset_delay=True)::

    Leaky,    subtract: mem[t] = beta * mem[t-1] + I[t] - reset[t] * threshold
    Leaky,    zero:     mem[t] = beta * (1 - reset[t]) * mem[t-1] + I[t]
    Synaptic:           syn[t] = alpha * syn[t-1] + I[t]
              subtract: mem[t] = beta * mem[t-1] + syn[t] - reset[t] * threshold
              zero:     mem[t] = (beta * mem[t-1] + syn[t]) * (1 - reset[t])
    spk[t] = mem[t] > threshold
    reset_delay=False additionally subtracts (spk[t] - reset[t]) * threshold (or resets to 0)
    at once.  With subtraction the reset term of step t is taken from the post-subtraction
    membrane before firing, so a neuron still above threshold after a subtraction needs
    ``mem > 2 threshold`` to fire again; the LIF fires at ``> threshold``.  Outside that
    regime (and always with reset "zero") the two agree exactly.

Mapping: a connection -> one projection with ``delay=0`` (a convolution as its explicit
sparse ``(out, in)`` matrix over the C-order flattened maps, read from the layer by probing
it with unit inputs; its bias -> the population's bias); ``Leaky`` ->
``LIF(du=1, dv=1-beta, vth=threshold)``, ``Synaptic`` -> ``LIF(du=1-alpha, dv=1-beta)``.
Reset "zero" with ``reset_delay=False`` is that LIF exactly, and so is ``Leaky`` reset
"zero" with the default ``reset_delay=True``; ``Synaptic`` reset "zero" with
``reset_delay=True`` zeroes the whole next step's membrane, i.e. the LIF with
``refractory=1``.  ``reset_delay=False`` with subtraction is the LIF outside the regime
above.  The default ``reset_delay=True`` with subtraction lands the subtraction one step
later, *undecayed*: the LIF subtracts at once and the decay then scales it by beta, so a
delay-1 self-projection of weight ``-(1 - beta) * threshold`` adds the missing part (into
``u``; for ``Synaptic`` with ``alpha > 0`` a delay-2 self-projection of weight
``+alpha (1 - beta) threshold`` cancels what ``u`` would carry on) and the spikes agree
exactly.  These self-projections are the *reset emulation*: no snnTorch layer holds them,
so they are listed apart in ``circuit.meta["snntorch"]["reset_emulation"]`` (NeuroBench's
``Dense`` and ``Effective_ACs`` do not include them: :mod:`hardware_models.neurobench_parity`).

``circuit.meta["snntorch"]`` also holds ``populations`` (neuron module name -> population),
``connections`` (connection module name -> projection) and ``dense_synapses`` (projection
-> the number of (input, output) pairs the layer connects, zero weights included: ``in*out``
for a Linear, the receptive fields inside the input for a convolution; NeuroBench's
``Dense`` per step).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, require
from ..ir import LIF, Circuit

# ops that only re-view a tensor (C-order kept) or cast it: allowed between two layers
_SHAPE_OPS = frozenset({"view", "reshape", "flatten", "squeeze", "unsqueeze", "contiguous", "clone", "detach",
                        "float", "double", "half", "to", "type", "type_as", "view_as", "reshape_as", "cpu"})


def _libs():
    return require("torch", "torch", "snntorch_to_circuit"), require("snntorch", "torch", "snntorch_to_circuit")


def _kinds():
    torch, snn = _libs()
    nn = torch.nn
    return (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d), (snn.Leaky, snn.Synaptic), snn.SpikingNeuron


@dataclass
class Layer:
    """One traced call: a connection or a spiking layer, in forward order."""

    name: str
    module: object
    in_shape: tuple = ()           # per-sample shape of the tensor it received
    out_shape: tuple = ()          # per-sample shape of its output (spikes for a neuron)


def _where(net) -> str:
    return f"snntorch_to_circuit({type(net).__name__})"


_FIX = ("make the per-step forward alternate connection and neuron layers, x -> connection -> neuron -> "
        "connection -> neuron ..., each layer "
        "taking the previous one's output (spikes) with at most a reshape in between (view/reshape/flatten), "
        "each module called once, the first output being the last neuron's spikes; connections are "
        "nn.Linear/nn.Conv1d/2d/3d, neurons snn.Leaky/snn.Synaptic.")


def _probe_input(net, input_shape):
    torch, _ = _libs()
    conns, _, _ = _kinds()
    if input_shape is None:
        first = next((m for m in net.modules() if isinstance(m, conns)), None)
        if not isinstance(first, torch.nn.Linear):
            raise ParameterError(_where(net), "input_shape", "is needed: the first connection layer is "
                                 f"{type(first).__name__ if first is not None else 'missing'}, whose input "
                                 "size it does not state.", "pass input_shape=(C, H, W) (one sample, one step).")
        input_shape = (first.in_features,)
    dtype = next((p.dtype for p in net.parameters() if p.is_floating_point()), torch.float32)
    gen = torch.Generator().manual_seed(0)
    return torch.rand((2, *tuple(int(s) for s in input_shape)), generator=gen).to(dtype) + 0.5


def trace(net, input_shape=None) -> list[tuple[Layer, Layer]]:
    """``[(connection, neuron), ...]`` in forward order, or a ParameterError saying why not.

    Runs one forward step of a deep copy of ``net`` (``net`` itself and its state are not
    touched) on a probe batch of shape ``(2, *input_shape)`` (default: the first Linear's
    ``in_features``)."""
    torch, _ = _libs()
    conns, _, spiking = _kinds()
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_flatten
    where = _where(net)
    try:
        work = copy.deepcopy(_chain(net) if isinstance(net, (torch.nn.Sequential, torch.nn.ModuleList)) else net).eval()
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never a traceback
        raise ParameterError(where, "net", f"cannot be copied for tracing ({type(exc).__name__}: {exc}).",
                             "give a module that copy.deepcopy can copy.") from None
    x = _probe_input(work, input_shape)
    batch = x.shape[0]
    tags: dict[int, tuple] = {}      # id(tensor) -> ("input"|"conn"|"spk"|"state"|"mixed", call index | op)
    keep: list = []                  # keeps tagged tensors alive (ids stay unique)
    calls: list[dict] = []
    depth = [0]

    def tag(t, value):
        if isinstance(t, torch.Tensor):
            tags[id(t)] = value
            keep.append(t)

    def tag_of(t):
        return tags.get(id(t)) if isinstance(t, torch.Tensor) else None

    class Follow(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if depth[0]:
                return out
            ins = [t for t in tree_flatten((args, kwargs or {}))[0] if tag_of(t) is not None]
            if not ins:
                return out
            outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
            name = getattr(func, "__name__", str(func))
            src = tag_of(args[0]) if args else None
            if (name in _SHAPE_OPS and len(ins) == 1 and src is not None and src[0] in ("input", "spk")
                    and len(outs) == 1 and outs[0].dim() >= 1 and outs[0].shape[0] == batch
                    and outs[0].numel() == args[0].numel()):
                tag(outs[0], src)
            else:
                what = ", ".join(_describe(tag_of(t), calls) for t in ins)
                for t in outs:
                    tag(t, ("mixed", f"{name}({what})"))
            return out

    names = {id(m): n for n, m in work.named_modules()}

    def pre(mod, args, kwargs):
        if depth[0] == 0:
            calls.append({"name": names.get(id(mod), "?"), "module": mod, "args": args, "kwargs": kwargs})
        depth[0] += 1

    def post(mod, args, kwargs, out):
        depth[0] -= 1
        if depth[0]:
            return
        i = len(calls) - 1
        calls[i]["out"] = out
        if isinstance(mod, spiking):
            flat = [out] if isinstance(out, torch.Tensor) else list(out)
            tag(flat[0], ("spk", i))
            for t in flat[1:]:
                tag(t, ("state", i))
        else:
            for t in tree_flatten(out)[0]:
                tag(t, ("conn", i))

    leaves = [m for m in work.modules() if isinstance(m, conns + (spiking,))]
    hooks = [h for m in leaves for h in (m.register_forward_pre_hook(pre, with_kwargs=True),
                                         m.register_forward_hook(post, with_kwargs=True))]
    tag(x, ("input", None))
    try:
        with torch.no_grad(), Follow():
            result = work(x)
    except ParameterError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's forward failed on the probe
        raise ParameterError(where, "forward", f"failed on a probe input of shape {tuple(x.shape)} "
                             f"(batch, *input_shape): {type(exc).__name__}: {exc}.",
                             "pass input_shape= (one sample, one step), and make forward(x) compute one step "
                             "from x of shape (batch, *input_shape) and return (spikes, membrane).") from None
    finally:
        for h in hooks:
            h.remove()
    return _check(net, calls, result, tag_of)


def _describe(t, calls) -> str:
    if t is None:
        return "a constant"
    kind, i = t
    if kind == "input":
        return "the input"
    if kind == "mixed":
        return i
    what = {"conn": "output", "spk": "spikes", "state": "state"}[kind]
    return f"the {what} of '{calls[i]['name']}'"


def _check(net, calls, result, tag_of):
    torch, _ = _libs()
    conns, neurons, spiking = _kinds()
    where = _where(net)

    def refuse(problem):
        raise ParameterError(where, "forward", problem, _FIX)

    if not calls:
        refuse("calls no nn.Linear/nn.Conv or snnTorch neuron layer.")
    seen = {}
    for i, c in enumerate(calls):
        mod, name = c["module"], c["name"]
        if id(mod) in seen:
            refuse(f"calls '{name}' twice (calls {seen[id(mod)]} and {i}); a shared layer has no one-projection "
                   "equivalent.")
        seen[id(mod)] = i
        want = conns if i % 2 == 0 else neurons
        if not isinstance(mod, want):
            kind = "a connection (nn.Linear/nn.Conv1d/2d/3d)" if i % 2 == 0 else "a neuron (snn.Leaky/snn.Synaptic)"
            refuse(f"calls '{name}' ({type(mod).__name__}) as layer call {i} in the order "
                   f"{[(k['name'], type(k['module']).__name__) for k in calls]}, where {kind} must come.")
        args = list(c["args"]) + list(c["kwargs"].values())
        if not args or not isinstance(args[0], torch.Tensor):
            refuse(f"calls '{name}' without a tensor input.")
        expect = ("input", None) if i == 0 else (("spk", i - 1) if i % 2 == 0 else ("conn", i - 1))
        got = tag_of(args[0])
        if got != expect:
            refuse(f"feeds '{name}' with {_describe(got, calls)}, not with {_describe(expect, calls)}"
                   f"{' (a skip connection or another operation between layers)' if i else ''}.")
        if isinstance(mod, conns) and len(args) > 1:
            refuse(f"calls '{name}' with {len(args)} arguments; a connection takes one tensor.")
        for extra in args[1:]:
            if tag_of(extra) is not None:
                refuse(f"passes {_describe(tag_of(extra), calls)} to '{name}' as its state.")
    if len(calls) % 2:
        refuse(f"ends with the connection '{calls[-1]['name']}' and no neuron after it.")
    first = result if isinstance(result, torch.Tensor) else (result[0] if isinstance(result, (tuple, list))
                                                             and result else None)
    if tag_of(first) != ("spk", len(calls) - 1):
        refuse(f"returns {_describe(tag_of(first), calls)} first, not the spikes of its last neuron "
               f"'{calls[-1]['name']}'.")
    out = []
    for i in range(0, len(calls), 2):
        c, n = calls[i], calls[i + 1]
        cin = c["args"][0] if c["args"] else next(iter(c["kwargs"].values()))
        spk = n["out"] if isinstance(n["out"], torch.Tensor) else n["out"][0]
        out.append((Layer(c["name"], c["module"], tuple(cin.shape[1:]), tuple(spk.shape[1:])),
                    Layer(n["name"], n["module"], tuple(spk.shape[1:]), tuple(spk.shape[1:]))))
    return out


def layers(net, input_shape=None):
    """``[((connection_name, module), (neuron_name, module)), ...]`` in forward order, or a
    ParameterError (see :func:`trace`)."""
    mods = dict(_named(net))
    return [((c.name, mods[c.name]), (n.name, mods[n.name])) for c, n in trace(net, input_shape)]


def _named(net):
    torch, _ = _libs()
    return (_chain(net) if isinstance(net, torch.nn.ModuleList) else net).named_modules()


def _chain(items):
    """An ``nn.Sequential`` / ``nn.ModuleList`` as the per-step chain snnTorch users step by
    hand: each item takes the previous one's output, a neuron's spikes when it returns
    ``(spk, mem)`` (a Sequential of neurons without ``init_hidden`` cannot run by itself)."""
    torch, _ = _libs()

    class Chain(torch.nn.Sequential):
        def forward(self, h):
            for m in self:
                h = m(h)
                h = h[0] if isinstance(h, tuple) else h
            return h

    return Chain(*items)


def _per_neuron(value, shape, n):
    torch, _ = _libs()
    t = torch.as_tensor(value).detach().cpu().double()
    try:
        return torch.broadcast_to(t, shape).reshape(-1).numpy().copy() if shape else np.broadcast_to(
            t.numpy(), (n,)).copy()
    except RuntimeError:
        return np.broadcast_to(t.reshape(-1).numpy(), (n,)).copy()


def _scalar_or(a):
    return float(a[0]) if np.all(a == a[0]) else a


def neuron_model(name: str, neuron, n: int, bias, shape=()) -> tuple[LIF, list[tuple[int, np.ndarray]]]:
    """The LIF of one ``snn.Leaky`` / ``snn.Synaptic`` of ``n`` neurons (per-sample output
    ``shape``, for per-channel parameters) and its reset-emulation self-projections
    ``[(delay, per-neuron weight), ...]`` (see the module docstring)."""
    _, snn = _libs()
    where = f"{type(neuron).__name__} '{name}'"
    mech = {0: "subtract", 1: "zero"}.get(int(neuron.reset_mechanism_val))
    if mech is None:
        raise ParameterError(where, "reset_mechanism", "is 'none'.", "use 'subtract' or 'zero'.")
    if float(getattr(neuron, "graded_spikes_factor", 1.0)) != 1.0:
        raise ParameterError(where, "graded_spikes_factor", "is not 1.", "use binary spikes.")
    for flag in ("inhibition", "state_quant"):
        if getattr(neuron, flag, False):
            raise ParameterError(where, flag, "is set; it has no LIF equivalent.", f"set {flag}=False.")
    beta = _per_neuron(neuron.beta.clamp(0, 1), shape, n)
    th = _per_neuron(neuron.threshold, shape, n)
    alpha = _per_neuron(neuron.alpha.clamp(0, 1), shape, n) if isinstance(neuron, snn.Synaptic) else np.zeros(n)
    if np.any(alpha != 0) and np.any(np.asarray(bias) != 0):
        raise ParameterError(where, "bias", "of the connection before it is non-zero: snn.Synaptic adds it to "
                             "the synaptic current, which accumulates it (the LIF's bias acts on v).",
                             "use bias=False on the connection before an snn.Synaptic, or snn.Leaky.")
    refractory = 1 if (isinstance(neuron, snn.Synaptic) and mech == "zero" and neuron.reset_delay) else 0
    model = LIF(du=_scalar_or(1.0 - alpha), dv=_scalar_or(1.0 - beta), vth=_scalar_or(th), bias=bias, reset=mech,
                refractory=refractory)
    selfs = []
    if neuron.reset_delay and mech == "subtract" and np.any(beta != 1.0):
        c = (1.0 - beta) * th
        selfs.append((1, -c))
        if np.any(alpha != 0):
            selfs.append((2, alpha * c))
    return model, selfs


def leaky_model(name: str, leaky, n: int, bias) -> tuple[LIF, float | None]:
    """The LIF of one Leaky and the weight of its delay-1 self-projection (None: none)."""
    model, selfs = neuron_model(name, leaky, n, bias)
    return model, (selfs[0][1] if selfs else None)


def _conv_matrix(conv, in_shape):
    """``(weights (out, in) csr, dense pairs)`` of a convolution over C-order flattened maps."""
    import scipy.sparse as sp
    torch, _ = _libs()
    if conv.padding_mode != "zeros":
        raise ParameterError(f"{type(conv).__name__}", "padding_mode", f"is '{conv.padding_mode}'.",
                             "use padding_mode='zeros'.")
    fn = getattr(torch.nn.functional, f"conv{len(in_shape) - 1}d")
    n_in = int(np.prod(in_shape))
    w = conv.weight.detach().cpu().double()
    blocks, dense = [], 0
    with torch.no_grad():
        for start in range(0, n_in, 512):
            eye = torch.zeros((min(512, n_in - start), n_in), dtype=torch.float64)
            eye[torch.arange(eye.shape[0]), torch.arange(start, start + eye.shape[0])] = 1.0
            eye = eye.reshape(-1, *in_shape)
            args = (conv.stride, conv.padding, conv.dilation, conv.groups)
            blocks.append(sp.csr_matrix(fn(eye, w, None, *args).reshape(eye.shape[0], -1).numpy()))
            dense += int(torch.count_nonzero(fn(eye, torch.ones_like(w), None, *args)))
    return sp.vstack(blocks).T.tocsr(), dense


def snntorch_to_circuit(net, graded_input: bool = False, name: str = "snntorch", input_shape=None) -> Circuit:
    """Circuit equivalent of an snnTorch model (see the module docstring).

    ``input_shape``: one sample's input shape for one step (needed when the first layer is
    a convolution).  The source is ``"x"`` (flattened in C order); populations and
    projections are named after the modules (dots -> '_'); the last population is exposed
    as ``"out"``."""
    import scipy.sparse as sp
    torch, _ = _libs()
    pairs = trace(net, input_shape)
    mods = dict(_named(net))
    c = Circuit(name)
    meta = {"populations": {}, "connections": {}, "dense_synapses": {}, "reset_emulation": []}
    pre = "x"
    c.add_source(pre, int(np.prod(pairs[0][0].in_shape)))
    for i, (conn_l, neur_l) in enumerate(pairs):
        conn, neuron = mods[conn_l.name], mods[neur_l.name]
        pop, proj = neur_l.name.replace(".", "_"), conn_l.name.replace(".", "_")
        n = int(np.prod(neur_l.out_shape))
        if isinstance(conn, torch.nn.Linear):
            w = conn.weight.detach().cpu().double().numpy()
            dense = int(w.size)
        else:
            w, dense = _conv_matrix(conn, conn_l.in_shape)
        if conn.bias is None:
            bias = 0.0
        else:
            b = conn.bias.detach().cpu().double().numpy()
            bias = b if isinstance(conn, torch.nn.Linear) else np.repeat(b, n // b.size)
        model, selfs = neuron_model(pop, neuron, n, bias, neur_l.out_shape)
        c.add_population(pop, n, model)
        c.connect(pre, pop, w, name=proj, delay=0, message="graded" if (graded_input and i == 0) else "binary")
        meta["populations"][neur_l.name] = pop
        meta["connections"][conn_l.name] = proj
        meta["dense_synapses"][proj] = dense
        for delay, sw in selfs:
            sname = f"{pop}.reset_delay" if delay == 1 else f"{pop}.reset_delay{delay}"
            c.connect(pop, pop, sp.diags(np.broadcast_to(sw, (n,))).tocsr(), name=sname, delay=delay)
            meta["reset_emulation"].append(sname)
        pre = pop
    c.expose("out", pre)
    c.meta["snntorch"] = meta
    return c
