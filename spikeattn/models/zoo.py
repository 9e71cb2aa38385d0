"""In-repo trained models, written as users write them (torch imported lazily).

* ``digits-vit``: a ViT on ``load_digits``: 8x8 images cut into four 4x4 patch tokens
  (a stride-4 convolution), a CLS token, learned positions, ``layers`` pre-norm blocks of
  explicit Q/K/V ``nn.Linear`` attention (``F.scaled_dot_product_attention``) and a ReLU
  MLP, classification from the CLS token.
* ``recall-transformer``: embedding + ``nn.TransformerEncoderLayer`` (post-norm) on the
  synthetic associative-recall task; classification from the last (query) token.
* ``mnist1d-attention``: on ``mnist1d`` (40 integer samples 0..16, see :mod:`.data`): the
  sequence cut into ``40 / patch`` patches of ``patch`` samples (reshape), each embedded by
  one ``nn.Linear(patch, dim)`` applied to ``x / 4``, a CLS token, learned positions,
  ``layers`` pre-norm ``nn.TransformerEncoderLayer`` blocks (ReLU MLP), classification from
  the normalised CLS token.

Weights are cached under ``$SPIKEATTN_CACHE`` or ``~/.cache/spikeattn/models`` keyed by
the configuration (a hash of the name, config and training settings), written atomically
and loaded with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import json

from ..convert.cache import cache_dir, save_state
from ..errors import SpikeattnError, require

MODELS = ("digits-vit", "recall-transformer", "mnist1d-attention")


def _classes(torch):
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self, dim, heads, hidden):
            super().__init__()
            self.heads = heads
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, x):
            b, n, d = x.shape
            h = self.norm1(x)
            q, k, v = (f(h).reshape(b, n, self.heads, d // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
            a = F.scaled_dot_product_attention(q, k, v)
            x = x + self.o(a.transpose(1, 2).reshape(b, n, d))
            return x + self.fc2(F.relu(self.fc1(self.norm2(x))))

    class DigitsViT(nn.Module):
        def __init__(self, dim=32, heads=2, layers=1, hidden=64, patch=4):
            super().__init__()
            self.patch = patch
            self.embed = nn.Conv2d(1, dim, patch, stride=patch)
            n = (8 // patch) ** 2
            self.cls = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
            self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(layers))
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, 10)

        def forward(self, x):
            b = x.shape[0]
            t = self.embed((x / 16.0).reshape(b, 1, 8, 8)).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls.expand(b, -1, -1), t], dim=1) + self.pos
            for blk in self.blocks:
                t = blk(t)
            return self.head(self.norm(t)[:, 0])

    class RecallTransformer(nn.Module):
        def __init__(self, vocab=72, dim=32, heads=2, hidden=64, seq=5, classes=8):
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            self.pos = nn.Parameter(torch.randn(1, seq, dim) * 0.1)
            self.enc = nn.TransformerEncoderLayer(dim, heads, hidden, dropout=0.0, batch_first=True)
            self.head = nn.Linear(dim, classes)

        def forward(self, ids):
            return self.head(self.enc(self.emb(ids) + self.pos)[:, -1])

    class MNIST1DAttention(nn.Module):
        def __init__(self, dim=48, heads=2, layers=2, hidden=96, patch=4, length=40, classes=10):
            super().__init__()
            self.patch, self.n = patch, length // patch
            self.embed = nn.Linear(patch, dim)
            self.cls = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos = nn.Parameter(torch.randn(1, self.n + 1, dim) * 0.02)
            self.blocks = nn.ModuleList(
                nn.TransformerEncoderLayer(dim, heads, hidden, dropout=0.0, batch_first=True, norm_first=True)
                for _ in range(layers))
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            b = x.shape[0]
            t = self.embed((x / 4.0).reshape(b, self.n, self.patch))
            t = torch.cat([self.cls.expand(b, -1, -1), t], dim=1) + self.pos
            for blk in self.blocks:
                t = blk(t)
            return self.head(self.norm(t)[:, 0])

    return DigitsViT, RecallTransformer, MNIST1DAttention


SPECS = {
    "digits-vit": {"data": "digits", "config": {"dim": 32, "heads": 2, "layers": 1, "hidden": 64, "patch": 4},
                   "train": {"epochs": 60, "lr": 3e-3, "batch": 64, "seed": 0}},
    "recall-transformer": {"data": "recall", "data_version": 2,
                           "config": {"vocab": 72, "dim": 32, "heads": 2, "hidden": 64, "seq": 5, "classes": 8},
                           "train": {"epochs": 40, "lr": 3e-3, "batch": 64, "seed": 0}},
    "mnist1d-attention": {"data": "mnist1d", "data_version": 1,
                          "config": {"dim": 48, "heads": 2, "layers": 2, "hidden": 96, "patch": 4},
                          "train": {"epochs": 60, "lr": 3e-3, "batch": 64, "seed": 0}},
}


def build(name: str, **config):
    torch = require("torch", "torch", "spikeattn.models.zoo")
    DigitsViT, RecallTransformer, MNIST1DAttention = _classes(torch)
    if name == "digits-vit":
        return DigitsViT(**config)
    if name == "recall-transformer":
        return RecallTransformer(**config)
    if name == "mnist1d-attention":
        return MNIST1DAttention(**config)
    raise SpikeattnError(f"model '{name}': unknown. Fix: use one of {list(MODELS)} or a .pt2 file.")


def train(model, x, y, epochs, lr, batch, seed, log=None, progress: bool = False):
    """AdamW (weight decay 0.01) on cross-entropy, cosine learning-rate schedule, CPU.

    ``log`` (a callable or None) gets, after the first epoch, the measured time of that
    epoch and the estimate ``epochs * t_epoch1`` of the whole run in seconds, then the loss
    every 10 epochs; ``progress`` shows a tqdm bar (epochs) on a terminal."""
    import time

    from ..progress import progress_bar
    torch = require("torch", "torch", "spikeattn.models.zoo")
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    model.train()
    bar = progress_bar(epochs, progress, "training", unit="epoch")
    t0 = time.perf_counter()
    try:
        for ep in range(epochs):
            perm = torch.randperm(len(x), generator=g)
            for i in range(0, len(x), batch):
                idx = perm[i:i + batch]
                loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
            bar.update(1)
            if log and ep == 0 and epochs > 1:
                t1 = time.perf_counter() - t0
                log(f"  epoch 1/{epochs} took {t1:.2f} s: about {t1 * epochs:.0f} s in all")
            if log and (ep + 1) % 10 == 0:
                log(f"  epoch {ep + 1}/{epochs}: loss {float(loss.detach()):.3f}")
    finally:
        bar.close()
    return model.eval()


def _spec_and_path(name: str, overrides: dict):
    if name not in SPECS:
        raise SpikeattnError(f"model '{name}': unknown. Fix: use one of {list(MODELS)} or a .pt2 file.")
    spec = json.loads(json.dumps(SPECS[name]))
    spec["config"].update({k: v for k, v in overrides.items() if k in spec["config"]})
    spec["train"].update({k: v for k, v in overrides.items() if k in spec["train"]})
    key = hashlib.sha256(json.dumps({"name": name, **spec}, sort_keys=True).encode()).hexdigest()[:16]
    return spec, cache_dir() / f"{name}-{key}.pt"


def is_cached(name: str, **overrides) -> bool:
    """Whether the trained weights of ``name`` (with ``overrides``) are in the cache."""
    return _spec_and_path(name, overrides)[1].is_file()


def _print(msg: str) -> None:
    print(msg, flush=True)


def load_model(name: str, data: dict | None = None, log=_print, progress: bool = False, **overrides):
    """The trained built-in model ``name`` (trained now and cached if not cached).

    ``overrides`` replace keys of ``SPECS[name]["config"]`` / ``["train"]`` (and the cache
    key); ``log`` says when it trains (with a time estimate), ``progress`` shows a bar."""
    torch = require("torch", "torch", "spikeattn.models.zoo")
    spec, path = _spec_and_path(name, overrides)
    torch.manual_seed(spec["train"]["seed"])
    model = build(name, **spec["config"])
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    if data is None:
        from .data import load_data
        data = load_data(spec["data"])
    if log:
        log(f"training {name} (not cached yet; {spec['train']['epochs']} epochs on CPU) ...")
    train(model, data["x_train"], data["y_train"], log=log, progress=progress, **spec["train"])
    save_state(model.state_dict(), path)
    return model.eval()
