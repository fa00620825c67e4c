"""Answers from a trained run: load it once, then ask it about images.

::

    >>> from gluon_finetune.inference.predict import load_run          # doctest: +SKIP
    >>> model = load_run("runs/hotdog")                      # best checkpoint
    >>> model.classes
    ['hotdog', 'not-hotdog']
    >>> p = model.predict("lunch.jpg")
    >>> p.label, round(p.probability, 3)
    ('hotdog', 0.973)

A run is rebuilt from its folder alone: ``config.json`` names the architecture,
the image size and the test augmentations, ``checkpoints/best.json`` (or
``last.json``) the weights. Every image goes through the run's *test*
augmentations (its ``test_augs`` spec, else the book's list at its image size:
shorter side to ``size * 256 / 224``, centre crop, to-tensor, ImageNet mean/std),
so an answer here is what the run's test accuracy measured.
"""
import dataclasses
import os
from typing import List, Optional, Tuple

import numpy as np

from .. import augment, devices, recfile
from ..augment import spec as augspec
from ..data import is_csv, is_rec, list_images
from ..errors import UserError, first_line
from ..imageio import IMAGE_EXTENSIONS, ImageReadError, read_image
from ..networks import model, symbol_source
from ..options import check_fields
from ..runs.rundir import RunDir
from ..runs.selection import chosen_on
from ..training.config import TrainConfig
from .options import TTA_KINDS, EvaluateOptions

#: The checkpoints a run folder points at, best test accuracy first.

#: Test-time crops: command-line name -> :class:`augment.CropsTransform` kind.


@dataclasses.dataclass
class Prediction:
    """What the network says about one image.

    Attributes
    ----------
    source : str
        The image's path, or ``"#i"`` for the i-th image given as an array.
    label : str or None
        The most probable class (None when the image could not be read).
    probability : float or None
        Its softmax probability.
    top : list of (str, float)
        The ``top_k`` most probable classes, most probable first.
    probabilities : numpy.ndarray or None
        Softmax over every class, ``probabilities[i]`` for ``classes[i]``.
    error : str or None
        Why the image could not be read; the other fields are then empty.
    """

    source: str
    label: Optional[str] = None
    probability: Optional[float] = None
    top: List[Tuple[str, float]] = dataclasses.field(default_factory=list)
    probabilities: Optional[np.ndarray] = dataclasses.field(default=None, repr=False)
    error: Optional[str] = None

    @property
    def ok(self):
        return self.error is None

    def to_dict(self):
        """Plain data for JSON: path, label, probability, top_k, error."""
        return {"path": self.source, "label": self.label, "probability": self.probability,
                "top_k": [{"label": l, "probability": p} for l, p in self.top],
                "error": self.error}


# --------------------------------------------------------------------------- preprocessing


def run_test_augs(config):
    """The test aug_list of a run's :class:`TrainConfig` (what its test accuracy used)."""
    if config.test_augs:
        return augspec.parse_spec(config.test_augs)
    return augment.test_augs(config.image_size)


def _crops_transform(augs, kind, image_size):
    """Five or ten crops with the resize, crop size and statistics of the test list ``augs``."""
    from mxnet import image

    resize, size = None, image_size
    mean, std = augment.IMAGENET_MEAN, augment.IMAGENET_STD
    for aug in augs:
        if isinstance(aug, image.ResizeAug):
            resize = int(aug.size)
        elif isinstance(aug, (image.CenterCropAug, image.ForceResizeAug)):
            size = tuple(int(s) for s in aug.size)
        elif isinstance(aug, augment.NormalizeAug):
            mean, std = aug.mean, aug.std
    return augment.CropsTransform(kind, size, resize=resize, mean=mean, std=std)


def tta_kind(tta):
    """``"five-crop"``/``"ten-crop"`` (or ``"five"``/``"ten"``) -> ``"five"``/``"ten"``; None stays None."""
    if tta is None:
        return None
    check_fields(EvaluateOptions(tta=tta))  # an unknown one is refused as its declaration says
    return TTA_KINDS[str(tta).strip().lower()]


# --------------------------------------------------------------------------- images


def as_image(img):
    """An image given as a path, NumPy array, NDArray or PIL image -> HWC uint8 NDArray.

    Raises
    ------
    ImageReadError
        For a file that cannot be read.
    UserError
        For an array that is not an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)
        ``uint8`` image.
    """
    import mxnet as mx

    if isinstance(img, (str, os.PathLike)):
        return mx.nd.array(read_image(img), dtype="uint8")
    if hasattr(img, "convert") and hasattr(img, "mode"):  # a PIL image
        img = np.asarray(img.convert("RGB"))
    if isinstance(img, mx.nd.NDArray):
        if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3:
            return img
        img = img.asnumpy()
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise UserError("images must be uint8 (as read_image or mx.image.imread return them), "
                        "got %s of shape %s" % (img.dtype, img.shape))
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise UserError("an image must be (height, width, 3) HWC, got shape %s" % (img.shape,))
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    return mx.nd.array(img, dtype="uint8")


