"""NVML measurement protocol (hardware_models.nvml).  No GPU here: the statistics are checked
against hand-computed numbers, the protocol's minimums are enforced, and the measurement itself
runs only where CUDA is present (skipped otherwise, saying why)."""
import pytest

from hardware_models.nvml import summarise
from spikeattn.errors import ParameterError


def test_summary_by_hand():
    # 5 trials: 100 J over 1.0 s for 1000 passes etc.; idle 60 W
    trials = [{"energy_j": e, "time_s": t, "passes": n}
              for e, t, n in ((100, 1.0, 1000), (110, 1.1, 1000), (90, 1.0, 900), (120, 1.2, 1100), (105, 1.0, 1000))]
    s = summarise(trials, idle_w=60.0)
    per = sorted([0.1, 0.11, 0.1, 120 / 1100, 0.105])
    assert s["energy_j"]["median"] == pytest.approx(per[2])
    assert s["energy_j"]["min"] == pytest.approx(0.1) and s["energy_j"]["max"] == pytest.approx(0.11)
    dyn = sorted([(100 - 60) / 1000, (110 - 66) / 1000, (90 - 60) / 900, (120 - 72) / 1100, (105 - 60) / 1000])
    assert s["dynamic_j"]["median"] == pytest.approx(dyn[2])
    # per-pass times 1.0, 1.1, 1.111, 1.0909, 1.0 ms: median 1.0909 ms
    assert s["time_s"]["median"] == pytest.approx(1.2 / 1100)
    assert s["trials"] == 5 and s["power_w"]["min"] == pytest.approx(90.0) and s["power_w"]["max"] == pytest.approx(105.0)
    assert s["energy_j"]["stdev"] > 0
    with pytest.raises(ParameterError, match="trials"):
        summarise([], 1.0)


def test_protocol_minimums_are_enforced():
    torch = pytest.importorskip("torch", reason="the measurement needs torch")
    from hardware_models.nvml import measure
    model = torch.nn.Linear(4, 4)
    with pytest.raises(ParameterError, match="at least 5 trials"):
        measure(model, {"input": torch.zeros(1, 4)}, trials=3)
    with pytest.raises(ParameterError, match="at least 5 trials of at least 1"):
        measure(model, {"input": torch.zeros(1, 4)}, min_trial_s=0.5)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="no CUDA GPU"):
            measure(model, {"input": torch.zeros(1, 4)})
