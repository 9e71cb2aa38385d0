"""CLI plug-in: ``spikeattn resources CIRCUIT_OR_RESULT --chip loihi2|loihi``.

Registered through the ``spikeattn.commands`` entry point.  ``CIRCUIT_OR_RESULT`` is a circuit
file (``spikeattn.save``) or a ``result.json`` of ``spikeattn run`` whose ``circuit_file``
exists (its counts then weight the partition by spike traffic).  Prints the table of
:func:`hardware_models.resources.resources`; ``--json FILE`` and ``--png FILE`` write the
report and the per-core utilisation figure.  Exit status 0 when the circuit fits, 1 when it
does not (the binding constraint is printed).
"""
from __future__ import annotations

import json
from pathlib import Path

from spikeattn.errors import InputError

CHIPS = ("loihi2", "loihi")


def register(subparsers) -> None:
    p = subparsers.add_parser("resources", help="cores, chips and per-core use of a circuit on Loihi 2 / Loihi")
    p.add_argument("path", type=Path, help="circuit file (spikeattn.save) or result.json of 'spikeattn run'")
    p.add_argument("--chip", default="loihi2", choices=CHIPS, help="chip (default loihi2)")
    p.add_argument("--max-chips", type=int, default=None, help="the circuit must fit on at most N chips")
    p.add_argument("--json", type=Path, default=None, dest="json_out", help="write the report as JSON to FILE")
    p.add_argument("--png", type=Path, default=None, help="write the per-core utilisation figure to FILE")
    p.add_argument("--seed", type=int, default=0, help="seed of the partition (Kernighan-Lin or METIS; default 0)")
    p.set_defaults(handler=cmd_resources)


def load_circuit_or_result(path: Path):
    """``(circuit, counts or None)`` from a circuit file or a result.json."""
    import spikeattn
    if not path.is_file():
        raise InputError(f"'{path}' not found; pass a circuit file (spikeattn.save) or a result.json")
    if path.suffix == ".json":
        from .result_file import load_result
        doc, circuit = load_result(path)
        if circuit is None:
            raise InputError(f"result '{path}' names no circuit file that exists (circuit_file="
                             f"{doc.get('circuit_file')!r}); pass the circuit file instead")
        return circuit, doc.get("counts")
    return spikeattn.load(path), None


def cmd_resources(args) -> int:
    from spikeattn.fileio import atomic_write_text
    from .resources import resources
    if args.max_chips is not None and args.max_chips < 1:
        raise InputError(f"--max-chips is {args.max_chips}; give a positive number of chips")
    circuit, counts = load_circuit_or_result(args.path)
    rep = resources(circuit, args.chip, counts, max_chips=args.max_chips, seed=args.seed)
    print(rep.table())
    if args.json_out:
        atomic_write_text(args.json_out, json.dumps(rep.to_dict(), indent=1, default=float))
        print(f"wrote {args.json_out}")
    if args.png and rep.per_core:
        rep.save_png(args.png)
        print(f"wrote {args.png}")
    return 0 if rep.fits else 1