def _is_batch(images):
    """True for a list of images or a 4-D batch; False for one path or one image."""
    if isinstance(images, (str, os.PathLike)):
        return False
    if hasattr(images, "convert") and hasattr(images, "mode"):
        return False
    if hasattr(images, "shape") and hasattr(images, "ndim"):
        return images.ndim == 4
    return True


def image_files(inputs, path_col=None):
    """Expand files and folders into a list of ``(path, error)``.

    A folder contributes every image file below it, as
    :func:`gluon_finetune.data.list_images` lists them with ``recursive=True``
    (sorted, hidden files and folders and ``__MACOSX`` skipped); a folder with
    none, or one that cannot be listed, becomes one entry with an error. A path
    given by name is always kept, image extension or not, so that a mistake in
    it is reported rather than skipped. A CSV file contributes the images of its
    ``path_col`` column (:mod:`gluon_finetune.data.csv_labels`; default ``path``),
    a RecordIO file ``NAME.rec`` every record, named ``NAME.rec/<its .lst path>``.
    """
    out = []
    for item in inputs:
        path = os.fspath(item)
        if is_csv(path) and os.path.isfile(path):
            from ..data.csv_labels import read_rows

            out.extend((full, None) for _, full, _, _ in read_rows(path, path_col, labelled=False))
        elif is_rec(path) and os.path.isfile(path):
            index = recfile.load_index(path)
            out.extend((index.member(i), None) for i in range(len(index)))
        elif os.path.isdir(path):
            try:
                found = list_images(path, recursive=True)
            except UserError as err:
                out.append((path, str(err)))
                continue
            if found:
                out.extend((f, None) for f in found)
            else:
                out.append((path, "folder %s holds no image files (extensions: %s)"
                            % (path, " ".join(IMAGE_EXTENSIONS))))
        else:
            out.append((path, None))
    return out


# --------------------------------------------------------------------------- the model


