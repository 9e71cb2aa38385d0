"""The versioned result format: ``result.json`` (schema ``result.schema.json``, JSON Schema
2020-12, ``schema_version`` 1), its provenance block and the per-step counts CSV.

- :func:`validate` checks a document against the schema with ``jsonschema`` when it is
  installed (extra ``dev``) and otherwise with :func:`mini_validate`, a small validator of
  the keywords the schema uses (``type``, ``const``, ``required``, ``properties``,
  ``additionalProperties``, ``items``, ``minimum``, ``minLength``); both are tested to
  agree.  A bad document raises :class:`ResultSchemaError` naming the JSON path.
- :func:`provenance` records spikeattn's version, the git commit (when run from a
  checkout), Python, the platform, the engine and the versions of the packages it uses.
- :func:`write_counts_csv` writes one row per (step, element, field): the count summed
  over the batch, so per-step and per-population counts can be plotted without spikeattn.

Every file is written with :mod:`spikeattn.fileio`'s atomic writer (temp file + rename,
mode ``0o666 & ~umask``).
"""
from __future__ import annotations

import csv
import io
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ..errors import FileFormatError
from ..fileio import atomic_write_json, atomic_write_text, json_default

SCHEMA_VERSION = 1
SCHEMA_FILE = Path(__file__).with_name("result.schema.json")
ENGINE_PACKAGES = {"numpy": ["numpy", "scipy"], "compiled": ["numpy", "numba"], "brian2": ["numpy", "brian2"],
                   "lava": ["numpy", "lava-nc"]}


class ResultSchemaError(FileFormatError):
    """A result document does not follow the result schema (the message names the path)."""


def load_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _is(value, t: str) -> bool:
    if t == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[t])


def mini_validate(doc, schema: dict, path: str = "$") -> list[str]:
    """Errors (``"$.a.b: problem"``) of ``doc`` against the subset of JSON Schema used here."""
    errs: list[str] = []
    if "const" in schema and not (doc == schema["const"] and type(doc) is type(schema["const"])):
        errs.append(f"{path}: must be {schema['const']!r}, is {doc!r}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(doc, t) for t in types):
            return errs + [f"{path}: must be {' or '.join(types)}, is {type(doc).__name__}"]
    if isinstance(doc, (int, float)) and not isinstance(doc, bool) and "minimum" in schema \
            and doc < schema["minimum"]:
        errs.append(f"{path}: must be >= {schema['minimum']}, is {doc}")
    if isinstance(doc, str) and len(doc) < schema.get("minLength", 0):
        errs.append(f"{path}: must have at least {schema['minLength']} characters")
    if isinstance(doc, dict):
        for key in schema.get("required", []):
            if key not in doc:
                errs.append(f"{path}: missing required key '{key}'")
        props = schema.get("properties", {})
        for key, value in doc.items():
            if key in props:
                errs += mini_validate(value, props[key], f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errs += mini_validate(value, schema["additionalProperties"], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errs.append(f"{path}: unexpected key '{key}'")
    if isinstance(doc, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(doc):
            errs += mini_validate(item, schema["items"], f"{path}[{i}]")
    return errs


def errors(doc, schema: dict | None = None, use_jsonschema: bool | None = None) -> list[str]:
    """Every schema error of ``doc`` (empty when valid)."""
    schema = schema or load_schema()
    if use_jsonschema is not False:
        try:
            import jsonschema
        except ImportError:
            if use_jsonschema:
                raise
        else:
            v = jsonschema.Draft202012Validator(schema)
            return [f"$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
                    + f": {e.message}" for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.path)))]
    return mini_validate(doc, schema)


def validate(doc, schema: dict | None = None) -> dict:
    """``doc`` if it follows the result schema, else :class:`ResultSchemaError`."""
    errs = errors(doc, schema)
    if errs:
        more = f" (and {len(errs) - 3} more)" if len(errs) > 3 else ""
        raise ResultSchemaError("result document does not follow result.schema.json: " + "; ".join(errs[:3]) + more
                                + ". Fix: build it with scenarios' result writer or follow the schema.")
    return doc


def git_commit(where: Path | None = None) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the checkout holding spikeattn, or ``(None, None)``."""
    where = where or Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        if sha.returncode != 0:
            return None, None
        st = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, timeout=20)
        return sha.stdout.strip(), (bool(st.stdout.strip()) if st.returncode == 0 else None)
    except (OSError, subprocess.SubprocessError):
        return None, None


def _version(pkg: str) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def provenance(engine: str, engine_meta: dict | None = None) -> dict:
    """Where and with what a result was computed (see the module docstring)."""
    from ..version import __version__
    commit, dirty = git_commit()
    versions = {p: _version(p) for p in ENGINE_PACKAGES.get(engine, ["numpy"])}
    for key in ("lava_version", "brian2_version", "numba_version"):
        if engine_meta and engine_meta.get(key):
            versions[key.replace("_version", "")] = str(engine_meta[key])
    return {"spikeattn_version": __version__, "git_commit": commit, "git_dirty": dirty,
            "python": platform.python_version(), "platform": f"{platform.system()} {platform.release()} "
            f"{platform.machine()} ({sys.platform})", "engine": engine, "engine_versions": versions,
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def counts_rows(counts) -> list[tuple]:
    """``(step, element, kind, field, count summed over the batch)`` for every element and field."""
    rows = []
    for name, el in counts.elements.items():
        for f, arr in el.fields.items():
            per_step = arr.sum(axis=1)
            rows += [(t, name, el.kind, f, int(v)) for t, v in enumerate(per_step)]
    return rows


def write_counts_csv(counts, path) -> Path:
    """CSV ``step,element,kind,field,count`` (count summed over the batch's samples)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "element", "kind", "field", "count"])
    w.writerows(counts_rows(counts))
    return atomic_write_text(path, buf.getvalue())


def write_result(path, doc: dict) -> Path:
    """Validate ``doc`` and write it atomically as JSON."""
    return atomic_write_json(path, validate(json.loads(json.dumps(doc, default=json_default))))


__all__ = ["SCHEMA_VERSION", "SCHEMA_FILE", "ResultSchemaError", "load_schema", "validate", "errors",
           "mini_validate", "provenance", "write_counts_csv", "write_result", "git_commit"]
