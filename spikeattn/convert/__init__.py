"""Mapping layer: convert trained dense PyTorch attention models into spiking circuits.

``convert(model, example, mode="exact" | "accumulate" | "rate", steps=T, calib=X)`` returns
a :class:`SpikingModel` (``.circuit``, ``.predict``, ``.fidelity``).  torch is imported
lazily: importing this package does not import torch.  Converters are registered per ATen
op (:func:`register_op`); see :mod:`spikeattn.convert.registry`.
"""
from __future__ import annotations

from .registry import ConversionError, UnsupportedOpError, register_op, register_pattern, supported_ops


def convert(*args, **kwargs):
    from .api import convert as _convert
    return _convert(*args, **kwargs)


__all__ = ["convert", "register_op", "register_pattern", "supported_ops", "UnsupportedOpError", "ConversionError"]
