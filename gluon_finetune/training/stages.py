"""Discriminative learning rates: earlier stages of ``features`` learn more slowly.

Pretrained early layers compute generic edges and textures that need little
change; later ones are more task-specific (Yosinski et al. 2014; fastai's
``slice(lo, hi)`` rates, ULMFiT's "discriminative fine-tuning"). With a decay
``F`` the last stage of ``features`` trains at ``F`` times the base rate, the
one before at ``F**2``, and so on; the stem (the layers before the first stage)
gets the smallest rate; the head keeps its own ``--head-lr-mult``.

A *stage* is a child block of ``net.features`` that is itself made of blocks and
holds parameters: the four ``HybridSequential`` stages of a ResNet, DenseNet's
dense blocks and transitions, MobileNet v2's bottlenecks. Parameter layers
after the last stage (ResNet v2's final BatchNorm) belong to the last stage.
The multipliers go into each parameter's ``lr_mult``, which the optimizer
applies on every update.

Networks without stages get them by depth instead: MobileNet v1's ``features``
is one flat list of convolutions, BatchNorms and activations, and GluonCV's
``*_v1b`` ResNets keep their layers beside the head (``conv1``, ``layer1`` ...
``fc``) with no ``features`` at all. Their parameter layers, in order, are cut
into :data:`DEPTH_GROUPS` consecutive groups of about equal numbers of layers
(``group1`` the shallowest). Networks with many small blocks instead of a few
stages (MobileNet v2's 17 bottlenecks, SqueezeNet's fire modules) have them
merged by depth into :data:`DEPTH_GROUPS` stages, so the first block does not
train at ``F**17`` of the rate. :func:`stage_layout` says which it did.
"""
from mxnet import gluon

from ..networks.model import layers_before_head

#: How many groups a network without stages is cut into (a ResNet has a stem + 4 stages).
DEPTH_GROUPS = 4


def _body(net):
    """The children that make up the features: ``net.features``'s, else ``net``'s but the head."""
    features = getattr(net, "features", None)
    if isinstance(features, gluon.Block):
        return list(features._children.values()), "features"
    return layers_before_head(net), "layers"


def stage_layout(net):
    """``([(name, [params])], how)`` from the shallowest group to the deepest.

    ``how`` is ``"stages"`` when ``net`` has stages (see the module docstring)
    or a sentence saying how the layers were grouped by depth instead.
    """
    children, where = _body(net)
    stem, stages = [], []
    for child in children:
        params = list(child.collect_params().values())
        if not params:
            continue
        if child._children and any(c.collect_params() for c in child._children.values()):
            stages.append(("stage%d" % (len(stages) + 1), params))
        elif stages:
            stages[-1][1].extend(params)  # layers after the last stage go with it
        else:
            stem.extend(params)
    stem = [("stem", stem)] if stem else []
    if stages and len(stages) <= DEPTH_GROUPS + 1:
        return stem + stages, "stages"
    if stages:
        # MobileNet v2's 17 bottlenecks, SqueezeNet's fire modules: at 0.3 per block the
        # first ones would train at 0.3**17 of the rate, frozen in all but name.
        how = ("the %s of %s have %d blocks, merged by depth into %d stages"
               % (where, type(net).__name__, len(stages), DEPTH_GROUPS))
        return stem + _by_depth([p for _, p in stages], "stage"), how
    layers = [list(c.collect_params().values()) for c in children if c.collect_params()]
    features = getattr(net, "features", None)
    if not layers and isinstance(features, gluon.SymbolBlock):
        # A symbol export's graph (gluon_finetune.networks.symbol_source): no blocks, but its
        # parameters come in the graph's order, shallowest first.
        layers = [[p] for p in features.collect_params().values()]
        count = min(DEPTH_GROUPS, len(layers))
        return _by_depth(layers, "group"), (
            "the graph of a symbol export has no stages, so its %d parameters were cut in graph "
            "order into %d groups of about equal size" % (len(layers), count))
    how = ("the %s of %s have no stages, so its %d parameter layers were cut by depth into %d "
           "groups of about equal size" % (where, type(net).__name__, len(layers),
                                           min(DEPTH_GROUPS, len(layers))))
    return _by_depth(layers, "group"), how


def _by_depth(parts, prefix):
    """``parts`` (lists of parameters, shallowest first) cut into up to DEPTH_GROUPS runs."""
    count = min(DEPTH_GROUPS, len(parts))
    groups = []
    for g in range(count):
        chunk = parts[g * len(parts) // count:(g + 1) * len(parts) // count]
        groups.append(("%s%d" % (prefix, g + 1), [p for part in chunk for p in part]))
    return groups


def set_stage_lr_mult(net, decay):
    """Give stage ``k`` of ``n`` (stem = 0) ``lr_mult = decay ** (n - k)``; return ``{name: mult}``.

    With ``decay`` 1 nothing changes and the table is empty. A network without
    stages is grouped by depth (:func:`stage_layout`); the table then says so
    under ``"grouped"``.
    """
    if decay == 1:
        return {}
    groups, how = stage_layout(net)
    table = {}
    for depth, (name, params) in enumerate(reversed(groups), start=1):
        mult = decay ** depth
        for param in params:
            param.lr_mult = mult
        table[name] = mult
    table = dict(reversed(list(table.items())))
    if how != "stages":
        table["grouped"] = how
    return table
