"""Algorithm-matched baselines beside the softmax one, each labelled as what it is.

A spiking circuit against softmax attention on a GPU mixes the algorithm's gain (an SDSA
circuit is O(N D), softmax attention O(N^2 D)) with the hardware's.  These baselines separate
them (:data:`BASELINES`):

``softmax``        the dense softmax attention (or ReLU network) the circuit stands for
                   (:func:`hardware_models.dense_equivalent.dense_workload`): the algorithm
                   changes as well as the hardware;
``snn_dense``      the same spiking algorithm run densely on the GPU over T steps: for SDSA,
                   ``kv_t = LIF(sum_tokens(K_t * V_t))`` and ``Y_t = Q_t * kv_t`` as dense
                   tensor ops on binary spike tensors (:func:`sdsa_dense_model`); for other
                   circuits the dense model with its ReLU replaced by an LIF step, once per
                   step (T x the per-step FLOPs, bytes and kernel launches); only the hardware
                   changes;
``quantised_ann``  the dense model as a ceil(log2(T + 1))-bit quantised ANN of the same
                   capacity (Yan et al. 2024: a T-step SNN carries at most T + 1 levels per
                   neuron, the information of that many bits), computed as INT8 on the GPU
                   (no narrower dense type on H100) and costed at the INT8 rate and 1 byte per
                   value; on the Eyeriss model at the INT8 MAC energy;
``eyeriss``        the softmax/ReLU model on an Eyeriss-style ANN accelerator with data reuse
                   (:func:`cost_eyeriss`; Dampfhoffer et al. 2023's fair-ANN case).

Element-wise ops (masks, additions, comparisons) are counted by the dispatch counter of
:mod:`hardware_models.dense_equivalent`; for ``snn_dense`` they are the workload's FLOPs
(1 op per output element), since torch's FlopCounterMode counts matmul-class ops only.
"""
from __future__ import annotations

import math
from dataclasses import replace

from spikeattn.errors import ParameterError, require

from .dense_equivalent import TORCH_PURPOSE
from .registry import get
from .report import EnergyReport

BASELINES = {"softmax": "dense softmax attention / ReLU network (algorithm and hardware differ)",
             "snn_dense": "same spiking algorithm, dense tensor ops over T steps on the GPU (hardware differs only)",
             "quantised_ann": "ceil(log2(T+1))-bit quantised ANN of matching capacity, INT8 on the GPU (Yan 2024)",
             "eyeriss": "ANN accelerator with data reuse, Eyeriss-style (Chen 2016; Dampfhoffer 2023)"}


def quant_bits(steps: int) -> int:
    """Bits of the quantised ANN matching a T-step SNN: ceil(log2(T + 1)) (Yan et al. 2024)."""
    return max(1, math.ceil(math.log2(int(steps) + 1)))


def sdsa_dense_model(steps: int, du: float = 1.0, dv: float = 0.5, vth: float = 1.0):
    """SDSA on binary spike tensors ``(B, T, N, D)``, dense, step by step (Yao et al., NeurIPS
    2023: masks and additions), with the circuit's channel LIF (``spikeattn.LIF`` equations,
    default ``du = 1, dv = 0.5, vth = 1``, reset to zero)::

        s_t  = sum_tokens(K_t * V_t)                      (B, D)
        u_t  = u_{t-1} (1 - du) + s_t;  w_t = w_{t-1} (1 - dv) + u_t
        kv_t = w_t > vth;  w_t = 0 where kv_t
        Y_t  = Q_t * kv_t                                 (B, N, D)

    Output ``(B, T, N, D)``: the circuit's output without its 3-step pipeline latency."""
    torch = require("torch", "torch", TORCH_PURPOSE)

    class SDSADense(torch.nn.Module):
        def forward(self, q, k, v):
            u = torch.zeros_like(k[:, 0, 0])
            w = torch.zeros_like(u)
            outs = []
            for t in range(steps):
                u = u * (1 - du) + (k[:, t] * v[:, t]).sum(dim=1)
                w = w * (1 - dv) + u
                kv = (w > vth).to(q.dtype)
                w = w * (1 - kv)
                outs.append(q[:, t] * kv.unsqueeze(1))
            return torch.stack(outs, dim=1)

    return SDSADense()


def gpu_workload(circuit, steps: int, batch: int, baseline: str = "softmax"):
    """The dense workload of ``baseline`` (see :data:`BASELINES`) for ``batch`` samples."""
    from .dense_equivalent import count_workload, dense_workload
    if baseline not in BASELINES or baseline == "eyeriss":
        raise ParameterError("gpu_workload", "baseline", f"is {baseline!r}.",
                             f"use one of {[b for b in BASELINES if b != 'eyeriss']} (eyeriss: cost_eyeriss).")
    if baseline == "softmax":
        return dense_workload(circuit, steps, batch)
    if baseline == "quantised_ann":
        w = dense_workload(circuit, steps, batch, dtype_bytes=1)
        w.notes.append(f"quantised ANN: {quant_bits(steps)}-bit values (ceil(log2(T+1)), T = {steps}) stored and "
                       "computed as INT8")
        w.name += f" as a {quant_bits(steps)}-bit quantised ANN"
        return w
    att = circuit.meta.get("attention") if isinstance(circuit.meta, dict) else None
    torch = require("torch", "torch", TORCH_PURPOSE)
    if att and att.get("kind") == "sdsa":
        n_q, n_k, d = int(att["n_query"]), int(att.get("n_key", att["n_query"])), int(att["dim"])
        inputs = {"q": torch.zeros(batch, steps, n_q, d), "k": torch.zeros(batch, steps, n_k, d),
                  "v": torch.zeros(batch, steps, n_k, d)}
        w = count_workload(sdsa_dense_model(steps), inputs, f"{circuit.name}: SDSA run densely over {steps} steps",
                           batch, steps, dtype_bytes=2)
        w.flops = int(w.elementwise_ops)
        w.factory = lambda: (sdsa_dense_model(steps), {k: (torch.rand(v.shape) < 0.2).float()
                                                       for k, v in inputs.items()})
    else:
        one = dense_workload(circuit, steps, batch)
        w = replace(one, name=f"{circuit.name}: spiking network run densely over {steps} steps",
                    flops=one.flops * steps, elementwise_ops=one.elementwise_ops * steps,
                    weight_bytes=one.weight_bytes * steps, activation_bytes=one.activation_bytes * steps,
                    io_bytes=one.io_bytes * steps, kernels=one.kernels * steps, notes=list(one.notes))
        w.factory = None
    w.notes.append("same algorithm as the spiking circuit, dense on the GPU: element-wise ops counted as FLOPs "
                   "(1 per output element); every step launches its kernels")
    return w


