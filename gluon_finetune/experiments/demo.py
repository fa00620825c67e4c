"""The book's hotdog experiment, end to end, with real or synthetic data and weights.

:func:`run_demo` is the one implementation behind ``gluon-finetune demo``
and ``scripts/demo.py``. It reads top to bottom as the steps of the book:

1. **data**: a folder the caller names, else the real hotdog set when it is
   already extracted and verified under MXNet's dataset folder, else a synthetic
   hotdog set drawn into ``OUT/data/hotdog`` (nothing is downloaded here:
   :func:`fetch_book_inputs` downloads, for ``scripts/demo.py``);
2. **source weights**: a ``.params`` file the caller names, else the ImageNet
   weights when they are already in the model cache, else a *synthetic source
   model*: ``resnet18_v2`` pretrained here from scratch on the ten-class
   synthetic source task (:mod:`gluon_finetune.data.synthetic`), checked on its test
   set and saved with a JSON sidecar in ``OUT/source/``;
3. **previews**: the book's augmentations of a picture and a grid of training images;
4. **fine-tune vs scratch**: :func:`gluon_finetune.experiments.compare.compare`, equal
   epochs and seed, into ``OUT/compare/``;
5. **evaluation** of the fine-tuned run: confusion matrix and mistakes;
6. **report**: ``OUT/report.html``, one self-contained page (see :mod:`gluon_finetune.experiments.report`).

Everything is written below ``OUT``; ``OUT/demo.json`` records what was used and
how long each step took. A second run into the same ``OUT`` reuses the synthetic
data and the synthetic source model when their settings are unchanged (the
source model costs minutes; it is paid for once) and replaces the rest.
"""
import contextlib
import dataclasses
import os
import shutil
import sys
import time

from ..constants import RESIZED_CROP_SCALE
from ..errors import UserError, first_line
from ..fsutil import atomic_path, claim_folder, read_json, write_json
from ..networks import model
from ..training.config import DEFAULT_IMAGE_SIZE, TrainConfig

#: The file that marks a folder as this experiment's output (and records the run).
MARKER = "demo.json"

#: What an earlier run wrote into OUT that a new run replaces. ``data/`` and
#: ``source/`` are not in it: they are reused when their settings still match.
REPLACED = ("compare", "evaluation", "augment.png", "samples.png", "report.html")

