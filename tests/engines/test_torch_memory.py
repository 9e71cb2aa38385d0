"""The torch engine estimates the memory of what it will hold (only the recorded nodes), so
``record=`` lets a long run through that the generic estimate (every node recorded) refuses;
both refuse before allocating.  The machine's available memory is set by patching
spikeattn's own ``available_bytes`` (no library is mocked)."""
import numpy as np
import pytest

import spikeattn as sa
import spikeattn.engines.torch.memory as torch_memory
import spikeattn.validation as validation
from spikeattn.errors import MemoryLimitError

pytest.importorskip("torch", reason="the torch engine needs the torch extra")


def _circuit():
    c = sa.Circuit("long")
    c.add_source("x", 4, encoder="graded")
    c.add_population("wide", 10_000, sa.ir.neurons_extra.GradedReLU())
    c.add_population("o", 1, sa.IF(vth=0.5))
    c.connect("x", "wide", np.full((10_000, 4), 0.25), message="graded")
    c.connect("wide", "o", np.full((1, 10_000), 1e-4), message="graded")
    return c


def test_record_bounds_the_estimate(monkeypatch):
    avail = 55 * 2**20      # a machine with 55 MiB free: every node recorded needs > 64 MB, record=["o"] ~42 MB
    monkeypatch.setattr(validation, "available_bytes", lambda: avail)
    monkeypatch.setattr(torch_memory, "available_bytes", lambda: avail)
    c, x = _circuit(), np.ones((4, 4))
    assert validation.estimate_run_bytes(c, 200, 4) > avail
    with pytest.raises(MemoryLimitError, match="circuit 'long'"):
        sa.simulate(c, {"x": x}, steps=200, engine="numpy")
    with pytest.raises(MemoryLimitError):
        sa.simulate(c, {"x": x}, steps=200, engine="torch")            # records every node: refused too
    r = sa.simulate(c, {"x": x}, steps=200, engine="torch", record=["o"])
    assert set(r.spikes) == {"o"} and r.spikes["o"].shape == (200, 4, 1)
    assert r.counts.elements["wide"].fields["neuron_updates_active"][1:].min() == 10_000
