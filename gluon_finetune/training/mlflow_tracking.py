"""MLflow for a run: a callback of the epoch loop (``--mlflow [URI]``).

MLflow's own Gluon autologging cannot see this loop (``mlflow.gluon.autolog`` hooks
``gluon.contrib.estimator`` only, and is deprecated since MLflow 2.5), so the run is
logged through MLflow's tracking client, an optional extra:
``pip install "gluon-finetune[mlflow]"``.

- at the start: the resolved settings as parameters, and tags: the project's
  version, the data's fingerprint (which images are in which split) and the run folder;
- per epoch: every number of the epoch's record as a metric, with the epoch as its step;
- at the end: the run folder's files as artifacts (``config.json``, ``history.csv``,
  ``history.jsonl``, ``log.txt``, ``curves.png``), the test confusion matrix, and the
  best weights when asked (``--mlflow-weights``); then the run is marked finished
  (killed after Ctrl-C).

The store is ``URI``, else ``MLFLOW_TRACKING_URI``, else MLflow's own default (MLflow
3: ``sqlite:///mlflow.db`` in the working folder, artifacts under ``./mlruns``). The
experiment is ``MLFLOW_EXPERIMENT_NAME``, else ``gluon-finetune``. A resumed run
continues the same MLflow run (its id is kept in ``RUN/mlflow.json``).
"""
import os
import tempfile
import time

from ..errors import UserError, first_line
from ..fsutil import read_json, write_json
from .loop import Callback

__all__ = ["MLflow", "check_available", "EXPERIMENT"]

INSTALL = ('--mlflow needs MLflow, which is not installed; pip install "gluon-finetune[mlflow]" '
           '(or pip install mlflow)')
#: The experiment runs go to unless MLFLOW_EXPERIMENT_NAME names another.
EXPERIMENT = "gluon-finetune"
#: The run folder's file that remembers the MLflow run (so a resume continues it).
RECORD = "mlflow.json"
_FILES = ("config.json", "history.csv", "history.jsonl", "log.txt", "curves.png")


def check_available(uri=None):
    """Refuse ``--mlflow`` early, before a run folder exists: MLflow missing, or the
    store ``uri`` not answering (one cheap query)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UserError(INSTALL) from None
    client = None
    # MLflow retries a request 7 times with growing pauses, minutes for a mistyped URI;
    # the probe asks once more at most (the run's own requests keep MLflow's retries).
    unset = "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    if unset:
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "1"
    try:
        client = MlflowClient(tracking_uri=_uri(uri))
        client.search_experiments(max_results=1)
    except Exception as err:
        raise UserError("--mlflow: cannot log to the MLflow store %s: %s" % (
            client.tracking_uri if client else uri, first_line(err))) from None
    finally:
        if unset:
            del os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]


def _uri(uri):
    """None (MLflow's choice: MLFLOW_TRACKING_URI, else its default) for ``auto``."""
    return None if uri in (None, "", "auto") else uri


def _params(config):
    """The settings as MLflow parameters: strings, at most MLflow's 6000 characters each."""
    out = {}
    for key, value in config.to_dict().items():
        if key in ("quiet",):
            continue
        text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        out[key] = text[:6000]
    return out


class MLflow(Callback):
    """Log a run to the MLflow tracking store ``uri`` (see the module docstring).

    Parameters
    ----------
    uri : str, optional
        A tracking URI (``http://127.0.0.1:5000``, ``sqlite:///mlflow.db``, ...);
        None or ``"auto"``: ``MLFLOW_TRACKING_URI``, else MLflow's default.
    log_weights : bool
        Also upload the best checkpoint's weights (``checkpoints/``).
    """

    def __init__(self, uri=None, log_weights=False):
        self.uri = _uri(uri)
        self.log_weights = log_weights
        self.client, self.run_id = None, None

    def on_run_start(self, loop):
        from mlflow.tracking import MlflowClient

        from .. import __version__

        try:
            self.client = MlflowClient(tracking_uri=self.uri)
            record = os.path.join(loop.run.path, RECORD)
            if loop.start_epoch and os.path.isfile(record):
                self.run_id = read_json(record)["run_id"]
                self.client.update_run(self.run_id, status="RUNNING")
                return
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
            experiment = self.client.get_experiment_by_name(name)
            experiment_id = (experiment.experiment_id if experiment is not None
                             else self.client.create_experiment(name))
            tags = {"gluon_finetune.version": __version__,
                    "data.fingerprint": loop.data.report.fingerprint(),
                    "run_folder": loop.run.path, "mlflow.source.name": "gluon-finetune"}
            run = self.client.create_run(experiment_id, run_name=os.path.basename(loop.run.path),
                                         tags=tags)
        except Exception as err:  # a store that cannot be reached: say which, before epoch 1
            raise UserError("--mlflow: cannot log to the MLflow store %s: %s" % (
                self.client.tracking_uri if self.client else self.uri, first_line(err))) from None
        self.run_id = run.info.run_id
        write_json(record, {"run_id": self.run_id, "tracking_uri": self.client.tracking_uri,
                            "experiment_id": experiment_id})
        from mlflow.entities import Param

        self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in
                                                   _params(loop.config).items()])
        loop.say("mlflow: run %s in experiment %s at %s" % (self.run_id, name,
                                                            self.client.tracking_uri))

    def on_epoch_end(self, loop):
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, loop.epoch) for key, value in loop.record.items()
                   if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool)]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_run_end(self, loop):
        for name in _FILES:
            path = os.path.join(loop.run.path, name)
            if os.path.isfile(path):
                self.client.log_artifact(self.run_id, path)
        self._confusion(loop)
        if self.log_weights and loop.history:
            path, _, _ = loop.run.weights()
            self.client.log_artifact(self.run_id, path, "checkpoints")
        self.client.set_terminated(self.run_id, "FINISHED")

    def _confusion(self, loop):
        from .. import plots
        from .scoring import accuracy

        _, cm = accuracy(loop.net, loop.data.test, loop.ctxs, confusion=True)
        with tempfile.TemporaryDirectory() as tmp:  # drawn for MLflow only: nothing in the run folder
            path = os.path.join(tmp, "confusion_matrix.png")
            plots.confusion_matrix(cm, loop.data.classes, out=path,
                                   title="test images, the network after epoch %d" % loop.epoch)
            self.client.log_artifact(self.run_id, path)

    def on_interrupt(self, loop):
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, "KILLED")