class Predictor:
    """A trained network with its classes and test-time preprocessing.

    Made by :func:`load_run`. Attributes: ``net`` (the Gluon network),
    ``classes``, ``augs`` (the test aug_list), ``ctx``, ``config``
    (:class:`TrainConfig`), ``path`` (the run folder), ``checkpoint``
    (the checkpoint record: ``epoch``, ``params``, ...).
    """

    def __init__(self, net, classes, augs, ctx, config=None, path=None, checkpoint=None):
        self.net = net
        self.classes = list(classes)
        self.augs = list(augs)
        self.ctx = ctx
        self.config = config
        self.path = path
        self.checkpoint = checkpoint or {}

    def __repr__(self):
        return "Predictor(%s, epoch %s, classes=%r)" % (self.path, self.checkpoint.get("epoch"),
                                                       self.classes)

    @property
    def image_size(self):
        return self.config.image_size if self.config else 224

    def preprocess(self, img):
        """One image (path, array, NDArray, PIL) -> the network's input, CHW float32 NDArray."""
        return augment.apply_aug_list(as_image(img), self.augs)

    def crops(self, img, tta="five-crop"):
        """One image -> its test-time crops, (5 or 10, 3, H, W) float32 NDArray."""
        transform = _crops_transform(self.augs, tta_kind(tta), self.image_size)
        return transform(as_image(img))

    def logits(self, batch):
        """The network's raw outputs for a preprocessed (N, 3, H, W) batch, as NumPy."""
        import mxnet as mx

        x = batch.as_in_context(self.ctx) if isinstance(batch, mx.nd.NDArray) \
            else mx.nd.array(batch, ctx=self.ctx)
        return self.net(x).asnumpy()

    def probabilities(self, images, batch_size=32, tta=None):
        """Softmax probabilities, (N, classes) NumPy, for a sequence of images.

        With ``tta="five-crop"`` or ``"ten-crop"``, the softmax of every crop is
        averaged (see :meth:`crop_probabilities`).
        """
        if tta is not None:
            return self.crop_probabilities(images, tta, batch_size).mean(axis=1)
        images = list(images) if _is_batch(images) else [images]
        out = []
        for start in range(0, len(images), batch_size):
            chunk = images[start:start + batch_size]
            out.append(self._softmax_of([self.preprocess(img) for img in chunk]))
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), np.float32)

    def crop_probabilities(self, images, tta="five-crop", batch_size=32):
        """Softmax of every test-time crop: (N, 5 or 10, classes) NumPy."""
        import mxnet as mx

        kind = tta_kind(tta)
        transform = _crops_transform(self.augs, kind, self.image_size)
        images = list(images) if _is_batch(images) else [images]
        k = 5 if kind == "five" else 10
        per_batch = max(1, batch_size // k)
        out = []
        for start in range(0, len(images), per_batch):
            chunk = images[start:start + per_batch]
            crops = mx.nd.concat(*[transform(as_image(img)) for img in chunk], dim=0)
            out.append(self._softmax_of([crops]).reshape(len(chunk), k, len(self.classes)))
        return np.concatenate(out) if out else np.zeros((0, k, len(self.classes)), np.float32)

    def _softmax_of(self, tensors):
        import mxnet as mx

        if len({t.shape[-3:] for t in tensors}) > 1:
            # A test list without a crop keeps each image's own shape: one forward pass each.
            return np.concatenate([self._softmax_of([t]) for t in tensors])
        batch = mx.nd.concat(*tensors, dim=0) if tensors[0].ndim == 4 else mx.nd.stack(*tensors)
        out = self.net(batch.as_in_context(self.ctx))
        return mx.nd.softmax(out, axis=1).asnumpy()

    def predict(self, images, top_k=1, batch_size=32, tta=None):
        """Label and probability for one image or a sequence of images.

        Parameters
        ----------
        images : path, image, or sequence of them
            Paths (str or ``os.PathLike``), HWC ``uint8`` NumPy arrays or
            NDArrays, PIL images; a 4-D (N, H, W, C) array is N images.
        top_k : int
            How many classes to list in each prediction's ``top``.
        tta : {None, "five-crop", "ten-crop"}
            Average the softmax over test-time crops.

        Returns
        -------
        Prediction, or list of Prediction
            A list when ``images`` is a sequence or a batch, one otherwise.

        Raises
        ------
        ImageReadError
            When a file cannot be read (use :meth:`predict_files` to go on
            past unreadable files).
        """
        batch = _is_batch(images)
        items = list(images) if batch else [images]
        probs = self.probabilities(items, batch_size=batch_size, tta=tta)
        preds = [self._prediction(_source(img, i), p, top_k) for i, (img, p) in enumerate(zip(items, probs))]
        return preds if batch else preds[0]

    def predict_files(self, paths, top_k=1, batch_size=32, tta=None, path_col=None):
        """Predict files and folders, reporting unreadable ones instead of stopping.

        Folders and CSV files (their ``path_col``) are expanded with :func:`image_files`. Every entry comes back
        as a :class:`Prediction`, in order; one that could not be read has
        ``error`` set and no label.
        """
        entries = image_files(paths, path_col)
        results = []
        # Read and predict one batch at a time: a folder of 50,000 photos never sits in memory.
        for start in range(0, len(entries), batch_size):
            chunk = [None] * len(entries[start:start + batch_size])
            readable = []
            for i, (path, error) in enumerate(entries[start:start + batch_size]):
                if error is not None:
                    chunk[i] = Prediction(path, error=error)
                    continue
                try:
                    readable.append((i, path, as_image(path)))
                except ImageReadError as err:
                    chunk[i] = Prediction(path, error=str(err))
            if readable:
                probs = self.probabilities([img for _, _, img in readable], batch_size=batch_size,
                                           tta=tta)
                for (i, path, _), p in zip(readable, probs):
                    chunk[i] = self._prediction(path, p, top_k)
            results.extend(chunk)
        return results

    def _prediction(self, source, probs, top_k):
        top_k = max(1, min(int(top_k), len(self.classes)))
        order = np.argsort(-probs, kind="stable")[:top_k]
        top = [(self.classes[j], float(probs[j])) for j in order]
        return Prediction(source, label=top[0][0], probability=top[0][1], top=top,
                          probabilities=np.asarray(probs, dtype=np.float32))


def measure_latency(predictor, images, calls=20, warmup=2):
    """Milliseconds per call for one image at a time, as a service calls a model.

    Each call is :meth:`Predictor.probabilities` on one decoded image:
    preprocessing, the network and the softmax (decoding the file is left out;
    it depends on the file, not the model). ``images`` are used in turn until
    ``calls`` calls are timed, after ``warmup`` untimed ones.

    Returns
    -------
    dict
        ``median_ms``, ``p95_ms``, ``min_ms``, ``calls``.
    """
    import time

    decoded = [as_image(img) for img in images]
    if not decoded:
        raise UserError("no readable image to time")
    for i in range(warmup):
        predictor.probabilities([decoded[i % len(decoded)]], batch_size=1)
    times = []
    for i in range(max(int(calls), 1)):
        tic = time.perf_counter()
        predictor.probabilities([decoded[i % len(decoded)]], batch_size=1)
        times.append(1000.0 * (time.perf_counter() - tic))
    return {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)),
            "min_ms": float(np.min(times)), "calls": len(times)}


