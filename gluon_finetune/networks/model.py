"""Backbones from the model zoos and the fine-tune net built on them.

The fine-tune net follows the book and the Gluon write-up:

1. take a *source* network pretrained on ImageNet (or on any source task);
2. build the *same architecture* with ``classes=N``;
3. copy every parameter of the source except its output layer (the
   ``features``) into the new net;
4. initialise the new output layer with :class:`mxnet.init.Xavier` and give
   its parameters ``lr_mult = 10``, the book's ten-times head learning rate.

Networks come from ``mxnet.gluon.model_zoo.vision`` (``resnet18_v2`` is the
default) or from GluonCV's model zoo. Most name their head ``output``; GluonCV's
``resnet*_v1b`` family names it ``fc``. Both work; a network whose head is
neither is refused with a message.

Note: ResNet v2's ``features`` begin with a BatchNorm (no scale, no shift)
that standardises the input with statistics learned during pretraining. The
pretrained weights expect inputs prepared as in pretraining (to-tensor, then
ImageNet mean/std), so every aug_list here ends with exactly that; a source
model trained here records its preprocessing next to its weights.
"""
import os
import shutil
import uuid
import weakref

import mxnet as mx
from mxnet import gluon, init

from ..errors import UserError, first_line
from ..fsutil import atomic_path, read_json
from . import symbol_source
from .sizes import DEFAULT_MODEL, min_image_size

#: Attribute names of classification heads, in the order they are looked for.
HEAD_NAMES = ("output", "fc")

#: What unfreeze_features() restores, per frozen network.
_UNFROZEN = weakref.WeakKeyDictionary()


def model_root(root=None):
    """The model cache folder: ``root``, else ``$MXNET_HOME/models``, else ``~/.mxnet/models``."""
    if root:
        return os.path.abspath(os.path.expanduser(root))
    return os.path.join(mx.base.data_dir(), "models")


def _mxnet_zoo():
    from mxnet.gluon.model_zoo import model_store, vision

    return vision, model_store


def zoo_of(name):
    """Which zoo provides ``name``: ``"mxnet"`` or ``"gluoncv"``.

    Raises
    ------
    UserError
        When neither has it; the message lists some names that work.
    """
    if symbol_source.is_symbol_model(name):
        return "symbol"
    _, store = _mxnet_zoo()
    # vision.get_model keeps its name table local; the model store lists the same names.
    if name.lower() in store._model_sha1:
        return "mxnet"
    import gluoncv

    if name.lower() in gluoncv.model_zoo.get_model_list():
        return "gluoncv"
    raise UserError("unknown model %r; use a classification network of mxnet.gluon.model_zoo.vision "
                    "(e.g. resnet18_v2, resnet50_v2, mobilenetv2_1.0, densenet121, vgg16) or of "
                    "GluonCV's model zoo (e.g. resnet50_v1b, resnet50_v1d, resnest50)" % name)


def zoo_network(name, classes):
    """The zoo's ``name`` architecture with ``classes`` outputs, parameters not yet initialised.

    This is also how a saved run is rebuilt: :meth:`load_parameters` on the
    result with the run's ``.params`` file. A ``symbol:`` name is rebuilt from its
    graph file (:mod:`gluon_finetune.networks.symbol_source`).
    """
    if symbol_source.is_symbol_model(name):
        return symbol_source.network(name, classes)
    name = name.lower()
    if zoo_of(name) == "mxnet":
        vision, _ = _mxnet_zoo()
        return vision.get_model(name, classes=classes)
    import gluoncv

    return gluoncv.model_zoo.get_model(name, classes=classes)


def head_name(net):
    """The attribute that holds ``net``'s classification head: ``"output"`` or ``"fc"``."""
    for name in HEAD_NAMES:
        if isinstance(getattr(net, name, None), gluon.Block):
            return name
    raise UserError("%s has no classification head named %s, so it cannot be fine-tuned here; "
                    "supported are networks with a `features` part and an `output` (or `fc`) "
                    "head, as in mxnet.gluon.model_zoo.vision and GluonCV's classifiers"
                    % (type(net).__name__, " or ".join(repr(n) for n in HEAD_NAMES)))


