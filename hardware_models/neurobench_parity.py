"""NeuroBench parity: spikeattn's event counts against neurobench 2.3.0's workload metrics.

An snnTorch stack of ``nn.Linear`` and ``snn.Leaky`` layers is converted to a spikeattn
:class:`~spikeattn.Circuit`; both run on the same data, and spikeattn's effective synaptic
operations (ACs vs MACs), dense operations and activation sparsity are computed from its
:class:`~spikeattn.EventCounts` and compared with NeuroBench's ``SynapticOperations`` and
``ActivationSparsity`` run through its own ``Benchmark`` and ``SNNTorchModel`` wrapper.

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
* ``Dense``: every (input, weight) pair of every call, zeros included = ``steps * sum(in*out)``;
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


def spikeattn_metrics(circuit: Circuit, result, batch_size: int | None = None) -> dict:
    """NeuroBench's workload metrics computed from spikeattn's EventCounts (per sample).

    ``batch_size``: NeuroBench averages the activation sparsity of each data-loader batch
    weighted by its size (``sum_b sparsity_b * size_b / samples``); giving the same batch size
    repeats that arithmetic, so the floats agree to the last bit."""
    counts = result.counts
    b, t = counts.batch, counts.steps
    dense = t * sum(p.shape[0] * p.shape[1] for p in circuit.projections.values())
    neurons = counts.per_sample("neuron_updates_active") + counts.per_sample("neuron_updates_idle")
    spikes = counts.per_sample("spikes", kind="population")
    size = batch_size or b
    sparsity = 0.0
    for start in range(0, b, size):
        n_b, s_b = int(neurons[start:start + size].sum()), int(spikes[start:start + size].sum())
        part = (n_b - s_b) / n_b if n_b else 0.0
        sparsity += (part * len(neurons[start:start + size])) / b
    return {"Effective_MACs": counts.total("synaptic_macs") / b, "Effective_ACs": counts.total("synaptic_acs") / b,
            "Dense": float(dense), "ActivationSparsity": sparsity}


def neurobench_metrics(net, data, batch_size: int | None = None) -> tuple[dict, object]:
    """Run neurobench's Benchmark (SNNTorchModel, SynapticOperations, ActivationSparsity) on
    ``data`` of shape ``(samples, steps, features)``; returns (metrics, output spikes
    ``(samples, steps, out)``).  ``net(x_t)`` must return ``(spikes, membrane)``."""
    torch, _ = _libs()
    require("neurobench", "neurobench", "NeuroBench parity", "pip install neurobench --no-deps")
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import SNNTorchModel

    data = torch.as_tensor(data)
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
    """Convert ``net``, run NeuroBench and spikeattn on ``data`` ``(samples, steps, features)``
    and compare.  snnTorch computes in float32 (its spike function returns float32 even for a
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
    circuit = snntorch_to_circuit(net, graded_input=graded_input)
    nb, _ = neurobench_metrics(net, data, batch_size)
    res = simulate(circuit, {"x": np.transpose(x, (1, 0, 2))}, steps=x.shape[1])
    layer_spikes = _snntorch_layer_spikes(net, data)
    mismatch = [n for n, s in layer_spikes.items() if not np.array_equal(s, res.spikes[n])]
    notes = [f"{len(circuit.populations)} spiking layers, {x.shape[0]} samples, {x.shape[1]} steps; first layer "
             f"{'graded (MACs)' if graded_input else 'binary (ACs)'}"]
    if mismatch:
        notes.append(f"spikes differ in layers {mismatch} (a reset_delay=False subtracting neuron above 2 x "
                     "threshold: see the module docstring; otherwise a float32 rounding at the threshold)")
    return ParityReport(nb, spikeattn_metrics(circuit, res, batch_size), not mismatch, notes)


def _snntorch_layer_spikes(net, data) -> dict:
    """Spikes of every snn.Leaky of ``net`` on ``data``, as ``(steps, samples, size)`` bool."""
    torch, snn = _libs()
    from snntorch import utils
    out = {}
    # init_hidden=True layers return the spike tensor itself (o[0] would be sample 0 only)
    hooks = [m.register_forward_hook(lambda mod, i, o, name=n: out.setdefault(name, []).append(
        (o if isinstance(o, torch.Tensor) else o[0]).detach()))
             for n, m in net.named_children() if isinstance(m, snn.Leaky)]
    try:
        utils.reset(net)
        with torch.no_grad():
            for t in range(data.shape[1]):
                net(data[:, t])
    finally:
        for h in hooks:
            h.remove()
    return {n: torch.stack(v).cpu().numpy() != 0 for n, v in out.items()}


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
