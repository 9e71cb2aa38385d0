"""``import_(graph, dt, reset) -> Circuit`` (see :mod:`spikeattn.nir` for the mapping).

Foreign graphs (no ``metadata["spikeattn"]``), per post neuron, forward Euler with step ``dt``:

- ``LIF``: ``dv = dt / tau``; ``v = v (1 - dv) + dv r I + dv v_leak``: incoming weights are
  scaled by ``dv r``, ``bias = dv v_leak`` (+ ``dv r b`` of any ``Affine`` bias ``b``);
- ``IF``: ``v = v + dt r I``: weights scaled by ``dt r`` (bias ``dt r b``);
- ``CubaLIF``: ``du = dt / tau_syn``, ``dv = dt / tau_mem``; the synaptic current
  ``I = I (1 - du) + du w_in x`` enters ``v`` as ``dv r I``, so our ``u = dv r I`` and the weights
  are scaled by ``dv r du w_in``; ``bias = dv v_leak`` (an ``Affine`` bias would pass
  through the synapse's low-pass filter: refused).

``reset="snntorch"`` reproduces snnTorch's default ``Leaky`` (reset by subtraction,
``reset_delay=True``): ``mem[t] = beta mem[t-1] + I[t] - thr s[t-1]``, ``s[t] = mem[t] > thr``.
With ``w[t] = mem[t] - thr s[t]`` (our post-reset ``v``, reset "subtract") this is
``mem[t+1] = beta w[t] + I[t+1] - (1 - beta) thr s[t]``: our LIF with ``dv = 1 - beta``,
reset "subtract" and a diagonal self-projection of weight ``-(1 - beta) thr`` delayed one
step.  (It needs ``du = 1``: on a CubaLIF the term would pass through the synapse.)
"""
from __future__ import annotations

import json

import numpy as np
import scipy.sparse as sp

from ..errors import InputError, UnsupportedFeatureError
from ..ir import IF, LIF, Circuit, Population, Projection, SpikeSource
from ..ir.neurons import model_from_dict
from .export import META, nir_module

RESETS = ("zero", "subtract", "snntorch")
NEAREST = {"Conv1d": "unroll the convolution into an Affine/Linear node", "Conv2d": "unroll it into Affine/Linear",
           "SumPool2d": "an Affine/Linear node with the pooling weights", "AvgPool2d": "an Affine/Linear node",
           "Flatten": "drop it: spikeattn populations are flat (C order)", "Scale": "fold it into the Linear weights",
           "LI": "CubaLIF or LIF with a high v_threshold", "Integrator": "IF", "Threshold": "IF with r = 0",
           "NIRGraph": "flatten the subgraph into the parent graph"}


def _meta(obj) -> dict | None:
    raw = (getattr(obj, "metadata", None) or {}).get(META)
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode()
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def _flat(a) -> np.ndarray:
    return np.asarray(a, np.float64).reshape(-1)


def _scalar_or_array(a: np.ndarray):
    return float(a[0]) if a.size and np.all(a == a[0]) else a


def _size(node) -> int:
    for key in ("tau", "tau_mem", "r", "v_threshold"):
        a = getattr(node, key, None)
        if a is not None and np.ndim(a) >= 1:
            return int(np.asarray(a).size)
    t = getattr(node, "input_type", None) or {}
    for v in t.values():
        return int(np.prod(np.asarray(v)))
    raise InputError(f"NIR neuron node has no per-neuron parameter to give its size: {node!r}")