def layers_before_head(net):
    """``net``'s child blocks other than its head, in the order they were registered."""
    head = head_name(net)
    return [block for name, block in net._children.items() if name != head]


#: A class count no zoo head has otherwise, to find the head's class axis by its size.
_PROBE_CLASSES = 997


def classes_key(name):
    """Structural name of the parameter whose first axis is ``name``'s number of classes.

    Heads differ: a Dense (``output.weight``, ``fc.weight``), or a Sequential
    ending in a 1x1 convolution (MobileNet v2 ``output.0.weight``, SqueezeNet,
    GluonCV's MobileNet v3). The layer is found by structure: the network is
    built (not initialised) with a class count nothing else in it has, and the
    last weight of its head with that many rows is the one.
    """
    net = zoo_network(name, classes=_PROBE_CLASSES)
    _, head = split_params(net)
    keys = [k for k, p in head.items()
            if k.endswith("weight") and p.shape and p.shape[0] == _PROBE_CLASSES]
    if not keys:
        raise UserError("cannot tell how many classes the head of %s has (no weight in its %r "
                        "with one row per class)" % (name, head_name(net)))
    return keys[-1]


def materialize(net, image_size, ctx=None, name=None):
    """Give every deferred parameter of ``net`` its shape: one forward pass on a blank batch.

    Zoo heads built without ``in_units`` (MobileNet, DenseNet, Inception, VGG)
    learn their shapes at the first forward pass; until then reading their
    parameters fails (``DeferredInitializationError``). lr-find, the head's
    feature cache and optimizer states all read them before training starts.
    Runs outside autograd and in predict mode, so BatchNorm's statistics stay.
    A picture too small for the network's fixed-size pooling (DenseNet,
    SqueezeNet, Inception) is a :class:`UserError` naming the size it needs.
    """
    params = net.collect_params().values()
    if all(p._deferred_init == () for p in params):
        return net
    ctx = ctx[0] if isinstance(ctx, (list, tuple)) else ctx or mx.cpu()
    try:
        net(mx.nd.zeros((1, 3, int(image_size), int(image_size)), ctx=ctx)).wait_to_read()
    except mx.base.MXNetError as err:
        name = name or type(net).__name__.lower()
        raise UserError("--image-size %d is too small for %s, whose fixed-size pooling needs at "
                        "least %d px (%s); `gluon-finetune models` gives each network's size"
                        % (int(image_size), name, min_image_size(name), first_line(err))) from None
    return net


def split_params(net):
    """Structural parameter names of ``net`` split into (features, head) dicts."""
    head = head_name(net) + "."
    params = net._collect_params_with_prefix()
    features = {k: p for k, p in params.items() if not k.startswith(head)}
    heads = {k: p for k, p in params.items() if k.startswith(head)}
    return features, heads


def pretrained_file_info(name, root=None):
    """Where the zoo keeps ``name``'s ImageNet weights: dict of file, folder, sha1, url."""
    name = name.lower()
    if zoo_of(name) == "mxnet":
        from mxnet.gluon.model_zoo import model_store as store
        url_format = store._url_format
        default_repo = store.apache_repo_url
    else:
        from gluoncv.model_zoo import model_store as store
        url_format = store._url_format
        default_repo = store.apache_repo_url
    file_name = "%s-%s" % (name, store.short_hash(name))
    repo = os.environ.get("MXNET_GLUON_REPO", default_repo)
    if not repo.endswith("/"):
        repo += "/"
    folder = model_root(root)
    return {"file": file_name + ".params", "folder": folder,
            "path": os.path.join(folder, file_name + ".params"),
            "sha1": store._model_sha1[name],
            "url": url_format.format(repo_url=repo, file_name=file_name)}


