"""Metric protocol in NeuroBench's shape: accumulate per call, ``compute()``, ``reset()``.

A metric is fed one observation at a time (``metric(result_or_data, ...)`` accumulates and
returns the running value) so it works on a stream of batches; ``compute()`` returns the
value over everything seen; ``reset()`` forgets it.
"""
from __future__ import annotations


class AccumulatedMetric:
    """Base class: subclasses implement ``accumulate(*args, **kw)`` and ``compute()``."""

    name: str = "metric"
    unit: str = ""

    def __init__(self):
        self.reset()

    def reset(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def accumulate(self, *args, **kwargs) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def compute(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        self.accumulate(*args, **kwargs)
        return self.compute()