#: Names a run may find in OUT besides :data:`REPLACED` and the marker.
KEPT = ("data", "source")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The sizes and training settings of one flavour of the experiment.

    ``image_size``, ``batch_size`` and ``epochs`` apply to both runs of the
    comparison (the learning rates are the book's: 0.01 with the head at 10x
    for fine-tuning, 0.1 from scratch). The ``hotdog_*`` and ``source_*``
    fields only matter when synthetic data or a synthetic source model is made.
    """

    name: str
    image_size: int
    batch_size: int
    epochs: int
    hotdog_counts: tuple        # synthetic hotdog set: (train, test) pictures per class
    source_counts: tuple        # synthetic source task: (train, test) pictures per class
    draw_size: tuple            # side range of the synthetic pictures, in pixels
    source_epochs: int
    source_batch_size: int
    source_lr: float
    source_momentum: float
    source_area: float          # smallest crop area (share) of the source task's random crops
    train_area: float = RESIZED_CROP_SCALE[0]  # the book's; the same for both runs of the comparison
    mistakes: int = 16          # pictures in the mistakes gallery


#: The offline demo: 48-pixel crops, a small synthetic hotdog set, a source model
#: pretrained for about two and a half minutes (most of the demo's time). The source
#: model learns the most per second with batch 32, lr 0.05 and crops of at least 35%
#: of the picture. Until 2026-12 it was 64 px, 12 source epochs and 200 hotdog training
#: pictures per class, which took 6 minutes of pretraining on an AVX2 CPU (Zen 3). At
#: 48 px a resnet18_v2 step costs about the same per picture as at 32 px there (oneDNN's
#: slow kernel for the last stage's 2x2 maps), so the pretraining got shorter instead:
#: 5 epochs; 150 hotdog pictures per class keep the fine-tune-versus-scratch gap
#: above 15 points on each of 3 seeds (README: The offline demo).
DEMO = Settings(
    name="demo", image_size=48, batch_size=32, epochs=TrainConfig.epochs,
    hotdog_counts=(150, 100), source_counts=(200, 25), draw_size=(96, 128),
    source_epochs=5, source_batch_size=32, source_lr=0.05, source_momentum=0.9,
    source_area=0.35)

#: A one-minute version that runs every step on tiny sets (what the tests run).
QUICK = dataclasses.replace(
    DEMO, name="quick", image_size=32, batch_size=16, epochs=2,
    hotdog_counts=(16, 6), source_counts=(8, 2), draw_size=(48, 64),
    source_epochs=1, source_batch_size=16, mistakes=8)

#: The book's settings, for the real hotdog set (``scripts/demo.py``): the
#: defaults of :class:`~gluon_finetune.training.config.TrainConfig` (224-pixel crops, batch 128, 5 epochs).
BOOK = dataclasses.replace(DEMO, name="book", image_size=DEFAULT_IMAGE_SIZE,
                           batch_size=TrainConfig.batch_size, epochs=TrainConfig.epochs)


def run_demo(out="runs/demo", quick=False, data=None, weights=None, epochs=None,
             image_size=None, batch_size=None, seed=0, book=False, model_name=model.DEFAULT_MODEL,
             data_root=None, model_root=None, command=None, log=print, quiet=False,
             hotdog_sha1=None, stand_ins=True):
    """Run the book's experiment (fine-tune vs scratch) and write ``OUT/report.html``.

    Parameters
    ----------
    out : str
        Output folder: missing, empty, or an earlier output of this function.
    quick : bool
        The one-minute version on tiny sets (:data:`QUICK`) instead of :data:`DEMO`.
    data : str, optional
        An image folder (``train/`` + ``test/`` or one folder per class). Default:
        the real hotdog set if it is already under ``data_root``, else a synthetic one.
    weights : str, optional
        Source weights (``.params`` of ``model_name``, any number of classes, or a
        run folder). Default: cached ImageNet weights, else a synthetic source model.
    epochs, image_size, batch_size : int, optional
        Override the settings of the chosen flavour.
    seed : int
        One seed for everything: synthetic data, pretraining, both runs.
    book : bool
        On real data (the hotdog set or ``data``) with real source weights
        (ImageNet's or ``weights``), use the book's settings (:data:`BOOK`:
        224 px, batch 128) instead of the demo's.
    data_root, model_root : str, optional
        Where to look for the extracted hotdog set and the ImageNet weights
        (default ``$MXNET_HOME/datasets`` and ``$MXNET_HOME/models``). Never downloaded.
    hotdog_sha1 : str, optional
        The sha1 of the ``hotdog.zip`` the set was extracted from (a mirror's
        copy); default the book's.
    stand_ins : bool
        Draw synthetic data and pretrain a synthetic source model where the real
        ones are missing; ``False`` raises :class:`UserError` instead (the book's
        script never substitutes them unasked).
    command : str, optional
        The command line, for the report.
    log : callable
        Receives every line of progress text.
    quiet : bool
        No progress bars.

    Returns
    -------
    dict
        The record written to ``OUT/demo.json``: data, source, settings,
        results, per-step times, the report's path.
    """
    from ..runs.rundir import provenance

    started = time.time()
    timer = _StepTimer()
    # Bad numbers are refused before anything is written.
    _override(DEMO, epochs=epochs, image_size=image_size, batch_size=batch_size)
    inputs = _check_inputs(data, weights, model_name)
    out = _prepare_out(out)
    record = {"complete": False, "out": out, "command": command, "made_by": provenance(),
              "seed": int(seed)}
    write_json(os.path.join(out, MARKER), record)
    settings = QUICK if quick else DEMO

    log("step 1/6: data")
    with timer("data"):
        found = _choose_data(out, inputs["data"], settings, seed, data_root, quiet, log,
                             hotdog_sha1, stand_ins)
    real_data = found["kind"] != "synthetic" and not found.get("synthetic")
    # Verified ImageNet weights already in the cache (hashing ~45 MB: once, here).
    cached = None if inputs["weights"] else model.cached_pretrained(model_name, model_root)
    if not (stand_ins or inputs["weights"] or cached):
        raise UserError(model.offline_weights_message(model_name, model_root))
    if book and not quick and real_data and (inputs["weights"] or cached):
        # A synthetic source model is pretrained at the run's image size: at 224 px
        # that would take hours on a CPU, so the book's settings need real weights.
        settings = BOOK
    settings = _override(settings, epochs=epochs, image_size=image_size, batch_size=batch_size)

    log("step 2/6: source weights")
    with timer("source"):
        source = _choose_source(out, inputs["weights"], cached, settings, seed, model_name,
                                model_root, quiet, log)
    prep = source.get("preprocessing") or {}
    if image_size is None and prep.get("image_size") and prep["image_size"] != settings.image_size:
        # A source model trained at another size learned its features at that scale.
        log("using the source model's image size, %d px (its sidecar says so)" % prep["image_size"])
        settings = _override(settings, image_size=prep["image_size"])
    # Both runs see the pictures exactly as the source model saw its own.
    train_augs, test_augs = augment_specs(settings.image_size, prep.get("mean"), prep.get("std"),
                                          settings.train_area)
    augs = {"train": train_augs, "test": test_augs,
            "normalize": "the source data's mean and std" if prep.get("mean") else "ImageNet's"}
    record.update(data=found, source=source, settings=dataclasses.asdict(settings), augs=augs)

    log("step 3/6: previews")
    with timer("previews"):
        images = _previews(out, found["path"], seed)

    log("step 4/6: fine-tuning vs training from scratch (%s each, %d px, batch %d)"
        % (_plural(settings.epochs, "epoch"), settings.image_size, settings.batch_size))
    with timer("compare"):
        results = _compare(out, found["path"], augs, source, settings, seed, model_name,
                           model_root, quiet, log)
    images["compare"] = os.path.join(results["path"], "compare.png")

    log("step 5/6: evaluating the fine-tuned network")
    with timer("evaluate"):
        evaluation = _evaluate(out, results["finetune"].path, found["path"], settings, quiet, log)
    images.update(confusion=evaluation.files["confusion"], mistakes=evaluation.files["mistakes"])
    if source.get("curves"):
        images["source_curves"] = source["curves"]

    log("step 6/6: report")
    from . import report
    from .compare import summarize

    with timer("report"):
        record.update(
            complete=True, images={k: os.path.relpath(v, out) for k, v in images.items()},
            runs={mode: _plain_summary(summarize(results[mode]), out)
                  for mode in ("finetune", "scratch")},
            evaluation=_plain_evaluation(evaluation, out),
            report=os.path.join(out, "report.html"))
        record["steps"] = timer.seconds
        record["total_seconds"] = time.time() - started
        report.write_report(record["report"], record)
    record["steps"] = timer.seconds
    record["total_seconds"] = time.time() - started
    write_json(os.path.join(out, MARKER), record)
    for line in _conclusion(record):
        log(line)
    return record


def synthetic_inputs(out, seed=0, quick=False, model_name=model.DEFAULT_MODEL, quiet=False,
                     log=print):
    """The demo's synthetic hotdog set and synthetic source model in ``OUT``, for
    experiments beside the demo (``scripts/aug_accuracy.py``).

    Steps 1 and 2 of :func:`run_demo` without their real-data branches:
    ``OUT/data/hotdog`` and ``OUT/source/`` are reused when an earlier call (or a
    demo into the same ``OUT``) made them with these settings, else made.

    Returns
    -------
    dict
        ``data`` (folder), ``source`` (the source record, its ``path`` the
        .params file), ``settings`` (:class:`Settings`), ``augs`` (``train`` and
        ``test`` specs: the book's lists, normalised as the source model's data).
    """
    settings = QUICK if quick else DEMO
    folder = os.path.join(out, "data", "hotdog")
    train, test = settings.hotdog_counts
    _, reused = _synthetic_set(folder, "hotdog", train, test, settings.draw_size, seed, quiet)
    log("data: synthetic hotdog set, %s %s" % ("reusing the one in" if reused else "drawn into", folder))
    source = _synthetic_source(out, settings, seed, model_name, quiet, log)
    log("source: synthetic source model %s (source test accuracy %.3f)"
        % (source["path"], source["source_test_acc"]))
    prep = source.get("preprocessing") or {}
    train_augs, test_augs = augment_specs(settings.image_size, prep.get("mean"), prep.get("std"),
                                          settings.train_area)
    return {"data": folder, "source": source, "settings": settings,
            "augs": {"train": train_augs, "test": test_augs}}


# --------------------------------------------------------------------------- the book's inputs


def fetch_book_inputs(data=None, weights=None, model_name=model.DEFAULT_MODEL, data_root=None,
                      model_root=None, urls=None, sha1=None, offline=False, quiet=False,
                      log=print):
    """Get what the book downloads: the hotdog set and the ImageNet weights, or say what is missing.

    What the caller gives (``data``, ``weights``) is not fetched. The hotdog
    archive is downloaded, sha1-checked and extracted into ``data_root``
    (``$MXNET_HOME/datasets``) by :func:`gluon_finetune.data.download.download_hotdog`,
    unless a verified copy is there; the weights come from the model zoo's URL
    (``$MXNET_GLUON_REPO`` changes the host) and are checked against the zoo's
    sha1 into ``model_root`` (``$MXNET_HOME/models``). Both are tried before
    anything is decided, so one message can name everything that is missing.

    Parameters
    ----------
    urls : list of str, optional
        Where to get ``hotdog.zip``, tried in order (default: the book's, then MXNet's).
    sha1 : str, optional
        The archive's sha1 (a mirror's own copy); default the book's.
    offline : bool
        Never use the network: take what is cached, or a ``hotdog.zip`` put in
        ``data_root``, else report it missing.

    Returns
    -------
    dict
        ``hotdog_sha1`` (None when ``data`` was given) and ``weights`` (the
        cached file, or None when ``weights`` was given).

    Raises
    ------
    UserError
        Something could not be had: one message naming each missing file, its
        URL(s), its sha1, the folder to put it in, and the two ways on.
    """
    from ..data import download

    _check_inputs(data, weights, model_name)  # a mistake in what is given comes first
    missing = []
    hotdog_sha1 = None
    if data is None:
        root = os.path.abspath(data_root or download.default_root())
        hotdog_sha1 = download.normalize_sha1(sha1 or download.HOTDOG_SHA1)
        tried = download.hotdog_urls(urls)
        try:
            placed = os.path.join(root, download.HOTDOG_ARCHIVE)
            if offline and not download.verified_copy(root, download.HOTDOG_ARCHIVE, hotdog_sha1):
                if not os.path.isfile(placed):
                    raise UserError("--offline: not downloaded")
                download.download_hotdog(root, archive=placed, sha1=hotdog_sha1, quiet=quiet)
            else:
                download.download_hotdog(root, sha1=hotdog_sha1, urls=tried, quiet=quiet)
        except UserError as err:
            missing.append(_missing_file(
                download.HOTDOG_ARCHIVE, hotdog_sha1, tried, os.path.join(root, download.HOTDOG_ARCHIVE),
                _reasons(err)))
    cached = None
    if weights is None:
        info = model.pretrained_file_info(model_name, model_root)
        cached = model.cached_pretrained(model_name, model_root)
        if cached is None:
            try:
                if offline:
                    raise UserError("--offline: not downloaded")
                log("downloading the ImageNet weights of %s from %s" % (model_name, info["url"]))
                cached = model.download_pretrained(model_name, model_root, quiet=quiet)
            except UserError as err:
                missing.append(_missing_file(info["file"], info["sha1"],
                                             ["%s  (a zip holding the .params file)" % info["url"]],
                                             info["path"], _reasons(err)))
    if missing:
        raise UserError("\n".join(
            ["the book's experiment needs files that are not here and could not be downloaded:"]
            + missing
            + ["Either put each file where it says and run the same command again (or give your "
               "own with --data DIR / --weights FILE),",
               "or run with --synthetic for the offline stand-in: synthetic pictures and a "
               "source model pretrained here on a synthetic task, at the demo's settings."]))
    return {"hotdog_sha1": hotdog_sha1, "weights": cached}


def _reasons(err):
    """Why a file could not be had: each URL's failure, or the error's one line."""
    return getattr(err, "reasons", None) or [first_line(err)]


def _missing_file(name, sha1, urls, path, reasons):
    lines = ["  %s (sha1 %s): %s" % (name, sha1, "; ".join(reasons) or "missing")]
    lines += ["    from   %s" % url for url in urls]
    lines.append("    put it at  %s" % path)
    return "\n".join(lines)


# --------------------------------------------------------------------------- inputs and OUT


def _check_inputs(data, weights, model_name):
    """Refuse bad --data and --weights before anything is written."""
    from .. import data as data_mod

    if data is not None:
        data_mod.find_layout(data)  # raises UserError naming the problem
        data = os.path.abspath(data)
    if weights is not None:
        # Loading is the only real check that the file fits the architecture (and it
        # refuses a file MXNet cannot read with MXNet's reason).
        model.load_source(model_name, weights=weights)
        weights = os.path.abspath(weights)
    return {"data": data, "weights": weights}


def _prepare_out(out):
    """The absolute OUT, created; refuse a folder with files that are not ours."""
    out = os.path.abspath(out)
    if claim_folder(out, MARKER, "demo") is not None:
        foreign = sorted(set(os.listdir(out)) - set(REPLACED) - set(KEPT) - {MARKER})
        foreign = [name for name in foreign if not name.startswith(".")]
        if foreign:
            raise UserError("refusing to write into %s: besides an earlier demo it holds %s, which "
                            "the demo did not write. Move it away or choose another --out."
                            % (out, ", ".join(foreign)))
        for name in REPLACED:
            _remove(os.path.join(out, name))
    os.makedirs(out, exist_ok=True)
    return out


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def _override(settings, **values):
    """``settings`` with the given values (None: keep), checked."""
    given = {k: int(v) for k, v in values.items() if v is not None}
    for key, value in given.items():
        low = 8 if key == "image_size" else 1
        if value < low:
            raise UserError("--%s must be at least %d, got %d"
                            % (key.replace("_", "-"), low, value))
    return dataclasses.replace(settings, **given) if given else settings


# --------------------------------------------------------------------------- step 1: data


def _choose_data(out, given, settings, seed, data_root, quiet, log, hotdog_sha1=None,
                 stand_ins=True):
    from ..data import download

    sha1 = hotdog_sha1 or download.HOTDOG_SHA1
    if given:
        log("data: your folder %s" % given)
        # A folder `gluon-finetune data synth` drew is small-picture data: the
        # demo's settings suit it, not the book's 224-pixel ones.
        synthetic = os.path.isfile(os.path.join(given, "synthetic.json"))
        return {"kind": "folder", "path": given, "label": "your image folder %s" % given,
                "synthetic": synthetic}
    root = os.path.abspath(data_root or download.default_root())
    real = download.verified_copy(root, download.HOTDOG_ARCHIVE, sha1)
    if real:
        log("data: the book's hotdog set, %s (extracted from hotdog.zip, sha1 %s verified)"
            % (real, sha1))
        return {"kind": "hotdog", "path": real, "sha1": sha1,
                "label": "the book's hotdog set (hotdog.zip, sha1 %s)" % sha1}
    if not stand_ins:
        raise UserError("the hotdog set extracted from hotdog.zip (sha1 %s) is not in %s; "
                        "`gluon-finetune data download` puts it there" % (sha1, root))
    folder = os.path.join(out, "data", "hotdog")
    train, test = settings.hotdog_counts
    meta, reused = _synthetic_set(folder, "hotdog", train, test, settings.draw_size, seed, quiet)
    what = ("synthetic hotdog set: %d + %d training and %d + %d test pictures of %d-%d px"
            % (train, train, test, test, settings.draw_size[0], settings.draw_size[1]))
    log("data: %s, %s %s (the real hotdog set is not in %s; `gluon-finetune data download` "
        "puts it there)" % (what, "reusing the one in" if reused else "drawn into", folder, root))
    return {"kind": "synthetic", "path": folder, "reused": reused, "label": what,
            "counts": [train, test], "size": list(settings.draw_size), "seed": int(seed),
            "looked_in": root}


def _synthetic_set(folder, task, train, test, size, seed, quiet):
    """A synthetic set in ``folder``: reused when complete with these settings, else drawn."""
    from ..data import synthetic

    want = {"task": task, "seed": int(seed), "size": list(size), "n_per_class": int(train),
            "n_test_per_class": int(test), "complete": True}
    try:
        have = read_json(os.path.join(folder, synthetic.MARKER))
    except (OSError, ValueError):
        have = {}
    if all(have.get(k) == v for k, v in want.items()):
        return have, True
    meta = synthetic.generate(folder, task=task, n_per_class=train, n_test_per_class=test,
                              seed=seed, size=size, quiet=quiet)
    return meta, False


# --------------------------------------------------------------------------- step 2: source


def _choose_source(out, given, cached, settings, seed, model_name, model_root, quiet, log):
    if given:
        sidecar = model.read_sidecar(given) or {}
        acc = sidecar.get("source_test_acc")
        log("source: your weights file %s%s" % (
            given, " (source test accuracy %.3f)" % acc if acc is not None else ""))
        return {"kind": "file", "path": given, "label": "your weights file %s" % given,
                "source_test_acc": acc, "preprocessing": sidecar.get("preprocessing")}
    if cached:
        sha1 = model.pretrained_file_info(model_name, model_root)["sha1"]
        log("source: ImageNet weights of %s from the model cache, %s (sha1 %s verified)"
            % (model_name, cached, sha1))
        return {"kind": "imagenet", "path": None, "file": cached, "sha1": sha1,
                "label": "ImageNet weights of %s (%s, sha1 %s)"
                         % (model_name, os.path.basename(cached), sha1)}
    info = model.pretrained_file_info(model_name, model_root)
    source = _synthetic_source(out, settings, seed, model_name, quiet, log)
    source["looked_in"] = info["path"]
    log("source: %s %s: %s pretrained from scratch on the %d-class synthetic source task, "
        "source test accuracy %.3f (the ImageNet weights %s are not in %s)"
        % ("reusing the synthetic source model" if source["reused"] else "synthetic source model",
           source["path"], model_name, len(source["classes"]), source["source_test_acc"],
           info["file"], info["folder"]))
    return source


def _synthetic_source(out, settings, seed, model_name, quiet, log):
    """Pretrain ``model_name`` on the synthetic source task, or reuse an earlier one."""
    from ..data.synthetic import SOURCE_CLASSES
    from ..runs.rundir import provenance
    from ..training.train import fit

    folder = os.path.join(out, "source")
    params = os.path.join(folder, "%s-source.params" % model_name)
    run_dir = os.path.join(folder, "pretrain")
    train, test = settings.source_counts
    recipe = {"model": model_name, "task": "source", "counts": [train, test],
              "draw_size": list(settings.draw_size), "data_seed": int(seed), "seed": int(seed),
              "image_size": settings.image_size, "epochs": settings.source_epochs,
              "batch_size": settings.source_batch_size, "lr": settings.source_lr,
              "momentum": settings.source_momentum, "schedule": "cosine",
              "crop_area": settings.source_area, "normalize": "source data statistics"}
    sidecar = model.read_sidecar(params) if os.path.isfile(params) else None
    chance = 1.0 / len(SOURCE_CLASSES)
    if sidecar and sidecar.get("recipe") == recipe:
        return _source_record(params, sidecar, run_dir, True, chance)

    data_dir = os.path.join(out, "data", "source")
    _, reused = _synthetic_set(data_dir, "source", train, test, settings.draw_size, seed, quiet)
    log("synthetic source task: %d classes x %d training and %d test pictures, %s %s"
        % (len(SOURCE_CLASSES), train, test, "reusing the ones in" if reused else "drawn into",
           data_dir))
    mean, std = channel_stats(data_dir)
    train_augs, test_augs = augment_specs(settings.image_size, mean, std, settings.source_area)
    _remove(run_dir)  # an earlier pretraining with other settings
    log("pretraining %s from scratch on it: %s, %d px, batch %d, lr %g, momentum %g, cosine "
        "schedule" % (model_name, _plural(settings.source_epochs, "epoch"), settings.image_size,
                      settings.source_batch_size, settings.source_lr, settings.source_momentum))
    config = TrainConfig(data=data_dir, out=run_dir, model=model_name, mode="scratch",
                         epochs=settings.source_epochs, batch_size=settings.source_batch_size,
                         lr=settings.source_lr, momentum=settings.source_momentum,
                         schedule="cosine", warmup_epochs=min(0.5, settings.source_epochs / 2.0),
                         image_size=settings.image_size, train_augs=train_augs,
                         test_augs=test_augs, seed=int(seed), quiet=quiet)
    result = fit(config, log=log)
    sidecar = {"model": model_name, "classes": list(result.classes),
               "source_test_acc": result.final["test_acc"], "chance": chance, "recipe": recipe,
               "pretrain_run": run_dir, "seconds": sum(h["time"] for h in result.history),
               "preprocessing": {"image_size": settings.image_size, "mean": mean, "std": std,
                                 "train_augs": train_augs, "test_augs": test_augs},
               "made_by": provenance()}
    with atomic_path(params) as tmp:
        result.net.save_parameters(tmp)
    write_json(os.path.splitext(params)[0] + ".json", sidecar)
    return _source_record(params, sidecar, run_dir, False, chance)


def _source_record(params, sidecar, run_dir, reused, chance):
    acc = sidecar["source_test_acc"]
    curves = os.path.join(run_dir, "curves.png")
    record = {"kind": "synthetic", "path": params, "reused": reused,
              "label": "a synthetic source model (%s pretrained here on the synthetic source "
                       "task)" % sidecar.get("model", model.DEFAULT_MODEL),
              "source_test_acc": acc, "chance": chance,
              "classes": sidecar["classes"], "recipe": sidecar["recipe"],
              "preprocessing": sidecar["preprocessing"],
              "pretrain_seconds": sidecar.get("seconds"),
              "curves": curves if os.path.isfile(curves) else None}
    if acc < 2 * chance:
        record["warning"] = (
            "the source model's test accuracy, %.3f, is near chance (%.3f for %d classes): its "
            "features carry little, and fine-tuning from it shows little of what pretraining "
            "gives%s" % (acc, chance, len(sidecar["classes"]),
                         " (expected with --quick, which trains it for one short epoch)"
                         if sidecar["recipe"]["epochs"] <= 1 else ""))
    return record


def channel_stats(folder, limit=400):
    """Mean and standard deviation of each RGB channel (0-1 scale) of a folder's training images.

    A synthetic source model is pretrained on pictures normalised with its own
    data's statistics, the way ImageNet models are with ImageNet's; fine-tuning
    from it keeps the same preprocessing, as the book asks ("use the same
    preprocessing as in pretraining"). Both runs of the comparison use it, so
    the comparison stays fair.

    Parameters
    ----------
    folder : str
        An image folder (see :func:`gluon_finetune.data.scan_folder`).
    limit : int
        At most about this many images, evenly spaced, are read.
    """
    import numpy as np

    from ..data import scan_folder
    from ..imageio import read_image

    paths = [p for p, _ in scan_folder(folder).items["train"]]
    total, square, n = np.zeros(3), np.zeros(3), 0
    for path in paths[::max(1, len(paths) // limit)]:
        pixels = read_image(path).reshape(-1, 3).astype(np.float64) / 255.0
        total += pixels.sum(axis=0)
        square += (pixels ** 2).sum(axis=0)
        n += len(pixels)
    mean = total / n
    std = np.sqrt(np.maximum(square / n - mean ** 2, 1e-6))
    return [round(float(v), 4) for v in mean], [round(float(v), 4) for v in std]


def augment_specs(size, mean=None, std=None, area=RESIZED_CROP_SCALE[0]):
    """The book's training and test lists at ``size`` as specs, normalised with ``mean``/``std``.

    Training: random-resized crop (smallest area ``area``, the book's 0.08 by
    default), horizontal flip, to-tensor, normalise; test: shorter side to
    ``size * 256 / 224``, centre crop, to-tensor, normalise. Without ``mean``
    and ``std``, ImageNet's.
    """
    from ..augment import resize_for_crop

    norm = "normalize"
    if mean is not None:
        norm += ":%s:%s" % ("/".join("%g" % v for v in mean), "/".join("%g" % v for v in std))
    crop = ("resized_crop:%d" % size if area == RESIZED_CROP_SCALE[0]
            else "resized_crop:%d:%g-1" % (size, area))
    return ("%s,flip,to_tensor,%s" % (crop, norm),
            "resize:%d,center_crop:%d,to_tensor,%s" % (resize_for_crop(size), size, norm))


# --------------------------------------------------------------------------- steps 3-5


def _previews(out, data_dir, seed):
    """The book's augmentation rows on the built-in picture, and a grid of training images."""
    import mxnet as mx

    from .. import augment
    from ..augment import spec as augspec
    from ..data import show_samples
    from ..data.synthetic import sample_image

    augment.seed_everything(seed)
    rows = [(spec, augspec.parse_spec(spec)) for spec in augspec.BOOK_EXAMPLES]
    img = mx.nd.array(sample_image(seed), dtype="uint8")
    paths = {"augment": os.path.join(out, "augment.png"),
             "samples": os.path.join(out, "samples.png")}
    augment.preview(img, rows, samples=4, out=paths["augment"])
    show_samples(data_dir, out=paths["samples"])
    return paths


def _compare(out, data_dir, augs, source, settings, seed, model_name, model_root, quiet, log):
    from .compare import compare

    config = TrainConfig(data=data_dir, out=os.path.join(out, "compare"), model=model_name,
                         weights=source["path"], model_root=model_root, allow_download=False,
                         epochs=settings.epochs, batch_size=settings.batch_size,
                         image_size=settings.image_size, train_augs=augs["train"],
                         test_augs=augs["test"], seed=int(seed), quiet=quiet)
    return compare(config, log=log)


def _evaluate(out, run, data_dir, settings, quiet, log):
    from ..inference.evaluate import evaluate_run

    result = evaluate_run(run, data_dir, out=os.path.join(out, "evaluation"),
                          mistakes=settings.mistakes, quiet=quiet)
    for line in result.summary().splitlines():
        log(line)
    return result


# --------------------------------------------------------------------------- record


def _plain_summary(summary, out):
    summary = dict(summary)
    summary["path"] = os.path.relpath(summary["path"], out)
    return summary


def _plain_evaluation(evaluation, out):
    return {"accuracy": evaluation.accuracy, "evaluated": evaluation.evaluated,
            "checkpoint": evaluation.checkpoint, "epoch": evaluation.epoch,
            "chosen_on": evaluation.chosen_on, "weights": evaluation.weights,
            "classes": evaluation.classes, "per_class": evaluation.plain["per_class"],
            "confusion": evaluation.plain["confusion"],
            "json": os.path.relpath(evaluation.files["json"], out)}


def _conclusion(record):
    ft, sc = record["runs"]["finetune"], record["runs"]["scratch"]
    diff = ft["test_acc"] - sc["test_acc"]
    lines = ["data: %s" % record["data"]["label"], "source: %s" % record["source"]["label"]]
    if record["source"].get("warning"):
        lines.append("warning: %s" % record["source"]["warning"])
    lines.append("after %s each: fine-tuned test acc %.3f, from scratch %.3f (%s)"
                 % (_plural(ft["epochs"], "epoch"), ft["test_acc"], sc["test_acc"],
                    "fine-tuning ahead by %.1f points" % (100 * diff) if diff > 0
                    else "fine-tuning not ahead" if diff == 0
                    else "scratch ahead by %.1f points" % (-100 * diff)))
    lines.append("report: %s  (%.0f s in all: %s)" % (
        record["report"], record["total_seconds"],
        ", ".join("%s %.0f s" % (k, v) for k, v in record["steps"].items())))
    return lines


def _plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


class _StepTimer:
    """Wall-clock seconds of each named step, in order."""

    def __init__(self):
        self.seconds = {}

    @contextlib.contextmanager
    def __call__(self, name):
        tic = time.time()
        try:
            yield
        finally:
            self.seconds[name] = round(time.time() - tic, 1)


def command_line(prog):
    """``prog`` followed by this process's arguments, quoted for a shell (for the report)."""
    import shlex

    return " ".join([prog] + [shlex.quote(a) for a in sys.argv[1:]])
