"""NeuroBench parity: spikeattn's event counts against neurobench 2.3.0's workload metrics.

An snnTorch model whose per-step forward chains ``nn.Linear`` / ``nn.Conv*`` and
``snn.Leaky`` / ``snn.Synaptic`` layers (in an ``nn.Sequential``, in ``nn.ModuleList`` s used in
a loop, or behind a hand-written forward) is converted to a spikeattn :class:`~spikeattn.Circuit`
(:func:`spikeattn.convert.snntorch_path.snntorch_to_circuit`, which follows the forward);
both run on the same data, and spikeattn's effective synaptic operations (ACs vs MACs),
dense operations and activation sparsity are computed from its :class:`~spikeattn.EventCounts`
and compared with NeuroBench's ``SynapticOperations`` and ``ActivationSparsity`` run through
its own ``Benchmark`` and ``SNNTorchModel`` wrapper.

Mapping (snnTorch 1.0 ``Leaky`` read from its source; spikes identical step for step):

* ``Linear(in, out)`` -> projection with the same ``(out, in)`` weights and ``delay=0``
  (snnTorch feeds a layer's spikes to the next Linear in the same step); its bias -> the
  population's ``bias`` (added to v every step).
* ``Leaky(beta, threshold, reset_mechanism, reset_delay=False)`` ->
  ``LIF(du=1, dv=1-beta, vth=threshold, reset="subtract"|"zero")``: snnTorch computes
  ``mem = beta*mem + I``, ``spk = mem > threshold``, then ``mem -= spk*threshold`` (subtract) or
  ``mem = 0`` (zero) in the same step, which is spikeattn's LIF with ``u = I``.  One quirk:
  snnTorch decides its subtraction from the previous membrane (``reset = mem[t-1] > threshold``)
  and only then fires, so a neuron whose membrane is still above threshold after a subtraction
  (it exceeded 2 x threshold) needs ``mem > 2 x threshold`` to fire next step; the LIF fires at
  ``> threshold``.  Below that regime (and always with reset "zero") the two agree exactly;
  :func:`parity` compares the spikes of every layer and reports any difference.  With the
  default ``reset_delay=True`` the subtraction lands one step later, undecayed; a delay-1
  self-projection of weight ``-(1 - beta) * threshold`` reproduces it spike for spike
  (:mod:`spikeattn.convert.snntorch_path`, where the converter now lives).
* The first Linear's input is a source: binary data -> binary messages (ACs); other values ->
  graded messages (MACs), as NeuroBench classifies a layer call as AC when every input is in
  {-1, 0, 1}.

Metric definitions (neurobench 2.3.0 ``metrics/workload``), per sample:

* ``Effective_ACs`` / ``Effective_MACs``: sum over layer calls (steps) of the number of
  (non-zero input, non-zero weight) pairs = spikeattn's ``synaptic_acs`` / ``synaptic_macs``
  divided by the batch;
* ``Dense``: every (input, weight) pair of every layer call, zeros included = ``steps * sum(in*out)``
  for Linear layers (a convolution: its receptive fields inside the input); the reset
  emulation's self-projections are no NeuroBench layer and are reported apart;
* ``ActivationSparsity``: zero outputs / all outputs of every spiking neuron layer over steps
  and samples = ``1 - spikes / (neuron_updates_active + neuron_updates_idle)``.

Attention written with ``torch.matmul`` has no hooked layer: NeuroBench counts 0 operations
for it, while spikeattn's circuits count every event (:func:`neurobench_matmul_attention`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikeattn.errors import require
from spikeattn.ir import Circuit

METRICS = ("Effective_MACs", "Effective_ACs", "Dense", "ActivationSparsity")


def _libs():
    torch = require("torch", "torch", "NeuroBench parity")
    snn = require("snntorch", "torch", "NeuroBench parity")
    return torch, snn


# The converter lives in the mapping layer; re-exported here for existing callers.
from spikeattn.convert.snntorch_path import snntorch_to_circuit  # noqa: E402


def _reset_emulation(circuit: Circuit) -> list[str]:
    meta = circuit.meta.get("snntorch", {})
    if "reset_emulation" in meta:
        return list(meta["reset_emulation"])
    return [n for n, p in circuit.projections.items() if p.pre == p.post and ".reset_delay" in n]


def spikeattn_metrics(circuit: Circuit, result, batch_size: int | None = None) -> dict:
    """NeuroBench's workload metrics computed from spikeattn's EventCounts (per sample).

    ``Effective_ACs`` / ``Effective_MACs`` / ``Dense`` count the projections of the model's
    layers only, as NeuroBench does (it hooks Linear/Conv layers); the reset emulation of
    ``reset_delay=True`` (self-projections no snnTorch layer holds) is reported apart:
    ``Effective_ACs_reset_emulation`` (its events per sample) and ``dense_reset_emulation``
    (its synapses times steps).  ``Dense`` per step is each layer's (input, output) pairs,
    zero weights included (``circuit.meta["snntorch"]["dense_synapses"]``; ``in*out`` when
    absent).

    ``batch_size``: NeuroBench averages the activation sparsity of each data-loader batch
    weighted by its size (``sum_b sparsity_b * size_b / samples``); giving the same batch size
    repeats that arithmetic, so the floats agree to the last bit."""
    counts = result.counts
    b, t = counts.batch, counts.steps
    reset = _reset_emulation(circuit)
    layers = [n for n in circuit.projections if n not in reset]
    pairs = circuit.meta.get("snntorch", {}).get("dense_synapses") or {
        n: circuit.projections[n].shape[0] * circuit.projections[n].shape[1] for n in layers}
    dense = t * sum(int(pairs[n]) for n in layers)
    dense_reset = t * sum(int(_synapses(circuit.projections[n])) for n in reset)
    neurons = counts.per_sample("neuron_updates_active") + counts.per_sample("neuron_updates_idle")
    spikes = counts.per_sample("spikes", kind="population")
    size = batch_size or b
    sparsity = 0.0
    for start in range(0, b, size):
        n_b, s_b = int(neurons[start:start + size].sum()), int(spikes[start:start + size].sum())
        part = (n_b - s_b) / n_b if n_b else 0.0
        sparsity += (part * len(neurons[start:start + size])) / b
    return {"Effective_MACs": counts.total("synaptic_macs", elements=layers) / b,
            "Effective_ACs": counts.total("synaptic_acs", elements=layers) / b,
            "Dense": float(dense), "ActivationSparsity": sparsity,
            "Effective_ACs_reset_emulation": counts.total("synaptic_acs", elements=reset) / b,
            "dense_reset_emulation": float(dense_reset)}


def _synapses(p) -> int:
    import scipy.sparse as sp
    w = p.weights
    return int(w.count_nonzero()) if sp.issparse(w) else int(np.count_nonzero(w))


def neurobench_metrics(net, data, batch_size: int | None = None) -> tuple[dict, object]:
    """Run neurobench's Benchmark (SNNTorchModel, SynapticOperations, ActivationSparsity) on
    ``data`` of shape ``(samples, steps, *features)``; returns (metrics, output spikes
    ``(samples, steps, out)``).  ``net(x_t)`` must return ``(spikes, membrane)``."""
    torch, _ = _libs()
    require("neurobench", "neurobench", "NeuroBench parity", "pip install neurobench --no-deps")
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import SNNTorchModel

    data = torch.as_tensor(data)
    _reset_neurons(net)      # the first batch starts from zero state, as spikeattn's run does
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, torch.zeros(len(data))),
                                         batch_size=batch_size or len(data), shuffle=False)
    model = SNNTorchModel(net)
    bench = Benchmark(model, loader, [], [], [[], [SynapticOperations, ActivationSparsity]])
    res = bench.run(quiet=True)
    with torch.no_grad():
        spikes = model(data)
    ops = res["SynapticOperations"]
    out = {"Effective_MACs": ops["Effective_MACs"], "Effective_ACs": ops["Effective_ACs"], "Dense": ops["Dense"],
           "ActivationSparsity": res["ActivationSparsity"]}
    return out, spikes.detach().cpu().numpy()


@dataclass
class ParityReport:
    """NeuroBench's and spikeattn's metrics side by side (per sample)."""

    neurobench: dict
    spikeattn: dict
    spikes_equal: bool
    notes: list = field(default_factory=list)

    @property
    def equal(self) -> bool:
        """Exact equality of every metric (integers and floats compared with ``==``)."""
        return self.spikes_equal and all(self.neurobench[k] == self.spikeattn[k] for k in METRICS)

    def to_dict(self) -> dict:
        return {"neurobench": self.neurobench, "spikeattn": self.spikeattn, "spikes_equal": self.spikes_equal,
                "equal": self.equal, "notes": self.notes}


def parity(net, data, graded_input: bool | None = None, batch_size: int | None = None) -> ParityReport:
    """Convert ``net``, run NeuroBench and spikeattn on ``data`` ``(samples, steps, *features)``
    and compare.  ``net`` is any module :func:`snntorch_to_circuit` takes (an ``nn.Sequential``
    with ``init_hidden`` neurons, ``nn.ModuleList`` s used in a loop, a hand-written forward)
    whose ``forward(x_t)`` returns ``(spikes, membrane)``, as NeuroBench's ``SNNTorchModel``
    wants.  snnTorch computes in float32 (its spike function returns float32 even for a
    float64 net) and spikeattn in float64: with dyadic weights, biases, betas and thresholds
    (multiples of a power of two) both are exact and the spikes are identical; otherwise a
    rounding difference can flip a spike at the threshold, which ``spikes_equal`` reports."""
    from spikeattn import simulate
    torch, _ = _libs()
    data = torch.as_tensor(data, dtype=torch.float32)
    net = net.float()
    x = data.numpy().astype(np.float64)
    if graded_input is None:
        graded_input = bool(np.any((x != 0) & (x != 1) & (x != -1)))
    circuit = snntorch_to_circuit(net, graded_input=graded_input, input_shape=tuple(x.shape[2:]))
    nb, _ = neurobench_metrics(net, data, batch_size)
    flat = np.transpose(x.reshape(x.shape[0], x.shape[1], -1), (1, 0, 2))
    res = simulate(circuit, {"x": flat}, steps=x.shape[1])
    pops = circuit.meta["snntorch"]["populations"]
    layer_spikes = _snntorch_layer_spikes(net, data)
    mismatch = [n for n, s in layer_spikes.items()
                if not np.array_equal(s.reshape(s.shape[0], s.shape[1], -1), res.spikes[pops[n]] != 0)]
    notes = [f"{len(circuit.populations)} spiking layers, {x.shape[0]} samples, {x.shape[1]} steps; first layer "
             f"{'graded (MACs)' if graded_input else 'binary (ACs)'}"]
    reset = _reset_emulation(circuit)
    if reset:
        notes.append(f"reset_delay=True emulated by self-projections {reset}: not in Dense / Effective_ACs, "
                     "reported as dense_reset_emulation / Effective_ACs_reset_emulation")
    nested = _nested_without_reset(net)
    if nested and len(data) > (batch_size or len(data)):
        notes.append(f"NeuroBench's SNNTorchModel does not reset {nested} between batches (snntorch.utils.reset "
                     "sees direct children only): a batch of the same size as the one before starts from its "
                     "state; give the net a reset() method that zeroes them")
    if mismatch:
        notes.append(f"spikes differ in layers {mismatch} (a reset_delay=False subtracting neuron above 2 x "
                     "threshold: see the module docstring; otherwise a float32 rounding at the threshold)")
    return ParityReport(nb, spikeattn_metrics(circuit, res, batch_size), not mismatch, notes)


def _snntorch_layer_spikes(net, data) -> dict:
    """Spikes of every snnTorch neuron module of ``net`` (by module name) on ``data``, as
    ``(steps, samples, *shape)`` bool, running ``net`` step by step as NeuroBench does."""
    torch, snn = _libs()
    out = {}
    # init_hidden=True layers return the spike tensor itself (o[0] would be sample 0 only)
    hooks = [m.register_forward_hook(lambda mod, i, o, name=n: out.setdefault(name, []).append(
        (o if isinstance(o, torch.Tensor) else o[0]).detach()))
             for n, m in net.named_modules() if isinstance(m, snn.SpikingNeuron)]
    try:
        _reset_neurons(net)
        with torch.no_grad():
            for t in range(data.shape[1]):
                net(data[:, t])
    finally:
        for h in hooks:
            h.remove()
    return {n: torch.stack(v).cpu().numpy() != 0 for n, v in out.items()}


def _reset_neurons(net) -> None:
    """Zero the state of every snnTorch neuron of ``net``, nested ones included
    (``snntorch.utils.reset`` only looks at the direct children of ``net``)."""
    _, snn = _libs()
    for m in net.modules():
        if isinstance(m, snn.SpikingNeuron) and hasattr(m, "reset_mem"):
            m.reset_mem()


def _nested_without_reset(net) -> list[str]:
    """Neuron modules that NeuroBench's SNNTorchModel does not reset between batches: it
    calls ``net.reset()`` when defined, else ``snntorch.utils.reset(net)``, which finds the
    neuron classes among the direct children only."""
    _, snn = _libs()
    if hasattr(net, "reset"):
        return []
    if any(isinstance(m, snn.SpikingNeuron) for m in net.children()):
        return []      # utils.reset then resets every instance of those classes
    return [n for n, m in net.named_modules() if isinstance(m, snn.SpikingNeuron)]


def neurobench_matmul_attention(q, k, beta: float = 1.0, threshold: float = 0.5) -> dict:
    """What NeuroBench counts for spiking attention written with ``torch.matmul``.

    A module computes ``S = Q K^T`` per step with ``torch.matmul`` from binary token spikes
    ``q, k`` of shape ``(samples, steps, N, D)`` and feeds it to an ``snn.Leaky``; NeuroBench's
    SynapticOperations hooks only Linear/Conv/RNN layers, so it reports 0 operations.  The
    returned ``spike_pairs`` is the number of (q spike, k spike) coincidences the matmul
    accumulated, i.e. the accumulate operations it really performed."""
    torch, snn = _libs()
    q, k = torch.as_tensor(q, dtype=torch.float32), torch.as_tensor(k, dtype=torch.float32)
    s, t, n, d = q.shape

    class MatmulAttention(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lif = snn.Leaky(beta=beta, threshold=threshold, reset_delay=False)

        def forward(self, x):
            qt, kt = x[..., :d], x[..., d:]
            return self.lif(torch.matmul(qt, kt.transpose(-2, -1)))

    data = torch.cat([q, k], dim=-1)
    nb, _ = neurobench_metrics(MatmulAttention(), data)
    pairs = int(((q != 0).double() @ (k != 0).double().transpose(-2, -1)).sum().item())
    return {"neurobench": nb, "spike_pairs": pairs, "pairs_per_sample": pairs / s}
