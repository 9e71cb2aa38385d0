"""The ``spikeattn`` command line.

Subcommands are plug-ins: each package that provides commands registers a function
``register(subparsers)`` under the entry-point group ``spikeattn.commands`` (see
pyproject.toml: ``scenarios.cli`` adds ``list`` and ``run``, ``hardware_models.cli`` adds
``energy`` and ``hardware``).  The core thus never imports the layers built on it.
Each subcommand sets ``handler(args) -> int``.  Usage errors print one line naming the
valid choices and exit with code 2; so does any :class:`SpikeattnError` (bad input).  An
operating-system error (unwritable ``--out``, unreadable file) prints one line and exits
with code 1; so does any other exception escaping a plug-in command, as ``spikeattn: error:
unexpected <Type>: <message>`` (set ``SPIKEATTN_DEBUG=1`` to get the Python traceback).
No input makes the command print a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .version import __version__
from .errors import SpikeattnError

ENTRY_POINT_GROUP = "spikeattn.commands"
# Used when spikeattn runs from a source tree that was never installed (no entry points).
FALLBACK_PLUGINS = ("scenarios.cli:register", "hardware_models.cli:register", "hardware_models.resources_cli:register",
                    "spikeattn.nir.cli:register", "spikeattn.convert.cli:register")


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _plugins():
    try:
        from importlib.metadata import entry_points
        eps = list(entry_points(group=ENTRY_POINT_GROUP))
    except Exception:  # pragma: no cover - broken metadata
        eps = []
    if eps:
        return [(ep.value, ep.load) for ep in sorted(eps, key=lambda e: e.name)]

    def loader(spec):
        mod, fn = spec.split(":")
        return lambda: getattr(importlib.import_module(mod), fn)
    return [(spec, loader(spec)) for spec in FALLBACK_PLUGINS]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="spikeattn", description="Simulate spiking attention circuits and count "
                           "their events; estimate energy on neuromorphic chips and GPUs.")
    parser.add_argument("--version", action="version", version=f"spikeattn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for spec, load in _plugins():
        try:
            load()(sub)
        except ImportError as exc:
            print(f"spikeattn: warning: commands from {spec} unavailable ({exc})", file=sys.stderr)
    return parser


def _one_line(text: str, limit: int = 2000) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def main(argv=None) -> int:
    if argv is not None:
        if isinstance(argv, (str, bytes)) or not all(isinstance(a, str) for a in argv):
            print(f"spikeattn: error: arguments must be a list of strings, got {_one_line(repr(argv), 200)}",
                  file=sys.stderr)
            return 2
        argv = list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        rc = args.handler(args)
        return rc if isinstance(rc, int) and not isinstance(rc, bool) else 0
    except SpikeattnError as exc:
        print(f"spikeattn: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("spikeattn: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
        print(f"spikeattn: error: cannot access{where}: {_one_line(exc.strerror or exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a plug-in bug or an unforeseen input: one line, never a traceback
        if os.environ.get("SPIKEATTN_DEBUG"):
            raise
        print(f"spikeattn: error: unexpected {type(exc).__name__}: {_one_line(exc)} "
              "(set SPIKEATTN_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
