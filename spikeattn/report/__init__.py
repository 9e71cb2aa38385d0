"""Self-contained HTML reports (``report.html``) of a scenario run and of a sweep.

One file, no external resource: figures are embedded as base64 PNG ``data:`` URIs (their
SVG twins sit next to the report for papers), styles are inline.  A run report shows the
provenance, every parameter, what was reduced and why, the checks with their thresholds,
the metrics with units, the event-count totals and per element, and the energy estimates
when the run was costed (``--hardware``).  A sweep report shows the grid, the summary
table (mean and 95 % interval across seeds) and the summary plots.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ..fileio import atomic_write_text

CSS = """body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;
color:#222;line-height:1.4}h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ddd;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}.ok{color:#176f2c;font-weight:600}
.bad{color:#b00020;font-weight:600}.warn{background:#fff4d6;border:1px solid #e8c66d;padding:8px 12px}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
code{background:#f6f6f6;padding:0 3px}"""


def _e(x) -> str:
    return html.escape(str(x))


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    if v is None:
        return "&mdash;"
    return _e(v)


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def embed_image(path) -> str:
    """An ``<img>`` with the PNG at ``path`` as a base64 data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{_e(Path(path).stem)}" src="data:image/png;base64,{data}">'


def _figures(paths) -> str:
    out = []
    for p in paths:
        if Path(p).is_file():
            svg = Path(p).with_suffix(".svg")
            note = f" (vector: <code>{_e(svg.name)}</code>)" if svg.exists() else ""
            out.append(f"<figure>{embed_image(p)}<figcaption>{_e(Path(p).name)}{note}</figcaption></figure>")
    return "".join(out) or "<p>No figures were drawn (run without <code>--no-figures</code>).</p>"


def _reduced(reduced: dict) -> str:
    if not reduced:
        return "<p class=ok>Full experiment: nothing was reduced on this engine.</p>"
    rows = [[_e(k), _e(v.get("what", "")), _e(v.get("why", "")),
             _fmt(v.get("checks_not_run", "")) if v.get("checks_not_run") else ""] for k, v in reduced.items()]
    return ('<div class=warn><b>Reduced run</b>: this run differs from the full experiment as listed.</div>'
            + _table(["what varies", "how", "why", "checks not run"], rows))


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")


def run_report(doc: dict, path) -> Path:
    """Write the report of one result document (``result.json``) to ``path``."""
    o = doc["outcome"]
    prov = doc.get("provenance", {})
    verdict = '<span class=ok>PASSED</span>' if o["passed"] else '<span class=bad>FAILED</span>'
    parts = [f"<h1>{_e(doc['scenario'])} on {_e(doc['engine'])}: {verdict}</h1>",
             f"<p>{_e(doc.get('description', ''))}</p>",
             _table(["steps", "batch", "seed", "wall time", "spikeattn", "git commit", "platform"],
                    [[doc["steps"], doc["batch"], doc["seed"], f"{doc['wall_s']:.2f} s", _e(doc['spikeattn_version']),
                      _e((prov.get("git_commit") or "n/a")[:12]) + (" (modified)" if prov.get("git_dirty") else ""),
                      _e(prov.get("platform", ""))]]),
             "<h2>Engine parity</h2>", _reduced(doc.get("reduced", {})),
             "<h2>Parameters</h2>", _table(["parameter", "value"], [[_e(k), _fmt(v)] for k, v in doc["params"].items()]),
             "<h2>Checks</h2>",
             _table(["check", "result", "value", "threshold", "what it compares"],
                    [[_e(k), '<span class=ok>pass</span>' if c["passed"] else '<span class=bad>FAIL</span>',
                      _fmt(c.get("value")), (_e(c.get("op") or "") + " " + _fmt(c.get("threshold")))
                      if c.get("threshold") is not None else "", _e(c.get("description", ""))]
                     for k, c in o["checks"].items()])]
    if o.get("checks_not_run"):
        parts.append(_table(["check not run", "why"], [[_e(k), _e(v)] for k, v in o["checks_not_run"].items()]))
    parts += ["<h2>Metrics</h2>",
              _table(["metric", "value", "unit", "description"],
                     [[_e(k), _fmt(m["value"]), _e(m["unit"]), _e(m.get("description", ""))]
                      for k, m in o["metrics"].items()])]
    t = doc["counts"]["totals"]
    parts += ["<h2>Event counts</h2>", _table(["count", "total"], [[_e(k), f"{v:,}"] for k, v in t.items()])]
    el = doc["counts"].get("elements", {})
    rows = [[_e(n), _e(e["kind"])] + [f"{e['totals'].get(f, 0):,}" if f in e["totals"] else ""
                                      for f in ("spikes", "synaptic_acs", "synaptic_macs", "neuron_updates_active")]
            for n, e in el.items()]
    parts.append(_table(["element", "kind", "spikes", "synaptic ACs", "synaptic MACs", "active updates"], rows))
    if doc.get("counts_csv"):
        parts.append(f"<p>Per-step counts: <code>{_e(Path(doc['counts_csv']).name)}</code></p>")
    parts.append("<h2>Energy</h2>" + _energy(doc.get("energy")))
    parts += ["<h2>Figures</h2>", _figures(doc.get("figures", []))]
    return atomic_write_text(path, _page(f"spikeattn: {doc['scenario']}", "".join(parts)))


def _energy(energy) -> str:
    if not energy:
        return "<p>Not costed: run with <code>--hardware loihi,truenorth,...</code> to estimate energy.</p>"
    rows = []
    for hw, rep in energy.items():
        if isinstance(rep, dict) and "total_j" in rep:
            rows.append([_e(hw), f"{rep.get('batch', 1)}", _fmt(rep.get("total_j")), _fmt(rep.get("low_j")),
                         _fmt(rep.get("high_j")), f"{rep['per_sample_j']:.3e}" if "per_sample_j" in rep else ""])
    if not rows:
        return f"<pre>{_e(json.dumps(energy, indent=1)[:4000])}</pre>"
    return _table(["hardware", "samples", "energy (J)", "low (J)", "high (J)", "per inference (J)"], rows) + \
        _headline(energy.get("headline")) + _scenarios((energy.get("batch_study") or {}).get("scenarios"))


def _scenarios(scen) -> str:
    """Single-stream, server and offline picks of the batch study, per model."""
    if not scen:
        return ""

    def cell(pt):
        return "n/a" if pt.get("batch") is None else f"batch {pt['batch']}: {pt['energy_j']:.3e} J"
    rows = [[_e(n), cell(s["single-stream"]), cell(s["server"]), cell(s["offline"])] for n, s in scen.items()]
    bound = next(iter(scen.values()))["server"].get("bound_s")
    return (f"<h3>Scenarios (energy per inference; server: latency bound {_fmt(bound)} s)</h3>"
            + _table(["hardware", "single-stream", "server", "offline"], rows))


def _iv(iv) -> str:
    return "" if not iv else f"[{iv['p5']:.2e}, {iv['p95']:.2e}]"


def _headline(head) -> str:
    """Energy per inference by batch (hardware_models.estimator.headline), printed as the
    terminal prints it (3 significant digits), and the verdict lines."""
    if not head:
        return ""
    rows = [[_e(r["hardware"]), f"{r['batch']}", f"{r['energy_j']:.3e}", _iv(r["energy_interval"]),
             f"{r['dynamic_j']:.3e}", _iv(r["dynamic_interval"])] for r in head["table"]]
    lines = head["verdicts"] + [b["line"] for b in head.get("break_even", [])]
    verdicts = "".join(f"<li>{_e(v)}</li>" for v in lines)
    return (f"<h3>Energy per inference by batch ({_e(head['baseline'])})</h3>"
            + _table(["hardware", "batch", "dynamic + static (J)", "5-95 %", "dynamic (J)", "5-95 %"], rows)
            + (f"<p>Verdict (chips run samples in sequence; GPUs one pass per batch):</p><ul>{verdicts}</ul>"
               if verdicts else ""))


def sweep_report(summary: dict, path, figures=()) -> Path:
    """Write the report of a sweep: ``summary`` has ``scenario``, ``engine``, ``grid``,
    ``seeds``, ``points`` (count), ``table`` (list of row dicts: grid values, metric mean,
    ci95 low/high, n) and ``columns``."""
    cols = summary["columns"]
    rows = [[_fmt(r.get(c)) for c in cols] for r in summary["table"]]
    body = [f"<h1>Sweep of {_e(summary['scenario'])} on {_e(summary['engine'])}</h1>",
            _table(["grid key", "values"], [[_e(k), _fmt(v)] for k, v in summary["grid"].items()]),
            f"<p>{summary['points']} points ({summary['seeds']} seeds each: {_fmt(summary['seed_values'])}); "
            f"all checks passed in {summary['passed_points']} of {summary['points']}.</p>",
            _reduced(summary.get("reduced", {})),
            "<h2>Summary across seeds (mean and 95 % t-interval)</h2>", _table(cols, rows),
            "<h2>Figures</h2>", _figures(figures)]
    return atomic_write_text(path, _page(f"spikeattn sweep: {summary['scenario']}", "".join(body)))


__all__ = ["run_report", "sweep_report", "embed_image"]
