"""Closed-form fused run of the SSA circuits: spikes and EventCounts without simulating
the ``N_q x N_k x c`` coincidence and gate neurons one by one.

Every count of the neuron-level circuit (:mod:`.ssa`) is a sum over neurons of products of
binary input indicators, so it factorises into per-token marginals.  For order "qk_v",
with ``r_i`` / ``n_j`` the number of keys per query / queries per key, source step ``s``
(Q, K, V spikes) and ``X = Q_s``, ``Y = K_s`` (the coincidence neurons are memoryless,
``du = dv = 1``: they are active only in the step their input arrives), per head and channel::

    coincidence active at s+1 = sum_i X_i r_i + sum_j Y_j n_j - sum_{(i,j) in M} X_i Y_j
    coincidence spikes at s+1 = sum_{(i,j) in M} Q_i K_j          (= sum of A_s)
    map (accumulators) at s+2:  A_s = (Q_s K_s^T) ⊙ M, active/spiking where A_s > 0
    gate active at s+3          = c nnz(A_s) + sum_j n_j |V_j| - sum_{(i,j)} [A_ij > 0] |V_j|
    gate spikes at s+3          = sum_{(i,j)} [A_ij > 0] |V_j|      (|V_j| = spikes of key j, per head)
    output input at s+4         = scale * A_s V_s,  events received = [A_s > 0] V_s

and the synaptic ops follow from the fan-outs (``r_i`` for Q, ``n_j`` for K and V, ``c`` for
the map, 1 elsewhere).  Order "q_kv" is analogous with the ``c x c`` map ``K_s^T V_s``.
The work per step is one ``(Q K^T)`` (or ``K^T V``) product per head — the cost of the
arithmetic, not of the neurons.  :func:`ssa_fused` is usable without building the circuit
(the scaling benchmark does so for large N); tests check it against the neuron-level run.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...counts import EventCounts


class _Lif:
    """The output population, stepped by the model-behaviour layer (:class:`LIFDynamics` only:
    any other dynamics is refused, since the closed form assumes LIF arithmetic)."""

    def __init__(self, m, shape):
        from ...dynamics import LIFDynamics, dynamics_for
        from ...errors import UnsupportedFeatureError
        from ...ir import Population

        self.dyn = dynamics_for(m)
        if type(self.dyn) is not LIFDynamics:
            raise UnsupportedFeatureError(f"closed-form SSA: the output model '{m.kind}' has dynamics "
                                          f"{type(self.dyn).__name__}; only LIFDynamics is implemented.")
        pop = Population("y", shape[1], m)
        self.params, self.state = self.dyn.params(pop), self.dyn.init_state(pop, shape[0])

    def step(self, a_in, received):
        active = self.dyn.carries(self.params, self.state) | (received > 0)
        s, self.state = self.dyn.step(self.params, self.state, a_in)
        return s, active.sum(axis=1)


def _counts(names: dict, steps: int, batch: int) -> EventCounts:
    counts = EventCounts(steps, batch)
    for n, (kind, meta) in names.items():
        counts.add_element(n, kind, meta)
    return counts


def _pop(counts, name, t, active, size, spikes, state_bytes):
    c = counts.elements[name].fields
    c["neuron_updates_active"][t] = active
    c["neuron_updates_idle"][t] = size - active
    c["spikes"][t] = spikes
    c["state_bytes_read"][t] = c["state_bytes_written"][t] = active * state_bytes


def _proj(counts, name, t, ops, messages, graded):
    c = counts.elements[name].fields
    c["synaptic_macs" if graded else "synaptic_acs"][t] = ops
    c["messages"][t] = messages
    c["weight_bytes_read"][t] = ops * 4


def ssa_fused(spec: dict, q, k, v, out_model, mask=None, record: bool = False):
    """Spikes (if ``record``) and EventCounts of an SSA circuit described by ``spec``
    (``circuit.meta["attention"]``) for source spikes ``q`` ``(T, B, N_q*D)``, ``k``, ``v``
    ``(T, B, N_k*D)``.  Returns ``(spikes: dict, counts: EventCounts)``."""
    T, B = q.shape[:2]
    nq, nk, d, h = spec["n_query"], spec["n_key"], spec["dim"], spec["heads"]
    c, order, scale = d // h, spec["order"], spec["scale"]
    Q = q.reshape(T, B, nq, h, c).astype(bool)
    K = k.reshape(T, B, nk, h, c).astype(bool)
    V = v.reshape(T, B, nk, h, c).astype(bool)
    full = mask is None
    if order == "qk_v":
        m = sp.csr_matrix((nq, nk), dtype=bool) if full else sp.csr_matrix(mask, dtype=bool)
        rows = np.full(nq, nk) if full else np.diff(m.indptr)
        cols = np.full(nk, nq) if full else np.bincount(m.indices, minlength=nk)
        n_pairs = nq * nk if full else m.nnz
        i_p, j_p = (None, None) if full else (np.repeat(np.arange(nq), rows), m.indices)
        sizes = {"coinc": h * n_pairs * c, "map": h * n_pairs, "gate": h * n_pairs * c}
        fan = {"q->coinc": rows, "k->coinc": cols, "v->gate": cols}
    else:
        sizes = {"coinc": h * nk * c * c, "map": h * c * c, "gate": h * nq * c * c}
    sizes["y"] = nq * d
    from ...ir import LIF
    sb = {"coinc": LIF.state_bytes, "map": 4, "gate": 4, "y": out_model.state_bytes}
    pops = {"coinc": "lif", "map": "graded_relu", "gate": "graded_relu", "y": out_model.kind}
    proj = ({"q->coinc": ("q", "coinc", 1, "binary"), "k->coinc": ("k", "coinc", 1, "binary"),
             "coinc->map": ("coinc", "map", 1, "binary"), "map->gate": ("map", "gate", 1, "graded"),
             "v->gate": ("v", "gate", 3, "binary"), "gate->y": ("gate", "y", 1, "graded")}
            if order == "qk_v" else
            {"k->coinc": ("k", "coinc", 1, "binary"), "v->coinc": ("v", "coinc", 1, "binary"),
             "coinc->map": ("coinc", "map", 1, "binary"), "map->gate": ("map", "gate", 1, "graded"),
             "q->gate": ("q", "gate", 3, "binary"), "gate->y": ("gate", "y", 1, "graded")})
    syn = _synapses(order, sizes, nq, nk, c, h)
    names = {n: ("population", {"size": sizes[n], "model": pops[n], "state_bytes": sb[n]}) for n in sizes}
    names.update({n: ("source", {"size": a.shape[2], "encoder": "spikes"}) for n, a in (("q", q), ("k", k), ("v", v))})
    names.update({n: ("projection", {"pre": a, "post": b, "synapses": syn[n], "weight_bytes": 4, "delay": dl,
                                     "message": msg}) for n, (a, b, dl, msg) in proj.items()})
    counts = _counts(names, T, B)
    for n, a in (("q", q), ("k", k), ("v", v)):
        counts.elements[n].fields["spikes"][:] = (a != 0).sum(axis=2)
    spikes = {n: np.zeros((T, B, s), bool) for n, s in sizes.items()} if record else {}
    y = _Lif(out_model, (B, nq * d))
    zero = np.zeros_like(Q[0])
    zk = np.zeros_like(K[0])
    qsum = lambda x: x.sum(axis=(1, 2, 3))  # noqa: E731
    n_map_pop = sizes["map"] // h
    mk, jk, ik, ck = (m, j_p, i_p, cols) if order == "qk_v" else (None, None, None, None)
    cache_a, cache_g = {}, {}

    def amap(s):
        if s not in cache_a:
            cache_a.clear() if len(cache_a) > 4 else None
            cache_a[s] = (np.zeros((B, h, n_map_pop), np.int64) if s < 0 else
                          _map_at(s, Q, K, V, order, mk, full, ik, jk, B, h))
        return cache_a[s]

    def gate(s, rec):
        key = (s, rec)
        if key not in cache_g:
            cache_g.clear() if len(cache_g) > 4 else None
            g = None if s < 0 else (V[s] if order == "qk_v" else Q[s])
            cache_g[key] = _gate(amap(s), g, order, mk, full, jk, ck, B, nq, nk, h, c, rec, ik)
        return cache_g[key]
    for t in range(T):
        s = t  # the sources emit the spikes of step t now
        if order == "qk_v":
            # sources: ops = spikes x fan-out; messages = spikes of neurons with a synapse
            for pname, x, fo in (("q->coinc", Q[s], rows), ("k->coinc", K[s], cols), ("v->gate", V[s], cols)):
                _proj(counts, pname, t, np.einsum("bihc,i->b", x, fo), (x & (fo > 0)[:, None, None]).sum((1, 2, 3)),
                      False)
        else:
            _proj(counts, "k->coinc", t, c * qsum(K[s]), qsum(K[s]), False)
            _proj(counts, "v->coinc", t, c * qsum(V[s]), qsum(V[s]), False)
            _proj(counts, "q->gate", t, c * qsum(Q[s]), qsum(Q[s]), False)
        # coincidence stage at t: inputs from step t-1 (memoryless neurons: nothing carried)
        q1, k1 = (Q[t - 1], K[t - 1]) if t >= 1 else (zero, zk)
        v1 = V[t - 1] if t >= 1 else zk
        if order == "qk_v":
            X, Y = q1, k1
            act = (np.einsum("bihc,i->b", X, rows) + np.einsum("bjhc,j->b", Y, cols)
                   - _pairsum(X, Y, m, full))
            a1 = amap(t - 1)                             # (B, H, P) map of source step t-1
            n_c = a1.sum(axis=(1, 2))
            if record:
                spikes["coinc"][t] = _coinc_spikes(q1, k1, full, i_p, j_p)
        else:
            X, Y = k1.sum(-1), v1.sum(-1)                 # (B, nk, h)
            act = (c * X.sum((1, 2)) + c * Y.sum((1, 2)) - (X * Y).sum((1, 2)))
            a1 = amap(t - 1)
            n_c = a1.sum(axis=(1, 2))
            if record:
                spikes["coinc"][t] = (k1[..., :, None] & v1[..., None, :]).transpose(0, 2, 1, 3, 4).reshape(B, -1)
        _pop(counts, "coinc", t, act, sizes["coinc"], n_c, sb["coinc"])
        _proj(counts, "coinc->map", t, n_c, n_c, False)
        # map stage at t: values of source step t-2
        a2 = amap(t - 2)
        nz2 = a2 > 0
        n_map = nz2.sum(axis=(1, 2))
        _pop(counts, "map", t, n_map, sizes["map"], n_map, 4)
        fan_map = c if order == "qk_v" else nq
        _proj(counts, "map->gate", t, fan_map * n_map, n_map, True)
        if record:
            spikes["map"][t] = nz2.reshape(B, -1)
        # gate stage at t: map of source step t-3 meets V (or Q) of step t-3
        act_g, n_g, _, _, gsp = gate(t - 3, record)
        _pop(counts, "gate", t, act_g, sizes["gate"], n_g, 4)
        _proj(counts, "gate->y", t, n_g, n_g, True)
        if record and gsp is not None:
            spikes["gate"][t] = gsp
        # output LIF at t: gate values of step t-1 (source step t-4)
        _, _, x4, r4, _ = gate(t - 4, False)
        sy, act_y = y.step(scale * x4.reshape(B, -1), r4.reshape(B, -1))
        _pop(counts, "y", t, act_y, sizes["y"], sy.sum(axis=1), sb["y"])
        if record:
            spikes["y"][t] = sy
    return spikes, counts


def _synapses(order, sizes, nq, nk, c, h) -> dict:
    if order == "qk_v":
        n = sizes["coinc"]
        return {"q->coinc": n, "k->coinc": n, "coinc->map": n, "map->gate": n, "v->gate": n, "gate->y": n}
    nc, ng = sizes["coinc"], sizes["gate"]
    return {"k->coinc": nc, "v->coinc": nc, "coinc->map": nc, "map->gate": ng, "q->gate": ng, "gate->y": ng}


def _pairsum(X, Y, m, full):
    """sum over (i, j) in M, heads and channels of X[i] Y[j], per sample."""
    if full:
        return (X.sum(axis=1) * Y.sum(axis=1)).sum(axis=(1, 2))
    b = X.shape[0]
    my = m.astype(np.int64) @ np.moveaxis(Y, 1, 0).reshape(Y.shape[1], -1).astype(np.int64)
    return (np.moveaxis(X, 1, 0).reshape(X.shape[1], -1) * my).reshape(-1, b, X.shape[2] * X.shape[3]).sum(axis=(0, 2))


def _qk(q1, k1, m, full, i_p, j_p):
    """A = (Q K^T) ⊙ M per head as (B, H, P) int64."""
    if full:
        a = np.einsum("bihc,bjhc->bhij", q1.astype(np.float64), k1.astype(np.float64))
        return a.reshape(a.shape[0], a.shape[1], -1).astype(np.int64)
    return np.einsum("bphc,bphc->bhp", q1[:, i_p].astype(np.int64), k1[:, j_p].astype(np.int64))


def _coinc_spikes(q1, k1, full, i_p, j_p):
    if full:
        s = q1[:, :, None] & k1[:, None, :]            # (B, nq, nk, h, c)
        s = s.reshape(s.shape[0], -1, s.shape[3], s.shape[4])
    else:
        s = q1[:, i_p] & k1[:, j_p]                    # (B, P, h, c)
    return s.transpose(0, 2, 1, 3).reshape(s.shape[0], -1)


def _map_at(s, Q, K, V, order, m, full, i_p, j_p, B, h):
    if order == "qk_v":
        return _qk(Q[s], K[s], m, full, i_p, j_p)
    return np.einsum("bjha,bjhe->bhae", K[s].astype(np.int64), V[s].astype(np.int64)).reshape(B, h, -1)


def _gate(a, g, order, m, full, j_p, cols, B, nq, nk, h, c, record, i_p):
    """Gate stage for map values ``a`` (B, H, P) and gating spikes ``g`` (V or Q of the same
    source step).  Returns (active, spikes, output input x (B, nq, h, c), received by y, spikes)."""
    if g is None:
        z = np.zeros(B, np.int64)
        return z, z, np.zeros((B, nq, h, c)), np.zeros((B, nq, h, c), np.int64), None
    nz = a > 0
    gs = g.sum(axis=-1).astype(np.int64)                # (B, n, h) spikes per token and head
    gi = g.astype(np.int64)
    if order == "qk_v":
        if full:
            A, NZ = a.reshape(B, h, nq, nk), nz.reshape(B, h, nq, nk)
            both = np.einsum("bhij,bjh->b", NZ.astype(np.int64), gs)
            x = np.einsum("bhij,bjhe->bihe", A.astype(np.float64), gi.astype(np.float64))
            rec = np.einsum("bhij,bjhe->bihe", NZ.astype(np.float64), gi.astype(np.float64)).astype(np.int64)
        else:
            both = np.einsum("bhp,bph->b", nz.astype(np.int64), gs[:, j_p])
            x, rec = np.zeros((B, nq, h, c)), np.zeros((B, nq, h, c))
            for b in range(B):
                for hh in range(h):
                    ab = sp.csr_matrix((a[b, hh].astype(np.float64), m.indices, m.indptr), shape=m.shape)
                    x[b, :, hh] = ab @ gi[b, :, hh]
                    nb = sp.csr_matrix((nz[b, hh].astype(np.float64), m.indices, m.indptr), shape=m.shape)
                    rec[b, :, hh] = nb @ gi[b, :, hh]
            rec = rec.astype(np.int64)
        active = c * nz.sum(axis=(1, 2)) + np.einsum("bjh,j->b", gs, cols) - both
        sp_out = None
        if record:
            gv = g if full else g[:, j_p]
            if full:
                sp_out = nz.reshape(B, h, nq, nk)[..., None] & gv.transpose(0, 2, 1, 3)[:, :, None]
            else:
                sp_out = nz[..., None] & gv.transpose(0, 2, 1, 3)
            sp_out = sp_out.reshape(B, -1)
        return active, both, x, rec, sp_out
    # q_kv: a is (B, h, c*c) = M[a, e]; g is Q (B, nq, h, c)
    M = a.reshape(B, h, c, c)
    NZ = (M > 0).astype(np.int64)
    rownz = NZ.sum(axis=-1)                             # (B, h, c): non-zero map entries per row a
    both = np.einsum("biha,bha->b", gi, rownz)
    active = nq * NZ.sum(axis=(1, 2, 3)) + c * gi.sum(axis=(1, 2, 3)) - both
    x = np.einsum("biha,bhae->bihe", gi.astype(np.float64), M.astype(np.float64))
    rec = np.einsum("biha,bhae->bihe", gi, NZ)
    sp_out = None
    if record:
        sp_out = (g.transpose(0, 2, 1, 3)[..., None] & (NZ[:, :, None] > 0)).reshape(B, -1)
    return active, both, x, rec, sp_out
