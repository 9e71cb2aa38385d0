"""Cores and chips of a ViT-S/16-shaped structured circuit on Loihi 2 and Loihi (issue 16, item 5).

The circuit is built by hand with random weights (:func:`vit_structured`) in the shape an
accumulate-mode conversion gives: a ``MultiThresholdIF`` quantiser (4 levels) before every
linear layer and on both operands of QKᵀ and A·V, per-token linear layers as ``shared``
projections, residual sums as explicit sums (an identity ``index`` projection plus the
layer's output), attention products as ``product`` projections.  ViT-S/16: 196 patches +
CLS = 197 tokens, width 384, 6 heads of 64, 12 layers, MLP 1536, a 1000-class head.

It is placed from its shapes (:mod:`hardware_models.structured`, never expanded) on each
chip and the cores, chips, binding constraint and the part taken by the products' gate
realisation are printed with the wall time and the CPU model.  Run::

    .venv/bin/python benchmarks/structured_placement.py [--layers 12] [--chips loihi2,loihi]
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VIT_S = dict(tokens=197, width=384, heads=6, layers=12, mlp=1536, patch_dim=768, classes=1000, levels=4)


def vit_structured(tokens=197, width=384, heads=6, layers=12, mlp=1536, patch_dim=768, classes=1000, levels=4,
                   seed=0, name="vit_s16_structured"):
    """A ViT-shaped structured circuit with random weights (see the module docstring)."""
    from spikeattn import Circuit, IF
    from spikeattn.ir.neurons_convert import MultiThresholdIF
    rng = np.random.default_rng(seed)
    T, D, H = tokens, width, heads
    dh = D // H

    def w(n_out, n_in):
        return rng.standard_normal((n_out, n_in)) / math.sqrt(n_in)

    def q(signed):
        return MultiThresholdIF(vth=1.0, levels=levels, signed=signed)

    c = Circuit(name)
    c.add_source("patches", (T, patch_dim), encoder="graded")
    c.add_population("x0", (T, D), q(True))
    c.connect_shared("patches", "x0", w(D, patch_dim), name="embed", message="graded")
    ident = np.arange(T * D)
    x = "x0"
    for l in range(layers):
        p = f"l{l}."
        for n in ("q", "k", "v"):
            c.add_population(p + n, (T, H, dh), q(True))
            c.connect_shared(x, p + n, w(D, D), name=p + "w" + n, message="count")
        c.add_population(p + "s", (H, T, T), q(False))
        c.connect_product(p + "q", p + "k", p + "s", "ihd,jhd->hij", weight=1 / math.sqrt(dh), name=p + "qk")
        c.add_population(p + "a", (T, H, dh), q(True))
        c.connect_product(p + "s", p + "v", p + "a", "hij,jhd->ihd", name=p + "av")
        c.add_population(p + "y", (T, D), q(True))
        c.connect_index(x, p + "y", ident, name=p + "res1", message="count")
        c.connect_shared(p + "a", p + "y", w(D, D), name=p + "wo", message="count")
        c.add_population(p + "u", (T, mlp), q(False))
        c.connect_shared(p + "y", p + "u", w(mlp, D), name=p + "w1", message="count")
        c.add_population(p + "x", (T, D), q(True))
        c.connect_index(p + "y", p + "x", ident, name=p + "res2", message="count")
        c.connect_shared(p + "u", p + "x", w(D, mlp), name=p + "w2", message="count")
        x = p + "x"
    c.add_population("cls", (1, D), q(True))
    c.connect_index(x, "cls", np.arange(D), name="cls_select", message="count")
    c.add_population("logits", (1, classes), IF(vth=1.0))
    c.connect_shared("cls", "logits", w(classes, D), name="head", message="count")
    c.expose("logits", "logits")
    return c


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(circuit, chip: str, limits=None) -> dict:
    from hardware_models.resources import resources
    t = time.perf_counter()
    rep = resources(circuit, chip) if limits is None else _resources_with(circuit, chip, limits)
    wall = time.perf_counter() - t
    s = rep.structured or {}
    if not rep.cores:
        return {"chip": chip, "fits": False, "binding": rep.binding, "cores": 0, "chips": 0,
                "wall_s": round(time.perf_counter() - t, 2)}
    products = s.get("products", {})
    gates = sum(v["gates"] for v in products.values())
    lines = sum(v["lines"] for v in products.values())
    part = rep.partition.get("assignment", {})
    products = {p.post for p in circuit.projections.values() if getattr(p, "kind", None) == "product"}

    def cores(names):
        return sum(v["cores"] if isinstance(v, dict) else len({x[2] for x in v}) for k, v in part.items() if k in names)
    gate_cores = cores({k for k in part if k.endswith((".gates", ".lines"))})
    out_cores = cores(products)
    lim = rep.limits
    tot = s.get("totals") or {"neurons": sum(c["neurons"] for c in rep.per_core),
                              "weight_memory_bytes": sum(c["weight_memory_bytes"] for c in rep.per_core)}
    lower = max(math.ceil(tot["neurons"] / lim["neurons"]) if lim.get("neurons") else 1,
                math.ceil(tot["weight_memory_bytes"] / lim["synaptic_memory_bytes"])
                if lim.get("synaptic_memory_bytes") else 1)
    return {"chip": chip, "fits": rep.fits, "binding": rep.binding, "cores": rep.cores, "chips": rep.chips,
            "cores_lower_bound": lower,
            "cores_per_chip": rep.cores_per_chip, "neurons": s.get("neurons"), "synapses": s.get("synapses"),
            "gate_neurons": gates, "line_neurons": lines, "cores_for_gates_and_lines": gate_cores,
            "cores_for_product_outputs": out_cores, "cores_for_the_rest": rep.cores - gate_cores - out_cores,
            "method": s.get("method"),
            "weight_storage": s.get("weight_storage"), "fan_out_max_sampled": rep.partition.get("fan_out_max_sampled"),
            "wall_s": round(wall, 2)}


def _resources_with(circuit, chip, limits):
    from hardware_models.model import HardwareModel
    from hardware_models.registry import get
    from hardware_models.resources import resources
    hw = get(chip)
    return resources(circuit, HardwareModel(**{**hw.__dict__, "limits": limits}))


def converted_flat_vit(tokens=9, width=32, depth=2):
    """The issue's flat conversion (pre-norm ViT, CLS token, Linear patch embedding, random init,
    accumulate mode): 9 tokens, width 32, 2 layers = 177k neurons, 12.5M synapses."""
    import torch
    import torch.nn as nn
    from spikeattn.convert import convert

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(16, width)
            self.cls = nn.Parameter(torch.zeros(1, 1, width))
            self.pos = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
            self.layers = nn.ModuleList([nn.TransformerEncoderLayer(width, 2, 2 * width, dropout=0.0, batch_first=True,
                                                                    norm_first=True) for _ in range(depth)])
            self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, 10)

        def forward(self, x):
            h = torch.cat([self.cls.expand(x.shape[0], -1, -1), self.embed(x)], 1) + self.pos
            for layer in self.layers:
                h = layer(h)
            return self.head(self.norm(h[:, 0]))

    torch.manual_seed(0)
    x = torch.randn(16, tokens - 1, 16)
    # random weights: predictions do not matter for placement (no lost-signal check)
    return convert(ViT().eval(), x, mode="accumulate", calib=x, signal_check=False).circuit


def flat_placement(chips) -> list[dict]:
    """Wall time of hardware_models.placement.place on the converted flat ViT, per chip (Loihi
    and Loihi 2 with the fan-in limit lifted: a folded residual neuron has 4,608 inputs)."""
    from hardware_models.placement import place, with_limits
    c = converted_flat_vit()
    print(f"flat: {c}")
    rows = []
    for chip in dict.fromkeys(ch.strip() for ch in chips):
        lim = with_limits(chip, fan_in=None) if chip in ("loihi", "loihi2", "truenorth") else None
        t = time.perf_counter()
        pl = place(c, chip, limits=lim)
        wall = time.perf_counter() - t
        rows.append({"chip": chip, "fan_in_lifted": lim is not None, "cores": pl.cores_used,
                     "slices": len(pl.slices), "wall_s": round(wall, 2)})
        print(f"  flat place on {chip}{' (fan-in lifted)' if lim else ''}: {pl.cores_used} cores, "
              f"{len(pl.slices)} slices in {wall:.2f} s")
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=VIT_S["layers"])
    ap.add_argument("--tokens", type=int, default=VIT_S["tokens"])
    ap.add_argument("--chips", default="loihi2,loihi")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    ap.add_argument("--flat", action="store_true",
                    help="also time the flat placement of a converted 12.5M-synapse ViT (needs torch; ~1 min)")
    args = ap.parse_args(argv)
    cfg = {**VIT_S, "layers": args.layers, "tokens": args.tokens}
    t = time.perf_counter()
    c = vit_structured(**cfg)
    build = time.perf_counter() - t
    print(f"ViT-S/16 shape {cfg}: {c}  (built in {build:.1f} s)")
    print(f"CPU: {cpu_model()} ({platform.machine()}, Python {platform.python_version()})")
    rows = []
    for chip in args.chips.split(","):
        r = report(c, chip.strip())
        rows.append(r)
        b = r["binding"]
        if not r["cores"]:
            print(f"{r['chip']:>10}: no placement: {b['constraint']} ({b['element']}): needs {b['need']:g}, limit "
                  f"{b['limit']:g}; in {r['wall_s']} s")
            continue
        print(f"{r['chip']:>10}: {r['cores']:,} cores = {r['chips']:,} chips of {r['cores_per_chip']} cores "
              f"({r['cores_for_gates_and_lines']:,} hold the products' {r['gate_neurons']:,} gate and "
              f"{r['line_neurons']:,} line neurons, {r['cores_for_product_outputs']:,} the product outputs "
              f"(fan-in from the gates), {r['cores_for_the_rest']:,} the rest); "
              f"at least {r['cores_lower_bound']:,} cores from neurons and memory alone; "
              f"neurons {r['neurons']:,}, synapses {r['synapses']:,}; "
              + ("fits" if r["fits"] else f"does not fit: {b['constraint']} ({b['element']}): needs {b['need']:g}, "
                                          f"limit {b['limit']:g}")
              + f"; placed in {r['wall_s']} s")
    out = {"config": cfg, "cpu": cpu_model(), "python": platform.python_version(), "rows": rows}
    if args.flat:
        out["flat"] = flat_placement(args.chips.split(",") + ["spinnaker2", "truenorth"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
    return out


if __name__ == "__main__":
    main()
