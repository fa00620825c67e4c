"""Your own network as the source: a symbol + params export (``NET-symbol.json`` and
``NET-0000.params``), as written by ``HybridBlock.export``, GluonCV's ``export_block``,
MXNet's ONNX import or this project's ``export``.

The graph is cut before its classifier: the features are everything up to the
classifier's input, and a new Xavier-initialised ``Dense`` head takes their place, as
the book does with a zoo network's ``features`` and ``output``. The classifier is
found in the graph (the last ``FullyConnected``, or the matrix product an ONNX
import makes of one, else the last 1x1 ``Convolution`` whose output is flattened)
or named with ``--head-layer``.

Such a network is named ``symbol:/abs/NET-symbol.json`` (``@LAYER`` appended when a
head layer was named) wherever a zoo name goes (``TrainConfig.model``,
``config.json``), so :func:`gluon_finetune.networks.model.zoo_network` rebuilds it from the
file: a run folder keeps a copy (``source-symbol.json``) that ``load_run`` uses.
"""
import functools
import glob
import json
import os
import re
import shutil
import warnings

from ..errors import UserError, first_line

PREFIX = "symbol:"
#: The copy of the source graph a run folder keeps, for rebuilding the run's network.
RUN_COPY = "source-symbol.json"


def is_symbol_file(path):
    """Whether ``--weights path`` names a symbol export rather than a ``.params`` file."""
    return bool(path) and str(path).lower().endswith(".json") and not os.path.isdir(str(path))


def is_symbol_model(name):
    return str(name).startswith(PREFIX)


def model_name(symbol_path, head_layer=None):
    """The model name of ``symbol_path`` (an absolute path; ``@head_layer`` when named)."""
    return PREFIX + os.path.abspath(symbol_path) + ("@" + head_layer if head_layer else "")


def parse(name):
    """``(symbol path, head layer or None)`` of a ``symbol:`` model name."""
    rest = name[len(PREFIX):]
    path, sep, layer = rest.rpartition("@")
    if sep and path.lower().endswith(".json"):
        return path, layer or None
    return rest, None  # no head layer named; an "@" elsewhere is part of the path


def short_name(name):
    """A name for files and titles: a symbol export's own (``NET`` of ``NET-symbol.json``),
    else ``name`` itself."""
    if not is_symbol_model(name):
        return name
    base = os.path.basename(parse(name)[0])
    if base == RUN_COPY:  # the run's copy: the name is the run folder's
        base = os.path.basename(os.path.dirname(parse(name)[0])) + "-symbol.json"
    return re.sub(r"(-symbol)?\.json$", "", base, flags=re.I)


def params_beside(symbol_path):
    """The ``NET-NNNN.params`` of ``NET-symbol.json`` (the highest epoch when several)."""
    stem = re.sub(r"-symbol\.json$", "", symbol_path, flags=re.I)
    if stem == symbol_path:
        stem = os.path.splitext(symbol_path)[0]
    found = sorted(glob.glob(glob.escape(stem) + "-[0-9][0-9][0-9][0-9].params"))
    if not found:
        raise UserError("--weights %s: no %s-0000.params beside it; a symbol export is two files, "
                        "NET-symbol.json and NET-0000.params (HybridBlock.export writes both)"
                        % (symbol_path, os.path.basename(stem)))
    return found[-1]


def _graph(symbol_path):
    import mxnet as mx

    if not os.path.isfile(symbol_path):
        raise UserError("--weights %s: no such file" % symbol_path)
    try:
        with open(symbol_path) as f:
            graph = json.load(f)
        nodes = graph["nodes"]
        symbol = mx.sym.load(symbol_path)
    except (ValueError, KeyError, TypeError, mx.base.MXNetError) as err:
        raise UserError("--weights %s is not an MXNet symbol file (NET-symbol.json): %s"
                        % (symbol_path, first_line(err))) from None
    return nodes, symbol


def _is_1x1(node):
    kernel = (node.get("attrs") or node.get("param") or {}).get("kernel", "")
    return re.sub(r"\s", "", kernel) in ("(1,1)", "[1,1]")


#: Dense layers: Gluon's, and the matrix product MXNet's ONNX import makes of ONNX's Gemm.
DENSE_OPS = ("FullyConnected", "_linalg_gemm2", "linalg_gemm2", "dot")


def _candidates(nodes):
    flattened = {n["inputs"][0][0] for n in nodes
                 if n["op"] in ("Flatten", "flatten", "Reshape", "reshape") and n["inputs"]}
    return [i for i, n in enumerate(nodes)
            if n["op"] in DENSE_OPS or (n["op"] == "Convolution" and _is_1x1(n) and i in flattened)]


def head_candidates(nodes):
    """Layers that could be the classifier: every dense layer (:data:`DENSE_OPS`) and every
    1x1 ``Convolution`` whose output a ``Flatten`` (or ``Reshape``) takes, in graph order."""
    return [nodes[i]["name"] for i in _candidates(nodes)]


