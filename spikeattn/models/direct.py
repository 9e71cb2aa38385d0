"""Directly trained spiking attention classifiers (BPTT + surrogate gradients), run as circuits.

``train_direct(kind="ssa" | "sdsa", data, steps=T, epochs=...)`` trains, with snnTorch,
a small spiking classifier on 8x8 digit images and returns a :class:`DirectModel` whose
:meth:`~DirectModel.circuit` is the same network as a spikeattn Circuit (same spikes, step
for step).  Per step ``t = 1..T`` (dimensionless currents; pixel values ``p`` in 0..16)::

    tokens   x[n] = patch n of the image / 16          (N = (8 / patch)^2 tokens of P = patch^2)
    encoding direct: u[t, n] = x[n] (the same analog current every step, graded synapses)
             rate:   u[t, n] ~ Bernoulli(x[n])  (binary spikes, a fixed numpy seed at evaluation)
    embed    e[t] = Leaky(u[t, n] We^T + be + pos[n])     (N, D) spikes, learned position bias
    block    y[t] = SSA(e[t]) or SDSA(e[t])               (N, D) spikes (:mod:`.snntorch_ssa`,
                                                            :mod:`.snntorch_layers`)
    readout  r = (1 / N) sum_t sum_n y[t, n]               (D,) spike count per channel, token mean
             logits = r Wr^T + br                          (10,)  (host: 10 D MACs per sample)

Loss: cross-entropy of the logits, backpropagated through time with snnTorch's surrogate
gradient (arctan).  After training every weight, bias and position term is rounded to a
multiple of ``grid`` (2^-8) so that with dyadic ``beta = 0.5``, thresholds and scale the
float64 sums of the module and of the circuit are exact: the circuit's spike counts equal
the module's (evaluated in float64), hence its predictions too.

Weights are cached under :func:`spikeattn.convert.cache.cache_dir` as
``direct-<kind>-<key>.pt`` (key: a hash of the configuration and the training data),
written atomically and loaded with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from ..convert.cache import cache_dir, save_state
from ..errors import ParameterError, require
from ..ir import Circuit

KINDS = ("ssa", "sdsa")
ENCODINGS = ("direct", "rate")
CACHE_VERSION = 1
DEFAULTS = {"dim": 32, "heads": 2, "patch": 4, "encoding": "direct", "beta": 0.5, "threshold": 1.0, "kv_threshold": 0.5,
            "init_gain": 1.5, "epochs": 30, "lr": 3e-3, "batch": 64, "seed": 0, "grid": 2.0 ** -8}


def tokens(x, patch: int) -> np.ndarray:
    """``(n, 64)`` images (pixels 0..16) -> ``(n, N, patch^2)`` patch tokens in [0, 1]."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[1] != 64:
        raise ParameterError("direct classifier", "x", f"has shape {x.shape}.",
                             "give (n, 64) images of 8x8 pixels (load_data('digits')).")
    x = x.reshape(-1, 8, 8) / 16.0
    g = 8 // patch
    return x.reshape(-1, g, patch, g, patch).transpose(0, 1, 3, 2, 4).reshape(-1, g * g, patch * patch)


def encode(tok: np.ndarray, steps: int, encoding: str, seed: int = 0) -> np.ndarray:
    """``(steps, n, N, P)`` input currents (direct) or Bernoulli spikes (rate, seeded)."""
    if encoding == "direct":
        return np.broadcast_to(tok, (steps,) + tok.shape).copy()
    rng = np.random.default_rng(seed)
    return (rng.random((steps,) + tok.shape) < tok).astype(np.float64)


def _check(kind, steps, cfg):
    if kind not in KINDS:
        raise ParameterError("train_direct()", "kind", f"is {kind!r}.", f"use one of {list(KINDS)}.")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ParameterError("train_direct()", "steps", f"is {steps!r}; must be an int >= 1.")
    if cfg["encoding"] not in ENCODINGS:
        raise ParameterError("train_direct()", "encoding", f"is {cfg['encoding']!r}.", f"use one of {list(ENCODINGS)}.")
    if cfg["patch"] not in (1, 2, 4, 8):
        raise ParameterError("train_direct()", "patch", f"is {cfg['patch']!r}.", "use 1, 2, 4 or 8 (divides 8).")
    for k in ("dim", "heads", "epochs", "batch"):
        v = cfg[k]
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if k == "epochs" else 1):
            raise ParameterError("train_direct()", k, f"is {v!r}; must be an int >= {0 if k == 'epochs' else 1}.")
    if cfg["dim"] % cfg["heads"]:
        raise ParameterError("train_direct()", "heads", f"{cfg['heads']} heads do not divide dim={cfg['dim']}.",
                             "choose dim as a multiple of heads.")


