"""A run evaluated on an image folder.

- the numbers themselves come from :mod:`gluon_finetune.metrics` (NumPy only);
- :func:`evaluate_run` evaluates a run folder on a labelled image folder, with
  the five- or ten-crop test-time augmentation of the Gluon write-up if asked,
  and writes ``evaluation.json``, ``confusion.png`` and ``mistakes.png``.
"""
import dataclasses
import os

import numpy as np

from .. import data as data_mod
from ..errors import UserError
from ..fsutil import claim_folder, write_json
from ..imageio import ImageReadError, read_image
from ..metrics import scores
from ..options import check
from ..progress import progress
from ..runs.selection import checkpoint_label
from .int8.options import Int8Options
from .options import EvaluateOptions
from .predict import as_image, load_run, tta_kind

# --------------------------------------------------------------------------- a run on a folder


@dataclasses.dataclass
class Evaluation:
    """What :func:`evaluate_run` found; :meth:`to_dict` is ``evaluation.json``.

    Attributes
    ----------
    run, data, checkpoint : str
        The run folder, the evaluated image folder, ``"best"`` or ``"last"``.
    epoch : int
        The checkpoint's epoch.
    evaluated : str
        Which images: e.g. ``"DATA/test (16 images)"``.
    classes : list of str
    plain : dict
        :func:`scores` with the run's test preprocessing.
    tta : dict or None
        :func:`scores` with the softmax averaged over test-time crops, plus ``kind``.
    images : list of dict
        Per image: path, true label, predicted label and probability (and the
        TTA prediction when there is one).
    skipped : list of (str, str)
        Unreadable files left out, with the reason.
    weights : str
        ``"ema"`` (the run's weight average) or ``"raw"``.
    chosen_on : str or None
        What chose a ``best`` checkpoint: ``"validation"`` or ``"test"``.
    int8 : dict or None
        With ``int8=True``: :func:`scores` of the INT8 network, plus ``agreement``
        (the share of images whose INT8 label is the float32 label),
        ``max_probability_difference`` and ``quantization`` (how it was made).
    files : dict
        What :meth:`write` wrote: ``json``, ``confusion``, ``mistakes`` (and
        ``confusion_tta``) paths; empty until then.
    """

    run: str
    data: str
    checkpoint: str
    epoch: int
    evaluated: str
    classes: list
    plain: dict
    tta: dict = None
    images: list = dataclasses.field(default_factory=list, repr=False)
    skipped: list = dataclasses.field(default_factory=list)
    files: dict = dataclasses.field(default_factory=dict)
    weights: str = "raw"
    chosen_on: str = None
    int8: dict = None

    @property
    def accuracy(self):
        return self.plain["accuracy"]

    def to_dict(self):
        return {"run": self.run, "data": self.data, "checkpoint": self.checkpoint,
                "epoch": self.epoch, "evaluated": self.evaluated, "classes": self.classes,
                "accuracy": self.plain["accuracy"], "plain": self.plain, "tta": self.tta,
                "images": self.images,
                "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
                "files": self.files, "weights": self.weights, "chosen_on": self.chosen_on,
                "int8": self.int8}

    def write(self, out=None, mistakes=16):
        """Write ``evaluation.json``, ``confusion.png``, ``mistakes.png`` (and
        ``confusion-<tta>.png``) into ``out`` (default ``RUN/eval``); return :attr:`files`.

        ``mistakes``: how many of the most confident mistakes to draw.
        """
        from .. import plots  # matplotlib: only to draw

        out = out or os.path.join(self.run, "eval")
        claim_folder(out, "evaluation.json", "evaluation")
        os.makedirs(out, exist_ok=True)
        files = {"json": os.path.join(out, "evaluation.json"),
                 "confusion": os.path.join(out, "confusion.png"),
                 "mistakes": os.path.join(out, "mistakes.png")}
        name, plain = os.path.basename(self.run), self.plain
        plots.confusion_matrix(np.array(plain["confusion"]), self.classes, out=files["confusion"],
                               title="%s, %s checkpoint (epoch %s): accuracy %.3f" % (
                                   name, self.checkpoint, self.epoch, plain["accuracy"]))
        if self.tta:
            files["confusion_tta"] = os.path.join(out, "confusion-%s.png" % self.tta["kind"])
            plots.confusion_matrix(np.array(self.tta["confusion"]), self.classes,
                                   out=files["confusion_tta"],
                                   title="%s with %s TTA: accuracy %.3f" % (
                                       name, self.tta["kind"], self.tta["accuracy"]))
        # The most confident first (a stable sort: ties keep the images' order).
        by_confidence = sorted(self.images, key=lambda rec: -rec["probability"])
        wrong = [rec for rec in by_confidence if rec["predicted"] != rec["true"]]
        shown = wrong[:max(0, int(mistakes))]
        plots.mistakes([(read_image(rec["path"]), rec["true"], rec["predicted"], rec["probability"])
                        for rec in shown], out=files["mistakes"],
                       title=_mistakes_title(len(shown), plain["images"] - plain["correct"],
                                             plain["images"]))
        self.files = files
        write_json(files["json"], self.to_dict())
        return files

    def summary(self):
        """Readable lines: what was evaluated, the accuracy (both with TTA), a per-class table."""
        lines = ["evaluated %s (%s, epoch %s) on %s"
                 % (_shown(self.run), checkpoint_label(self.checkpoint, self.chosen_on, self.weights),
                    self.epoch, self.evaluated)]
        lines.append("accuracy %.3f (%d of %d correct)%s"
                     % (self.plain["accuracy"], self.plain["correct"], self.plain["images"],
                        _more_scores(self.plain)))
        if self.checkpoint == "best" and self.chosen_on == "test":
            lines.append("note: the run had no validation images, so its best epoch was chosen by "
                         "test accuracy: on its test images this accuracy is optimistic")
        if self.tta:
            diff = self.tta["accuracy"] - self.plain["accuracy"]
            lines.append("accuracy %.3f with %s test-time augmentation (%+.3f; softmax averaged "
                         "over %d crops)" % (self.tta["accuracy"], self.tta["kind"], diff,
                                             self.tta["crops"]))
        if self.int8:
            q = self.int8["quantization"]
            lines.append("accuracy %.3f float32, %.3f INT8 (%+.3f); %.1f%% of labels agree "
                         "(INT8 calibrated %s on %d training images)"
                         % (self.plain["accuracy"], self.int8["accuracy"],
                            self.int8["accuracy"] - self.plain["accuracy"],
                            100 * self.int8["agreement"], q["calib_mode"], q["calib_images"]))
        lines.append("")
        lines.extend(_class_table(self.plain, "without TTA (the run's test preprocessing)"
                                  if self.tta else None))
        if self.tta:
            lines.append("")
            lines.extend(_class_table(self.tta, "with %s TTA" % self.tta["kind"]))
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class):")
        lines.extend(_confusion_lines(self.plain["confusion"], self.classes))
        for path, reason in self.skipped:
            lines.append("skipped unreadable %s: %s" % (_shown(path), reason))
        return "\n".join(lines)


