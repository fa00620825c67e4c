"""Fine-tuning against training from scratch, as the book's hotdog experiment does.

:func:`compare` trains one configuration twice (fine-tuned, then from scratch)
and writes both runs' curves and a summary table.
"""
import dataclasses
import os
import random

from ..fsutil import write_json
from ..networks import symbol_source
from ..plots import training_curves
from ..training.train import fit

COMPARE_TABLE = "{label:<10} {loss:>8} {train_acc:>10} {test_acc:>9} {best:>9} {time:>9}"


def compare(config, scratch_lr=None, log=print):
    """Train ``config`` twice on the same data: fine-tuned, then from scratch.

    Both runs use the same seed, data, augmentations and epochs; only the
    initialisation and the learning rate differ (the book's 0.01 with a 10x
    head for fine-tuning, 0.1 from scratch, unless given).

    Writes ``OUT/finetune/`` and ``OUT/scratch/`` (two run folders),
    ``OUT/compare.png`` (both runs' curves in one figure) and ``OUT/compare.json``.

    Returns
    -------
    dict
        ``{"finetune": RunResult, "scratch": RunResult, "path": OUT}``.
    """
    config = config.resolved()
    if config.seed is None:
        # One seed for both runs: same shuffles and augmentations, a fair comparison.
        config = dataclasses.replace(config, seed=random.SystemRandom().randrange(2 ** 31))
    out = config.out or os.path.join("runs", "compare")
    results = {}
    for mode in ("finetune", "scratch"):
        log("== %s ==" % ("fine-tuning the pretrained features" if mode == "finetune"
                          else "training the same network from scratch"))
        lr = config.lr if mode == "finetune" else scratch_lr
        finetune = mode == "finetune"
        # Frozen or cached features only mean something with pretrained ones: the
        # scratch run trains every layer.
        run_config = dataclasses.replace(config, mode=mode, lr=lr, out=os.path.join(out, mode),
                                         weights=config.weights if finetune else None,
                                         freeze_features=config.freeze_features and finetune,
                                         freeze_epochs=config.freeze_epochs if finetune else 0,
                                         cache_features=config.cache_features and finetune)
        results[mode] = fit(run_config, log=log)
    histories = {"fine-tune": results["finetune"].history, "scratch": results["scratch"].history}
    training_curves(histories, os.path.join(out, "compare.png"),
                    title="fine-tuning vs training from scratch (%s)" % symbol_source.short_name(config.model))
    summary = {mode: summarize(r) for mode, r in results.items()}
    write_json(os.path.join(out, "compare.json"), summary)
    for line in table(summary):
        log(line)
    if any(s["best_chosen_on"] == "test" for s in summary.values()):
        log("best acc: the best epoch was chosen on the test set (no validation images), an "
            "optimistic estimate; a val/ folder or --val-split chooses it fairly")
    log("curves of both runs: %s" % os.path.join(out, "compare.png"))
    results["path"] = out
    return results


def summarize(result):
    """Final and best numbers of a run, as plain data."""
    final, best = result.final, result.best
    return {"path": result.path, "lr": result.config.lr, "epochs": len(result.history),
            "loss": final["loss"], "train_acc": final["train_acc"], "test_acc": final["test_acc"],
            "best_test_acc": best["test_acc"], "best_epoch": best["epoch"],
            "best_chosen_on": result.chosen_on,
            "time": sum(h["time"] for h in result.history), "history": result.history}


def table(summary):
    """The comparison as text lines (final epoch; best test accuracy; total time)."""
    lines = [COMPARE_TABLE.format(label="run", loss="loss", train_acc="train acc",
                                  test_acc="test acc", best="best acc", time="time")]
    for label, s in summary.items():
        lines.append(COMPARE_TABLE.format(
            label=label, loss="%.4f" % s["loss"], train_acc="%.3f" % s["train_acc"],
            test_acc="%.3f" % s["test_acc"], best="%.3f" % s["best_test_acc"],
            time="%.1f s" % s["time"]))
    return lines
