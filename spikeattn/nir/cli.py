"""CLI plug-in: ``spikeattn export CIRCUIT --nir FILE`` and ``spikeattn import FILE --out CIRCUIT``.

Registered through the ``spikeattn.commands`` entry point.  ``export`` writes a circuit file
(:func:`spikeattn.save`) as a NIR file (HDF5); ``import`` reads a NIR file (ours or another
tool's: pass ``--dt``, and ``--reset snntorch`` for snnTorch's Leaky layers) and saves the
circuit.  See :mod:`spikeattn.nir` for the mapping and the discretisation.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a circuit file as a NIR graph (--nir FILE)")
    p.add_argument("circuit", type=Path, help="circuit file written by spikeattn.save")
    p.add_argument("--nir", type=Path, required=True, metavar="FILE", help="NIR file to write (HDF5)")
    p.set_defaults(handler=cmd_export)
    p = subparsers.add_parser("import", help="read a NIR graph (snnTorch, Norse, ... or ours) into a circuit file")
    p.add_argument("nir_file", type=Path, help="NIR file (HDF5, nir.write)")
    p.add_argument("--out", type=Path, required=True, help="circuit file to write (spikeattn.save)")
    p.add_argument("--dt", type=float, default=None,
                   help="time step in seconds (needed for another tool's graph; snnTorch's exporter uses 1e-4)")
    p.add_argument("--reset", default="zero", choices=["zero", "subtract", "snntorch"],
                   help="discrete reset assumed for another tool's neurons (default zero, NIR's v_reset)")
    p.set_defaults(handler=cmd_import)


def cmd_export(args) -> int:
    import spikeattn
    from . import write
    if not args.circuit.is_file():
        raise InputError(f"circuit file '{args.circuit}' not found")
    c = spikeattn.load(args.circuit)
    write(c, args.nir)
    print(f"wrote {args.nir}: {len(c.populations)} populations, {len(c.projections)} projections as NIR")
    return 0


def cmd_import(args) -> int:
    import spikeattn
    from . import read
    c = read(args.nir_file, dt=args.dt, reset=args.reset)
    spikeattn.save(c, args.out)
    print(f"wrote {args.out}: {c!r}")
    return 0
