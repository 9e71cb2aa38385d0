"""The torch engine (``engine="torch"``): the numpy engine's semantics on torch, CPU or CUDA.

Nothing here imports torch at import time; :mod:`.engine` imports it when the engine is made.
"""
