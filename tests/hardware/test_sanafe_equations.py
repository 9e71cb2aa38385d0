"""SANA-FE's cost equations (sanafe_arch.compare.predict_from_counts) on circuits SANA-FE itself
refuses: a neuron model without a bias (LoihiGradedReLU), graded messages.  No SANA-FE needed."""
import numpy as np

import spikeattn as sa
from hardware_models.sanafe_arch.compare import predict_from_counts
from spikeattn.ir.neurons_loihi_convert import LoihiGradedReLU


def test_predict_from_counts_takes_a_neuron_model_without_bias():
    c = sa.Circuit("graded_relu")
    c.add_source("x", 2, encoder="graded")
    c.add_population("g", 2, LoihiGradedReLU())
    c.connect("x", "g", np.eye(2, dtype=np.int64), message="graded")
    x = np.zeros((4, 1, 2), np.int64)
    x[0, 0, 0], x[2, 0, 1] = 3, 2
    res = sa.simulate(c, {"x": x}, steps=4)
    pred = predict_from_counts(c, res, "loihi")
    ev = pred["events"]
    # SANA-FE's rule: input arrives (g0 at t=1, g1 at t=3) or v was non-zero before the step (g0 at t=2)
    assert ev["active_updates"] == 3
    assert ev["neuron_steps"] == 2 * 4 and ev["synaptic_ops"] == res.counts.total("synaptic_acs") + \
        res.counts.total("synaptic_macs")
    assert ev["packets"] == 2                  # two input spikes, one destination core each
    assert pred["energy_j"]["total"] > 0 and np.isfinite(pred["energy_j"]["total"])
