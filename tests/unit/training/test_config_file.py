"""Settings from files (train --config, --print-config) and progress where no bar shows."""
import json
import os
import sys
import types

import pytest
import yaml

from gluon_finetune import progress
from gluon_finetune.errors import UserError
from gluon_finetune.training import config_file

from conftest import assert_user_error, run_cli_each


def test_a_file_sets_fields_by_their_config_json_names():
    checked = config_file.check({"batch-size": 16, "lr": 1, "step_epochs": [3, 4],
                                 "freeze_features": True, "seed": None})
    assert checked == {"batch_size": 16, "lr": 1.0, "step_epochs": [3, 4],
                       "freeze_features": True, "seed": None}
    assert isinstance(checked["lr"], float)


@pytest.mark.parametrize("data, fragments", [
    ({"epoch": 3}, ["unknown key 'epoch'", "did you mean 'epochs'"]),
    ({"epochs": "3"}, ["epochs must be a whole number", "'3'"]),
    ({"epochs": 2.5}, ["epochs must be a whole number"]),
    ({"epochs": True}, ["epochs must be a whole number"]),   # YAML's true is not 1
    ({"amp": 1}, ["amp must be true or false"]),
    ({"lr": "fast"}, ["lr must be a number or null"]),
    ({"step_epochs": "3,4"}, ["step_epochs must be a list of whole numbers"]),
    ({"onecycle_momentum": [0.95, "x"]}, ["onecycle_momentum must be a list of numbers"]),
])
def test_a_file_with_a_wrong_key_or_type_is_refused_by_name(data, fragments):
    with pytest.raises(UserError) as err:
        config_file.check(data, "--config f.yaml")
    assert str(err.value).startswith("--config f.yaml: ")
    for fragment in fragments:
        assert fragment in str(err.value)


def test_print_config_precedence_and_refusals_on_the_command_line(tmp_path):
    (tmp_path / "base.yaml").write_text("data: photos\nepochs: 3\nbatch-size: 16\nschedule: cosine\n"
                                        "recipe: book\nfreeze_features: true\n")
    (tmp_path / "typo.yaml").write_text("epohcs: 3\n")
    (tmp_path / "choice.yaml").write_text("schedule: cos\n")
    (tmp_path / "broken.yaml").write_text("schedule: [cosine\n")
    (tmp_path / "list.json").write_text("[1, 2]")
    base = str(tmp_path / "base.yaml")
    procs = run_cli_each(
        ["train", "--config", base, "--print-config"],
        ["train", "--config", base, "--print-config", "--epochs", "7", "--no-freeze-features"],
        ["train", "--config", str(tmp_path / "typo.yaml"), "--print-config"],
        ["train", "--config", str(tmp_path / "choice.yaml"), "--print-config"],
        ["train", "--config", str(tmp_path / "broken.yaml"), "--print-config"],
        ["train", "--config", str(tmp_path / "list.json"), "--print-config"],
        ["train", "--config", str(tmp_path / "missing.yaml"), "--print-config"],
        ["train", "--config", str(tmp_path), "--print-config"],
        ["train", "--resume", str(tmp_path), "--config", base],
        ["lr-find", "--config", str(tmp_path / "typo.yaml")],
        cwd=str(tmp_path))
    from_file, overridden = (yaml.safe_load(p.stdout) for p in procs[:2])
    assert procs[0].returncode == 0 and procs[1].returncode == 0, procs[0].stderr + procs[1].stderr
    # The file's values, the book's defaults for the rest, resolved (lr filled in).
    assert (from_file["data"], from_file["epochs"], from_file["batch_size"]) == ("photos", 3, 16)
    assert (from_file["schedule"], from_file["freeze_features"], from_file["lr"]) == ("cosine", True, 0.01)
    assert from_file["wd"] == 0.001 and from_file["momentum"] == 0.0
    # The command line wins over the file, booleans included.
    assert overridden == dict(from_file, epochs=7, freeze_features=False)
    assert_user_error(procs[2], "typo.yaml", "unknown key 'epohcs'", "did you mean 'epochs'")
    assert_user_error(procs[3], "choice.yaml", "schedule must be one of", "cosine", "'cos'")
    assert_user_error(procs[4], "broken.yaml", "not valid YAML")
    assert_user_error(procs[5], "list.json", "must hold a mapping")
    assert_user_error(procs[6], "missing.yaml", "cannot read")
    assert_user_error(procs[7], "a folder without config.json")
    assert_user_error(procs[8], "--resume takes", "--config RUN --out NEW")
    assert_user_error(procs[9], "unknown key 'epohcs'")


