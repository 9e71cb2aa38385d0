"""Parameter overrides from the command line (``--set key=value``) and TOML (``--config``).

A TOML file holds the parameters at the top level or under a table named after the
scenario (``[wta-routing]``), the latter winning; ``seed`` and ``engine`` may be given too::

    batch = 64
    [wta-routing]
    p_high = 0.5
    contrast_sweep = false

TOML is read with :mod:`tomllib` (Python >= 3.11) or ``tomli`` (Python 3.10; a clear error
names it when missing).  Unknown keys and bad values raise ParameterError naming the key
and its allowed values.
"""
from __future__ import annotations

from pathlib import Path

from spikeattn.errors import MissingExtraError, ParameterError

from .base import ScenarioSpec, load_all

RUN_KEYS = ("seed", "engine")


def _toml():
    try:
        import tomllib
        return tomllib
    except ImportError:
        try:
            import tomli
            return tomli
        except ImportError:
            raise MissingExtraError("tomli", "dev", "reading --config TOML files on Python 3.10",
                                    "pip install tomli (Python 3.11+ has tomllib built in)") from None


def read_toml(path) -> dict:
    p = Path(path)
    toml = _toml()
    try:
        with open(p, "rb") as fh:
            return toml.load(fh)
    except FileNotFoundError:
        raise ParameterError("--config", "path", f"'{p}' does not exist.", "give an existing TOML file.") from None
    except toml.TOMLDecodeError as exc:
        raise ParameterError(f"--config '{p}'", None, f"is not valid TOML ({exc}).", "fix the TOML syntax.") from None


def load_config(path, spec: ScenarioSpec, with_run_keys: bool = False) -> dict:
    """Parameters of ``spec`` from the TOML file ``path`` (validated); with
    ``with_run_keys`` also ``seed``/``engine`` when present."""
    data = read_toml(path)
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    other = sorted(set(tables) - {spec.name})
    if other and not all(t in _known_scenarios() for t in other):
        bad = [t for t in other if t not in _known_scenarios()][0]
        raise ParameterError(f"--config '{path}'", bad, "is a table but not a scenario name.",
                             f"name the table [{spec.name}] or put the keys at the top level.")
    flat.update(tables.get(spec.name, {}))
    run_keys = {k: flat.pop(k) for k in RUN_KEYS if k in flat}
    values = {}
    for key, value in flat.items():
        if key not in spec.params:
            raise ParameterError(f"--config '{path}'", key, f"is not a parameter of scenario '{spec.name}'.",
                                 f"use one of {sorted(spec.params)} (see 'spikeattn show {spec.name}').")
        values[key] = spec.params[key].coerce(value, f"--config '{path}' (scenario '{spec.name}')")
    if with_run_keys:
        values.update(run_keys)
    return values


def _known_scenarios() -> set:
    return set(load_all())


def parse_sets(items: list[str] | None, spec: ScenarioSpec) -> dict:
    """``["key=value", ...]`` -> validated values (ParameterError naming key and allowed values)."""
    values = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError("--set", None, f"'{item}' is not key=value.",
                                 f"write --set KEY=VALUE with KEY one of {sorted(spec.params)}.")
        key, text = (s.strip() for s in item.split("=", 1))
        if key not in spec.params:
            raise ParameterError(f"--set (scenario '{spec.name}')", key, "is not a parameter of this scenario.",
                                 f"use one of {sorted(spec.params)} (see 'spikeattn show {spec.name}').")
        values[key] = spec.params[key].parse(text, f"--set (scenario '{spec.name}')")
    return values


def parse_grid(items: list[str] | None, spec: ScenarioSpec) -> dict:
    """``["key=v1,v2", ...]`` -> ``{key: [v1, v2]}`` (an int_list value is split on ';')."""
    grid = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError("--grid", None, f"'{item}' is not key=v1,v2,...",
                                 f"write --grid KEY=V1,V2 with KEY one of {sorted(spec.params)}.")
        key, text = (s.strip() for s in item.split("=", 1))
        if key not in spec.params:
            raise ParameterError(f"--grid (scenario '{spec.name}')", key, "is not a parameter of this scenario.",
                                 f"use one of {sorted(spec.params)}.")
        prm = spec.params[key]
        parts = text.split("/") if prm.type == "int_list" else text.split(",")
        vals = [prm.parse(t, f"--grid (scenario '{spec.name}')") for t in parts if t.strip()]
        if not vals:
            raise ParameterError(f"--grid (scenario '{spec.name}')", key, "has no values.", "give KEY=V1,V2.")
        if key in grid:
            raise ParameterError("--grid", key, "is given twice.", "give each key once.")
        grid[key] = list(dict.fromkeys(vals))
    return grid