def _foreign_neuron(name, node, dt, reset, nir):
    """``(model, weight scale per neuron, bias scale per neuron, self weight or None)``."""
    n = _size(node)

    def arr(key, default=0.0):
        v = getattr(node, key, None)
        return np.broadcast_to(_flat(default if v is None else v), (n,)).astype(np.float64)
    vth, v_reset = arr("v_threshold"), arr("v_reset")
    kind = "subtract" if reset in ("subtract", "snntorch") else "zero"
    extra = {"reset": kind, "v_reset": _scalar_or_array(v_reset) if kind == "zero" else 0.0}
    if isinstance(node, nir.CubaLIF):
        if reset == "snntorch":
            raise UnsupportedFeatureError(f"NIR node '{name}' (CubaLIF): snnTorch's Synaptic subtracts the "
                                          "threshold before the leak, which has no exact equivalent with a "
                                          "synaptic current; nearest that maps: reset='subtract'.")
        du, dv = dt / arr("tau_syn"), dt / arr("tau_mem")
        model = LIF(du=_scalar_or_array(du), dv=_scalar_or_array(dv), vth=_scalar_or_array(vth),
                    bias=_scalar_or_array(dv * arr("v_leak")), **extra)
        return model, dv * arr("r") * du * arr("w_in", 1.0), None, None
    if isinstance(node, nir.LIF):
        dv = dt / arr("tau")
        model = LIF(du=1.0, dv=_scalar_or_array(dv), vth=_scalar_or_array(vth),
                    bias=_scalar_or_array(dv * arr("v_leak")), **extra)
        selfw = -dv * vth if reset == "snntorch" and np.any(dv * vth != 0) else None
        return model, dv * arr("r"), dv * arr("r"), selfw
    model = IF(vth=_scalar_or_array(vth), **extra)
    return model, dt * arr("r"), dt * arr("r"), None


def import_(graph, dt: float | None = None, reset: str = "zero", name: str | None = None) -> Circuit:
    """A :class:`~spikeattn.ir.Circuit` from a ``nir.NIRGraph`` (see :mod:`spikeattn.nir`).

    ``dt``: the step in seconds (default: the one stored by :func:`spikeattn.nir.export`; a
    foreign graph needs it, e.g. ``1e-4`` for snnTorch's exporter); ``reset``: the discrete
    reset assumed for foreign neuron nodes ("zero", "subtract" or "snntorch")."""
    nir = nir_module()
    if reset not in RESETS:
        raise InputError(f"reset={reset!r} is not known; use one of {list(RESETS)}.")
    gmeta = _meta(graph) or {}
    dt = dt if dt is not None else gmeta.get("dt")
    if dt is None or not np.isfinite(dt) or dt <= 0:
        raise InputError("this NIR graph does not say its time step: pass dt= in seconds (snnTorch's exporter "
                         "assumes dt=1e-4; spikeattn's circuits default to 1e-3).")
    neuron_types = (nir.LIF, nir.IF, nir.CubaLIF)
    conn_types = (nir.Linear, nir.Affine)
    for k, node in graph.nodes.items():
        if not isinstance(node, neuron_types + conn_types + (nir.Input, nir.Output, nir.Delay)):
            kind = type(node).__name__
            raise UnsupportedFeatureError(f"NIR node '{k}' ({kind}) is outside the subset spikeattn imports "
                                          "(Input, Output, LIF, IF, CubaLIF, Linear, Affine, Delay). Nearest that "
                                          f"maps: {NEAREST.get(kind, 'a Linear/Affine node between neuron nodes')}.")
    succ: dict[str, list] = {k: [] for k in graph.nodes}
    pred: dict[str, list] = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        succ[a].append(b)
        pred[b].append(a)
    c = Circuit(name or gmeta.get("name", "nir"), float(dt))
    scale, bscale, biases = {}, {}, {}
    for k, node in graph.nodes.items():
        m = _meta(node)
        if isinstance(node, nir.Input):
            if m:
                c.add(SpikeSource(k, tuple(m["shape"]), m["encoder"], m["seed"], m["window"]))
            else:
                c.add_source(k, int(np.prod(next(iter(node.input_type.values())))), encoder="spikes")
        elif isinstance(node, neuron_types):
            if m:
                model = model_from_dict({"kind": m["kind"], "params": m["params"]})
                c.add(Population(k, tuple(m["shape"]), model, m["initial"]))
                scale[k] = bscale[k] = np.ones(c.node(k).size)
            else:
                model, scale[k], bscale[k], selfw = _foreign_neuron(k, node, float(dt), reset, nir)
                c.add_population(k, len(scale[k]), model)
                if selfw is not None:
                    c.connect(k, k, np.diag(selfw), name=f"{k}.reset", delay=1)
    for k, node in graph.nodes.items():
        if isinstance(node, conn_types):
            _connect(c, graph, k, node, pred, succ, scale, bscale, biases, float(dt), nir)
        elif isinstance(node, neuron_types):
            for b in succ[k]:
                if isinstance(graph.nodes[b], neuron_types):        # neuron -> neuron: identity
                    c.connect(k, b, np.eye(c.node(b).size) * scale[b][:, None], name=f"{k}->{b}", delay=0)
        elif isinstance(node, nir.Delay) and not any(isinstance(graph.nodes[a], conn_types) for a in pred[k]):
            raise UnsupportedFeatureError(f"NIR node '{k}' (Delay) does not follow a Linear/Affine node; nearest "
                                          "that maps: Linear (identity) -> Delay -> neuron.")
    for post, b in biases.items():
        pop = c.populations[post]
        from dataclasses import replace
        bias = np.broadcast_to(np.asarray(pop.model.bias, float), (pop.size,)) + b
        pop.model = replace(pop.model, bias=_scalar_or_array(bias))
    if "outputs" in gmeta:
        for port, pop in gmeta["outputs"].items():
            c.expose(port, pop)
    else:
        for k, node in graph.nodes.items():
            if isinstance(node, nir.Output):
                for a in pred[k]:
                    if a in c.populations:
                        c.expose(k, a)
    for target, variables in gmeta.get("probes", []):
        c.probe(target, tuple(variables))
    if "meta" in gmeta:
        c.meta.update(gmeta["meta"])
    c.validate()
    return c


