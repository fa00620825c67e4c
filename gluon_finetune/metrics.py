"""Scores of predictions, in NumPy alone: confusion matrix, per-class precision, recall and F1,
balanced accuracy and top-k accuracy.

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


#: The k of the top-k accuracy ``evaluate`` reports (GluonCV's and torchvision's top-5).
TOP_K = 5


def balanced_accuracy(cm):
    """The mean recall of the classes that have images (scikit-learn's ``balanced_accuracy_score``).

    On a 9:1 folder a network that always says the big class scores 0.9
    accuracy and 0.5 balanced accuracy.
    """
    cm = np.asarray(cm, dtype=np.float64)
    actual = cm.sum(axis=1)
    present = actual > 0
    if not present.any():
        return 0.0
    return float((np.diag(cm)[present] / actual[present]).mean())


def top_k_accuracy(probs, labels, k=TOP_K):
    """The share of images whose true class is among the ``k`` most probable (k capped at C)."""
    probs = np.asarray(probs)
    labels = np.asarray(labels, dtype=np.int64)
    if not len(labels):
        return 0.0
    k = min(int(k), probs.shape[1])
    # argpartition: the k largest of each row, in no particular order (ties: any k of them)
    top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


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
        Plain data: ``accuracy``, ``balanced_accuracy`` (the mean recall of the
        classes present), ``top_k`` (``{"k": 5, "accuracy": ...}``, k capped at
        the number of classes), ``confusion`` (list of lists, rows = true
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
    k = min(TOP_K, len(classes))
    return {"accuracy": float((preds == labels).mean()) if len(labels) else 0.0,
            "correct": int((preds == labels).sum()), "images": int(len(labels)),
            "balanced_accuracy": balanced_accuracy(cm),
            "top_k": {"k": k, "accuracy": top_k_accuracy(probs, labels, k) if len(labels) else 0.0},
            "confusion": cm.tolist(), "per_class": per_class,
            "macro": {k: float(m[k].mean()) for k in ("precision", "recall", "f1")}}
