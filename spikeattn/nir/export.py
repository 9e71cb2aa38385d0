"""``export(circuit) -> nir.NIRGraph`` (see :mod:`spikeattn.nir` for the mapping)."""
from __future__ import annotations

import json

import numpy as np
import scipy.sparse as sp

from ..errors import UnsupportedFeatureError, require
from ..ir import IF, LIF, Circuit

META = "spikeattn"
FORMAT = 1


def nir_module():
    """The ``nir`` package, or a MissingExtraError naming the ``nir`` extra."""
    return require("nir", "nir", "NIR export/import", "pip install 'spikeattn[nir]'")


def _json(obj) -> str:
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"{type(o).__name__} is not JSON")
    return json.dumps(obj, default=default)


def _arr(value, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, np.float64), (n,)).copy()


def _refuse(name: str, what: str, nearest: str):
    raise UnsupportedFeatureError(f"population '{name}': {what} has no NIR equivalent in the subset spikeattn "
                                  f"exports (LIF, IF, CubaLIF, Linear, Delay). Nearest that maps: {nearest}.")


def neuron_node(name: str, pop, dt: float):
    nir = nir_module()
    m, n = pop.model, pop.size
    if type(m) not in (LIF, IF):
        nearest = ("spikeattn.LIF with du = du/4096, dv = dv/4096 (float; NIR has no fixed-point neuron)"
                   if m.kind == "loihi_lif" else "spikeattn.LIF / spikeattn.IF with binary spikes")
        _refuse(name, f"model {type(m).__name__}", nearest)
    if m.reset != "zero":
        _refuse(name, "reset by subtraction", "reset='zero' (NIR's LIF/IF set v to v_reset on a spike)")
    if m.refractory:
        _refuse(name, f"a refractory period ({m.refractory} steps)", "refractory=0")
    du, dv, bias = _arr(m.du, n), _arr(m.dv, n), _arr(m.bias, n)
    vth, v_reset = _arr(m.vth, n), _arr(m.v_reset, n)
    if np.any(du == 1) and not np.all(du == 1):
        _refuse(name, "a mix of du = 1 and du < 1 neurons", "one population per kind of neuron")
    if np.any(dv == 0) and not np.all(dv == 0):
        _refuse(name, "a mix of dv = 0 and dv > 0 neurons", "one population per kind of neuron")
    if np.all(du == 1) and np.all(dv == 0):
        if np.any(bias != 0):
            _refuse(name, "a bias on a neuron without leak (NIR's IF has no bias)", "bias=0, or dv > 0 (LIF)")
        return nir.IF(r=np.full(n, 1.0 / dt), v_threshold=vth, v_reset=v_reset)
    if np.all(dv == 0):
        _refuse(name, "a current-based neuron without membrane leak (dv = 0, du < 1: tau_mem infinite)",
                "dv > 0 (CubaLIF) or du = 1 (IF)")
    if np.all(du == 1):
        return nir.LIF(tau=dt / dv, r=1.0 / dv, v_leak=bias / dv, v_threshold=vth, v_reset=v_reset)
    return nir.CubaLIF(tau_syn=dt / du, tau_mem=dt / dv, r=1.0 / dv, v_leak=bias / dv, v_threshold=vth,
                       v_reset=v_reset, w_in=1.0 / du)


