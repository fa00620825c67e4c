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
"""
from mxnet import gluon

from .errors import UserError


def feature_stages(net):
    """``[(name, [params])]`` from the stem to the last stage of ``net.features``.

    Raises
    ------
    UserError
        When ``net`` has no ``features`` made of stages (e.g. GluonCV's ``*_v1b``).
    """
    features = getattr(net, "features", None)
    if not isinstance(features, gluon.Block):
        raise UserError("--lr-stage-decay needs a network with a `features` part made of stages "
                        "(as mxnet.gluon.model_zoo.vision's resnet, densenet, mobilenet); %s has none"
                        % type(net).__name__)
    stem, stages = [], []
    for child in features._children.values():
        params = list(child.collect_params().values())
        if not params:
            continue
        if child._children and any(c.collect_params() for c in child._children.values()):
            stages.append(("stage%d" % (len(stages) + 1), params))
        elif stages:
            stages[-1][1].extend(params)  # layers after the last stage go with it
        else:
            stem.extend(params)
    if not stages:
        raise UserError("--lr-stage-decay: the `features` of %s have no stages (child blocks made of "
                        "layers); use --lr-stage-decay 1 (off) with this network" % type(net).__name__)
    return ([("stem", stem)] if stem else []) + stages


def set_stage_lr_mult(net, decay):
    """Give stage ``k`` of ``n`` (stem = 0) ``lr_mult = decay ** (n - k)``; return ``{name: mult}``.

    With ``decay`` 1 nothing changes and the table is empty.
    """
    if decay == 1:
        return {}
    stages = feature_stages(net)
    table = {}
    for depth, (name, params) in enumerate(reversed(stages), start=1):
        mult = decay ** depth
        for param in params:
            param.lr_mult = mult
        table[name] = mult
    return dict(reversed(list(table.items())))
