"""Which training images an epoch draws: uniform shuffling (the book's) or every class equally.

``--sampler balanced`` is :class:`BalancedSampler`; the loaders
(:mod:`gluon_finetune.data.loader`) use it, and the class weights of the loss
are :mod:`gluon_finetune.training.imbalance`'s.
"""
import numpy as np

from ..constants import SAMPLERS  # noqa: F401 (the choices, named here too)

__all__ = ["SAMPLERS", "BalancedSampler"]


class BalancedSampler:
    """Every class equally often: ``len(labels)`` indices an epoch, ``len / C`` per class.

    Each class's images are taken in a fresh random order, cycling (so an image
    of a small class comes back within the epoch, and one of a large class may
    not come at all), then all are shuffled together. Every draw is NumPy's
    global generator: after ``seed_everything(n)`` the epoch is the same.
    """

    def __init__(self, labels):
        self.labels = np.asarray(labels, dtype=np.int64)
        self.by_class = [np.flatnonzero(self.labels == c) for c in np.unique(self.labels)]

    def __iter__(self):
        n, k = len(self.labels), len(self.by_class)
        per_class = [n // k + (1 if i < n % k else 0) for i in range(k)]
        picked = []
        for members, want in zip(self.by_class, per_class):
            rounds = -(-want // len(members))
            order = np.concatenate([np.random.permutation(members) for _ in range(rounds)])
            picked.append(order[:want])
        indices = np.concatenate(picked) if picked else np.zeros(0, np.int64)
        return iter(np.random.permutation(indices).tolist())

    def __len__(self):
        return len(self.labels)
