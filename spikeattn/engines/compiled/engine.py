"""The compiled engine: ``simulate(circuit, inputs, steps, engine="compiled")``.

The whole simulation loop — every step, every node, event-driven CSR propagation, the model
kernels and the event counting — runs as one numba-compiled function (:mod:`.loop`), cached
on disk so that only the first run on a machine pays the JIT compile (12-35 s measured on a
busy 2-core machine; later runs load it in about 0.5 s; ``make demo`` / ``make test`` compile
it once at set-up, :mod:`.warm`, and a stale cache is dropped when this package's sources
change, :func:`_drop_stale_cache`).  It
gives spikes, probes, ``EventCounts`` and diagnostics identical to the numpy engine
(``np.array_equal`` / ``==``): the same float64 / int64 arithmetic in the same order (float
sums in the order of :mod:`spikeattn.dynamics.synapses`), so fixed-point runs are bit-exact
with Lava 0.10 as the numpy engine is.

Options: ``parallel`` (default True: samples of a batch run on all cores with ``prange``;
samples are independent, so the result equals the serial one), ``on_overflow`` ("warn" /
"wrap" / "raise", :mod:`spikeattn.engines.overflow`), ``progress_every`` (steps per compiled
chunk when ``progress=True``; default about 1 % of the run).

Without numba (the ``fast`` extra) the run falls back to the numpy engine with a
:class:`CompiledFallbackWarning` and ``meta["fallback"] = "numpy"``; never silently.
Models are run only by a kernel registered for their exact Dynamics class
(:mod:`.registry`); others are refused up front, naming the engines that can run them.
``meta`` gives ``jit_s`` (compile or cache load of this run), ``run_s`` (the compiled loop),
``threads`` (threads used; numba's ``NUMBA_NUM_THREADS``, all cores by default).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ...version import __version__
from ...counting import new_counts
from ...errors import InputError, SpikeattnWarning, UnsupportedFeatureError
from ...ir import Circuit
from ...progress import progress_bar
from ...result import SimResult
from ..base import ENGINES, Engine, engine_supports
from ..features import FEATURES
from ..overflow import OverflowMonitor
from .registry import models_without_kernel


class CompiledFallbackWarning(SpikeattnWarning):
    """The compiled engine ran the numpy engine instead (numba, the ``fast`` extra, missing)."""


def _numba_cache_dir() -> None:
    """Point numba's on-disk cache under the user's cache folder when the package folder is
    not writable (numba reads ``NUMBA_CACHE_DIR`` when it is first imported)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = Path(__file__).resolve().parent
    if not os.access(here, os.W_OK):
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        os.environ["NUMBA_CACHE_DIR"] = str(base / "spikeattn" / "numba")


_CACHE_CHECKED: set[str] = set()


def _drop_stale_cache() -> None:
    """Remove this package's numba cache when its sources changed since it was written.

    numba keys a cached function on its own file's modification time and size only, but the
    loop (:mod:`.loop`) inlines the kernels of :mod:`.kernels` and the constants of
    :mod:`.pack`: after an edit of those (or an upgrade that leaves ``loop.py`` as it was)
    numba would load the old compiled loop.  A stamp (sha256 of every source of this
    package) is kept beside the cache; when it differs, the cached entries (``*.nbi``,
    ``*.nbc``; the folder holds only this package's) are removed, so the next run compiles.
    """
    from .loop import run_float_serial

    path = Path(run_float_serial._cache._cache_path)
    if str(path) in _CACHE_CHECKED:
        return
    digest = hashlib.sha256()
    for src in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(src.name.encode() + b"\0" + src.read_bytes())
    stamp = digest.hexdigest()
    stamp_file = path / "spikeattn-sources.sha256"
    try:
        current = stamp_file.read_text().strip()
    except OSError:
        current = None
    if current != stamp:
        try:
            path.mkdir(parents=True, exist_ok=True)
            for f in list(path.glob("*.nbi")) + list(path.glob("*.nbc")):
                f.unlink(missing_ok=True)
            tmp = stamp_file.with_name(f"{stamp_file.name}.{os.getpid()}.tmp")
            tmp.write_text(stamp + "\n")
            os.replace(tmp, stamp_file)
        except OSError:    # read-only cache: numba then compiles in memory, never loading a stale entry
            pass
    _CACHE_CHECKED.add(str(path))


@contextlib.contextmanager
def _start_method_left_unset():
    """numba's threading layer, when it starts, calls ``multiprocessing.get_start_method()``,
    which fixes the start method; Lava 0.10 then fails in the same process on its own
    ``set_start_method('fork')`` ("context has already been set").  If no start method was
    chosen before, leave it unchosen (the platform default is unchanged)."""
    import multiprocessing

    unset = multiprocessing.get_start_method(allow_none=True) is None
    try:
        yield
    finally:
        if unset:
            multiprocessing.context._default_context._actual_context = None


