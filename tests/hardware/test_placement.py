"""Placement: toy graphs with known optimal cuts (brute force as the oracle), slicing,
traffic counted against a direct count from spike trains, and does-not-fit cases."""
import itertools

import numpy as np
import pytest

import hardware_models as hm
from hardware_models.placement import place, with_limits
from spikeattn import IF, Circuit, EventCounts, simulate


def spike_counts(circuit, per_pop: dict[str, int]) -> EventCounts:
    c = EventCounts(1, 1)
    for n, k in per_pop.items():
        c.add_element(n, "population", {"size": circuit.node(n).size})
        c.elements[n].fields["spikes"][0, 0] = k
    return c


def four_pops():
    """A -> B (all-to-all), C -> D (all-to-all), one synapse B[0] -> C[0]; 2 neurons each."""
    c = Circuit("four")
    for n in "ABCD":
        c.add_population(n, 2, IF(vth=1.0))
    c.connect("A", "B", np.ones((2, 2)))
    c.connect("C", "D", np.ones((2, 2)))
    w = np.zeros((2, 2))
    w[0, 0] = 1.0
    c.connect("B", "C", w)
    return c


def test_known_optimal_cut_four_populations():
    c = four_pops()
    lim = with_limits("loihi", neurons=4, cores_per_tile=1)
    counts = spike_counts(c, {"A": 10, "B": 10, "C": 10, "D": 10})
    pl = place(c, "loihi", counts, limits=lim)
    assert pl.cores_used == 2
    cores = {s.pop: k for s, k in zip(pl.slices, pl.core_of_slice)}
    assert cores["A"] == cores["B"] and cores["C"] == cores["D"] and cores["A"] != cores["C"]
    t = pl.traffic(counts)
    # A's 2 neurons x 5 spikes each reach B's one core (10), C's reach D's (10): intra.
    # Only B[0] (5 spikes) reaches C's core: inter, one hop (cores 0 and 1 are adjacent tiles).
    assert t.intra_core_messages == 20 and t.inter_core_messages == 5 and t.hops == 5


def two_cliques(n=4, seed=0):
    """Two dense groups of n single-neuron populations joined by one bridge."""
    c = Circuit("cliques")
    names = [f"p{i}" for i in range(2 * n)]
    for name in names:
        c.add_population(name, 1, IF(vth=1.0))
    rng = np.random.default_rng(seed)
    perm = rng.permutation(2 * n)  # hide the group structure from the node order
    groups = [[names[i] for i in perm[:n]], [names[i] for i in perm[n:]]]
    for g in groups:
        for a, b in itertools.permutations(g, 2):
            c.connect(a, b, np.ones((1, 1)))
    c.connect(groups[0][0], groups[1][0], np.ones((1, 1)))
    return c, groups


def brute_force_min_cut(c, counts, n_per_core):
    """Oracle: the fewest messages crossing cores over every split into equal cores."""
    names = sorted(c.populations)
    spikes = {n: counts.elements[n].fields["spikes"].sum() for n in names}
    best = None
    for group in itertools.combinations(names, n_per_core):
        side = {n: (n in group) for n in names}
        cut = sum(spikes[p.pre] for p in c.projections.values() if side[p.pre] != side[p.post])
        best = cut if best is None else min(best, cut)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernighan_lin_finds_the_brute_force_optimum(seed):
    c, groups = two_cliques(4, seed)
    counts = spike_counts(c, {n: 3 for n in c.populations})
    lim = with_limits("loihi", neurons=4)
    pl = place(c, "loihi", counts, limits=lim, seed=seed)
    assert pl.cores_used == 2
    assert pl.traffic(counts).inter_core_messages == brute_force_min_cut(c, counts, 4) == 3