def find_head(nodes, head_layer=None, where="the graph"):
    """``(the classifier's node name, (the node its input comes from, that output's index))``."""
    candidates = _candidates(nodes)
    listed = ", ".join(nodes[i]["name"] for i in candidates[-8:]) if candidates else "none"
    if head_layer:
        names = {n["name"]: i for i, n in enumerate(nodes)}
        index = names.get(head_layer, names.get(head_layer + "_fwd"))
        if index is None or nodes[index]["op"] == "null":
            raise UserError("--head-layer %s: %s has no such layer; the candidates are %s"
                            % (head_layer, where, listed))
    elif not candidates:
        raise UserError("cannot find the classifier of %s: it has no FullyConnected layer and no "
                        "1x1 convolution before a flatten; name the layer whose input is the "
                        "features with --head-layer NAME (one of its %d layers)"
                        % (where, sum(n["op"] != "null" for n in nodes)))
    else:  # the last dense layer; a 1x1 convolution only where there is none
        dense = [i for i in candidates if nodes[i]["op"] in DENSE_OPS]
        index = (dense or candidates)[-1]
    source_index, output_index = nodes[index]["inputs"][0][:2]
    source = nodes[source_index]
    if source["op"] == "null":
        raise UserError("--head-layer %s takes the network's input directly: nothing would be left "
                        "of the features; the candidates are %s" % (nodes[index]["name"], listed))
    return nodes[index]["name"], (source["name"], output_index)


def feature_symbol(symbol_path, head_layer=None):
    """The graph of ``symbol_path`` up to its classifier's input: ``(symbol, head name)``."""
    nodes, symbol = _graph(symbol_path)
    head, (source, index) = find_head(nodes, head_layer, where=symbol_path)
    internals = symbol.get_internals()
    names = internals.list_outputs()
    # One output is NAME_output; an operator with several names them NAME_output0, 1, ...
    output = source + "_output" if source + "_output" in names else "%s_output%d" % (source, index)
    return internals[output], head


@functools.lru_cache(maxsize=None)
def symbol_net_class():
    """:class:`SymbolNet`, defined on first use (importing this module loads no MXNet)."""
    import mxnet as mx
    from mxnet import gluon

    class SymbolNet(gluon.HybridBlock):
        """A symbol graph's features and a new classifier: ``output(flatten(features(x)))``.

        Attributes
        ----------
        features : gluon.SymbolBlock
            The graph up to the classifier's input.
        output : gluon.nn.Dense
        """

        def __init__(self, features_symbol, classes, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                with warnings.catch_warnings():  # "cannot decide type for data": float32
                    warnings.simplefilter("ignore", UserWarning)
                    self.features = gluon.SymbolBlock(features_symbol, mx.sym.var("data"))
                self.output = gluon.nn.Dense(classes)

        def hybrid_forward(self, F, x):
            return self.output(F.flatten(self.features(x)))

    return SymbolNet


def network(name, classes):
    """The network of model name ``name`` with ``classes`` outputs, parameters not loaded."""
    return _network(name, classes)[0]


def _network(name, classes):
    """``(network, the name of the classifier layer cut off)``."""
    path, head_layer = parse(name)
    symbol, head = feature_symbol(path, head_layer)
    return symbol_net_class()(symbol, classes), head


def initialize_scratch(net, ctx):
    """Random weights for training ``net`` from scratch: Xavier for weights, and what a
    layer starts from otherwise (BatchNorm's scale and variance 1, shifts and means 0).

    A graph's parameters carry no layer types, so Gluon's block-level initialisation
    would apply Xavier to BatchNorm's vectors too; the names say which is which.
    """
    from mxnet import init

    for name, param in net.collect_params().items():
        if name.endswith(("gamma", "running_var", "moving_var")):
            param.initialize(init.One(), ctx=ctx)
        elif name.endswith(("beta", "bias", "running_mean", "moving_mean")):
            param.initialize(init.Zero(), ctx=ctx)
        else:
            param.initialize(init.Xavier(), ctx=ctx)
    return net


def load_source(name, ctx):
    """The source network of ``name`` with its export's weights in ``features``:
    ``(SymbolNet, info)``; its own 1-class head is never used."""
    import mxnet as mx

    path, _ = parse(name)
    net, head = _network(name, 1)  # the graph first: a file that is no graph is said as such
    params = params_beside(path)
    try:
        net.features.collect_params().load(params, ctx=ctx, ignore_extra=True,
                                           cast_dtype=True, dtype_source="saved")
    except (mx.base.MXNetError, AssertionError, ValueError) as err:
        raise UserError("--weights %s: %s does not hold the weights of its features: %s"
                        % (path, params, first_line(err))) from None
    return net, {"kind": "symbol", "path": path, "params": params, "head_layer": head}


def keep_copy(name, run_path):
    """Copy the source graph into the run folder (so the run does not depend on it staying)."""
    path, _ = parse(name)
    shutil.copyfile(path, os.path.join(run_path, RUN_COPY))


def in_run(name, run_path):
    """``name`` pointing at the run folder's own copy of the graph, when it has one."""
    copy = os.path.join(run_path, RUN_COPY)
    if not os.path.isfile(copy):
        return name
    _, head_layer = parse(name)
    return model_name(copy, head_layer)
