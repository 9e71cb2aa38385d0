"""Reading a result file of ``spikeattn run`` for costing: the JSON document, checked field by
field, and the circuit it names (used by ``spikeattn energy`` and ``spikeattn resources``)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from spikeattn.errors import InputError


def load_result(path: Path):
    """``(doc, circuit or None)`` from a result.json of ``spikeattn run`` (or a fidelity.json
    with a ``workload`` block); the circuit is loaded from its ``circuit_file`` when that
    exists.  Anything else raises :class:`~spikeattn.errors.InputError` naming the field."""
    if not path.is_file():
        raise InputError(f"result file '{path}' not found; pass the result.json written by 'spikeattn run'")
    try:
        # numbers no count can hold (1e400 -> inf, NaN/Infinity literals, ints past Python's
        # 4300-digit limit) become an infinite float here, and are refused below by their field
        doc = json.loads(path.read_text(), parse_constant=lambda _: math.inf,
                         parse_int=lambda s: int(s) if len(s.lstrip("-")) <= 4000 else math.inf)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"result file '{path}' is not valid JSON ({exc.__class__.__name__}: {exc})") from None
    except RecursionError:
        raise InputError(f"result file '{path}': its JSON is nested too deeply to be a result.json; pass the "
                         "result.json written by 'spikeattn run'") from None
    bad = first_non_finite(doc)
    if bad is not None:
        raise InputError(f"result file '{path}', field '{bad}': is not a finite number (an overflowing literal "
                         "such as 1e400, NaN, Infinity, or an integer of more than 4000 digits); pass the "
                         "result.json written by 'spikeattn run'.")
    if not isinstance(doc, dict) or ("counts" not in doc and not isinstance(doc.get("workload"), dict)):
        raise InputError(f"result file '{path}' has no 'counts' block; pass the result.json of 'spikeattn run'")
    circuit = None
    cf = doc.get("circuit_file")
    if cf is not None and not isinstance(cf, str):
        raise InputError(f"result file '{path}', field 'circuit_file': is a {type(cf).__name__} ({cf!r:.60}); "
                         "must be the path of the circuit zip (a string), or absent.")
    if cf is None and isinstance(doc.get("workload"), dict) and (path.parent / "circuit.zip").is_file():
        cf = "circuit.zip"                      # fidelity.json of 'spikeattn convert': the circuit beside it
    if cf:
        import spikeattn
        for cand in (Path(cf), path.parent / Path(cf).name):
            if cand.is_file():
                circuit = spikeattn.load(cand)
                break
    return doc, circuit


def first_non_finite(doc, where: str = "") -> str | None:
    """The JSON path of the first non-finite number in ``doc`` (iterative: no recursion limit)."""
    stack = [(where, doc)]
    while stack:
        at, v = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            return at or "top level"
        if isinstance(v, dict):
            stack.extend((f"{at}.{k}" if at else str(k), x) for k, x in reversed(list(v.items())))
        elif isinstance(v, list):
            stack.extend((f"{at}[{i}]", x) for i, x in reversed(list(enumerate(v))))
    return None
