"""Attention and workload metrics (accumulate / compute / reset, as NeuroBench)."""
from .base import AccumulatedMetric

__all__ = ["AccumulatedMetric"]
