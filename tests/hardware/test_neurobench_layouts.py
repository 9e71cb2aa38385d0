"""NeuroBench parity per model layout: neurobench 2.3's own Benchmark (SNNTorchModel,
SynapticOperations, ActivationSparsity) on snnTorch models kept in an nn.Sequential, in two
nn.ModuleLists and behind a hand-written forward (Conv2d, Synaptic), against spikeattn's
figures from EventCounts.  Effective_ACs / Effective_MACs / Dense are integer totals divided
by the same sample count in both, and spikeattn repeats NeuroBench's batch-weighted average
of ActivationSparsity operation for operation, so all four are compared with ==.  The
neurons use reset_delay=True: the self-projections that emulate it are not layers NeuroBench
sees, and are reported apart (dense_reset_emulation, Effective_ACs_reset_emulation)."""
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="NeuroBench parity needs the 'torch' extra")
snn = pytest.importorskip("snntorch", reason="NeuroBench parity needs snntorch")
pytest.importorskip("neurobench", reason="neurobench is not installed (pip install neurobench --no-deps)")

from hardware_models import neurobench_parity as nbp  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "convert"))
from snntorch_layouts import LAYOUTS, snntorch_spikes  # noqa: E402


@pytest.mark.parametrize("batch_size", [4, None])          # two batches (4 + 2) and one
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_four_metrics_equal_neurobench_per_layout(layout, batch_size):
    cls, in_shape = LAYOUTS[layout]
    net = cls(11)
    steps = 20
    x = (np.random.default_rng(5).random((6, steps, *in_shape)) < 0.3).astype(np.float32)
    ref = snntorch_spikes(net, torch.tensor(x))                # oracle 1: snnTorch's spikes
    rep = nbp.parity(net, x, batch_size=batch_size)            # oracle 2: NeuroBench's metrics
    assert rep.spikes_equal, rep.notes
    for k in nbp.METRICS:
        assert rep.spikeattn[k] == rep.neurobench[k], (k, rep.spikeattn[k], rep.neurobench[k])
    assert rep.equal
    assert rep.neurobench["Effective_ACs"] > 0 and rep.neurobench["Effective_MACs"] == 0
    assert 0 < rep.neurobench["ActivationSparsity"] < 1
    # the reset emulation is there, counted, and kept out of Dense and Effective_ACs
    assert rep.spikeattn["dense_reset_emulation"] > 0 and rep.spikeattn["Effective_ACs_reset_emulation"] > 0
    # its ACs: one per spike of every emulated neuron and per self-projection (Synaptic with
    # alpha > 0 has a delay-1 and a delay-2 one), from snnTorch's spikes
    per_spike = {name: 2 if isinstance(m, snn.Synaptic) else 1 for name, m in net.named_modules()}
    emulation_acs = sum(per_spike[n] * int(s.sum()) for n, s in ref.items())
    assert rep.spikeattn["Effective_ACs_reset_emulation"] == emulation_acs / 6
    if layout != "handwritten_conv_synaptic":
        assert rep.neurobench["Dense"] == steps * sum(a * b for a, b in zip([20, 16, 12], [16, 12, 5]))


def test_graded_input_is_macs_in_every_layout():
    for layout, (cls, in_shape) in sorted(LAYOUTS.items()):
        x = np.round(np.random.default_rng(9).random((3, 12, *in_shape)) * 16) / 16
        rep = nbp.parity(cls(2), x)
        assert rep.spikes_equal, (layout, rep.notes)
        assert rep.neurobench["Effective_MACs"] == rep.spikeattn["Effective_MACs"] > 0, layout
        assert rep.equal, (layout, rep.to_dict())
