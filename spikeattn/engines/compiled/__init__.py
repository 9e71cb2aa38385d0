"""Compiled engine (numba, optional extra ``fast``): ``simulate(..., engine="compiled")``.

Importing this package does not import numba; :mod:`.engine` imports it when a run starts.
"""