def cached_pretrained(name, root=None):
    """Path of verified ImageNet weights for ``name`` in the cache, or None (no network used)."""
    info = pretrained_file_info(name, root)
    if os.path.isfile(info["path"]) and gluon.utils.check_sha1(info["path"], info["sha1"]):
        return info["path"]
    return None


def offline_weights_message(name, root=None, reason=None):
    info = pretrained_file_info(name, root)
    text = ("the ImageNet weights of %s are not in the model cache and could not be downloaded%s.\n"
            "To work offline, get the file %s (sha1 %s) on a machine with network access, from\n"
            "    %s  (a zip holding the .params file)\n"
            "and put %s into the folder\n"
            "    %s\n"
            "(the folder follows $MXNET_HOME/models; --model-root changes it), or pass a local "
            "weights file with --weights FILE, or train from scratch with --scratch."
            % (name, " (%s)" % reason if reason else "", info["file"], info["sha1"], info["url"],
               info["file"], info["folder"]))
    return text


def load_source(name=DEFAULT_MODEL, pretrained=True, weights=None, root=None,
                allow_download=True, ctx=None):
    """The source network: ImageNet weights from the zoo, or a local ``.params`` file.

    Parameters
    ----------
    name : str
        Model zoo name, e.g. ``"resnet18_v2"``.
    pretrained : bool
        Load the zoo's ImageNet weights (from the cache, downloading them once
        when ``allow_download``). Ignored when ``weights`` is given.
    weights : str, optional
        A ``.params`` file of the same architecture (any number of classes),
        or the run folder of an earlier training (its best checkpoint), e.g. a
        source model trained here on another task. (A symbol export's ``name``
        is ``symbol:PATH``, see :mod:`gluon_finetune.networks.symbol_source`.)
    root : str, optional
        Model cache folder (default ``$MXNET_HOME/models``).
    allow_download : bool
        When False, missing ImageNet weights raise at once, without network.

    Returns
    -------
    (gluon.HybridBlock, dict)
        The network with its weights, and a description of where they came from.

    Raises
    ------
    UserError
        Missing weights (with the exact file, sha1 and folder to use offline) or
        a weights file that does not fit the architecture. Never falls back to
        random weights.
    """
    ctx = ctx or mx.cpu()
    if symbol_source.is_symbol_model(name):
        return symbol_source.load_source(name, ctx)
    name = name.lower()
    if weights:
        return _load_weights_file(name, weights, ctx), {"kind": "file", "path": os.path.abspath(weights)}
    if not pretrained:
        raise UserError("load_source needs pretrained=True or a weights file; "
                        "use scratch_net() for a randomly initialised network")
    path = cached_pretrained(name, root)
    if path is None and not allow_download:
        raise UserError(offline_weights_message(name, root))
    if path is None:
        path = download_pretrained(name, root)
    net = zoo_network(name, classes=1000)
    net.load_parameters(path, ctx=ctx)
    return net, {"kind": "imagenet", "path": path, "sha1": pretrained_file_info(name, root)["sha1"]}


