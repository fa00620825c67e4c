"""Scores of predictions, in NumPy alone: confusion matrix, per-class precision, recall and F1.

:func:`scores` turns softmax outputs and true labels into the plain data that
``evaluate`` prints and writes to ``evaluation.json``; :func:`confusion_matrix`
and :func:`per_class_metrics` are its parts.
"""
import numpy as np


def confusion_matrix(labels, predictions, num_classes):
    """Counts of (true class, predicted class): ``cm[i, j]`` images of class i predicted as j.

    Parameters
    ----------
    labels, predictions : sequences of int
        True and predicted class indices, one per image.
    num_classes : int
    """
    labels = np.asarray(labels, dtype=np.int64).ravel()
    predictions = np.asarray(predictions, dtype=np.int64).ravel()
    if labels.shape != predictions.shape:
        raise ValueError("labels and predictions differ in length: %d vs %d"
                         % (labels.size, predictions.size))
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError("%s must lie in [0, %d)" % (name, num_classes))
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, predictions), 1)
    return cm


def per_class_metrics(cm):
    """Precision, recall, F1 and support of every class from a confusion matrix.

    Precision of class j is ``cm[j, j] / cm[:, j].sum()`` (of the images called
    j, the share that are j), recall ``cm[j, j] / cm[j, :].sum()`` (of the
    images of class j, the share found), F1 their harmonic mean. A ratio with a
    zero denominator (a class never predicted, or absent) is 0, as in
    scikit-learn's ``zero_division=0``.

    Returns
    -------
    dict of numpy.ndarray
        ``precision``, ``recall``, ``f1`` (float) and ``support`` (int: images
        per true class), each of length ``num_classes``.
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return {"precision": precision, "recall": recall, "f1": f1,
            "support": actual.astype(np.int64)}


def scores(probs, labels, classes):
    """Accuracy, confusion matrix and per-class metrics of softmax outputs ``probs``.

    Parameters
    ----------
    probs : array (N, C)
    labels : array (N,) of int
    classes : list of str

    Returns
    -------
    dict
        Plain data: ``accuracy``, ``confusion`` (list of lists, rows = true
        class), ``per_class`` (one dict per class: name, precision, recall, f1,
        support), ``macro`` (unweighted means of precision, recall, f1).
    """
    probs = np.asarray(probs)
    labels = np.asarray(labels, dtype=np.int64)
    preds = probs.argmax(axis=1) if len(probs) else np.zeros(0, np.int64)
    cm = confusion_matrix(labels, preds, len(classes))
    m = per_class_metrics(cm)
    per_class = [{"class": name, "precision": float(m["precision"][i]), "recall": float(m["recall"][i]),
                  "f1": float(m["f1"][i]), "support": int(m["support"][i])}
                 for i, name in enumerate(classes)]
    return {"accuracy": float((preds == labels).mean()) if len(labels) else 0.0,
            "correct": int((preds == labels).sum()), "images": int(len(labels)),
            "confusion": cm.tolist(), "per_class": per_class,
            "macro": {k: float(m[k].mean()) for k in ("precision", "recall", "f1")}}
