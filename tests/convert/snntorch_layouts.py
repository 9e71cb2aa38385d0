"""snnTorch models with the same kind of layers kept three ways (helpers for the layout tests
of tests/convert/test_snntorch_layouts.py and tests/hardware/test_neurobench_layouts.py).

Parameters are dyadic (multiples of 1/64), so snnTorch's float32 and spikeattn's float64
are both exact.  Every forward computes one step and returns ``(spikes, membrane)``, as
NeuroBench's SNNTorchModel wants.  Neurons use snnTorch's default ``reset_delay=True``
unless told otherwise (the case that needs the reset emulation)."""
import numpy as np
import snntorch as snn
import torch


def dyadic(a, s=64):
    return np.round(np.asarray(a) * s) / s


def set_layer(layer, rng, mean=0.05, std=0.15):
    w = dyadic(rng.normal(mean, std, tuple(layer.weight.shape)))
    w[rng.random(w.shape) < 0.2] = 0.0                        # absent synapses (NeuroBench skips them)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(w))
        if layer.bias is not None:
            layer.bias.copy_(torch.as_tensor(dyadic(rng.normal(0.02, 0.05, tuple(layer.bias.shape)))))


SIZES, BETAS = [20, 16, 12, 5], [0.75, 0.5, 0.875]


class SeqNet(torch.nn.Sequential):
    """nn.Sequential of Linear and init_hidden Leaky layers (the last one outputs (spk, mem))."""

    def __init__(self, seed, reset="subtract", reset_delay=True):
        rng = np.random.default_rng(seed)
        mods = []
        for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
            lin = torch.nn.Linear(a, b)
            set_layer(lin, rng)
            mods += [lin, snn.Leaky(beta=BETAS[i], threshold=0.5, init_hidden=True, output=i == len(BETAS) - 1,
                                    reset_mechanism=reset, reset_delay=reset_delay)]
        super().__init__(*mods)


class ListNet(torch.nn.Module):
    """Two nn.ModuleLists (``fcs``, ``lifs``) used in a loop; the neurons are registered first,
    so the registration order is not the forward order.  The Leaky layers keep their own state
    (init_hidden=False); ``reset`` zeroes it (NeuroBench calls it between batches)."""

    def __init__(self, seed, reset="subtract", reset_delay=True):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.lifs = torch.nn.ModuleList([snn.Leaky(beta=b, threshold=0.5, reset_mechanism=reset,
                                                   reset_delay=reset_delay) for b in BETAS])
        self.fcs = torch.nn.ModuleList([torch.nn.Linear(a, b) for a, b in zip(SIZES[:-1], SIZES[1:])])
        for lin in self.fcs:
            set_layer(lin, rng)

    def reset(self):
        for lif in self.lifs:
            lif.reset_mem()

    def forward(self, x):
        for i in range(len(self.fcs)):
            x, mem = self.lifs[i](self.fcs[i](x))
        return x, mem


IN_SHAPE = (2, 6, 6)


class HandNet(torch.nn.Module):
    """Hand-written forward over named attributes (registered out of order):
    Conv2d -> Leaky -> flatten -> Linear -> Synaptic -> Linear -> Leaky."""

    def __init__(self, seed, reset="subtract", reset_delay=True, hidden=12, out=5):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.fc_out = torch.nn.Linear(hidden, out)
        self.lif_out = snn.Leaky(beta=0.875, threshold=0.5, reset_mechanism=reset, reset_delay=reset_delay)
        self.conv = torch.nn.Conv2d(IN_SHAPE[0], 4, 3, padding=1)
        self.lif_conv = snn.Leaky(beta=0.75, threshold=0.5, reset_mechanism=reset, reset_delay=reset_delay)
        self.fc_hid = torch.nn.Linear(4 * IN_SHAPE[1] * IN_SHAPE[2], hidden, bias=False)   # Synaptic: no bias
        self.syn_hid = snn.Synaptic(alpha=0.5, beta=0.75, threshold=0.5, reset_mechanism=reset,
                                    reset_delay=reset_delay)
        set_layer(self.conv, rng, 0.1, 0.3)
        set_layer(self.fc_hid, rng, 0.02, 0.06)
        set_layer(self.fc_out, rng, 0.05, 0.2)

    def forward(self, x):
        s1, _ = self.lif_conv(self.conv(x))
        s2, _, _ = self.syn_hid(self.fc_hid(s1.view(s1.size(0), -1)))
        return self.lif_out(self.fc_out(s2))


LAYOUTS = {"sequential": (SeqNet, (SIZES[0],)), "modulelists": (ListNet, (SIZES[0],)),
           "handwritten_conv_synaptic": (HandNet, IN_SHAPE)}


def snntorch_spikes(net, x):
    """snnTorch itself: every neuron module's spikes, stepping ``net`` on ``x``
    ``(samples, steps, *in)`` from zero state; ``{module name: (steps, samples, n) bool}``."""
    out = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, name=n: out.setdefault(name, []).append(
        (o if isinstance(o, torch.Tensor) else o[0]).detach().reshape(len(x), -1).numpy() != 0))
             for n, m in net.named_modules() if isinstance(m, snn.SpikingNeuron)]
    for m in net.modules():
        if isinstance(m, snn.SpikingNeuron):
            m.reset_mem()
    try:
        with torch.no_grad():
            for t in range(x.shape[1]):
                net(x[:, t])
    finally:
        for h in hooks:
            h.remove()
    return {n: np.stack(v) for n, v in out.items()}