def _source(img, i):
    return os.fspath(img) if isinstance(img, (str, os.PathLike)) else "#%d" % i


def resolve_ctx(ctx=None):
    """``None`` (the first GPU, else the CPU), a device string such as ``"cpu"``, or a Context."""
    import mxnet as mx

    if isinstance(ctx, mx.Context):
        return ctx
    return devices.check_contexts(devices.parse_ctx(ctx or "auto"))[0]


def fuse_network(net, size, ctx):
    """Partition a hybridized network with oneDNN's fusion passes (CPU): convolution + BatchNorm
    + ReLU (+ residual add) become one primitive each where the graph allows.

    The weights are the same and so are the outputs, within float32 rounding (1e-6 here).
    Measured on resnet18_v2 at 224 px (docs/bench/int8-*.jsonl) it was not faster than
    MXNet's plain hybridized graph, whose operators already run on oneDNN one by one:
    ResNet v2's pre-activation order (BatchNorm, ReLU, then convolution) leaves little to
    fold. Hence off by default.
    """
    import mxnet as mx

    if getattr(ctx, "device_type", "cpu") != "cpu":
        return net
    net.optimize_for(mx.nd.zeros((1, 3, size, size), ctx=ctx), backend="MKLDNN")
    return net


def load_run(path, checkpoint="best", ctx=None, amp=False, weights="auto", fuse=False):
    """Rebuild the network of a training run folder for prediction.

    Parameters
    ----------
    path : str
        A run folder written by ``gluon-finetune train`` (or :func:`fit`).
    checkpoint : {"best", "last"}
        The epoch with the best validation accuracy (test accuracy in a run
        without validation images), or the last finished one.
    ctx : mxnet.Context or str, optional
        Device; by default the first GPU when there is one, else the CPU.
    amp : bool
        Compute in float16 (GPU) or bfloat16 (a CPU that has it) with MXNet's
        AMP (:func:`gluon_finetune.devices.init_amp`): faster, probabilities
        within about 1e-2 of float32. It stays on for the rest of the process.
    weights : {"auto", "ema", "raw"}
        ``auto``: the weights' moving average when the run kept one (``--ema``),
        else the raw weights (:func:`gluon_finetune.runs.rundir.pick_weights`); the
        ``Predictor``'s ``checkpoint["weights"]`` says which.
    fuse : bool
        Fuse the graph with oneDNN (:func:`fuse_network`; CPU only, same
        probabilities within 1e-5).

    Returns
    -------
    Predictor
        With ``predict(images)``, ``probabilities(images)``, ``classes``.

    Raises
    ------
    UserError
        A folder that is not a run, a missing checkpoint, weights that do not
        load.
    """
    run = RunDir.open(path)
    record = run.record()
    try:
        config = TrainConfig.from_dict(record["config"])
        classes = list(record["classes"])
    except (KeyError, TypeError):
        raise UserError("%s has a config.json without the run's settings and classes; "
                        "is it a gluon-finetune run folder?" % path) from None
    params, kind, meta = run.weights(checkpoint, weights)
    ctx = resolve_ctx(ctx)
    if amp:
        devices.init_amp([ctx])  # before the network is built: AMP rewrites its operators
    net = model.zoo_network(symbol_source.in_run(config.model, run.path)
                            if symbol_source.is_symbol_model(config.model) else config.model,
                            len(classes))
    try:
        net.load_parameters(params, ctx=ctx)
    except Exception as err:
        raise UserError("cannot load %s into %s with %d classes: %s"
                        % (params, config.model, len(classes), first_line(err))) from None
    # Static memory: 15% more pictures a second at batch 64 than a plain hybridize() here, and
    # unlike static shapes it does not re-plan when evaluate's last batch or TTA's crops change
    # the batch size (docs/bench/fp32-hybridize-flags.txt).
    net.hybridize(static_alloc=True)
    if fuse and not amp:
        fuse_network(net, config.image_size, ctx)
    return Predictor(net, classes, run_test_augs(config), ctx, config=config, path=run.path,
                     checkpoint=dict(meta, params=params, tag=checkpoint, weights=kind,
                                     chosen_on=chosen_on(meta.get("chosen_by", "test_acc"))
                                     if checkpoint == "best" else None))
