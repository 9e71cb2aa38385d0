"""Fuzz families: CLI argument lists (never a traceback: exit 0, or one stderr line and
exit 1/2) and fixed-point overflow (every run whose exact arithmetic leaves Loihi's 24-bit
u register must be reported: a SpikeattnWarning, SimResult.diagnostics, or an error with
``on_overflow="raise"``)."""
from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

import spikeattn as sa
from fuzz_io import CleanRefusal, Outcome, base_counts
from spikeattn.errors import SpikeattnWarning

# ----------------------------------------------------------------- CLI
RESULT_FILES = ["good", "deep", "binary", "list", "counts-list", "cf-int", "cf-list", "cf-missing", "nan-total",
                "huge-total", "negative-steps", "empty", "missing", "directory", "no-counts"]
TOKENS = ["--steps", "0", "-1", "x", "1.5", "--seed", "--batch", "--engine", "nest", "--bogus", "", "-", "--out",
          "--hardware", "loihi2", "h100", "nope", ",", "--json", "--draws", "--no-figures", "--help-me", "é", "\x00"]


def _write_results(tmp: Path) -> dict:
    d = tmp / "cli"
    if (d / "good.json").exists():
        return {k: d / f"{k}.json" for k in RESULT_FILES}
    d.mkdir(exist_ok=True)
    good = {"counts": base_counts()}
    nan = json.loads(json.dumps(good))
    nan["counts"]["elements"]["h"]["totals"]["spikes"] = float("nan")
    huge = json.loads(json.dumps(good))
    huge["counts"]["elements"]["h"]["totals"]["spikes"] = 10**400
    neg = json.loads(json.dumps(good))
    neg["counts"]["steps"] = -4
    texts = {"good": json.dumps(good), "deep": "[" * 100000 + "]" * 100000, "binary": "\x00\xff\xfe",
             "list": "[1, 2]", "counts-list": json.dumps({"counts": [1]}),
             "cf-int": json.dumps({**good, "circuit_file": 5}), "cf-list": json.dumps({**good, "circuit_file": ["a"]}),
             "cf-missing": json.dumps({**good, "circuit_file": "no/such.zip"}), "nan-total": json.dumps(nan),
             "huge-total": json.dumps(huge), "negative-steps": json.dumps(neg), "empty": "",
             "no-counts": json.dumps({"x": 1})}
    for k, t in texts.items():
        (d / f"{k}.json").write_text(t, encoding="latin1")
    (d / "directory.json").mkdir()
    (d / "afile").write_text("x")
    return {k: d / f"{k}.json" for k in RESULT_FILES}


def cli_strategy():
    energy = st.tuples(st.just("energy"), st.sampled_from(RESULT_FILES),
                       st.sampled_from([None, "loihi2", "loihi2,truenorth", "nope", "", ",", "h100"]),
                       st.sampled_from([None, "ok", "afile", "/proc/nope", "parent-file"]),
                       st.lists(st.sampled_from(TOKENS), max_size=2))
    other = st.tuples(st.sampled_from(["hardware", "list", "run", "bogus", "--version"]),
                      st.lists(st.sampled_from(TOKENS), max_size=3))
    return st.one_of(energy, energy, other)


def cli_execute(case, tmp):
    files = _write_results(tmp)
    d = tmp / "cli"
    if case[0] == "energy":
        _, res, hw, out, extra = case
        argv = ["energy", str(files[res]), "--no-figures", "--draws", "20"]
        if hw is not None:
            argv += ["--hardware", hw]
        if out is not None:
            argv += ["--out", {"ok": str(d / "out"), "afile": str(d / "afile"), "/proc/nope": "/proc/nope",
                               "parent-file": str(d / "afile" / "sub")}[out]]
        argv += extra
    else:
        cmd, extra = case
        argv = [cmd] + extra
        if cmd == "run":  # always one invalid argument, so no whole scenario runs
            argv += ["--steps", "0"]

    def fn():
        from spikeattn.cli import main
        err, outbuf = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(outbuf):
                try:
                    rc = main(argv)
                except SystemExit as exc:
                    rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except Exception as exc:  # noqa: BLE001
            raise Outcome("CLI traceback or not one line", f"{argv}: {type(exc).__name__}: {exc}") from None
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip() and "warning: commands from" not in ln]
        if rc == 0:
            return
        if rc not in (1, 2) or len(lines) != 1 or "Traceback" in err.getvalue() or not lines[0].startswith("spikeattn"):
            raise Outcome("CLI traceback or not one line", f"{argv}: rc={rc} stderr={err.getvalue()[-400:]!r}")
        raise CleanRefusal(f"cli: {lines[0]}")
    return None, ["cli:"], fn


# ----------------------------------------------------------------- fixed-point overflow
def overflow_strategy():
    return st.tuples(st.one_of(st.integers(1, 64), st.integers(32, 64)), st.one_of(st.integers(1, 127), st.integers(64, 127)),
                     st.one_of(st.integers(-16, 16), st.integers(4, 16)), st.integers(2, 5),
                     st.sampled_from(["warn", "warn", "raise", "wrap"]), st.integers(1, 3))


def exact_u_exceeds(n, w, e, steps) -> bool | None:
    """Exact (unbounded integer) u of Loihi's LIF with du = 0 (decay 4095/4096 per step,
    docstring of LoihiLIF): input a = (n * w) << e per step from step 1 (delay 1).  True if u
    must leave the 24-bit range, False if it surely stays inside, None if in between (the
    weight quantisation of the engine could matter)."""
    lo_w, hi_w = max(w - 2, 0), w  # num_weight_bits = 8, excitatory: at most a small truncation
    def u_max(wq):
        a = (n * wq) << e if e >= 0 else (n * wq) >> -e
        u = 0
        peak = 0
        for _ in range(steps - 1):
            t = u * 4095
            u = (t >> 12) + (a << 6)
            peak = max(peak, u)
        return peak
    if u_max(lo_w) > 2**23:
        return True
    if u_max(hi_w) < 2**22:
        return False
    return None


def overflow_execute(case, tmp):
    n, w, e, steps, mode, batch = case
    verdict = exact_u_exceeds(n, w, e, steps)

    def fn():
        c = sa.Circuit("ovf")
        c.add_source("x", n)
        c.add_population("h", 1, sa.LoihiLIF(du=0, dv=0, vth=2**17 - 1))
        c.connect("x", "h", np.full((1, n), w), weight_exp=e, sign_mode="excitatory")
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            r = sa.simulate(c, {"x": np.ones((steps, n), bool)}, steps=steps, batch=batch, on_overflow=mode)
        warned = any(issubclass(x.category, SpikeattnWarning) and "'h'" in str(x.message) for x in got)
        diag = getattr(r, "diagnostics", {}) or {}
        reported = warned or any(np.asarray(a).sum() > 0 for a in diag.get("h", {}).values())
        if verdict and not reported:
            raise Outcome("silent overflow", f"n={n} w={w} e={e} steps={steps} mode={mode}: no warning, "
                          f"diagnostics={ {k: int(np.asarray(a).sum()) for k, a in diag.get('h', {}).items()} }")
        if verdict and mode == "raise":
            raise Outcome("silent overflow", "on_overflow='raise' returned normally")
        if verdict and mode == "warn" and not warned:
            raise Outcome("silent overflow", "on_overflow='warn' gave no SpikeattnWarning")
    expect = True if (verdict is False or mode != "raise") else None
    return expect, ["'h'", "overflow"], fn


FAMILIES = {"cli": (cli_strategy, cli_execute), "overflow": (overflow_strategy, overflow_execute)}
