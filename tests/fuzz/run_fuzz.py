"""Run the fuzz families and print a table by family and outcome.

    python tests/fuzz/run_fuzz.py                      # the CI profile (bounded)
    SPIKEATTN_FUZZ_PROFILE=full python tests/fuzz/run_fuzz.py   # make fuzz: >= 10,000 cases

Each family runs in its own subprocess (``--worker FAMILY``) so that an interpreter death
(segfault, abort) is recorded as an outcome, with the case that was running, instead of
ending the run.  Inside a worker, hypothesis generates the cases (derandomized: the same
cases every run) and every case is classified:

good: ``success`` (the spec calls it valid or unknown), ``SpikeattnError naming the field``
(the spec calls it invalid or unknown);
bad: ``invalid input accepted``, ``valid input refused``, ``SpikeattnError not naming the
field``, ``non-SpikeattnError exception``, ``CLI traceback or not one line``, ``silent
overflow``, ``interpreter killed``.

Exit code 0 iff no bad outcome.  ``--json PATH`` writes the table and the first bad cases.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

GOOD = ("success", "SpikeattnError naming the field")
BAD = ("invalid input accepted", "valid input refused", "SpikeattnError not naming the field",
       "non-SpikeattnError exception", "CLI traceback or not one line", "silent overflow",
       "round trip differs or files left behind", "interpreter killed")
PROFILES = {"ci": 120, "full": 1300}   # examples per family (x 15 families: ~1,800 in CI, ~19,500 full)
FAMILY_NAMES = ["ir-construct", "ir-mutate", "csr", "simulate", "load", "save", "counts", "cli", "overflow",
                "batch0", "names", "memory", "result-numbers", "meta-scalars", "structured"]


def families():
    import fuzz_cli
    import fuzz_io
    import fuzz_ir
    import fuzz_remnants
    return {**fuzz_ir.FAMILIES, **fuzz_io.FAMILIES, **fuzz_cli.FAMILIES, **fuzz_remnants.FAMILIES}


def judge(expect, tokens, fn) -> tuple[str, str]:
    """Run ``fn`` and classify the outcome against the spec's ``expect``."""
    from spikeattn.errors import SpikeattnError
    try:
        fn()
    except SpikeattnError as exc:
        msg = str(exc)
        if not any(t in msg for t in tokens):
            return "SpikeattnError not naming the field", f"{tokens}: {type(exc).__name__}: {msg[:300]}"
        if expect is True:
            return "valid input refused", f"{type(exc).__name__}: {msg[:300]}"
        return "SpikeattnError naming the field", ""
    except Exception as exc:  # noqa: BLE001 - the point is to catch everything
        kind = getattr(exc, "outcome", "non-SpikeattnError exception")
        return kind, "".join(traceback.format_exception_only(type(exc), exc))[:300] + \
            "".join(traceback.format_tb(exc.__traceback__)[-2:])[:600]
    if expect is False:
        return "invalid input accepted", ""
    return "success", ""


def worker(family: str, examples: int, out: Path, last: Path) -> None:
    from hypothesis import HealthCheck, Phase, given, settings

    strategy, execute = families()[family]
    tally: Counter = Counter()
    bad: list = []
    last_fh = open(last, "w")
    tmp = Path(tempfile.mkdtemp(prefix=f"fuzz-{family}-"))

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy())
    def run(case):
        last_fh.seek(0)
        last_fh.write(repr(case)[:2000])
        last_fh.truncate()
        last_fh.flush()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expect, tokens, fn = execute(case, tmp)
                outcome, detail = judge(expect, tokens, fn)
            except Exception as exc:  # noqa: BLE001 - a harness error is reported, not hidden
                outcome, detail = "non-SpikeattnError exception", f"harness: {exc!r}"
        tally[outcome] += 1
        if outcome in BAD and len(bad) < 20:
            bad.append({"case": repr(case)[:500], "outcome": outcome, "detail": detail})
    run()
    out.write_text(json.dumps({"tally": tally, "bad": bad}))


def run_family(family: str, examples: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out, last = Path(d) / "out.json", Path(d) / "last.txt"
        t0 = time.time()
        r = subprocess.run([sys.executable, str(HERE / "run_fuzz.py"), "--worker", family, "--examples",
                            str(examples), "--out", str(out), "--last", str(last)], capture_output=True, text=True,
                           timeout=3600)
        wall = time.time() - t0
        if r.returncode == 0 and out.exists():
            res = json.loads(out.read_text())
        else:
            case = last.read_text() if last.exists() else "?"
            res = {"tally": {"interpreter killed": 1}, "bad": [{"case": case, "outcome": "interpreter killed",
                                                               "detail": f"rc={r.returncode}: {r.stderr[-800:]}"}]}
        res["wall_s"] = wall
        return res


def table(results: dict) -> str:
    cols = list(GOOD) + [b for b in BAD if any(r["tally"].get(b) for r in results.values())]
    short = {"success": "success", "SpikeattnError naming the field": "named error"}
    head = f"{'family':<14}" + "".join(f"{short.get(c, c)[:28]:>30}" for c in cols) + f"{'total':>8}{'wall s':>8}"
    lines = [head, "-" * len(head)]
    tot = Counter()
    for fam, r in results.items():
        t = Counter(r["tally"])
        tot.update(t)
        lines.append(f"{fam:<14}" + "".join(f"{t.get(c, 0):>30}" for c in cols) + f"{sum(t.values()):>8}"
                     f"{r['wall_s']:>8.1f}")
    lines.append("-" * len(head))
    lines.append(f"{'all':<14}" + "".join(f"{tot.get(c, 0):>30}" for c in cols) + f"{sum(tot.values()):>8}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker")
    ap.add_argument("--examples", type=int)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--last", type=Path)
    ap.add_argument("--family", action="append", help="run only these families")
    ap.add_argument("--json", type=Path, help="write the table and the bad cases here")
    a = ap.parse_args(argv)
    if a.worker:
        worker(a.worker, a.examples, a.out, a.last)
        return 0
    profile = os.environ.get("SPIKEATTN_FUZZ_PROFILE", "ci")
    n = PROFILES[profile]
    results = {}
    for fam in a.family or FAMILY_NAMES:
        results[fam] = run_family(fam, n)
        print(f"  {fam}: {sum(results[fam]['tally'].values())} cases in {results[fam]['wall_s']:.1f} s", flush=True)
    print(f"\nfuzz profile '{profile}' ({n} examples per family, derandomized)\n{table(results)}")
    bad = [(f, b) for f, r in results.items() for b in r["bad"]]
    for f, b in bad[:15]:
        print(f"\nBAD [{f}] {b['outcome']}: {b['case']}\n    {b['detail']}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 1 if any(r["tally"].get(b) for r in results.values() for b in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