def _build(torch, snn, kind, cfg):
    from .snntorch_layers import SDSA
    from .snntorch_ssa import SSA
    n_tok, p, d = (8 // cfg["patch"]) ** 2, cfg["patch"] ** 2, cfg["dim"]

    class DirectClassifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n_tok, self.kind = n_tok, kind
            self.embed = torch.nn.Linear(p, d)
            self.pos = torch.nn.Parameter(torch.randn(n_tok, d) * 0.1)
            self.lembed = snn.Leaky(beta=cfg["beta"], threshold=cfg["threshold"])
            if kind == "ssa":
                self.block = SSA(n_tok, d, cfg["heads"], beta=cfg["beta"], threshold=cfg["threshold"])
            else:
                self.block = SDSA(n_tok, d, beta=cfg["beta"], threshold=cfg["threshold"],
                                  kv_threshold=cfg["kv_threshold"])
            self.head = torch.nn.Linear(d, 10)
            # spiking-friendly init (no BatchNorm): pre-activations of std ~ gain * threshold
            # for the expected input activity (pixels ~0.3, spikes ~0.25), biases th / 4
            with torch.no_grad():
                lins = [(self.embed, 0.3)] + [(m, 0.25) for m in self.block.modules()
                                              if isinstance(m, torch.nn.Linear)]
                for lin, act in lins:
                    lin.weight.normal_(0.0, cfg["init_gain"] * cfg["threshold"] / np.sqrt(lin.in_features * act))
                    lin.bias.fill_(cfg["threshold"] / 4)

        def counts(self, u):
            """``u`` ``(T, B, N, P)`` -> output spike counts ``(B, N, D)`` summed over T."""
            self.block.reset()
            mem, total = self.lembed.init_leaky(), 0
            for t in range(u.shape[0]):
                e, mem = self.lembed(self.embed(u[t]) + self.pos, mem)
                total = total + self.block(e.to(self.pos.dtype))[0]   # snnTorch spikes are float32
            return total

        def forward(self, u):
            return self.head(self.counts(u).mean(1))

    return DirectClassifier()


class DirectModel:
    """A trained direct classifier: the snnTorch ``module``, its ``config`` and its circuit."""

    def __init__(self, module, kind: str, steps: int, config: dict, path=None, trained_now: bool = False):
        self.module, self.kind, self.steps, self.config = module, kind, steps, config
        self.path, self.trained_now = path, trained_now

    def inputs(self, x, steps: int | None = None) -> np.ndarray:
        """``(T, n, N, P)`` encoded inputs of images ``x`` (rate: seed 0 at evaluation)."""
        return encode(tokens(x, self.config["patch"]), steps or self.steps, self.config["encoding"])

    def circuit(self, name: str | None = None) -> Circuit:
        """Source ``x`` ``(N * P)`` -> embed LIF (+ position bias) -> the block's circuit
        (included as ``attn.``); output port ``y`` = ``attn.y``."""
        m, cfg = self.module, self.config
        from .snntorch_ssa import add_linear_leaky
        n_tok, p = m.n_tok, cfg["patch"] ** 2
        c = Circuit(name or f"direct_{self.kind}")
        c.add_source("x", n_tok * p)
        add_linear_leaky(c, "embed", "x", m.embed, m.lembed, n_tok,
                         message="graded" if cfg["encoding"] == "direct" else "binary",
                         bias=m.pos.detach().cpu().double().numpy())
        c.include(m.block.to_circuit(), prefix="attn", bind={"x": "embed"})
        c.expose("y", "attn.y")
        return c

    def module_counts(self, x, steps: int | None = None) -> np.ndarray:
        """Output spike counts ``(n, N * D)`` of the snnTorch module, run in float64."""
        torch = require("torch", "torch", "spikeattn.models.direct")
        m = self.module.double()
        try:
            with torch.no_grad():
                out = m.counts(torch.as_tensor(self.inputs(x, steps)))
        finally:
            self.module.float()
        return out.numpy().reshape(len(out), -1)

    def circuit_run(self, x, steps: int | None = None, engine: str = "numpy"):
        """``(counts (n, N * D), SimResult)`` of the circuit on ``engine``."""
        from ..simulate import simulate
        u = self.inputs(x, steps)
        T, n = u.shape[:2]
        r = simulate(self.circuit(), {"x": u.reshape(T, n, -1)}, steps=T, engine=engine)
        return (r.spikes["attn.y"] != 0).sum(0), r

    def logits(self, counts) -> np.ndarray:
        """Readout of spike counts ``(n, N * D)`` (float64, the same for module and circuit)."""
        w = self.module.head.weight.detach().cpu().double().numpy()
        b = self.module.head.bias.detach().cpu().double().numpy()
        n, d = len(counts), w.shape[1]
        pooled = np.asarray(counts, np.float64).reshape(n, -1, d).mean(1)
        return pooled @ w.T + b

    def evaluate(self, x, y, steps: int | None = None, engine: str = "numpy") -> dict:
        """Accuracy of the circuit and of the module, whether they agree, events per sample."""
        T = steps or self.steps
        cc, r = self.circuit_run(x, T, engine)
        mc = self.module_counts(x, T)
        pc, pm = self.logits(cc).argmax(1), self.logits(mc).argmax(1)
        tot = r.counts.totals()
        n = len(x)
        d = self.module.head.in_features
        return {"kind": self.kind, "steps": T, "engine": engine, "samples": int(n),
                "accuracy": float(np.mean(pc == np.asarray(y))), "module_accuracy": float(np.mean(pm == np.asarray(y))),
                "counts_identical": bool(np.array_equal(cc, mc)), "predictions_identical": bool(np.array_equal(pc, pm)),
                "synaptic_acs_per_sample": tot["synaptic_acs"] / n, "synaptic_macs_per_sample": tot["synaptic_macs"] / n,
                "spikes_per_sample": tot["spikes"] / n, "readout_macs_per_sample": 10 * d,
                "neuron_updates_per_sample": (tot["neuron_updates_active"] + tot["neuron_updates_idle"]) / n}


def _key(kind, steps, cfg, x, y) -> str:
    h = hashlib.sha256(json.dumps({"v": CACHE_VERSION, "kind": kind, "steps": steps, **cfg}, sort_keys=True).encode())
    h.update(np.ascontiguousarray(x, np.float32).tobytes())
    h.update(np.ascontiguousarray(y, np.int64).tobytes())
    return h.hexdigest()[:16]


def _fit(torch, model, u_fn, y, cfg, log):
    g = torch.Generator().manual_seed(cfg["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(cfg["epochs"], 1))
    y = torch.as_tensor(y)
    model.train()
    for ep in range(cfg["epochs"]):
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), cfg["batch"]):
            idx = perm[i:i + cfg["batch"]]
            loss = torch.nn.functional.cross_entropy(model(u_fn(idx, g)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if log and (ep + 1) % 10 == 0:
            log(f"  epoch {ep + 1}/{cfg['epochs']}: loss {float(loss.detach()):.3f}")
    return model.eval()


def train_direct(kind: str = "sdsa", data=None, steps: int = 4, epochs: int | None = None, n_train: int | None = None,
                 cache: bool = True, log=None, **config) -> DirectModel:
    """Train (or load from the cache) a direct classifier; see the module docstring.

    ``data``: a dict as :func:`spikeattn.models.data.load_data` returns (default
    ``load_data("digits")``); ``n_train``: use the first n training samples; ``config``
    overrides :data:`DEFAULTS` (``dim``, ``heads``, ``patch``, ``encoding``, ``lr``, ...)."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ParameterError("train_direct()", unknown[0], "is not a setting.", f"use any of {sorted(DEFAULTS)}.")
    cfg = {**DEFAULTS, **config}
    if epochs is not None:
        cfg["epochs"] = epochs
    _check(kind, steps, cfg)
    torch = require("torch", "torch", "spikeattn.models.direct")
    snn = require("snntorch", "torch", "spikeattn.models.direct")
    if data is None:
        from .data import load_data
        data = load_data("digits")
    x, y = np.asarray(data["x_train"]), np.asarray(data["y_train"])
    if n_train is not None:
        x, y = x[:n_train], y[:n_train]
    torch.manual_seed(cfg["seed"])
    model = _build(torch, snn, kind, cfg)
    path = cache_dir() / f"direct-{kind}-{_key(kind, steps, cfg, x, y)}.pt"
    if cache and path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return DirectModel(model.eval(), kind, steps, cfg, path)
    tok = torch.as_tensor(tokens(x, cfg["patch"]), dtype=torch.float32)

    def u_fn(idx, g):
        b = tok[idx]
        if cfg["encoding"] == "direct":
            return b.expand(steps, *b.shape)
        return (torch.rand((steps,) + tuple(b.shape), generator=g) < b).float()

    if log:
        log(f"training direct {kind} at T = {steps} ({cfg['epochs']} epochs, {len(y)} samples, CPU) ...")
    _fit(torch, model, u_fn, y, cfg, log)
    with torch.no_grad():                     # dyadic grid: exact float64 sums (module docstring)
        for p in model.parameters():
            p.copy_(torch.round(p / cfg["grid"]) * cfg["grid"])
    if cache:
        save_state(model.state_dict(), path)
    return DirectModel(model, kind, steps, cfg, path if cache else None, trained_now=True)
