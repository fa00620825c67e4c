"""One self-contained HTML page about a fine-tune-versus-scratch experiment.

:func:`write_report` turns the record of :func:`gluon_finetune.experiments.demo.run_demo`
(``OUT/demo.json``) into ``OUT/report.html``: plain HTML and CSS, every figure
embedded as a base64 ``data:`` URI, no script, no font, nothing fetched from
anywhere. The page opens from disk in any browser, and keeps working when it is
copied or mailed on its own.

What it shows, top to bottom: the outcome in one sentence; a table of the
numbers (final and best test accuracy, loss, time per run; the source model's
accuracy); both runs' curves in one plot; the fine-tuned network's confusion
matrix, per-class scores and most confident mistakes; the training images and
the book's augmentations; how the run was made (data, source weights, settings,
versions, command, time per step).
"""
import base64
import html
import os

from ..fsutil import atomic_path
from ..runs.selection import checkpoint_label

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #0969da;
        --good: #1a7f37; --bad: #cf222e; --paper: #ffffff; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--paper); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 6px 0; }
.muted { color: var(--muted); }
.headline { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
            padding: 14px 18px; margin: 16px 0; font-size: 17px; }
.headline b.good { color: var(--good); }
.headline b.bad { color: var(--bad); }
.warning { border: 1px solid var(--bad); color: var(--bad); border-radius: 8px;
           padding: 10px 14px; margin: 12px 0; }
table { border-collapse: collapse; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 12px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: var(--panel); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 8px 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
       background: var(--panel); padding: 1px 4px; border-radius: 4px; }
figure { margin: 10px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.6fr); gap: 20px; align-items: start; }
@media (max-width: 760px) { .pair { grid-template-columns: 1fr; } }
"""

#: Captions of the figures, by their key in the record's ``images``.
CAPTIONS = {
    "compare": "Loss (left) and accuracy (right) per epoch of both runs: dashed lines are "
               "training accuracy, solid lines with squares test accuracy.",
    "confusion": "Confusion matrix of the fine-tuned network (best checkpoint) on the test "
                 "images: rows are the true classes, columns the predicted ones.",
    "mistakes": "The fine-tuned network's most confident mistakes.",
    "samples": "Training images, as the book shows them: the first ones of the first class "
               "on top, the last ones of the last class below.",
    "augment": "The book's augmentations, four random draws each, on a built-in picture: "
               "one row per augmentation spec.",
    "source_curves": "Pretraining the source model from scratch on the synthetic source task.",
}


def write_report(path, record):
    """Write the HTML page for ``record`` to ``path`` atomically; return ``path``.

    Parameters
    ----------
    path : str
        Where to write, normally ``OUT/report.html``. Figures are read from the
        paths in ``record["images"]``, relative to this file's folder.
    record : dict
        The record of :func:`gluon_finetune.experiments.demo.run_demo`.
    """
    folder = os.path.dirname(os.path.abspath(path))
    page = render(record, lambda rel: _data_uri(os.path.join(folder, rel)))
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(page)
    return path


def render(record, image_src):
    """The page as a string; ``image_src(relative_path)`` gives each ``<img>``'s ``src``."""
    runs = record["runs"]
    ft, sc = runs["finetune"], runs["scratch"]
    source, data = record["source"], record["data"]
    images = record.get("images", {})
    parts = ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             # An empty icon: without it a browser asks the server (or the disk) for favicon.ico.
             '<link rel="icon" href="data:,">',
             "<title>gluon-finetune: fine-tuning vs training from scratch</title>",
             "<style>%s</style>" % STYLE, "</head>", "<body>", "<main>"]
    parts.append("<h1>Fine-tuning vs training from scratch</h1>")
    parts.append('<p class="muted">The hotdog experiment of <i>Dive into Deep Learning</i> '
                 "(fine-tuning), run with <code>gluon-finetune</code> on MXNet/Gluon.</p>")
    parts.append(_headline(ft, sc, data, source))
    if source.get("warning"):
        parts.append('<p class="warning">Warning: %s.</p>' % _e(source["warning"]))
    if data.get("kind") == "synthetic":
        parts.append("<p>The data are synthetic pictures drawn by <code>"
                     "gluon_finetune.data.synthetic</code> (%s), a smaller stand-in for the "
                     "book's 1000 + 1000 training and 400 + 400 test photos, so that the "
                     "whole experiment runs offline in minutes. "
                     "The numbers are about these pictures, not about real hotdogs.</p>"
                     % _e(data["label"]))

    parts.append("<h2>Numbers</h2>")
    parts.append(_numbers_table(ft, sc))
    parts.append(_source_line(source))

    parts.append("<h2>Training curves</h2>")
    parts.append(_figure(images, "compare", image_src, "training curves of both runs"))

    evaluation = record.get("evaluation")
    if evaluation:
        parts.append("<h2>The fine-tuned network on the test images</h2>")
        # Records written before validation sets existed chose "best" on the test set.
        chosen = evaluation.get("chosen_on", "test" if evaluation["checkpoint"] == "best" else None)
        parts.append("<p>Evaluated: %s, %s (epoch %s): accuracy <b>%.3f</b>.</p>"
                     % (_e(evaluation["evaluated"]),
                        _e(checkpoint_label(evaluation["checkpoint"], chosen,
                                            evaluation.get("weights", "raw"))),
                        _e(evaluation["epoch"]), evaluation["accuracy"]))
        parts.append('<div class="pair">')
        parts.append("<div>%s%s</div>" % (
            _figure(images, "confusion", image_src, "confusion matrix"),
            _class_table(evaluation["per_class"])))
        parts.append("<div>%s</div>" % _figure(images, "mistakes", image_src,
                                               "most confident mistakes"))
        parts.append("</div>")

    parts.append("<h2>Data and augmentation</h2>")
    parts.append(_figure(images, "samples", image_src, "training images"))
    parts.append(_figure(images, "augment", image_src, "augmentation grid"))

    if "source_curves" in images:
        parts.append("<h2>The source model</h2>")
        parts.append(_figure(images, "source_curves", image_src, "source pretraining curves"))

    parts.append("<h2>How this run was made</h2>")
    parts.append(_how(record))
    parts.extend(["</main>", "</body>", "</html>", ""])
    return "\n".join(parts)