def export(circuit: Circuit):
    """``circuit`` as a ``nir.NIRGraph`` (float LIF/IF circuits; see :mod:`spikeattn.nir`)."""
    nir = nir_module()
    circuit.validate()
    if circuit.fixed_point:
        raise UnsupportedFeatureError(f"circuit '{circuit.name}' is fixed point (LoihiLIF); NIR has no "
                                      "fixed-point neuron. Nearest that maps: the float LIF circuit.")
    dt = float(circuit.dt)
    nodes, edges = {}, []
    for name, src in circuit.sources.items():
        nodes[name] = nir.Input(input_type={"input": np.array([src.size])},
                                metadata={META: _json({"shape": list(src.shape), "encoder": src.encoder,
                                                       "seed": src.seed, "window": src.window})})
    for name, pop in circuit.populations.items():
        node = neuron_node(name, pop, dt)
        node.metadata[META] = _json({"shape": list(pop.shape), "kind": pop.model.kind,
                                     "params": pop.model.params(), "initial": dict(pop.initial)})
        nodes[name] = node
    for name, p in circuit.projections.items():
        if getattr(p, "structured", False) and p.kind != "conv":
            raise UnsupportedFeatureError(
                f"projection '{name}' is a structured '{p.kind}' projection, which NIR has no node for (NIR 1.0 "
                "has Linear, Affine and Conv but no weights shared across tokens, gathers or spike products). "
                "Nearest that maps: export circuit.expand() (the neuron-level circuit).")
        if p.message != "binary":
            raise UnsupportedFeatureError(f"projection '{name}': {p.message} messages have no NIR equivalent "
                                          "(NIR Linear carries a neuron's spikes). Nearest that maps: binary.")
        if name in nodes or f"{name}.delay" in nodes:
            raise UnsupportedFeatureError(f"projection '{name}' has the name of another node; rename it.")
        if getattr(p, "structured", False):   # ConvProjection: NIR's Conv2d (cross-correlation, one group)
            nodes[name] = nir.Conv2d(input_shape=tuple(p.input_hw), weight=np.asarray(p.weights, np.float64),
                                     stride=tuple(p.stride), padding=tuple(p.padding), dilation=(1, 1), groups=1,
                                     bias=np.zeros(p.weights.shape[0]),
                                     metadata={META: _json({"delay": p.delay, "message": p.message})})
        else:
            w = p.weights.toarray() if sp.issparse(p.weights) else np.asarray(p.weights)
            nodes[name] = nir.Linear(weight=np.asarray(w, np.float64), metadata={META: _json(
                {"delay": p.delay, "message": p.message, "sparse": bool(p.sparse), "weight_exp": p.weight_exp,
                 "num_weight_bits": p.num_weight_bits, "sign_mode": p.sign_mode})})
        edges.append((p.pre, name))
        if p.delay > 0:
            nodes[f"{name}.delay"] = nir.Delay(delay=np.full(circuit.node(p.post).size, p.delay * dt))
            edges += [(name, f"{name}.delay"), (f"{name}.delay", p.post)]
        else:
            edges.append((name, p.post))
    # Output nodes: the circuit's output ports, else the populations nothing reads (at least one)
    outs = {f"out.{port}": pop for port, pop in circuit.outputs.items()}
    if not outs:
        read = {p.pre for p in circuit.projections.values()}
        outs = {f"out.{n}": n for n in circuit.populations if n not in read}
        if not outs and circuit.populations:
            last = list(circuit.populations)[-1]
            outs = {f"out.{last}": last}
    for oname, pop in outs.items():
        if oname in nodes:
            raise UnsupportedFeatureError(f"node '{oname}' clashes with the NIR output node spikeattn adds; rename it.")
        nodes[oname] = nir.Output(output_type={"output": np.array([circuit.node(pop).size])})
        edges.append((pop, oname))
    meta = {"format": FORMAT, "name": circuit.name, "dt": dt, "outputs": dict(circuit.outputs),
            "probes": [[pr.target, list(pr.variables)] for pr in circuit.probes], "meta": circuit.meta}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={META: _json(meta)}, type_check=False)


def write(circuit: Circuit, path) -> None:
    """Export ``circuit`` and write it as a NIR file (HDF5, ``nir.write``) atomically."""
    import os
    import tempfile
    from pathlib import Path
    nir = nir_module()
    path = Path(path)
    graph = export(circuit)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent or "."))
    os.close(fd)
    try:
        nir.write(tmp, graph)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
