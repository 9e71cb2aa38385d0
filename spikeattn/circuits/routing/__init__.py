"""Selection and routing circuits built from plain LIF/IF neurons.

* :func:`kwta` — winner-take-all / k-WTA token selection by lateral inhibition (top-k by
  windowed spike count or by first spike);
* :func:`gated_router` — a gate opens exactly the selected pathways (coincidence gating or
  disinhibition); closed pathways perform no synaptic events;
* :func:`moe_layer` — mixture-of-experts routing, unselected experts do zero work;
* :func:`hierarchical_selector` — coarse-to-fine (regions, then tokens within them);
  :func:`coarse_to_fine_attention` — regions, then Spikformer SSA over their tokens only;
* :mod:`.reference` — dense numpy references of all of the above.
"""
from . import reference
from .gating import gated_router
from .hierarchical import coarse_to_fine_attention, flat_selector, hierarchical_selector
from .moe import expert_elements, feedforward_expert, moe_layer
from .wta import kwta, required_steps, winners_from_spikes

__all__ = ["kwta", "required_steps", "winners_from_spikes", "gated_router", "moe_layer", "feedforward_expert",
           "expert_elements", "hierarchical_selector", "flat_selector", "coarse_to_fine_attention", "reference"]