# --------------------------------------------------------------------------- pieces


def _e(value):
    return html.escape(str(value), quote=True)


def _data_uri(path):
    with open(path, "rb") as f:
        return "data:image/png;base64," + base64.b64encode(f.read()).decode("ascii")


def _figure(images, key, image_src, alt):
    rel = images.get(key)
    if not rel:
        return ""
    return ('<figure><img src="%s" alt="%s"><figcaption>%s <span class="muted">(%s)</span>'
            "</figcaption></figure>"
            % (image_src(rel), _e(alt), _e(CAPTIONS.get(key, "")), _e(rel)))


def _headline(ft, sc, data, source):
    diff = ft["test_acc"] - sc["test_acc"]
    if diff > 0:
        verdict = '<b class="good">fine-tuning ahead by %.1f points</b>' % (100 * diff)
    elif diff < 0:
        verdict = '<b class="bad">training from scratch ahead by %.1f points</b>' % (-100 * diff)
    else:
        verdict = "<b>a tie</b>"
    return ('<div class="headline">After %d epochs each, the fine-tuned network reaches '
            "<b>%.3f</b> test accuracy and the same network trained from scratch <b>%.3f</b>: "
            "%s (best epochs%s: %.3f and %.3f).<br><span class=\"muted\">Data: %s. Source "
            "weights: %s.</span></div>"
            % (ft["epochs"], ft["test_acc"], sc["test_acc"], verdict,
               ", chosen on the test set" if ft.get("best_chosen_on", "test") == "test" else "",
               ft["best_test_acc"],
               sc["best_test_acc"], _e(data["label"]), _e(source["label"])))


def _numbers_table(ft, sc):
    rows = [("fine-tuned", ft), ("from scratch", sc)]
    head = ("<table><thead><tr><th>run</th><th>learning rate</th><th>final test acc</th>"
            "<th>best test acc (epoch)</th><th>final train acc</th><th>final loss</th>"
            "<th>training time</th></tr></thead><tbody>")
    body = "".join(
        "<tr><td>%s</td><td>%s</td><td>%.3f</td><td>%.3f (%d)</td><td>%.3f</td><td>%.4f</td>"
        "<td>%.1f s</td></tr>" % (label, _e("%g" % s["lr"] + (" (head x10)" if label == "fine-tuned"
                                                              else "")),
                                  s["test_acc"], s["best_test_acc"], s["best_epoch"],
                                  s["train_acc"], s["loss"], s["time"])
        for label, s in rows)
    note = ""
    if any(s.get("best_chosen_on", "test") == "test" for _, s in rows):
        note = ('<p class="muted">The best epoch was chosen on the test set (the runs had no '
                "validation images): its test accuracy is an optimistic estimate.</p>")
    return head + body + "</tbody></table>" + note