def test_large_population_is_sliced_into_core_sized_pieces():
    c = Circuit("big")
    c.add_population("a", 2500, IF(vth=1.0))
    pl = place(c, "loihi")
    sizes = sorted(s.size for s in pl.slices)
    assert len(sizes) == 3 and sum(sizes) == 2500 and max(sizes) <= 1024
    assert pl.cores_used == 3 and pl.chips_used == 1


def test_traffic_equals_a_direct_count_from_spike_trains(rng):
    c = Circuit("net")
    c.add_source("x", 20, encoder="poisson", seed=3)
    c.add_population("h", 12, IF(vth=1.5))
    c.add_population("o", 9, IF(vth=1.5))
    w1 = (rng.random((12, 20)) < 0.4) * 1.0
    w2 = (rng.random((9, 12)) < 0.5) * 1.0
    c.connect("x", "h", w1)
    c.connect("h", "o", w2)
    res = simulate(c, {"x": np.full(20, 0.3)}, steps=30)
    lim = with_limits("loihi", neurons=5, cores_per_tile=1)
    pl = place(c, "loihi", res, limits=lim)
    # oracle: loop over every spike of every neuron, count distinct destination cores
    intra = inter = hops = 0
    for pre, post, w in (("h", "o", w2),):
        s = res.spikes[pre][:, 0, :].sum(axis=0)
        for i in range(c.node(pre).size):
            dest = {int(pl.neuron_core[post][j]) for j in np.flatnonzero(w[:, i])}
            me = int(pl.neuron_core[pre][i])
            for k in dest:
                if k == me:
                    intra += s[i]
                else:
                    inter += s[i]
                    hops += s[i] * int(pl.hops(me, k))
    host = host_hops = 0
    for i in range(20):
        dest = {int(pl.neuron_core["h"][j]) for j in np.flatnonzero(w1[:, i])}
        n = res.spikes["x"][:, 0, i].sum()
        host += n * len(dest)
        host_hops += n * sum(sum(int(v) for v in pl.core_xy(k)) for k in dest)  # from the mesh origin
    t = pl.traffic()
    assert t.intra_core_messages == intra
    assert t.inter_core_messages == inter + host and t.host_messages == host
    assert t.hops == hops + host_hops
    assert pl.cores_used >= 5  # 21 neurons, 5 per core


def test_cost_uses_placement_for_routing():
    c = four_pops()
    counts = spike_counts(c, {"A": 10, "B": 10, "C": 10, "D": 10})
    lim = with_limits("loihi", neurons=4, cores_per_tile=1)
    pl = place(c, "loihi", counts, limits=lim)
    r = hm.cost(counts, "loihi", placement=pl)
    per_msg = 111e-12 + 0.0          # SANA-FE: message out 111 pJ, message in 0 pJ (issue 9: central values)
    assert r.breakdown["routing_intra_core"] == pytest.approx(20 * per_msg)
    assert r.breakdown["routing_inter_core"] == pytest.approx(5 * per_msg + 5 * 3.6e-12)
    assert r.placement["cores_used"] == 2 and r.placement["traffic"]["inter_core_messages"] == 5


def test_fan_in_does_not_fit():
    c = Circuit("wide")
    c.add_source("x", 5000)
    c.add_population("a", 1, IF(vth=1.0))
    c.connect("x", "a", np.ones((1, 5000)))
    with pytest.raises(hm.PlacementError, match="fan-in") as e:
        place(c, "loihi")
    assert e.value.constraint.startswith("fan-in") and "'a'" in e.value.element


def test_synaptic_memory_does_not_fit_on_truenorth():
    c = Circuit("tn")
    c.add_source("x", 200)
    c.add_population("a", 1, IF(vth=1.0))
    c.connect("x", "a", np.ones((1, 200)))
    lim = with_limits("truenorth", synaptic_memory_bytes=16)  # 200 synapses x 1/8 B = 25 B > 16 B
    with pytest.raises(hm.PlacementError, match="synaptic memory"):
        place(c, "truenorth", limits=lim)