def cost_eyeriss(workload, bits: int = 16, hardware: str = "eyeriss") -> EnergyReport:
    """Energy of a dense workload on the Eyeriss-style model (:mod:`hardware_models.chips.eyeriss`)::

        MACs  = FLOPs / 2 + element-wise ops (each costed as one MAC)
        E_mac = MACs * e_mac * (1 + 3 * rf_factor)         (MAC + 3 RF accesses: weight, input, psum)
        E_mem = words * (glb_factor + dram_passes * dram_factor) * e_mac16 * (bits / 16)
        words = (weights + inputs + outputs) / word bytes, plus the intermediates (write + read)
                when one sample's intermediates exceed the 108 KB global buffer
        t     = MACs / (168 PEs x 200 MHz);  static = p_static_chip * t

    ``bits <= 8`` uses the INT8 MAC (0.23 pJ), otherwise the 16-bit unit.  Bounds: corners of
    the constants' ranges (the RF factor and DRAM passes are the ranged ones)."""
    g = get(hardware)
    word_bytes = max(bits, 8) / 8
    macs = workload.flops / 2 + workload.elementwise_ops
    base_words = (workload.weight_bytes + workload.io_bytes) / workload.dtype_bytes
    inter_words = max(workload.bytes_high - workload.bytes_low, 0) / workload.dtype_bytes
    spill = inter_words * word_bytes / 2 / max(workload.batch, 1) > g.c("glb_bytes")   # per sample
    words = base_words + (inter_words if spill else 0.0)
    parts, times = {}, {}
    for w in ("value", "low", "high"):
        e_mac = g.c("e_mac8", w) if bits <= 8 else g.c("e_mac16", w)
        unit = g.c("e_mac16", w) * min(bits, 16) / 16
        t = macs / g.c("macs_per_s", w)
        parts[w] = {"mac_compute": macs * e_mac, "register_file": macs * 3 * g.c("rf_factor", w) * e_mac,
                    "global_buffer": words * g.c("glb_factor", w) * unit,
                    "memory_dram": words * g.c("dram_passes", w) * g.c("dram_factor", w) * unit,
                    "static": g.c("p_static_chip", w) * t}
        times[w] = t
    return EnergyReport(hardware=g.name, title=g.title, total_j=sum(parts["value"].values()),
                        low_j=sum(parts["low"].values()), high_j=sum(parts["high"].values()),
                        breakdown=parts["value"], breakdown_low=parts["low"], breakdown_high=parts["high"],
                        latency_s=times["value"], latency_low_s=times["low"], latency_high_s=times["high"],
                        batch=workload.batch, steps=workload.steps,
                        notes=list(g.notes) + [f"dense workload: {workload.name}; {macs:.4g} MACs at {bits} bits; "
                                               f"{words:.4g} words through the buffer and DRAM "
                                               f"({'intermediates spill' if spill else 'intermediates stay on chip'})"],
                        meta={"kind": "ann", "method": "eyeriss", "bits": bits, "macs": macs, "words": words})


def matched_baselines(circuit, steps: int, batch: int = 1, gpu: str = "h100") -> dict:
    """EnergyReport per baseline for ``batch`` samples: ``softmax``, ``snn_dense`` and
    ``quantised_ann`` on ``gpu``; ``eyeriss`` (16-bit) and ``eyeriss_quantised`` (at
    ceil(log2(T+1)) bits).  Each report's ``meta["baseline"]`` says what it is."""
    from .dense_equivalent import dense_workload
    from .gpu import cost_dense
    out = {}
    for b in ("softmax", "snn_dense", "quantised_ann"):
        prec = "int8" if b == "quantised_ann" else "fp16"
        rep = cost_dense(gpu_workload(circuit, steps, batch, b), gpu, precision=prec, measure=False)
        rep.meta["baseline"] = {"name": b, "label": BASELINES[b]}
        out[b] = rep
    w = dense_workload(circuit, steps, batch)
    out["eyeriss"] = cost_eyeriss(w, 16)
    out["eyeriss"].meta["baseline"] = {"name": "eyeriss", "label": BASELINES["eyeriss"]}
    q = quant_bits(steps)
    out["eyeriss_quantised"] = cost_eyeriss(dense_workload(circuit, steps, batch, dtype_bytes=1), q)
    out["eyeriss_quantised"].meta["baseline"] = {"name": "eyeriss_quantised",
                                                 "label": f"{q}-bit quantised ANN on the Eyeriss-style accelerator"}
    return out
