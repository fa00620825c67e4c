"""Pooled features of a network's backbone, and training the head on them once computed.

- :func:`feature_block` is the part of a network that computes what its head
  classifies, :func:`extract_features` runs it over batches of images;
- :func:`cache_features` computes the features of every training and test image
  once (the ``--cache-features`` of ``train``), and :class:`FeatureBatches` cuts
  them into batches the way a loader's sampler does, so the head trains on them
  with the same optimiser and shuffle order as on images.
"""
import time

import mxnet as mx
import numpy as np
from mxnet import gluon

from .. import augment, devices
from .. import data as data_mod
from ..augment import spec as augspec
from ..errors import UserError
from ..networks import model
from ..progress import progress


def feature_block(net, image_size=64):
    """The part of ``net`` that computes the pooled features its head classifies.

    For the model zoo's networks whose forward pass is ``output(features(x))``
    (resnet*, mobilenet*, densenet*, vgg*, alexnet, squeezenet, inception)
    that is ``net.features``; its output is one vector per image (512 values
    for resnet18). Networks without ``features`` (GluonCV's ``*_v1b``: conv1,
    bn1, ..., layer4, avgpool, flat, fc) get a block that runs their other
    children in order, once one forward pass on an ``image_size`` picture
    shows that this is what ``net`` computes.

    Raises
    ------
    UserError
        For a network whose forward pass is not its children in order: its
        features cannot be computed apart.
    """
    features = getattr(net, "features", None)
    head = model.head_name(net)
    if head == "output" and isinstance(features, gluon.Block):
        return features
    body = _Children(model.layers_before_head(net))
    x = mx.nd.random.uniform(shape=(1, 3, image_size, image_size), ctx=_ctx_of(net))
    try:
        same = np.allclose(getattr(net, head)(body(x)).asnumpy(), net(x).asnumpy(), atol=1e-4)
    except mx.base.MXNetError:
        same = False
    if not same:
        raise UserError("--cache-features needs a network made of `features` followed by `output` "
                        "(as mxnet.gluon.model_zoo.vision's resnet, mobilenet, densenet and vgg), "
                        "or of layers run in order before its head; %s is neither. Train with "
                        "--freeze-features alone instead." % type(net).__name__)
    return body


class _Children(gluon.HybridBlock):
    """Run the given blocks one after another (a network's layers before its head)."""

    def __init__(self, blocks):
        super().__init__(prefix="")
        self._blocks = list(blocks)  # not registered: they stay the network's own children

    def hybrid_forward(self, F, x):
        for block in self._blocks:
            x = block(x)
        return x


def _ctx_of(net):
    return next(iter(net.collect_params().values())).list_ctx()[0]


def extract_features(block, batches, ctxs, keep_shape=False):
    """Run ``block`` (inference mode) over ``(data, label)`` batches; gather the results.

    Parameters
    ----------
    block : gluon.Block
        E.g. :func:`feature_block` of a network.
    batches : iterable of (NDArray, NDArray)
        A loader of preprocessed images.
    ctxs : list of Context
        Each batch is split over them.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(N, D)`` float32 features (flattened; with ``keep_shape`` as the block
        returned them, e.g. ``(N, 1280, 1, 1)`` for a head that starts with a
        1x1 convolution) and the ``(N,)`` labels, in the order of ``batches``.
    """
    feats, labels = [], []
    for data, label in batches:
        xs, ys = devices.split_batch(data, label, ctxs)
        for x, y in zip(xs, ys):
            out = block(x)
            out = out if keep_shape else out.reshape((out.shape[0], -1))
            feats.append(out.astype("float32").asnumpy())
            labels.append(y.asnumpy())
    if not feats:
        return np.zeros((0, 0), np.float32), np.zeros((0,), np.int64)
    return np.concatenate(feats), np.concatenate(labels)


class FeatureCache:
    """Pooled features of every training and test image, for head-only training.

    Attributes
    ----------
    train, test : FeatureBatches
        Batches of ``(features, label)`` NDArrays; ``train`` follows the
        training loader's own sampler (same shuffle, same sharding), ``test``
        goes in order.
    val : FeatureBatches or None
        The validation images' features, in order, when the data has them.
    seconds : float
        How long computing them took.
    """

    def __init__(self, train, test, seconds, val=None):
        self.train, self.test, self.seconds, self.val = train, test, seconds, val


class FeatureBatches:
    """Batches of cached features, cut the way a loader's ``batches`` sampler says.

    Parameters
    ----------
    features : numpy.ndarray (N, D) float32
    labels : numpy.ndarray (N,)
    batches : iterable of index lists, or of ``(index, seed)`` lists
        E.g. :attr:`gluon_finetune.data.FolderLoader.batches`; seeds are ignored.
    """

    def __init__(self, features, labels, batches):
        self.features, self.labels, self.batches = features, labels, batches

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            idx = [k[0] if isinstance(k, tuple) else k for k in batch]
            yield mx.nd.array(self.features[idx]), mx.nd.array(self.labels[idx], dtype=self.labels.dtype)


def cache_features(net, data, config, ctxs, log=print):
    """Compute the pooled features of every image once, for training the head alone.

    Training images get the *test-time* preprocessing (the run's ``test_augs``,
    by default the book's resize 256 + centre crop 224), not the random
    training augmentations: a cached feature stands for one fixed view of its
    image. Valid only while the features do not train (``freeze_features``).

    Returns
    -------
    FeatureCache
    """
    test_list = (augspec.parse_spec(config.test_augs) if config.test_augs
                 else augment.test_augs(config.image_size))
    block = feature_block(net, config.image_size)
    tic = time.time()
    sets = []
    # The test loader already has the test preprocessing; the training images get
    # a loader of their own with it (in order: the cache is indexed like the set).
    # In-process: forking workers now would copy a process whose network and
    # OpenMP threads are live, and the forward pass costs ~30x the decoding anyway.
    train_loader = data_mod.folder_loader(data.train_set, test_list, batch_size=config.batch_size,
                                          num_workers=0, seed=config.seed)
    loaders = [("train", train_loader), ("test", data.test)]
    if getattr(data, "val", None) is not None:
        loaders.append(("val", data.val))
    for name, loader in loaders:
        # As the block returns them: MobileNet v2's head starts with a 1x1 convolution.
        feats, labels = extract_features(
            block, progress(loader, total=len(loader), desc="features (%s)" % name, unit="batch",
                            quiet=config.quiet), ctxs, keep_shape=True)
        sets.append((feats, labels))
    seconds = time.time() - tic
    (train_f, train_y), (test_f, test_y) = sets[:2]
    log("computed the %d-value features of %d training%s and %d test images once, in %.1f sec, with "
        "the test-time preprocessing (%s): no random augmentation; training the head on them"
        % (int(np.prod(train_f.shape[1:])), len(train_f),
           ", %d validation" % len(sets[2][0]) if len(sets) > 2 else "",
           len(test_f), seconds, augspec.to_spec(test_list)))
    val = None
    if len(sets) > 2:
        val = FeatureBatches(sets[2][0], sets[2][1], _in_order(len(sets[2][0]), config.batch_size))
    return FeatureCache(FeatureBatches(train_f, train_y, data.train.batches),
                        FeatureBatches(test_f, test_y, _in_order(len(test_f), config.batch_size)),
                        seconds, val=val)


def _in_order(n, batch_size):
    return [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