def test_a_run_repeats_from_its_own_config_json_and_shows_progress_in_its_log(
        tiny_hotdog, tiny_source, tmp_path):
    first, again, longer = (str(tmp_path / name) for name in ("first", "again", "longer"))
    common = ["--weights", tiny_source, "--image-size", "32", "--batch-size", "8"]
    procs = run_cli_each(
        ["train", "--data", tiny_hotdog, "--out", first, "--epochs", "1", "--log-interval", "1",
         "--recipe", "book", "--seed", "5"] + common,
        ["train", "--config", first, "--out", again],        # nothing changed
        ["train", "--config", os.path.join(first, "config.json"), "--out", longer, "--epochs", "2"],
        ["train", "--config", first],                         # no --out: its own folder is not reused
        cwd=str(tmp_path))
    for proc in procs[:3]:
        assert proc.returncode == 0, proc.stderr
    # Where stderr is not a terminal, a line per batch (--log-interval 1) but the last.
    lines = [line for line in procs[0].stderr.splitlines() if line.startswith("epoch 1/1: batch")]
    assert [line.split(",")[0] for line in lines] == ["epoch 1/1: batch %d/4" % b for b in (1, 2, 3)]
    assert all("img/s" in line and "left" in line and "loss " in line for line in lines)
    with open(os.path.join(first, "log.txt")) as f:
        assert [line for line in f.read().splitlines() if line.startswith("epoch 1/1: batch")] == lines

    def record(run):
        with open(os.path.join(run, "config.json")) as f:
            config = json.load(f)["config"]
        with open(os.path.join(run, "history.jsonl")) as f:
            history = [json.loads(line) for line in f]
        return config, history

    config, history = record(first)
    config2, history2 = record(again)
    config3, history3 = record(longer)
    assert dict(config2, out=None) == dict(config, out=None)
    assert dict(config3, out=None, epochs=1) == dict(config, out=None)
    keys = ("loss", "train_acc", "test_acc")
    assert [h[k] for h in (history[0], history2[0], history3[0]) for k in keys] == \
        [history[0][k] for k in keys] * 3
    assert len(history3) == 2
    # A run's own folder is not overwritten: the repeat without --out writes a new one.
    assert procs[3].returncode == 0, procs[3].stderr
    (fresh,) = os.listdir(os.path.join(tmp_path, "runs"))
    config4, history4 = record(os.path.join(tmp_path, "runs", fresh))
    assert dict(config4, out=None) == dict(config, out=None)
    assert [history4[0][k] for k in keys] == [history[0][k] for k in keys]


def test_progress_lines_come_by_batches_or_by_time():
    now = [0.0]
    written = []
    lines = progress.ProgressLines(10, "epoch 1/2", written.append, seconds=5, clock=lambda: now[0])
    now[0] = 4.0
    assert not lines.due(3)
    now[0] = 5.0
    assert lines.due(4)
    lines.line(4, 128, 0.5)
    assert written == ["epoch 1/2: batch 4/10, loss 0.5000, 25.6 img/s, 0:00:08 left"]
    assert not lines.due(5)
    now[0] = 100.0
    assert not lines.due(10)   # the epoch's own line follows the last batch
    every = progress.ProgressLines(10, "e", written.append, every=3)
    assert [b for b in range(1, 11) if every.due(b)] == [3, 6, 9]


def test_a_jupyter_kernel_gets_a_bar_though_its_stderr_is_no_terminal(monkeypatch):
    class Stream:
        def isatty(self):
            return False

    assert not progress.bar_enabled(stream=Stream())
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert progress.in_notebook() and progress.bar_enabled(stream=Stream())
    assert not progress.bar_enabled(quiet=True, stream=Stream())
    terminal = types.SimpleNamespace(config={"TerminalIPythonApp": {}})  # plain IPython: a terminal
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: terminal))
    assert not progress.in_notebook()
