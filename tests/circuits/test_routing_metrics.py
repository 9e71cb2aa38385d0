"""Decision latency and selection accuracy on hand-constructed spike trains and masks with
answers worked out by hand."""
import numpy as np
import pytest

from spikeattn.errors import InputError, ParameterError
from spikeattn.metrics.latency import DecisionLatency, decision_steps
from spikeattn.metrics.selection import SelectionAccuracy, selection_mask


def train():
    """3 samples x 3 neurons x 8 steps."""
    s = np.zeros((8, 3, 3), bool)
    s[2, 0, 1] = True                # sample 0: neuron 1 first at 2, neuron 0 at 5 -> set final at 5
    s[5, 0, 0] = True
    s[6, 0, 0] = True
    s[1, 1, 2] = True                # sample 1: 2 leads (1 spike at 1), 0 ties at 3 (index wins), 0 leads
    s[3, 1, 0] = True
    s[4, 1, 2] = True                # 2 leads again at 4
    s[6, 1, 0] = True                # tie at 6 -> argmax 0 (lowest index), final
    return s                          # sample 2: never spikes


def test_first_spike_readout_by_hand():
    # the set of winners last changes at step 5 (sample 0) and 3 (sample 1: neuron 0 joins)
    assert decision_steps(train(), "first_spikes").tolist() == [5, 3, -1]


def test_count_argmax_readout_by_hand():
    # sample 0: cum argmax: t2..4 -> 1, t5 -> tie (1,1,0) -> 0, t6 -> 0: stable from 5
    # sample 1: t1 -> 2, t3 -> tie -> 0, t4 -> 2, t6 -> tie -> 0 (final): stable from 6
    assert decision_steps(train(), "count_argmax").tolist() == [5, 6, -1]


def test_latency_metric_accumulates_and_resets():
    m = DecisionLatency("first_spikes", onset=1, dt=1e-3, step_s=2e-6)
    out = m(train())
    # latencies: 5 - 1 + 1 = 5 and 3 - 1 + 1 = 3 steps; one undecided sample
    assert out["mean_steps"] == 4.0 and out["max_steps"] == 5 and out["median_steps"] == 4.0
    assert out["mean_s"] == pytest.approx(8e-6)
    assert out["decided_fraction"] == pytest.approx(2 / 3) and out["samples"] == 3
    out2 = m(train()[:, :1])          # one more sample with latency 5
    assert out2["mean_steps"] == pytest.approx(13 / 3) and out2["samples"] == 4
    m.reset()
    assert m.compute()["samples"] == 0 and m.compute()["mean_steps"] is None


def test_latency_bad_input():
    with pytest.raises(InputError):
        decision_steps(np.zeros((4, 3)))
    with pytest.raises(ParameterError, match="readout"):
        DecisionLatency("softmax")


def test_selection_accuracy_by_hand():
    sel = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], bool)
    rel = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    m = SelectionAccuracy()
    out = m(sel, rel)
    assert out["exact"] == pytest.approx(2 / 3)           # rows 0 and 2 (both empty) match
    assert out["precision"] == pytest.approx(2 / 3)       # 2 hits of 3 selected
    assert out["recall"] == pytest.approx(2 / 3)          # 2 hits of 3 relevant
    assert out["jaccard"] == pytest.approx((1 + 0 + 1) / 3)
    assert selection_mask([1, 3], 4).tolist() == [[False, True, False, False], [False, False, False, True]]
    assert selection_mask([[0, 2]], 3).tolist() == [[True, False, True]]
    with pytest.raises(InputError):
        selection_mask([4], 4)
    with pytest.raises(InputError):
        m(sel, rel[:, :3])
