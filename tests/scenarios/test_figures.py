"""Figures fit for a paper: PNG at 200 dpi plus SVG with real text, the raster says when it
subsamples and labels groups, heatmap panels share one colour scale, readable legends."""
import re
import struct
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the viz extra (matplotlib) is not installed")

from spikeattn.plots import counts_bar, plot_attention_flow, plot_attention_heatmaps, raster  # noqa: E402
from spikeattn.plots.raster import raster_layout  # noqa: E402


def png_dpi(path: Path) -> float:
    data = path.read_bytes()
    i = data.index(b"pHYs")
    x, _, unit = struct.unpack(">IIB", data[i + 4:i + 13])
    assert unit == 1                                   # pixels per metre
    return x * 0.0254


def test_raster_subsamples_and_says_so(tmp_path):
    rng = np.random.default_rng(0)
    spikes = {"big": rng.random((20, 1, 1024)) < 0.1, "streams": rng.random((20, 1, 32)) < 0.3}
    p = raster(spikes, tmp_path / "r.png", max_neurons=256, groups={"streams": ("stream", 8)},
               labels={"big": "a big population"}, marks={"decision": 5}, title="t")
    assert png_dpi(p) == pytest.approx(200, abs=0.5)
    svg = p.with_suffix(".svg").read_text()
    assert "every 4th neuron: 256 of 1024 shown" in svg
    assert all(f"stream {g}" in svg for g in range(4)) and "a big population" in svg
    assert "decision (step 5)" in svg                 # marks explained in a legend, not above the title
    idx, stride = raster_layout(1024, 256)
    assert stride == 4 and idx[:3].tolist() == [0, 4, 8] and len(idx) == 256
    assert raster_layout(100, 256)[1] == 1


def test_heatmaps_share_one_colour_scale(tmp_path):
    rng = np.random.default_rng(1)
    s, d = rng.random((2, 6, 6)), rng.random((2, 6, 6)) * 3
    p = plot_attention_heatmaps(s, d, tmp_path / "h.png", title="x")
    svg = p.with_suffix(".svg").read_text()
    assert svg.count("share of the query's attention") == 1         # one colour bar for the 4 panels
    assert png_dpi(p) == pytest.approx(200, abs=0.5)
    f = plot_attention_flow([s, d], tmp_path / "f.png", title="flow")
    fsvg = f.with_suffix(".svg").read_text()
    assert "head 0" in fsvg and "head 1" in fsvg and fsvg.count("share of the query's attention") == 1


def test_counts_legend_uses_readable_names(tmp_path):
    import spikeattn as sa
    c = sa.Circuit("c")
    c.add_source("x", 8, encoder="poisson")
    c.add_population("h", 4, sa.LIF(du=1.0, dv=0.5, vth=0.5))
    c.connect("x", "h", np.ones((4, 8)))
    r = sa.simulate(c, {"x": np.full(8, 0.5)}, steps=10)
    p = counts_bar(r.counts, tmp_path / "c.png", title="counts")
    svg = p.with_suffix(".svg").read_text()
    assert "synaptic accumulates (AC)" in svg and "synaptic_acs" not in svg
    assert not re.search(r"neuron_updates_active", svg)
