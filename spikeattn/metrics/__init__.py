"""Attention and workload metrics (accumulate / compute / reset, as NeuroBench)."""
from .attention import AttentionAlignment, AttentionEntropy, SynapticOpReduction, row_entropy
from .base import AccumulatedMetric
from .latency import DecisionLatency, decision_steps
from .selection import SelectionAccuracy, selection_mask

__all__ = ["AccumulatedMetric", "AttentionEntropy", "AttentionAlignment", "SynapticOpReduction", "row_entropy",
           "DecisionLatency", "decision_steps", "SelectionAccuracy", "selection_mask"]