def test_too_many_chips():
    c = Circuit("many")
    c.add_population("a", 5, IF(vth=1.0))
    lim = with_limits("loihi", neurons=2, cores_per_tile=1, tile_mesh=(2, 1))
    assert place(c, "loihi", limits=lim).chips_used == 2
    with pytest.raises(hm.PlacementError, match="cores per chip"):
        place(c, "loihi", limits=lim, max_chips=1)


def test_fan_out_does_not_fit():
    c = Circuit("spread")
    c.add_population("a", 1, IF(vth=1.0))
    c.add_population("b", 4, IF(vth=1.0))
    c.connect("a", "b", np.ones((4, 1)))
    lim = with_limits("loihi", neurons=1, fan_out=2)
    with pytest.raises(hm.PlacementError, match="fan-out"):
        place(c, "loihi", limits=lim)


def test_gpu_has_no_cores():
    with pytest.raises(hm.PlacementError, match="without per-core limits"):
        place(four_pops(), "h100")


def test_neuron_cores_cover_every_node():
    c = Circuit("io")
    c.add_source("x", 3)
    c.add_population("a", 4, IF(vth=1.0))
    c.add_population("b", 4, IF(vth=1.0))
    c.connect("x", "b", np.ones((4, 3)))
    c.connect("a", "b", np.ones((4, 4)))
    pl = place(c, "loihi", limits=with_limits("loihi", neurons=4))
    nc = pl.neuron_cores
    assert set(nc) == {"x", "a", "b"} and pl.cores_used == 2
    assert (nc["x"] == nc["b"][0]).all()  # the source sits with the neurons it drives


def test_spinnaker2_counts_neuron_state_in_core_memory():
    # 128 KB per PE shared by state and synapses: IF state_bytes per neuron x neurons must fit
    c = Circuit("s2")
    c.add_population("a", 20000, IF(vth=1.0))
    per = c.node("a").model.state_bytes
    pl = place(c, "spinnaker2")
    assert pl.cores_used == -(-20000 * per // (128 * 1024))
    assert max(s.synapse_bytes for s in pl.slices) <= 128 * 1024


def test_latency_takes_the_busiest_core_and_the_barrier_for_tiles_used():
    c = four_pops()
    counts = spike_counts(c, {"A": 10, "B": 10, "C": 10, "D": 10})
    pl = place(c, "loihi", counts, limits=with_limits("loihi", neurons=4, cores_per_tile=1))
    r = hm.cost(counts, "loihi", placement=pl)
    # issue 9 (SANA-FE timing): 30 ns per spike, 5.1 ns per message sent, 16 ns per message received;
    # a core's front end (messages received) and back end (spikes, messages sent) overlap.
    # core {A, B}: back 20 x 30 + (10 + 5) x 5.1 = 676.5 ns, front 10 x 16 = 160 ns -> 676.5 (busiest);
    # core {C, D}: back 600 + 10 x 5.1 = 651 ns, front (10 + 5) x 16 = 240 ns -> 651 ns;
    # the two cores are 1 hop apart: + 5.3 ns; 2 tiles used: barrier 600 + (1800 - 600) x 1 / 31 ns
    assert r.latency_s == pytest.approx((676.5 + 5.3 + 600 + 1200 / 31) * 1e-9)


def test_cost_with_a_circuit_that_does_not_fit_raises():
    c = Circuit("wide")
    c.add_source("x", 5000)
    c.add_population("a", 1, IF(vth=1.0))
    c.connect("x", "a", np.ones((1, 5000)))
    counts = spike_counts(c, {"a": 1})
    with pytest.raises(hm.PlacementError, match="fan-in"):
        hm.cost(counts, "loihi", circuit=c)
    rep = hm.estimate(hm.SpikingWorkload.of(counts, c), "loihi")  # the estimator notes it and goes on
    assert any("Placement on loihi failed" in n for n in rep.notes)
