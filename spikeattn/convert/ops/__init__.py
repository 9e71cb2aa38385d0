"""Converters, one module per op family (importing this package registers them)."""
from . import elementwise, host, linear, pooling, shape  # noqa: F401
