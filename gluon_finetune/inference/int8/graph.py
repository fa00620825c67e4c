"""A repair pass over MXNet 1.9.1's quantised graph: residual sums whose shortcut is unsigned.

oneDNN fuses a residual addition into the convolution before it (a "sum"
post-op: the convolution adds its result into the shortcut's buffer). MXNet
1.9.1 gives that fused INT8 convolution a signed (int8) output, and when the
shortcut arrives unsigned (uint8: a ReLU's output, or a pooling of one) the
result has no negative value left (as far as we can read MXNet's source, the
signed result is written through the shortcut's unsigned buffer). In ResNet v2
this is the first block: its shortcut is the stem's max-pooled ReLU. In a
resnet18_v2 with random weights, that sum spans -0.93 to 1.73 in float32 and
has no negative value in INT8 (``tests/unit/inference/test_int8_graph.py`` checks this); on
the demo's fine-tuned run, INT8 gave float32's label on 95.5% of the test
pictures without the repair and on 99.5% with it (see
:mod:`gluon_finetune.inference.int8.quantize`).

:func:`sign_sum_inputs` rewrites the graph so such a shortcut is converted to
int8 first (dequantise, then quantise to int8 over the mirrored calibrated
range: one cheap elementwise pass over one feature map), which is the signed
input the fused sum expects. Everything else stays as MXNet built it, and the
result still loads with ``SymbolBlock.imports`` without this package.
"""
import collections
import json
import warnings

#: The quantised oneDNN convolution (``_sg_mkldnn_conv``) keeps the sum's input fifth from
#: last: ``..., sum, data_min, data_max, sum_min, sum_max``.
CONV_OP = "_sg_mkldnn_conv"


def output_types(symbol_json, input_name="data"):
    """``{node name: [dtype name of each output]}`` of a symbol, inferred from a float32 input."""
    import mxnet as mx
    import numpy as np

    internals = mx.sym.load_json(symbol_json).get_internals()
    _, types, _ = internals.infer_type(**{input_name: "float32"})
    out = collections.defaultdict(list)
    for i, t in enumerate(types):  # a node's outputs are listed one after another
        out[internals[i].name].append(np.dtype(t).name if t is not None else None)
    return out


def _calibrated_max(nodes, node):
    """The calibrated maximum behind ``node``: its own, or that of the first input upstream
    that has one (quantised pooling and activations pass their input's range on)."""
    while "max_calib_range" not in node.get("attrs", {}):
        if not node["inputs"]:
            return None
        node = nodes[node["inputs"][0][0]]
    return float(node["attrs"]["max_calib_range"])


def sign_sum_inputs(symbol_json, input_name="data"):
    """Convert the unsigned shortcut of each fused INT8 convolution + sum with a signed output.

    Parameters
    ----------
    symbol_json : str
        A quantised symbol (``quantize_net_v2``'s network called on a Symbol, ``.tojson()``).

    Returns
    -------
    (str, list of dict)
        The rewritten symbol JSON, and one ``{"sum": node, "shortcut": node,
        "range": max}`` per repaired sum (empty when none needed it: the JSON
        is then unchanged).
    """
    graph = json.loads(symbol_json)
    nodes = graph["nodes"]
    types = None
    fixed = []
    for node in list(nodes):
        attrs = node.get("attrs", {})
        if node["op"] != CONV_OP or attrs.get("quantized") != "true" or \
                attrs.get("with_sum") != "true" or attrs.get("dedup_sum") == "true":
            continue
        types = types or output_types(symbol_json, input_name)
        inputs = node["inputs"]
        shortcut = nodes[inputs[-5][0]]
        if types[shortcut["name"]][inputs[-5][1]] != "uint8" or types[node["name"]][0] != "int8":
            continue
        top = _calibrated_max(nodes, shortcut)
        if top is None:  # no static range to convert with: leave it as MXNet made it
            continue
        base = "%s_signed_for_%s" % (shortcut["name"], node["name"])
        nodes.append({"op": "_contrib_dequantize", "name": base + "_dequantize",
                      "attrs": {"out_type": "float32"},
                      "inputs": [inputs[-5], inputs[-2], inputs[-1]]})
        nodes.append({"op": "_contrib_quantize_v2", "name": base + "_quantize",
                      "attrs": {"out_type": "int8", "min_calib_range": "%r" % -top,
                                "max_calib_range": "%r" % top},
                      "inputs": [[len(nodes) - 1, 0, 0]]})
        q = len(nodes) - 1
        inputs[-5], inputs[-2], inputs[-1] = [q, 0, 0], [q, 1, 0], [q, 2, 0]
        fixed.append({"sum": node["name"], "shortcut": shortcut["name"], "range": top})
    if not fixed:
        return symbol_json, fixed
    # MXNet rebuilds the graph from its outputs, so nodes may come after their users; the
    # row index of the old node list would no longer match.
    graph.pop("node_row_ptr", None)
    return json.dumps(graph), fixed


def repair(qnet, input_name="data"):
    """``qnet`` (a quantised SymbolBlock) with :func:`sign_sum_inputs` applied: ``(net, fixed)``.

    The parameters are shared, not copied; ``qnet`` itself is returned when
    nothing needed repair.
    """
    import mxnet as mx

    text = qnet(mx.sym.var(input_name)).tojson()
    patched, fixed = sign_sum_inputs(text, input_name)
    if not fixed:
        return qnet, fixed
    with warnings.catch_warnings():
        # Its input's type is only known at the first call (INT8 weights, float32 data).
        warnings.simplefilter("ignore", UserWarning)
        net = mx.gluon.SymbolBlock(mx.sym.load_json(patched), [mx.sym.var(input_name)],
                                   params=qnet.collect_params())
    return net, fixed