def _more_scores(result):
    """``", balanced accuracy 0.850, top-5 0.990"``: the scores beside accuracy (older
    evaluations have none; top-k only when there are more classes than k)."""
    text = ""
    if "balanced_accuracy" in result:
        text += ", balanced accuracy %.3f" % result["balanced_accuracy"]
    top = result.get("top_k")
    if top and len(result["per_class"]) > top["k"]:
        text += ", top-%d %.3f" % (top["k"], top["accuracy"])
    return text


def _shown(path):
    """``path`` relative to the working folder when it lies below it (shorter to read)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


def _class_table(result, heading=None):
    rows = result["per_class"]
    width = max([len(r["class"]) for r in rows] + [len("macro avg"), 5])
    head = "%-*s  %9s  %6s  %6s  %7s" % (width, "class", "precision", "recall", "f1", "support")
    lines = ([heading + ":"] if heading else []) + [head]
    for r in rows:
        lines.append("%-*s  %9.3f  %6.3f  %6.3f  %7d" % (width, r["class"], r["precision"],
                                                          r["recall"], r["f1"], r["support"]))
    macro = result["macro"]
    lines.append("%-*s  %9.3f  %6.3f  %6.3f  %7d" % (width, "macro avg", macro["precision"],
                                                      macro["recall"], macro["f1"], result["images"]))
    return lines


def _confusion_lines(cm, classes):
    width = max([len(c) for c in classes] + [4])
    cell = max([len(c) for c in classes] + [len(str(v)) for row in cm for v in row] + [4])
    lines = ["%-*s  %s" % (width, "", "  ".join("%*s" % (cell, c) for c in classes))]
    for name, row in zip(classes, cm):
        lines.append("%-*s  %s" % (width, name, "  ".join("%*d" % (cell, v) for v in row)))
    return lines


def evaluation_items(data, run_classes, run_config=None, path_col=None, label_col=None):
    """The labelled images of ``data`` to evaluate: ``(items, description)``.

    - ``data/train/`` + ``data/test/``: the test images;
    - ``data/<class>/`` that is the run's own single-folder dataset: the images
      the run held out for testing (its ``--split``, same seed);
    - any other ``data/<class>/``: every image;
    - a RecordIO file ``NAME.rec``: the records of ``NAME-test.rec`` when it is
      beside it, the run's held-out records when it is the run's own data,
      every record otherwise;
    - a CSV file (:mod:`gluon_finetune.data.csv_labels`): its ``test`` rows when
      it has a split column, the run's held-out rows when it is the run's own
      CSV without one, every row otherwise. Its columns are ``path_col`` and
      ``label_col``, by default the run's.

    Files are listed, not decoded, by the lister training uses
    (:func:`gluon_finetune.data.scan_folder`, :func:`gluon_finetune.data.list_classes`);
    :func:`evaluate_run` skips the ones that turn out unreadable.

    Raises
    ------
    UserError
        Layout problems, or class folders that are not the run's classes.
    """
    same = bool(run_config and run_config.data
                and os.path.realpath(str(run_config.data)) == os.path.realpath(str(data)))
    split = run_config.split if same else None
    if data_mod.is_csv(data):
        return _csv_items(data, run_classes, run_config, same, path_col, label_col)
    if data_mod.is_rec(data):
        return _rec_items(data, run_classes, run_config, same)
    layout = data_mod.find_layout(data)
    if layout == data_mod.SINGLE and not same:
        # Every image counts, and a class may have few or none: no split, no minimum.
        files = data_mod.list_classes(data)
        classes = sorted(files)
        _check_classes(data, classes, run_classes)
        items = [(path, label) for label, c in enumerate(classes) for path in files[c]]
        if not items:
            raise UserError("the class folders of %s hold no image files" % data)
        return items, "%s, every image (%d)" % (data, len(items))
    report = data_mod.scan_folder(data, split=split)
    _check_classes(data, report.classes, run_classes)
    items = report.items["test"]
    if layout == data_mod.TRAIN_TEST:
        what = "%s (%d images)" % (os.path.join(str(data), "test"), len(items))
    else:
        what = "%s, the %d images (%g%%) the run held out for testing" % (
            data, len(items), 100 * report.split)
    return items, what


def _csv_items(data, run_classes, run_config, same, path_col, label_col):
    """:func:`evaluation_items` of a CSV file."""
    from ..data.csv_labels import read_rows

    path_col = path_col or getattr(run_config, "path_col", None)
    label_col = label_col or getattr(run_config, "label_col", None)
    rows = read_rows(data, path_col, label_col)
    if rows[0][3] is not None or same:
        report = data_mod.scan_folder(data, split=run_config.split if same else None,
                                      path_col=path_col, label_col=label_col)
        _check_classes(data, report.classes, run_classes)
        items = report.items["test"]
        return items, "%s, its %d test images" % (data, len(items))
    classes = sorted({label for _, _, label, _ in rows})
    _check_classes(data, classes, run_classes)
    items = [(full, run_classes.index(label)) for _, full, label, _ in rows]
    return items, "%s, every image (%d)" % (data, len(items))


def _rec_items(data, run_classes, run_config, same):
    """:func:`evaluation_items` of a RecordIO file (:mod:`gluon_finetune.data.recordio`)."""
    report = data_mod.scan_folder(data, split=run_config.split if same else None)
    _check_classes(data, report.classes, run_classes)
    if report.layout == data_mod.REC_SPLITS or same:
        items = report.items["test"]
        where = (os.path.basename(data_mod.rec_sibling(data, "test"))
                 if report.layout == data_mod.REC_SPLITS else "held out by the run")
        return items, "%s, its %d test records (%s)" % (data, len(items), where)
    items = report.all_items()
    return items, "%s, every record (%d)" % (data, len(items))


def _check_classes(data, classes, run_classes):
    if list(classes) != list(run_classes):
        raise UserError("the classes of %s (%s) differ from the classes the run was trained on "
                        "(%s); evaluate needs a folder with the same class folders"
                        % (data, ", ".join(classes) or "none", ", ".join(run_classes)))


def evaluate_run(run, data, checkpoint="best", tta=None, out=None, batch_size=32, ctx=None,
                 mistakes=16, quiet=False, amp=False, weights="auto", int8=False, log=None,
                 path_col=None, label_col=None):
    """Evaluate a training run on a labelled image folder; with ``out``, also write the results.

    The metrics come back as an :class:`Evaluation`; nothing is written unless
    ``out`` is given or :meth:`Evaluation.write` is called (a notebook needs no
    output folder).

    Parameters
    ----------
    run : str
        The run folder.
    data : str
        An image folder or CSV file with the run's classes (see
        :func:`evaluation_items` for which of its images are used; ``path_col``
        and ``label_col`` name a CSV's columns, by default the run's).
    checkpoint : {"best", "last"}
    tta : {None, "five-crop", "ten-crop"}
        Also average the softmax over test-time crops and report both numbers.
    out : str, optional
        Write ``evaluation.json``, ``confusion.png``, ``mistakes.png`` (and
        ``confusion-<tta>.png``) here (:meth:`Evaluation.write`).
    batch_size : int
    ctx : mxnet.Context or str, optional
    mistakes : int
        How many of the most confident mistakes to draw (with ``out``).
    amp : bool
        Predict in mixed precision (see :func:`gluon_finetune.inference.predict.load_run`).
    weights : {"auto", "ema", "raw"}
        The run's EMA weights when it has them (``auto``), or the raw ones.
    int8 : bool or Int8Options
        Also evaluate the run quantised to INT8 (:func:`gluon_finetune.inference.int8.quantize.quantize_run`,
        CPU only; an :class:`~gluon_finetune.inference.int8.options.Int8Options` says how, True
        takes its defaults) and report both accuracies and how often their labels
        agree. The tables, confusion matrix and mistakes stay those of float32.
    log : callable, optional
        Receives INT8 calibration progress lines.

    Returns
    -------
    Evaluation
    """
    # Refuse a bad value before any work, by the options' declarations.
    check(EvaluateOptions(checkpoint=checkpoint, weights=weights, ctx=ctx, amp=amp, tta=tta,
                          out=out, mistakes=mistakes, batch_size=batch_size, int8=bool(int8)))
    kind = tta_kind(tta)
    model = load_run(run, checkpoint=checkpoint, ctx=ctx, amp=amp, weights=weights)
    items, what = evaluation_items(data, model.classes, model.config, path_col, label_col)
    quantized = None
    if int8:
        from .int8.quantize import quantize_run

        quantized = quantize_run(model, int8 if isinstance(int8, Int8Options) else None, log=log)
    probs, tta_probs, items, skipped, int8_probs = _predict_items(
        model, items, batch_size, kind, quiet, quantized.predictor if quantized else None)
    if not items:
        raise UserError("no readable image to evaluate in %s (%d unreadable)" % (data, len(skipped)))
    labels = np.array([l for _, l in items], dtype=np.int64)
    plain = scores(probs, labels, model.classes)
    tta_result = None
    if kind:
        tta_result = dict(scores(tta_probs, labels, model.classes), kind="%s-crop" % kind,
                          crops=5 if kind == "five" else 10)
    int8_result = None
    if quantized:
        calib = quantized.record["calibration"]
        int8_result = dict(
            scores(int8_probs, labels, model.classes),
            agreement=float((int8_probs.argmax(axis=1) == probs.argmax(axis=1)).mean()),
            max_probability_difference=float(np.abs(int8_probs - probs).max()),
            quantization={"folder": quantized.folder, "calib_mode": calib["calib_mode"],
                          "calib_images": len(calib["files"]), "calib_folder": calib["folder"],
                          "excluded_layers": sorted(quantized.record["excluded_layers"])})
    images = []
    for i, (path, label) in enumerate(items):
        rec = {"path": path, "true": model.classes[label],
               "predicted": model.classes[int(probs[i].argmax())],
               "probability": float(probs[i].max())}
        if tta_probs is not None:
            rec["tta_predicted"] = model.classes[int(tta_probs[i].argmax())]
            rec["tta_probability"] = float(tta_probs[i].max())
        if int8_probs is not None:
            rec["int8_predicted"] = model.classes[int(int8_probs[i].argmax())]
            rec["int8_probability"] = float(int8_probs[i].max())
        images.append(rec)

    result = Evaluation(run=model.path, data=os.path.abspath(str(data)), checkpoint=checkpoint,
                        epoch=model.checkpoint.get("epoch"), evaluated=what,
                        classes=model.classes, plain=plain, tta=tta_result, images=images,
                        skipped=skipped, weights=model.checkpoint["weights"],
                        chosen_on=model.checkpoint["chosen_on"], int8=int8_result)
    if out is not None:
        result.write(out, mistakes=mistakes)
    return result


def _mistakes_title(shown, wrong, total):
    if wrong == 0:
        return "all %d images classified correctly" % total
    if shown == wrong:
        return "%d mistake%s on %d images, most confident first" % (wrong, "" if wrong == 1 else "s",
                                                                     total)
    return "the %d most confident of %d mistakes on %d images" % (shown, wrong, total)


def _predict_items(model, items, batch_size, kind, quiet, int8_model=None):
    """Softmax of every readable image (and of its crops with ``kind``, and by ``int8_model``),
    reading each file once.

    Returns ``(probs, tta_probs or None, readable items, skipped (path, reason),
    int8_probs or None)``.
    """
    probs, tta_probs, kept, skipped, int8_probs = [], [], [], [], []
    bar = progress(total=len(items), desc="evaluating", unit="img", quiet=quiet)
    for start in range(0, len(items), batch_size):
        images = []
        for path, label in items[start:start + batch_size]:
            try:
                images.append(as_image(path))
                kept.append((path, label))
            except ImageReadError as err:
                skipped.append((path, _reason(err, path)))
        if images:
            probs.append(model.probabilities(images, batch_size=batch_size))
            if kind:
                tta_probs.append(model.probabilities(images, batch_size=batch_size, tta=kind))
            if int8_model is not None:
                int8_probs.append(int8_model.probabilities(images, batch_size=batch_size))
        bar.update(len(items[start:start + batch_size]))
    bar.close()
    empty = np.zeros((0, len(model.classes)), np.float32)
    return (np.concatenate(probs) if probs else empty,
            (np.concatenate(tta_probs) if tta_probs else empty) if kind else None, kept, skipped,
            (np.concatenate(int8_probs) if int8_probs else empty) if int8_model else None)


def _reason(err, path):
    text = str(err)
    prefix = "cannot read image %s: " % path
    return text[len(prefix):] if text.startswith(prefix) else text
