"""The networks this tool fine-tunes, with what a user needs to choose one.

:data:`MODELS` lists every classification network of ``mxnet.gluon.model_zoo.vision``
and the GluonCV ones this project checks. Each entry has the input size the
network was trained at and the zoo's published ImageNet top-1 (single centre
crop), with where that figure was published (:data:`SOURCES`). The figures are
the zoos' own, not measured here. :func:`describe` adds what depends on this
machine: the parameter count (from the architecture, nothing downloaded) and
whether the ImageNet weights are already in the cache.
"""
import fnmatch
import os

from .sizes import default_image_size, min_image_size

#: Where each top-1 figure was published.
SOURCES = {
    "mxnet": "MXNet Gluon model zoo table (docs/api/python/gluon/model_zoo.md, apache/mxnet)",
    "gluoncv": "GluonCV classification model zoo (gluon-cv.mxnet.io/model_zoo/classification.html)",
}

#: name -> (zoo, published ImageNet top-1 or None).
MODELS = {
    "alexnet": ("mxnet", 0.5492),
    "densenet121": ("mxnet", 0.7497), "densenet161": ("mxnet", 0.7770),
    "densenet169": ("mxnet", 0.7617), "densenet201": ("mxnet", 0.7732),
    "inceptionv3": ("mxnet", 0.7755),
    "mobilenet0.25": ("mxnet", 0.5185), "mobilenet0.5": ("mxnet", 0.6307),
    "mobilenet0.75": ("mxnet", 0.6738), "mobilenet1.0": ("mxnet", 0.7105),
    "mobilenetv2_0.25": ("mxnet", 0.5074), "mobilenetv2_0.5": ("mxnet", 0.6449),
    "mobilenetv2_0.75": ("mxnet", 0.6961), "mobilenetv2_1.0": ("mxnet", 0.7192),
    "resnet18_v1": ("mxnet", 0.7093), "resnet34_v1": ("mxnet", 0.7437),
    "resnet50_v1": ("mxnet", 0.7647), "resnet101_v1": ("mxnet", 0.7834),
    "resnet152_v1": ("mxnet", 0.7900),
    "resnet18_v2": ("mxnet", 0.7100), "resnet34_v2": ("mxnet", 0.7440),
    "resnet50_v2": ("mxnet", 0.7711), "resnet101_v2": ("mxnet", 0.7853),
    "resnet152_v2": ("mxnet", 0.7921),
    "squeezenet1.0": ("mxnet", 0.5611), "squeezenet1.1": ("mxnet", 0.5496),
    "vgg11": ("mxnet", 0.6662), "vgg13": ("mxnet", 0.6774), "vgg16": ("mxnet", 0.7323),
    "vgg19": ("mxnet", 0.7411),
    "vgg11_bn": ("mxnet", 0.6859), "vgg13_bn": ("mxnet", 0.6884), "vgg16_bn": ("mxnet", 0.7310),
    "vgg19_bn": ("mxnet", 0.7433),
    "resnet18_v1b": ("gluoncv", 0.7094), "resnet50_v1b": ("gluoncv", 0.7767),
    "resnet50_v1d": ("gluoncv", 0.7915),
    "mobilenetv3_small": ("gluoncv", None), "mobilenetv3_large": ("gluoncv", None),
}

def names(pattern=None):
    """The catalogue's names matching shell-style ``pattern`` (``resnet*``), in table order."""
    return [n for n in MODELS if pattern is None or fnmatch.fnmatch(n, pattern.lower())]


def parameter_count(name):
    """Parameters of ``name`` with the zoo's 1000 classes, from shapes alone (nothing runs)."""
    import mxnet as mx

    from .model import zoo_network

    net = zoo_network(name, classes=1000)
    size = default_image_size(name)
    out = net(mx.sym.var("data"))
    arg_shapes, _, aux_shapes = out.infer_shape(data=(1, 3, size, size))
    shapes = dict(zip(out.list_arguments(), arg_shapes))
    shapes.update(zip(out.list_auxiliary_states(), aux_shapes))
    trainable = sum(_size(s) for k, s in shapes.items() if k != "data")
    # The zoo's table counts learned weights only, not BatchNorm's running statistics.
    return trainable - sum(_size(s) for s in aux_shapes)


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def describe(name, root=None, count_parameters=True):
    """One row: name, zoo, input size, parameters, published top-1 and its source, cached."""
    from .model import pretrained_file_info

    zoo, top1 = MODELS[name]
    info = pretrained_file_info(name, root)
    return {"name": name, "zoo": zoo, "image_size": default_image_size(name),
            "min_image_size": min_image_size(name),
            "parameters": parameter_count(name) if count_parameters else None,
            "imagenet_top1": top1, "top1_source": SOURCES[zoo] if top1 is not None else None,
            "cached": os.path.isfile(info["path"]), "weights_file": info["path"]}
