"""``hardware_models.resources`` and ``spikeattn resources`` (issue 10 item 3).

Oracles: per-core counts worked out by hand from the construction of each circuit and the
published core limits (Loihi: 1,024 neurons, 128 KB synaptic memory, 4,096 input axons per
core, 128 cores per chip; Davies et al. 2018); the partition is compared with the cost
model's own placement (``place``), which the report must share."""
import json

import numpy as np
import pytest

from hardware_models.placement import place
from hardware_models.resources import ASSUMPTIONS, resources
from spikeattn import Circuit, save
from spikeattn.cli import main
from spikeattn.ir import LoihiLIF


def _ring(n=2000, k=3, src=10):
    """n neurons, neuron i fed by sources i, i+1, ..., i+k-1 (mod src), weight 5."""
    c = Circuit("ring")
    c.add_source("x", src)
    c.add_population("a", n, LoihiLIF(vth=100))
    w = np.zeros((n, src), int)
    for j in range(k):
        w[np.arange(n), (np.arange(n) + j) % src] = 5
    c.connect("x", "a", w)
    return c


def test_counts_per_core_by_hand_on_loihi():
    rep = resources(_ring(), "loihi")
    assert rep.fits and rep.cores == 2 and rep.chips == 1 and rep.cores_per_chip == 128
    assert [c["neurons"] for c in rep.per_core] == [1000, 1000]          # 2000 cut in two equal slices
    assert [c["synapses"] for c in rep.per_core] == [3000, 3000]
    assert [c["weight_memory_bytes"] for c in rep.per_core] == [3000.0, 3000.0]   # 1 byte per synapse
    assert [c["axons_in"] for c in rep.per_core] == [10, 10]              # every source reaches both
    assert [c["fan_in_cores"] for c in rep.per_core] == [1, 1]            # the host only
    assert [c["axons_out"] for c in rep.per_core] == [0, 0] and [c["fan_out_cores"] for c in rep.per_core] == [0, 0]
    assert rep.per_core[0]["util_neurons"] == pytest.approx(1000 / 1024)
    assert rep.histograms["neurons"]["counts"] == [0] * 9 + [2]
    assert rep.histograms["axons_in"]["counts"] == [2] + [0] * 9


def test_memory_binds_before_neurons_and_the_partition_is_the_cost_models():
    """1000 neurons x 200 synapses = 200,000 B > 131,072 B: two cores of 500 although 1000
    neurons would fit one Loihi core."""
    c = Circuit("mem")
    c.add_source("x", 200)
    c.add_population("a", 1000, LoihiLIF())
    c.connect("x", "a", np.ones((1000, 200), int))
    rep = resources(c, "loihi")
    assert rep.cores == 2 and [p["neurons"] for p in rep.per_core] == [500, 500]
    assert [p["weight_memory_bytes"] for p in rep.per_core] == [100_000.0, 100_000.0]
    assert rep.partition["assignment"] == place(c, "loihi").summary()["assignment"]
    assert "Kernighan-Lin" in rep.partition["method"]


def test_does_not_fit_names_the_constraint_and_how_much():
    c = Circuit("wide")
    c.add_source("x", 5000)
    c.add_population("h", 2, LoihiLIF())
    c.connect("x", "h", np.ones((2, 5000), int))
    rep = resources(c, "loihi2")
    assert not rep.fits
    b = rep.binding
    assert b["constraint"] == "fan-in (input axons) per core" and "neuron 0" in b["element"]
    assert (b["need"], b["limit"], b["over_by"]) == (5000, 4096, 904)
    assert b["over_ratio"] == pytest.approx(5000 / 4096)
    assert "DOES NOT FIT: fan-in" in rep.table() and "over by 904" in rep.table()


def test_max_chips_binding():
    c = Circuit("many")
    c.add_population("a", 129 * 1024, LoihiLIF())          # 129 full Loihi cores, one more than a chip
    rep = resources(c, "loihi", max_chips=1)
    assert rep.cores == 129 and rep.chips == 2 and not rep.fits
    assert rep.binding["constraint"] == "cores per chip"
    assert (rep.binding["need"], rep.binding["limit"], rep.binding["over_by"]) == (129, 128, 1)
    assert resources(c, "loihi").fits


def test_loihi2_limits_are_marked_as_assumptions_with_sources():
    rep = resources(_ring(), "loihi2")
    assert rep.cores == 1 and rep.per_core[0]["neurons"] == 2000          # ~8,192 neurons per Loihi 2 core
    for key in ("neurons", "synaptic_memory_bytes", "bytes_per_synapse", "fan_in", "fan_out"):
        assert key in rep.assumptions
    assert "Loihi 2 technology brief" in rep.assumptions["neurons"] and "unverified" in rep.assumptions["neurons"]
    assert set(ASSUMPTIONS["loihi"]) == {"bytes_per_synapse"}


def test_cli_table_json_png(tmp_path, capsys):
    path = tmp_path / "ring.zip"
    save(_ring(), path)
    rc = main(["resources", str(path), "--chip", "loihi", "--json", str(tmp_path / "r.json"),
               "--png", str(tmp_path / "r.png")])
    out = capsys.readouterr().out
    assert rc == 0 and "2 cores on 1 chip(s)" in out and "limit" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["cores"] == 2 and doc["fits"] is True and len(doc["per_core"]) == 2
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wide = Circuit("wide")
    wide.add_source("x", 5000)
    wide.add_population("h", 1, LoihiLIF())
    wide.connect("x", "h", np.ones((1, 5000), int))
    save(wide, tmp_path / "wide.zip")
    assert main(["resources", str(tmp_path / "wide.zip"), "--chip", "loihi2"]) == 1
    assert "DOES NOT FIT" in capsys.readouterr().out