def download_pretrained(name, root=None, quiet=False):
    """Fetch the zoo's ImageNet weights of ``name`` into the cache; return the file's path.

    The zoo publishes each ``.params`` file inside a zip at the URL of
    :func:`pretrained_file_info` (``$MXNET_GLUON_REPO`` overrides the host). The
    zip is downloaded with a progress bar, the ``.params`` member is written
    under a temporary name and renamed into the cache only when its sha1 is the
    zoo's; on any failure nothing is left behind and the message says which file
    to place where to work offline.
    """
    import zipfile

    from ..data.download import DownloadError, download_file

    info = pretrained_file_info(name, root)
    os.makedirs(info["folder"], exist_ok=True)
    zip_tmp = os.path.join(info["folder"], ".%s.zip.%s.part" % (info["file"], uuid.uuid4().hex[:8]))
    try:
        download_file(info["url"], zip_tmp, quiet=quiet)
        with zipfile.ZipFile(zip_tmp) as zf, atomic_path(info["path"]) as params_tmp:
            with zf.open(info["file"]) as src, open(params_tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            if not gluon.utils.check_sha1(params_tmp, info["sha1"]):
                raise UserError(offline_weights_message(
                    name, root, reason="the downloaded file's sha1 is not the zoo's"))
    except (DownloadError, zipfile.BadZipFile, KeyError) as err:
        raise UserError(offline_weights_message(name, root, reason=first_line(err))) from None
    finally:
        if os.path.exists(zip_tmp):  # the zip is only a wrapper around the .params
            os.remove(zip_tmp)
    return info["path"]


def _load_weights_file(name, path, ctx):
    from ..runs.rundir import weights_of

    path = weights_of(path)  # a run folder: its best checkpoint's weights (EMA when it kept them)
    if os.path.isdir(path):
        raise UserError("--weights %s is a folder but not a run folder; give a .params file "
                        "or the --out folder of a training run" % path)
    if not os.path.isfile(path):
        raise UserError("weights file not found: %s" % path)
    try:
        saved = mx.nd.load(path)
    except Exception as err:
        raise UserError("cannot read weights file %s: %s (expected a .params file saved by "
                        "MXNet's save_parameters)" % (path, first_line(err))) from None
    if not isinstance(saved, dict):
        raise UserError("weights file %s holds no named parameters" % path)
    saved = {k.split(":", 1)[-1]: v for k, v in saved.items()}  # 'arg:'/'aux:' from exports
    key = classes_key(name)
    weight = saved.get(key)
    if weight is None:
        raise UserError("weights file %s has no %r, where the output layer of %s keeps its classes; "
                        "is it a %s classifier saved with save_parameters?" % (path, key, name, name))
    classes = weight.shape[0]
    net = zoo_network(name, classes=classes)
    try:
        net.load_parameters(path, ctx=ctx)
    except Exception as err:
        raise UserError("weights file %s does not fit model %s: %s" % (path, name, first_line(err))) from None
    return net


def read_sidecar(weights):
    """The JSON written beside a source model's weights (preprocessing, classes), or None."""
    path = os.path.splitext(weights)[0] + ".json"
    if not os.path.isfile(path):
        return None
    return read_json(path)


def set_head_lr_mult(net, lr_mult):
    """Give the head's parameters ``lr_mult`` (the book trains the new head at 10x the rate)."""
    for param in split_params(net)[1].values():
        param.lr_mult = lr_mult


def freeze_features(net):
    """Train the head only: no gradients for the features, BatchNorm on its running statistics.

    Setting ``grad_req='null'`` alone is not enough: in training mode BatchNorm
    would still normalise with batch statistics and update its running ones.
    """
    features, _ = split_params(net)
    norms = _feature_norms(net)
    if net not in _UNFROZEN:
        _UNFROZEN[net] = ({k: p.grad_req for k, p in features.items()},
                          [(b, b._kwargs.get("use_global_stats", False)) for b in norms])
    for param in features.values():
        param.grad_req = "null"
    use_running_stats(net)


def use_running_stats(net):
    """Make every BatchNorm outside the head normalise with its stored statistics, in training too.

    Its scale and shift still train when the features do. ``--freeze-epochs``
    keeps this after the head-only epochs: the head learned on features
    normalised this way, and switching BatchNorm to batch statistics at that
    point undid what the head had learned (README: A faster recipe).
    """
    for block in _feature_norms(net):
        block._kwargs["use_global_stats"] = True


def _feature_norms(net):
    head = getattr(net, head_name(net))
    return [b for b in _walk(net) if b is not head and isinstance(b, gluon.nn.BatchNorm)]


def unfreeze_features(net, running_stats=False):
    """Undo :func:`freeze_features`: every layer trains again.

    BatchNorm goes back to what it did before (batch statistics in training),
    unless ``running_stats``. A hybridized ``net`` must be hybridized again
    afterwards (its cached graph was built for the frozen layers).
    """
    saved = _UNFROZEN.pop(net, None)
    if saved is None:
        return
    grad_reqs, norms = saved
    features, _ = split_params(net)
    for key, param in features.items():
        param.grad_req = grad_reqs[key]
    if not running_stats:
        for block, flag in norms:
            block._kwargs["use_global_stats"] = flag


def _walk(block):
    yield block
    for child in block._children.values():
        yield from _walk(child)


def finetune_net(source, classes, name=DEFAULT_MODEL, head_lr_mult=10.0, freeze=False, ctx=None):
    """The book's fine-tune net: ``source``'s features and a new Xavier head for ``classes``.

    Parameters
    ----------
    source : gluon.HybridBlock
        The pretrained network (from :func:`load_source`).
    classes : int
        Number of target classes.
    name : str
        The zoo name of ``source``'s architecture, used to build the new net.
    head_lr_mult : float
        ``lr_mult`` of the new head's parameters (the book's 10).
    freeze : bool
        Train the head only (see :func:`freeze_features`).
    """
    ctx = ctx or mx.cpu()
    net = zoo_network(name, classes=classes)
    src_features, _ = split_params(source)
    dst_features, dst_head = split_params(net)
    missing = sorted(set(dst_features) - set(src_features))
    if missing:
        raise UserError("the source network does not match %s: it lacks %s" % (name, ", ".join(missing[:3])))
    for key, param in dst_features.items():
        # A copy, not a shared block: the source stays untouched by training.
        # _load_init is how load_parameters fills a parameter, deferred shapes included.
        param._load_init(src_features[key].data().copy(), ctx)
    # Block-level initialize lets Xavier dispatch by name: weights Xavier, biases zero.
    getattr(net, head_name(net)).initialize(init.Xavier(), ctx=ctx, force_reinit=True)
    set_head_lr_mult(net, head_lr_mult)
    fix_input_norm(net)
    if freeze:
        freeze_features(net)
    return net


def scratch_net(classes, name=DEFAULT_MODEL, ctx=None):
    """The book's baseline: the same architecture, Xavier everywhere, nothing pretrained."""
    net = zoo_network(name, classes=classes)
    if symbol_source.is_symbol_model(name):
        symbol_source.initialize_scratch(net, ctx or mx.cpu())
    else:
        net.initialize(init.Xavier(), ctx=ctx or mx.cpu())
    fix_input_norm(net)
    return net


def fix_input_norm(net):
    """Make an input BatchNorm normalise the same way in training and at test time.

    ResNet v2 (and GluonCV nets built like it) begin ``features`` with a
    BatchNorm without scale or shift that standardises the input. MXNet 1.9.1
    updates a BatchNorm's running statistics in its backward pass, which never
    runs for that layer (nothing before it needs a gradient), so its running
    mean and variance stay where they started: in training it standardises
    each batch, at test time it uses the stale statistics, and a network
    scores worse on its own training images in test mode than while training.
    With ``use_global_stats`` it uses the stored statistics in both modes (the
    pretrained file's, or 0 and 1 for a new network, i.e. it passes inputs
    that are already normalised through unchanged). Other networks are left alone.

    Returns
    -------
    bool
        Whether ``net`` had such a layer.
    """
    features = getattr(net, "features", None)
    first = features[0] if isinstance(features, gluon.nn.HybridSequential) and len(features) else None
    if not isinstance(first, gluon.nn.BatchNorm):
        return False
    if first.gamma.grad_req != "null" or first.beta.grad_req != "null":
        return False  # it has a scale or a shift: gradients reach it and it learns as usual
    first._kwargs["use_global_stats"] = True
    return True
