"""snnTorch stacks -> spikeattn circuits, spike for spike.

``snntorch_to_circuit(net)`` takes an ``nn.Module`` whose children (or an ``nn.Sequential``
/ ``nn.ModuleList`` given directly, or nested one level) alternate ``nn.Linear`` and
``snn.Leaky``.  snnTorch 1.0 ``Leaky`` (read from its source), with ``I`` the Linear output::

    reset[t] = mem[t-1] > threshold            (detached; = spk[t-1])
    subtract: mem[t] = beta * mem[t-1] + I[t] - reset[t] * threshold
    zero:     mem[t] = beta * (1 - reset[t]) * mem[t-1] + I[t]
    spk[t]   = mem[t] > threshold
    reset_delay=False additionally subtracts (spk[t] - reset[t]) * threshold (or resets to 0)
    at once.  With subtraction the reset term of step t is taken from the post-subtraction
    membrane before firing, so a neuron still above threshold after a subtraction needs
    ``mem > 2 threshold`` to fire again; the LIF fires at ``> threshold``.  Outside that
    regime (and always with reset "zero") the two agree exactly.

Mapping: ``Linear`` -> projection with ``delay=0`` (bias -> the population's bias);
``Leaky`` -> ``LIF(du=1, dv=1-beta, vth=threshold, reset=...)``.  Reset "zero" (either
delay) is that LIF exactly; ``reset_delay=False`` with subtraction too, outside the regime
above.  The default ``reset_delay=True``
with subtraction lands the subtraction one step later, *undecayed*: the LIF subtracts at
once and the decay then scales it by beta, so a delay-1 self-projection of weight
``-(1 - beta) * threshold`` adds the missing part and the spikes agree exactly.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError, require
from ..ir import LIF, Circuit


def _libs():
    return require("torch", "torch", "snntorch_to_circuit"), require("snntorch", "torch", "snntorch_to_circuit")


def _flatten(net):
    torch, snn = _libs()
    mods = list(net) if isinstance(net, (torch.nn.Sequential, torch.nn.ModuleList)) else \
        [m for _, m in net.named_children()]
    names = [str(i) for i in range(len(mods))] if isinstance(net, (torch.nn.Sequential, torch.nn.ModuleList)) \
        else [n for n, _ in net.named_children()]
    out = []
    for n, m in zip(names, mods):
        if isinstance(m, (torch.nn.Sequential, torch.nn.ModuleList)):
            out.extend((f"{n}.{i}", c) for i, c in enumerate(m))
        elif isinstance(m, (torch.nn.Linear, snn.Leaky)):
            out.append((n, m))
    return out


def layers(net):
    """``[((linear_name, Linear), (leaky_name, Leaky)), ...]`` or a ParameterError."""
    torch, snn = _libs()
    found = _flatten(net)
    if not found or len(found) % 2 or any(
            not isinstance(m, torch.nn.Linear if i % 2 == 0 else snn.Leaky) for i, (_, m) in enumerate(found)):
        raise ParameterError("snntorch_to_circuit", "net", f"has layers {[type(m).__name__ for _, m in found]}.",
                             "give a module (or nn.Sequential / nn.ModuleList) whose layers alternate nn.Linear and "
                             "snn.Leaky, in order.")
    return list(zip(found[0::2], found[1::2]))


def leaky_model(name: str, leaky, n: int, bias) -> tuple[LIF, float | None]:
    """The LIF of one Leaky and the weight of its delay-1 self-projection (None: none)."""
    beta = np.broadcast_to(leaky.beta.detach().cpu().double().clamp(0, 1).numpy(), (n,)).copy()
    th = float(np.asarray(leaky.threshold.detach().cpu().double().numpy()).reshape(-1)[0])
    mech = {0: "subtract", 1: "zero"}.get(int(leaky.reset_mechanism_val))
    if mech is None:
        raise ParameterError(f"snn.Leaky '{name}'", "reset_mechanism", "is 'none'.", "use 'subtract' or 'zero'.")
    if float(getattr(leaky, "graded_spikes_factor", 1.0)) != 1.0:
        raise ParameterError(f"snn.Leaky '{name}'", "graded_spikes_factor", "is not 1.", "use binary spikes.")
    dv = 1.0 - beta
    model = LIF(du=1.0, dv=float(dv[0]) if np.all(dv == dv[0]) else dv, vth=th, bias=bias, reset=mech)
    self_w = None
    if leaky.reset_delay and mech == "subtract" and np.any(beta != 1.0):
        self_w = -(1.0 - beta) * th
    return model, self_w


def snntorch_to_circuit(net, graded_input: bool = False, name: str = "snntorch") -> Circuit:
    """Circuit equivalent of an snnTorch Linear/Leaky stack (see the module docstring).

    The source is ``"x"``; populations are named after the Leaky modules (dots -> '_')."""
    import scipy.sparse as sp
    c = Circuit(name)
    pairs = layers(net)
    pre = "x"
    c.add_source(pre, pairs[0][0][1].in_features)
    for i, ((lin_name, lin), (lif_name, leaky)) in enumerate(pairs):
        lif_name, lin_name = lif_name.replace(".", "_"), lin_name.replace(".", "_")
        w = lin.weight.detach().cpu().double().numpy()
        bias = 0.0 if lin.bias is None else lin.bias.detach().cpu().double().numpy()
        model, self_w = leaky_model(lif_name, leaky, lin.out_features, bias)
        c.add_population(lif_name, lin.out_features, model)
        c.connect(pre, lif_name, w, name=lin_name, delay=0,
                  message="graded" if (graded_input and i == 0) else "binary")
        if self_w is not None:
            c.connect(lif_name, lif_name, sp.diags(np.broadcast_to(self_w, (lin.out_features,))).tocsr(),
                      name=f"{lif_name}.reset_delay", delay=1)
        pre = lif_name
    c.expose("out", pre)
    return c