def _connect(c, graph, k, node, pred, succ, scale, bscale, biases, dt, nir):
    m = _meta(node)
    if len(pred[k]) != 1 or pred[k][0] not in c.nodes():
        raise UnsupportedFeatureError(f"NIR node '{k}' ({type(node).__name__}) must have exactly one input from "
                                      f"an Input or neuron node (has {pred[k]}); nearest that maps: one "
                                      "Linear per (pre, post) pair of neuron nodes.")
    pre = pred[k][0]
    for b in succ[k]:
        delay_steps, post = 0, b
        if isinstance(graph.nodes[b], nir.Delay):
            d = _flat(graph.nodes[b].delay) / dt
            if not np.allclose(d, np.round(d[0]), rtol=0, atol=1e-6) or len(succ[b]) != 1:
                raise UnsupportedFeatureError(f"NIR node '{b}' (Delay): delays must be one whole number of steps "
                                              f"dt={dt} s for all neurons, into one neuron node.")
            delay_steps, post = int(round(d[0])), succ[b][0]
        if post not in c.populations:
            raise UnsupportedFeatureError(f"NIR node '{k}' feeds '{post}', which is not a neuron node; nearest "
                                          "that maps: Linear/Affine -> LIF/IF/CubaLIF.")
        w = np.asarray(node.weight, np.float64)
        if w.shape != (c.node(post).size, c.node(pre).size):
            raise UnsupportedFeatureError(f"NIR node '{k}': weight shape {w.shape} does not connect '{pre}' "
                                          f"({c.node(pre).size}) to '{post}' ({c.node(post).size}).")
        pname = k if len(succ[k]) == 1 else f"{k}->{post}"
        if m:
            weights = sp.csr_matrix(w) if m["sparse"] else w
            c.add(Projection(pname, pre, post, weights, m["delay"], m["message"], m["weight_exp"],
                             m["num_weight_bits"], m["sign_mode"]))
        else:
            c.connect(pre, post, w * scale[post][:, None], name=pname, delay=delay_steps)
        if isinstance(node, nir.Affine):
            b_ = np.broadcast_to(_flat(node.bias), (c.node(post).size,))
            if np.any(b_ != 0):
                if bscale[post] is None:
                    raise UnsupportedFeatureError(f"NIR node '{k}' (Affine) has a bias into the CubaLIF '{post}'; "
                                                  "it would pass through the synaptic filter. Nearest that maps: "
                                                  "a Linear node and v_leak on the neuron.")
                biases[post] = biases.get(post, 0.0) + b_ * bscale[post]


def read(path, dt: float | None = None, reset: str = "zero", name: str | None = None) -> Circuit:
    """Read a NIR file (``nir.read``) and import it (:func:`import_`)."""
    from pathlib import Path
    nir = nir_module()
    if not Path(path).is_file():
        raise InputError(f"NIR file '{path}' not found.")
    try:
        graph = nir.read(str(path))
    except Exception as exc:
        from ..errors import FileFormatError
        raise FileFormatError(f"'{path}' is not a readable NIR file ({type(exc).__name__}: {exc}).") from None
    return import_(graph, dt=dt, reset=reset, name=name)
