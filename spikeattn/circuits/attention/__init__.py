"""Spiking self-attention circuits, each checked against the dense formula it implements.

Builders return :class:`~spikeattn.ir.Circuit` fragments with input ports ``q``, ``k``, ``v``
(or ``x``/``context`` for full blocks) and output ports (``y``, ``map``); compose them with
``Circuit.include(..., bind=)``.  ``circuit.meta["latency_steps"]`` gives the pipeline
latency to align the dense reference (:mod:`.reference`).

- :func:`ssa_attention` — Spikformer SSA, orders "qk_v" ((QK^T)V) and "q_kv" (Q(K^T V));
  graded map (GradedReLU accumulators/gates) or ``map_code="unary"`` (LIF only).
- :func:`sdsa_attention` — spike-driven self-attention (Hadamard masks, column sums).
- :mod:`.patterns` — sparse token masks (causal, window, block, strided, global).
- :func:`attention_block` / :func:`cross_attention_block` — multi-head blocks with Q/K/V
  and output projections.
- :func:`linear_attention` — causal linear attention (running K^T V state).

Fused fast path: ``simulate(..., fused=True)`` on the numpy engine (:mod:`.fused`,
:mod:`.fused_ssa`) gives the same spikes and EventCounts as the neuron-level run.
"""
from . import fused, patterns, reference  # fused: registers the "attention" fused runner
from .cross import cross_attention_block
from .linear import linear_attention, linear_reference
from .multihead import attention_block, block_reference
from .sdsa import sdsa_attention
from .ssa import pair_index, spike_map, ssa_attention

__all__ = ["ssa_attention", "sdsa_attention", "attention_block", "cross_attention_block", "linear_attention",
           "block_reference", "linear_reference", "spike_map", "pair_index", "patterns", "reference"]
