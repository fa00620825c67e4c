"""The Open Inference Protocol (KServe "v2" REST): model metadata, infer request and reply.

The protocol KServe, NVIDIA Triton, Seldon MLServer and TorchServe all speak
(https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/).
This module is plain data in, plain data out, with no HTTP in it, so its rules
can be read (and tested) on their own:

- the model takes one input, ``image``: ``BYTES``, shape ``[N]`` (or
  ``[N, 1]``), each element an encoded image file (JPEG, PNG, ...) as a base64
  string, since JSON cannot carry raw bytes (MLServer's ``"content_type":
  "base64"`` parameter means the same and is accepted);
- it gives two outputs: ``probabilities``, ``FP32`` of shape ``[N, classes]``
  (softmax, ``classes`` in the order of the metadata's ``parameters.classes``),
  and ``label``, ``BYTES`` of shape ``[N]``, the most probable class of each;
- a malformed request is a :class:`~.problems.RequestError` with status 400, the
  protocol's answer to a bad request (its body ``{"error": ...}`` is the
  protocol's error object); an unknown model is 404.
"""
import base64
import binascii
import json

import numpy as np

from .problems import RequestError

INPUT = "image"
PROBABILITIES = "probabilities"
LABEL = "label"
OUTPUTS = (PROBABILITIES, LABEL)
PLATFORM = "mxnet_gluon"
BAD = 400


def model_metadata(name, version, classes):
    """``GET /v2/models/{name}``: the model's name, versions, platform, inputs and outputs.

    ``-1`` in a shape is the protocol's variable dimension (the batch). The
    class names are in ``parameters.classes``: the ``probabilities`` output's
    columns, which a client needs to read it.
    """
    return {
        "name": name,
        "versions": [version],
        "platform": PLATFORM,
        "inputs": [{"name": INPUT, "datatype": "BYTES", "shape": [-1]}],
        "outputs": [{"name": PROBABILITIES, "datatype": "FP32", "shape": [-1, len(classes)]},
                    {"name": LABEL, "datatype": "BYTES", "shape": [-1]}],
        "parameters": {"classes": list(classes)},
    }


def parse_json(body):
    """The request body as a JSON object, or a 400 saying why not."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError(BAD, "the body is not UTF-8 text; an inference request is JSON") from None
    except ValueError as err:
        raise RequestError(BAD, "the body is not valid JSON: %s" % err) from None
    if not isinstance(data, dict):
        raise RequestError(BAD, "an inference request is a JSON object with \"inputs\", got %s"
                           % type(data).__name__)
    return data


def parse_infer_request(request, max_images):
    """The encoded images of an inference request, and the outputs it asks for.

    Parameters
    ----------
    request : dict
        The parsed JSON body.
    max_images : int
        The most images one request may carry.

    Returns
    -------
    (list of bytes, list of str, str or None)
        The decoded base64 files, the names of the outputs to return (both
        when the request names none), and the request's ``id``.

    Raises
    ------
    RequestError
        400 for anything the protocol or this model does not accept, 413 for
        more than ``max_images`` images.
    """
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise RequestError(BAD, "\"id\" must be a string")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError(BAD, "the request has no \"inputs\" list; send "
                           "{\"inputs\": [{\"name\": \"%s\", \"datatype\": \"BYTES\", "
                           "\"shape\": [1], \"data\": [\"<base64 of the image file>\"]}]}" % INPUT)
    if len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise RequestError(BAD, "this model takes exactly one input, %r; got %d" % (INPUT, len(inputs)))
    tensor = inputs[0]
    name = tensor.get("name")
    if name != INPUT:
        raise RequestError(BAD, "unknown input %r: this model's one input is %r" % (name, INPUT))
    datatype = tensor.get("datatype")
    if datatype != "BYTES":
        raise RequestError(BAD, "input %r has datatype %r; send the encoded image files as BYTES "
                           "(base64 strings)" % (INPUT, datatype))
    shape = tensor.get("shape")
    if (not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                               and d >= 0 for d in shape)
            or len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1)):
        raise RequestError(BAD, "input %r has shape %r; it must be [N] or [N, 1]: one encoded "
                           "file per image" % (INPUT, shape))
    if "data" not in tensor:
        raise RequestError(BAD, "input %r has no \"data\"" % INPUT)
    elements = _flatten(tensor["data"])
    if len(elements) != shape[0]:
        raise RequestError(BAD, "input %r has shape %r but %d data elements"
                           % (INPUT, shape, len(elements)))
    if not elements:
        raise RequestError(BAD, "input %r holds no image" % INPUT)
    if len(elements) > max_images:
        raise RequestError(413, "%d images in one request; the most is %d (--queue)"
                           % (len(elements), max_images))
    files = [_base64(value, i) for i, value in enumerate(elements)]
    return files, _requested_outputs(request.get("outputs")), request_id


def _flatten(data):
    """The protocol allows nested or flat tensor data: row-major elements either way."""
    if not isinstance(data, list):
        raise RequestError(BAD, "input %r: \"data\" must be a list" % INPUT)
    out = []
    for item in data:
        if isinstance(item, list):
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _base64(value, i):
    if not isinstance(value, str):
        raise RequestError(BAD, "input %r element %d is %s, not a base64 string"
                           % (INPUT, i, type(value).__name__))
    try:
        # validate=True: a stray character is an error, not silently skipped data
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise RequestError(BAD, "input %r element %d is not valid base64 (%s)" % (INPUT, i, err)) from None


def _requested_outputs(outputs):
    if outputs is None:
        return list(OUTPUTS)
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise RequestError(BAD, "\"outputs\" must be a list of {\"name\": ...} objects")
    names = [o.get("name") for o in outputs]
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise RequestError(BAD, "unknown output %r; this model's outputs are %s"
                           % (unknown[0], ", ".join(OUTPUTS)))
    return names or list(OUTPUTS)


def infer_reply(name, version, probabilities, classes, outputs=OUTPUTS, request_id=None):
    """The protocol's inference response for an (N, classes) array of probabilities."""
    probs = np.asarray(probabilities, dtype=np.float32)
    tensors = {
        # Flat, row-major, as the protocol allows; float(float32) prints a value that
        # reads back as the same float32.
        PROBABILITIES: {"name": PROBABILITIES, "datatype": "FP32", "shape": list(probs.shape),
                        "data": [float(v) for v in probs.reshape(-1)]},
        LABEL: {"name": LABEL, "datatype": "BYTES", "shape": [probs.shape[0]],
                "data": [classes[int(j)] for j in probs.argmax(axis=1)]},
    }
    reply = {"model_name": name, "model_version": version,
             "outputs": [tensors[o] for o in outputs]}
    if request_id is not None:
        reply["id"] = request_id
    return reply