def numba_available() -> bool:
    try:
        _numba_cache_dir()
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


# listed explicitly: a feature key added later is not claimed until a kernel implements it
_SUPPORTED = frozenset(FEATURES) & frozenset({
    "model:lif", "model:if", "model:loihi_lif", "model:graded_relu", "model:ternary_if", "model:multi_threshold_if",
    "model:loihi_multi_threshold_if", "model:loihi_graded_relu",
    "lif:refractory", "lif:reset_subtract", "lif:per_neuron_params", "projection:delay0", "projection:long_delay",
    "projection:sparse", "projection:graded", "projection:count", "source:graded", "probe", "float:order_exact",
    # a model with its own Dynamics runs where a kernel is registered for that exact class
    # (models_without_kernel refuses it otherwise)
    "model:own_dynamics"})


class CompiledEngine(Engine):
    """numba-compiled whole-loop engine (see module docstring)."""

    name = "compiled"
    supported = _SUPPORTED
    unsupported = {k: "not implemented by the compiled loop yet (the numpy engine runs it)"
                   for k in FEATURES if k not in _SUPPORTED}
    options_allowed = frozenset({"parallel", "on_overflow", "progress_every"})
    configurations = {"serial": {"parallel": False}, "parallel": {"parallel": True}}
    reports_diagnostics = True

    @classmethod
    def unavailable(cls) -> str | None:
        if numba_available():
            return None
        return ("numba (the 'fast' extra) is not installed: engine='compiled' falls back to the numpy "
                "engine with a CompiledFallbackWarning")

    @classmethod
    def missing_features(cls, circuit: Circuit) -> list[tuple[str, str]]:
        missing = super().missing_features(circuit)
        for n, model in models_without_kernel(circuit):
            missing.append((f"population '{n}' (model {type(model).__name__})", f"model:{model.kind}"))
        return missing

    def check(self, circuit: Circuit) -> None:
        no_kernel = models_without_kernel(circuit)
        if no_kernel:
            n, model = no_kernel[0]
            from ...dynamics import dynamics_for
            try:
                dyn = type(dynamics_for(model)).__name__
            except Exception:
                dyn = "none registered"
            others = [e for e in ENGINES if e != self.name and engine_supports(e, circuit)]
            raise UnsupportedFeatureError(
                f"engine 'compiled' cannot run population '{n}': it has no compiled kernel for model "
                f"{type(model).__name__} (kind '{model.kind}', dynamics {dyn}); kernels are keyed by the exact "
                "Dynamics class (spikeattn.engines.compiled.registry.KERNELS). "
                + (f"Engines that can run this circuit: {others}." if others
                   else "No registered engine supports every feature of this circuit."))
        super().check(circuit)

    def _options(self, steps: int):
        parallel = self.options.get("parallel", True)
        if not isinstance(parallel, (bool, np.bool_)):
            raise InputError(f"engine 'compiled', option 'parallel': is {parallel!r}; must be True or False.")
        every = self.options.get("progress_every")
        if every is not None and (isinstance(every, bool) or not isinstance(every, (int, np.integer))
                                  or every < 1):
            raise InputError(f"engine 'compiled', option 'progress_every': is {every!r}; "
                             "must be an int >= 1 (steps).")
        return bool(parallel), every

    def run(self, circuit: Circuit, inputs, steps, batch, seed, progress=False) -> SimResult:
        parallel, every = self._options(steps)
        if not numba_available():
            return self._fallback(circuit, inputs, steps, batch, seed, progress)
        from .loop import DRIVERS
        from .pack import pack

        _drop_stale_cache()
        t_start = time.perf_counter()
        pk = pack(circuit, inputs, steps, batch)
        dtype = np.int64 if pk.fixed else np.float64
        OB = np.zeros((steps, batch, pk.n_bin_out), np.uint8)
        OG = np.zeros((steps, batch, pk.n_grd_out), dtype)
        PO = np.zeros((steps, batch, pk.n_probe), dtype)
        CPOP = np.zeros((len(pk.pop_names), 2, steps, batch), np.int64)
        CSRC = np.zeros((len(pk.src_names), steps, batch), np.int64)
        CPROJ = np.zeros((len(pk.proj_names), 2, steps, batch), np.int64)
        DIAG = np.zeros((len(pk.pop_names), 4, steps, batch), np.int64)
        driver = DRIVERS[(pk.fixed, parallel and batch > 1)]
        import numba

        t_jit = time.perf_counter()
        with _start_method_left_unset():    # numba's threading layer starts here
            threads = numba.get_num_threads()
        args = (threads, pk.NODE, pk.POP, pk.SRC, pk.PROJ, pk.OUTL, pk.INL, pk.PRB, pk.FP, pk.IP,
                pk.INDPTR, pk.INDICES, pk.W, pk.SB, pk.SB64, pk.SV, pk.U, pk.V, pk.REF, pk.ACC, pk.ARR, OB, OG,
                PO, CPOP, CSRC, CPROJ, DIAG, pk.max_n)
        with _start_method_left_unset():
            driver(0, 0, *args)         # compiles, or loads the on-disk cache, for these types
        t_loop = time.perf_counter()
        chunk = steps if not progress else (every or max(1, steps // 100))
        bar = progress_bar(steps, progress, f"compiled: {circuit.name}")
        for t0 in range(0, steps, chunk):
            t1 = min(steps, t0 + chunk)
            driver(t0, t1, *args)
            bar.update(t1 - t0)
        bar.close()
        t_done = time.perf_counter()
        result = self._result(circuit, inputs, steps, batch, pk, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG)
        result.wall_s = time.perf_counter() - t_start
        result.meta.update({"engine": self.name, "version": __version__,
                            "mode": "fixed_pt" if pk.fixed else "floating_pt", "seed": seed,
                            "parallel": bool(parallel and batch > 1),
                            "threads": min(threads, batch) if parallel and batch > 1 else 1, "jit_s": t_loop - t_jit,
                            "run_s": t_done - t_loop})
        return result

    def _result(self, circuit, inputs, steps, batch, pk, OB, OG, PO, CPOP, CSRC, CPROJ, DIAG) -> SimResult:
        pops = circuit.populations
        spikes = {}
        for n, (graded, lo, hi) in pk.spike_slices.items():
            arr = OG if graded else OB.view(bool)
            spikes[n] = arr if (lo, hi) == (0, arr.shape[2]) else arr[:, :, lo:hi]
        spikes.update({n: inputs[n] for n in circuit.sources})
        probes = {pr.target: {} for pr in circuit.probes}
        for (n, var), (lo, hi) in pk.probe_slices.items():
            probes[n][var] = PO if (lo, hi) == (0, PO.shape[2]) else PO[:, :, lo:hi]
        counts = new_counts(circuit, steps, batch, pk.tables)
        el = counts.elements
        for q, n in enumerate(pk.pop_names):
            f = el[n].fields
            sb = pops[n].model.state_bytes
            f["neuron_updates_active"][:] = CPOP[q, 0]
            f["neuron_updates_idle"][:] = pops[n].size - CPOP[q, 0]
            f["spikes"][:] = CPOP[q, 1]
            f["state_bytes_read"][:] = CPOP[q, 0] * sb
            f["state_bytes_written"][:] = CPOP[q, 0] * sb
        for s, n in enumerate(pk.src_names):
            el[n].fields["spikes"][:] = CSRC[s]
        for j, n in enumerate(pk.proj_names):
            tab = pk.tables[n]
            f = el[n].fields
            f["synaptic_macs" if tab.graded else "synaptic_acs"][:] = CPROJ[j, 0]
            f["messages"][:] = CPROJ[j, 1]
            f["weight_bytes_read"][:] = CPROJ[j, 0] * tab.weight_bytes
        monitor = OverflowMonitor(circuit, steps, batch, self.options.get("on_overflow", "warn"))
        # report in the order the numpy engine meets them: first step, then update order
        found = []
        for q, n in enumerate(pk.pop_names):
            for c, flag in enumerate(pk.flags[n]):
                per_step = DIAG[q, c].sum(axis=1)
                if per_step.any():
                    found.append((int(np.flatnonzero(per_step)[0]), q, c, n, flag))
        for _, q, c, n, flag in sorted(found):
            monitor.record_counts(n, flag, DIAG[q, c].copy())
        return SimResult(spikes=spikes, probes=probes, counts=counts, steps=steps, batch=batch, dt=circuit.dt,
                         engine=self.name, wall_s=0.0, diagnostics=monitor.finish(), meta={})

    def _fallback(self, circuit, inputs, steps, batch, seed, progress) -> SimResult:
        warnings.warn("engine 'compiled' needs numba, which is not installed: running the numpy engine "
                      "instead (identical results, slower). Install it with: pip install 'spikeattn[fast]'",
                      CompiledFallbackWarning, stacklevel=3)
        from ..numpy.engine import NumpyEngine

        opts = {k: v for k, v in self.options.items() if k in NumpyEngine.options_allowed}
        result = NumpyEngine(**opts).run(circuit, inputs, steps, batch, seed, progress=progress)
        result.meta["fallback"] = "numpy"
        result.meta["requested_engine"] = self.name
        return result