def _source_line(source):
    acc = source.get("source_test_acc")
    if source.get("kind") == "synthetic":
        return ("<p>Source model: pretrained here from scratch on the %d-class synthetic source "
                "task (%s); its accuracy on that task's test pictures is <b>%.3f</b> (chance: "
                "%.3f)%s.</p>" % (len(source["classes"]), _e(", ".join(source["classes"])), acc,
                                  source["chance"],
                                  ", reused from an earlier run" if source.get("reused") else ""))
    if source.get("kind") == "imagenet":
        return "<p>Source model: %s, trained on ImageNet's 1000 classes.</p>" % _e(source["label"])
    return "<p>Source model: %s%s.</p>" % (
        _e(source["label"]), "" if acc is None else ", source test accuracy %.3f" % acc)


def _class_table(per_class):
    rows = "".join("<tr><td>%s</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%d</td></tr>"
                   % (_e(c["class"]), c["precision"], c["recall"], c["f1"], c["support"])
                   for c in per_class)
    return ("<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th>"
            "<th>images</th></tr></thead><tbody>%s</tbody></table>" % rows)


def _how(record):
    settings = record["settings"]
    data, source = record["data"], record["source"]
    made = record.get("made_by", {})
    items = []
    if record.get("command"):
        items.append(("command", "<code>%s</code>" % _e(record["command"])))
    data_text = _e(data["label"]) + " &mdash; <code>%s</code>" % _e(data["path"])
    if data.get("kind") == "synthetic":
        data_text += "%s; the real hotdog set was not in <code>%s</code>" % (
            " (reused from an earlier run)" if data.get("reused") else "", _e(data["looked_in"]))
    items.append(("data", data_text))
    src_text = _e(source["label"])
    if source.get("path"):
        src_text += " &mdash; <code>%s</code>" % _e(source["path"])
    if source.get("kind") == "synthetic":
        r = source["recipe"]
        src_text += ("; pretrained from scratch for %d epochs at %d px, batch %d, lr %g, momentum "
                     "%g, cosine schedule, on %d classes x %d pictures (<code>%s</code>)%s; the "
                     "ImageNet weights were not at <code>%s</code>"
                     % (r["epochs"], r["image_size"], r["batch_size"], r["lr"], r["momentum"],
                        len(source["classes"]), r["counts"][0],
                        _e(source["preprocessing"]["train_augs"]),
                        " in %.0f s" % source["pretrain_seconds"]
                        if source.get("pretrain_seconds") else "", _e(source["looked_in"])))
    items.append(("source weights", src_text))
    items.append(("training", "resnet18_v2 (both runs), %d epochs, batch %d, %d px crops, SGD "
                  "without momentum, weight decay 0.001, seed %s; fine-tuned at lr 0.01 with the "
                  "new output layer at 10x, from scratch at lr 0.1 (the book's settings)"
                  % (settings["epochs"], settings["batch_size"], settings["image_size"],
                     _e(record.get("seed")))))
    augs = record.get("augs")
    if augs:
        items.append(("augmentation", "training <code>%s</code>; test <code>%s</code> (the book's "
                      "lists, normalised with %s)" % (_e(augs["train"]), _e(augs["test"]),
                                                      _e(augs["normalize"]))))
    items.append(("flavour", _e(settings["name"])))
    steps = record.get("steps", {})
    if steps:
        items.append(("time per step", _e(", ".join("%s %.1f s" % kv for kv in steps.items()))))
    if record.get("total_seconds") is not None:
        items.append(("total time", "%.1f s" % record["total_seconds"]))
    versions = ", ".join("%s %s" % (k, made[k])
                         for k in ("gluon_finetune", "mxnet", "numpy", "python") if k in made)
    if versions:
        items.append(("versions", _e(versions)))
    if made.get("platform"):
        items.append(("machine", _e("%s, %s" % (made.get("host", "?"), made["platform"]))))
    if made.get("started"):
        items.append(("started", _e(made["started"])))
    items.append(("files", "run folders <code>%s</code> and <code>%s</code>, evaluation "
                  "<code>%s</code>, the whole record <code>demo.json</code>"
                  % (_e(record["runs"]["finetune"]["path"]), _e(record["runs"]["scratch"]["path"]),
                     _e(record.get("evaluation", {}).get("json", "")))))
    return "<dl>%s</dl>" % "".join("<dt>%s</dt><dd>%s</dd>" % (k, v) for k, v in items)
