"""The quantiser op ``spikeattn::quant`` and its module (torch; imported lazily).

``quant(x, vth, L, signed, v0)`` is exactly what a ``MultiThresholdIF(vth, L, signed)``
neuron with initial membrane ``v0 * vth`` emits in its first step, times ``vth``::

    v = x + v0 * vth
    n = clip(ceil(v / vth) - 1, 0, L)                 (v >= 0)
    n = -clip(ceil(-v / vth) - 1, 0, L)               (v < 0, signed only; else 0)
    quant = n * vth

With ``v0 = 1/2`` (unsigned) it rounds ``x / vth`` to the nearest level; signed quantisers
use ``v0 = 0`` (truncation toward zero).  The backward pass is the straight-through
estimator inside the range and LSQ's gradient for ``vth``.

A neuron run for T steps on a constant input ``x`` emits ``N_T = clip(ceil((T x + v0 vth) /
vth) - 1, 0, T L)`` in all (reset by subtraction), i.e. ``T`` times ``quant(x, vth / T, T L,
signed, v0)``: the T-step circuit computes the model quantised on the finer *grid of T*.
``QuantModule.grid = T`` quantises on that grid (``vth / T``, ``T L`` levels); the fine-tune
(:func:`~.modes.finetune`, ``grids=``) trains on several grids so that the weights are good on
the grid of every T the circuit is run at, not only on T = 1's.
"""


from ..errors import require

#: scores at or below this are masked positions (``prepare`` adds -1e4 for a causal or padding mask)
MASKED = -1e3

_torch = None
QuantModule = None


def setup_quantiser():
    global _torch, QuantModule
    if _torch is not None:
        return _torch
    torch = require("torch", "torch", "spikeattn.convert")

    @torch.library.custom_op("spikeattn::quant", mutates_args=(),
                             schema="(Tensor x, Tensor vth, int levels, bool signed, float v0) -> Tensor")
    def quant(x: torch.Tensor, vth: torch.Tensor, levels: int, signed: bool, v0: float) -> torch.Tensor:
        v = x + v0 * vth
        up = torch.clamp(torch.ceil(v / vth) - 1, 0, levels)
        if signed:
            down = torch.clamp(torch.ceil(-v / vth) - 1, 0, levels)
            n = torch.where(v >= 0, up, -down)
        else:
            n = torch.where(v >= 0, up, torch.zeros_like(up))
        return n * vth

    @quant.register_fake
    def _(x, vth, levels, signed, v0):
        return torch.empty_like(x)

    def setup_context(ctx, inputs, output):
        x, vth, levels, signed, v0 = inputs
        ctx.save_for_backward(x, vth)
        ctx.levels, ctx.signed, ctx.v0 = levels, signed, v0

    def backward(ctx, grad):
        x, vth = ctx.saved_tensors
        r = x / vth + ctx.v0
        lo = -ctx.levels if ctx.signed else 0.0
        inside = (r >= lo) & (r <= ctx.levels + 0.5)
        q = torch.clamp(torch.round(r - ctx.v0), lo, ctx.levels)
        g_vth = torch.where(inside, q - x / vth, q)
        n = max(x.numel(), 1)
        return grad * inside.to(grad.dtype), (grad * g_vth).sum().reshape(vth.shape) / (n * ctx.levels) ** 0.5, \
            None, None, None

    quant.register_autograd(backward, setup_context=setup_context)

    class _QuantModule(torch.nn.Module):
        """Quantisation point: observes (calibration), passes through, or quantises."""

        def __init__(self, levels: int, signed: bool, v0: float, role: str):
            super().__init__()
            self.levels, self.signed, self.v0, self.role = int(levels), bool(signed), float(v0), role
            self.origin = ""        # the layer it quantises (module path, source line), for error messages
            self.vth = torch.nn.Parameter(torch.ones(()))
            self.state = "quant"
            self.samples = []
            self.grid = 1           # quantise on the grid of T = grid steps: vth / grid, levels * grid


        def forward(self, x):
            if self.state == "observe":
                v = x.detach()
                if self.role == "relu_attention":   # masked scores (prepare adds -1e4) are not scores:
                    v = v[v > MASKED]                # calibrating on them zeroed every causal attention map,
                    x = torch.where(x > MASKED, x, torch.zeros_like(x))   # here and in the next quantiser
                self.samples.append(v.abs().reshape(-1)[:20000].double())
                return x
            if self.state == "float":
                return x if self.signed else torch.relu(x)
            vth = self.vth.abs() + 1e-8
            if self.grid != 1:
                return torch.ops.spikeattn.quant(x, vth / self.grid, self.levels * self.grid, self.signed, self.v0)
            return torch.ops.spikeattn.quant(x, vth, self.levels, self.signed, self.v0)

    _torch, QuantModule = torch, _QuantModule
    return torch


def quant_modules(gm):
    setup_quantiser()
    return [m for m in gm.modules() if isinstance(m, QuantModule)]
