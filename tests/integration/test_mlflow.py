"""--mlflow: a run logged to a real MLflow tracking server on 127.0.0.1, read back with MLflow's client."""
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest
from run_helpers import StopAfter, quiet

from gluon_finetune.data import scan_folder
from gluon_finetune.distributed.launch import free_port
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit, resume

from conftest import ROOT, assert_user_error, run_cli_each

#: One pytest process runs the whole module (`--dist loadgroup`): its server starts once.
pytestmark = pytest.mark.xdist_group("mlflow")

#: The tracking server's own environment (`make test` sets it up: MLflow's server needs
#: SQLAlchemy, Flask and more that the client the runs log with does not).
SERVER = os.path.join(ROOT, ".venv-mlflow", "bin", "mlflow")
#: Offline and quick: no telemetry, no background job runner, a client that does not retry.
QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ``mlflow server`` on a free loopback port, SQLite behind it; its URI."""
    pytest.importorskip("mlflow")
    if not os.path.isfile(SERVER):
        pytest.skip("no MLflow server environment at %s (`make test` sets it up)" % SERVER)
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen(
        [SERVER, "server", "--backend-store-uri", "sqlite:///%s" % (folder / "mlflow.db"),
         "--artifacts-destination", str(folder / "artifacts"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env=dict(os.environ, **QUIET_MLFLOW))
    uri = "http://127.0.0.1:%d" % port
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, (folder / "server.log").read_text()
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def test_a_run_and_its_resume_fill_one_mlflow_run(server, tiny_hotdog, tiny_source, tmp_path,
                                                  monkeypatch):
    from mlflow.tracking import MlflowClient

    for key, value in QUIET_MLFLOW.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "tests")
    out = str(tmp_path / "run")
    config = TrainConfig(data=tiny_hotdog, out=out, weights=tiny_source, epochs=2, batch_size=8,
                         image_size=32, seed=4, quiet=True, recipe="book", mlflow=server,
                         mlflow_weights=True)
    with pytest.raises(KeyboardInterrupt):
        fit(config, log=StopAfter(1))
    client = MlflowClient(tracking_uri=server)
    with open(os.path.join(out, "mlflow.json")) as f:
        run_id = json.load(f)["run_id"]
    assert client.get_run(run_id).info.status == "KILLED"
    result = resume(out, log=quiet)

    run = client.get_run(run_id)
    experiment = client.get_experiment_by_name("tests")
    assert run.info.experiment_id == experiment.experiment_id and run.info.status == "FINISHED"
    assert run.info.run_name == "run"
    assert [r.info.run_id for r in client.search_runs([experiment.experiment_id])] == [run_id]
    params = run.data.params
    assert (params["epochs"], params["batch_size"], params["model"], params["seed"]) == \
        ("2", "8", "resnet18_v2", "4")
    assert params["mlflow"] == server and "quiet" not in params
    tags = run.data.tags
    import gluon_finetune

    assert tags["gluon_finetune.version"] == gluon_finetune.__version__
    assert tags["data.fingerprint"] == scan_folder(tiny_hotdog).fingerprint()
    assert tags["run_folder"] == os.path.abspath(out)
    # Per epoch, with the epoch as the step, the resumed epoch once: the history's own numbers.
    for key in ("test_acc", "loss", "train_acc"):
        history = client.get_metric_history(run_id, key)
        assert [(m.step, m.value) for m in history] == [(h["epoch"], pytest.approx(h[key]))
                                                        for h in result.history]
    files = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.json", "history.csv", "history.jsonl", "log.txt", "curves.png",
            "confusion_matrix.png", "checkpoints"} <= files
    (weights,) = client.list_artifacts(run_id, "checkpoints")
    local = client.download_artifacts(run_id, "history.csv", str(tmp_path))
    with open(local) as f, open(os.path.join(out, "history.csv")) as g:
        assert f.read() == g.read()
    assert weights.path.endswith(".params") and weights.file_size > 1000


def test_fingerprint_follows_the_images_not_the_place(tiny_hotdog, tmp_path):
    import shutil

    copy = str(tmp_path / "copy")
    shutil.copytree(tiny_hotdog, copy)
    assert scan_folder(copy).fingerprint() == scan_folder(tiny_hotdog).fingerprint()
    victim = os.path.join(copy, "train", "hotdog", sorted(os.listdir(os.path.join(copy, "train", "hotdog")))[0])
    os.remove(victim)
    assert scan_folder(copy).fingerprint() != scan_folder(tiny_hotdog).fingerprint()


def test_mlflow_errors_name_the_store_or_the_missing_package(tiny_hotdog, tiny_source, tmp_path):
    pytest.importorskip("mlflow")
    fake = tmp_path / "fake"
    (fake / "mlflow").mkdir(parents=True)
    (fake / "mlflow" / "__init__.py").write_text("raise ImportError('no mlflow here')\n")
    common = ["train", "--data", tiny_hotdog, "--weights", tiny_source, "--image-size", "32",
              "--batch-size", "8", "--epochs", "1", "--recipe", "book", "--quiet"]
    dead = "http://127.0.0.1:%d" % free_port()   # nothing listens there
    (unreachable,) = run_cli_each(common + ["--out", str(tmp_path / "a"), "--mlflow", dead],
                                  env=QUIET_MLFLOW)
    assert_user_error(unreachable, "--mlflow: cannot log to the MLflow store", dead)
    (missing,) = run_cli_each(common + ["--out", str(tmp_path / "b"), "--mlflow"],
                              env=dict(QUIET_MLFLOW, PYTHONPATH=str(fake)))
    assert_user_error(missing, "--mlflow needs MLflow", "gluon-finetune[mlflow]")
    assert not os.path.exists(tmp_path / "b")   # refused before a run folder exists
