"""Scale smoke test of the structured converter (issue 16): not a timed test.

``python benchmarks/bench_structured_convert.py [vit-s] [gpt2-small] [--run-torch] [--batch N]``

* ``vit-s``: a random-init ViT-S/16 shape (224x224x3 input, 16x16 patches by a stride-16
  ``Conv2d``, CLS token, 197 tokens, width 384, 6 heads, 12 pre-norm
  ``nn.TransformerEncoderLayer`` blocks with MLP 1536, 1000 classes; 22M parameters);
* ``gpt2-small``: 12 pre-norm layers, width 768, 12 heads, causal (``is_causal`` plus the
  square mask), sequence 128, token ids from a 50257-word vocabulary, tied LM head read on
  the last position; 124M parameters (the embedding included).

Each converts with ``convert(model, x, mode="accumulate", levels=4, epochs=0,
structured=True, signal_check=False)`` on 16 calibration samples (no fine-tune; random
weights, whose predictions do not matter for a scale study) and prints the circuit's
neurons, the numbers it stores (weights, index arrays, scales, masks, neuron biases: O(params),
never tokens² x width²), the synapses of its neuron-level equivalent, the projection kinds,
the wall time of the conversion, the peak RSS of this process and the conversion's memory
estimate.  With ``--run-torch`` and the torch engine registered (``engine="torch"``), a batch
(default 8 for ViT-S, 4 for GPT-2; refused up front above ``--max-gb``, default 6) runs at T = 4 and its wall time is printed beside the dense
float32 forward of the same batch (same threads).  ``--save FILE`` writes the converted
model; ``--load FILE`` runs a saved one in a fresh process (same seed, same inputs), so the
peak RSS printed is that of loading and running alone.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def vit_s(torch):
    nn = torch.nn

    class ViT(nn.Module):
        def __init__(s, img=224, patch=16, dim=384, heads=6, layers=12, mlp=1536, classes=1000):
            super().__init__()
            s.embed = nn.Conv2d(3, dim, patch, stride=patch)
            n = (img // patch) ** 2
            s.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
            s.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
            s.blocks = nn.ModuleList(nn.TransformerEncoderLayer(dim, heads, mlp, dropout=0.0, activation="gelu",
                                                                batch_first=True, norm_first=True)
                                     for _ in range(layers))
            s.norm = nn.LayerNorm(dim)
            s.head = nn.Linear(dim, classes)

        def forward(s, x):
            b = x.shape[0]
            t = s.embed(x).flatten(2).transpose(1, 2)
            t = torch.cat([s.cls.expand(b, -1, -1), t], dim=1) + s.pos
            for blk in s.blocks:
                t = blk(t)
            return s.head(s.norm(t)[:, 0])
    return ViT().eval()


def gpt2_small(torch, seq=128):
    nn = torch.nn

    class GPT(nn.Module):
        def __init__(s, vocab=50257, dim=768, heads=12, layers=12, seq=seq):
            super().__init__()
            s.wte = nn.Embedding(vocab, dim)
            s.wpe = nn.Parameter(torch.randn(1, seq, dim) * 0.01)
            s.blocks = nn.ModuleList(nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                                                batch_first=True, norm_first=True)
                                     for _ in range(layers))
            s.ln_f = nn.LayerNorm(dim)
            s.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(seq))

        def forward(s, ids):
            t = s.wte(ids) + s.wpe
            for blk in s.blocks:
                t = blk(t, src_mask=s.mask, is_causal=True)
            return s.ln_f(t)[:, -1] @ s.wte.weight.T
    return GPT().eval()


def bench(name: str, run_torch: bool, batch: int | None, max_gb: float = 6.0, save=None, load=None) -> dict:
    import numpy as np
    import torch

    from spikeattn.convert import convert
    from spikeattn.convert.structured_model import run
    torch.manual_seed(0)
    if name == "vit-s":
        model = vit_s(torch)
        x = torch.rand(16, 3, 224, 224)
        batch = batch or 8
    else:
        model = gpt2_small(torch)
        x = torch.randint(0, 50257, (16, 128))
        batch = batch or 4
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params / 1e6:.1f}M parameters; peak RSS before converting {_rss_gb():.2f} GB", flush=True)
    t0 = time.perf_counter()
    if load:     # a model converted (with the same seed) and saved by an earlier --save run
        from spikeattn.convert.structured_model import load_model
        sm = load_model(load)
        print(f"  loaded {load} in {time.perf_counter() - t0:.1f} s; peak RSS {_rss_gb():.2f} GB")
    else:
        sm = convert(model, x, mode="accumulate", levels=4, epochs=0, calib=x, structured=True,
                     name=name.replace("-", "_"), keep_torch=False, signal_check=False)   # random weights
    wall = time.perf_counter() - t0
    s = sm.summary()
    if not load:
        est = sm.meta["memory_estimate"]
        print(f"  converted in {wall:.1f} s; peak RSS {_rss_gb():.2f} GB (estimate before converting: "
              f"{est['total'] / 2**30:.2f} GB)")
    if save:
        from spikeattn.convert.structured_model import save_model
        save_model(sm, save)
        print(f"  saved {save}; peak RSS {_rss_gb():.2f} GB")
    print(f"  neurons {s['neurons']:,}; stored weights {s['stored_weights']:,} ({s['stored_weights'] / params:.2f} x "
          f"params); stored numbers {s['stored_numbers']:,}; neuron-level synapses {s['synapses']:,}")
    print(f"  projections {s['projections']}; populations {s['populations']}; source elements {s['sources']:,}")
    out = {"name": name, "params": params, "convert_s": wall, "rss_gb": _rss_gb(), **s}
    if run_torch:
        from spikeattn.engines.base import ENGINES
        if "torch" not in ENGINES:
            print("  torch engine not registered: no run")
            return out
        xb = x[:batch].numpy()
        with torch.no_grad():
            model(x[:batch])                     # warm-up
            t0 = time.perf_counter()
            model(x[:batch])
            dense = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = run(sm, xb, steps=4, engine="torch", batch=batch, max_bytes=int(max_gb * 2**30))
        wall = time.perf_counter() - t0
        t = r.counts.totals()
        print(f"  torch engine, batch {batch}, T = 4: {wall:.1f} s ({wall / (4 * batch) * 1e3:.0f} ms per sample-step; "
              f"dense float32 forward, warm, {dense / batch * 1e3:.0f} ms per sample); peak RSS {_rss_gb():.2f} GB")
        print(f"  counts: spikes {t['spikes']:,}, synaptic ACs {t['synaptic_acs']:,}, MACs {t['synaptic_macs']:,}; "
              f"predictions {r.predictions.tolist()}")
        out.update(run_s=wall, dense_s=dense)
        del np
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=["vit-s"], choices=["vit-s", "gpt2-small"])
    ap.add_argument("--run-torch", action="store_true")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--max-gb", type=float, default=6.0, help="memory limit of the run (refused above it)")
    ap.add_argument("--save", default=None, help="write the converted model here (one model only)")
    ap.add_argument("--load", default=None, help="run a model saved by --save (same seed) instead of converting: "
                    "the peak RSS is then that of loading and running alone")
    a = ap.parse_args(argv)
    if (a.save or a.load) and len(a.models) != 1:
        ap.error("--save / --load take one model")
    import torch
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for m in a.models:
        bench(m, a.run_torch, a.batch, a.max_gb, a.save, a.load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
