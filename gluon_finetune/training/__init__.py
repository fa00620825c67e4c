"""Training: the options, the recipes, the epoch loop and its hooks.

Owns :class:`~gluon_finetune.training.config.TrainConfig` and ``config.yaml``
(``config``, ``config_file``), the recipes and schedules, the epoch loop
(``loop``, ``epoch``) and every hook of it (``callbacks``: EMA, head-first
epochs, cached features, batch mixes, evaluation, checkpoints, early and
divergence stops, ``dashboards``, ``mlflow_tracking``), ``fit`` and ``resume``
(``train``), class weights (``imbalance``), layer groups (``stages``), cached
features (``features``), the per-epoch accuracy (``scoring``) and the learning
rate finder (``lrfind``).

May import: ``networks``, ``distributed``, ``runs``, ``data``, ``augment`` and the
leaves. Not ``inference``, ``experiments`` or ``cli``.
"""
