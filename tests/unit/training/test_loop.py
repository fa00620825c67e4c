"""The epoch loop's hooks: a user's callbacks in fit and resume, and the built-in ones' order."""
import json

import pytest
from run_helpers import quiet

from gluon_finetune import Callback, TrainConfig, fit, resume
from gluon_finetune.training import callbacks, loop

TINY = dict(batch_size=8, image_size=32, seed=3, quiet=True)


class Recorder(Callback):
    """Writes down every hook call and what the loop showed it."""

    def __init__(self, stop_after=None):
        self.calls, self.records, self.steps, self.losses = [], [], 0, []
        self.stop_after = stop_after

    def on_run_start(self, loop):
        self.calls.append(("run_start", loop.start_epoch, len(loop.history)))

    def on_epoch_start(self, loop):
        self.calls.append(("epoch_start", loop.epoch))

    def on_batch_end(self, loop):
        self.steps += 1

    def on_loss(self, loop, mean_loss, images):
        self.losses.append((mean_loss, images))

    def on_epoch_end(self, loop):
        self.calls.append(("epoch_end", loop.epoch))
        self.records.append(dict(loop.record))
        if loop.epoch == self.stop_after:
            loop.stop = True

    def on_run_end(self, loop):
        self.calls.append(("run_end", loop.epoch, len(loop.history)))


def test_a_users_callbacks_see_every_epoch_of_fit_and_resume(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    rec = Recorder()
    result = fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, epochs=2, **TINY),
                 log=quiet, callbacks=[rec])
    assert rec.calls == [("run_start", 0, 0), ("epoch_start", 1), ("epoch_end", 1),
                         ("epoch_start", 2), ("epoch_end", 2), ("run_end", 2, 2)]
    # 32 training images in batches of 8: 4 steps an epoch, the loss read back once at its end
    assert rec.steps == 8
    assert [images for _, images in rec.losses] == [32, 32]
    # user hooks run after the built-in ones: the record is complete and already saved
    assert rec.records == result.history
    assert {"test_acc", "lr", "time", "train_time"} <= set(rec.records[0])
    saved = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert saved == result.history
    assert [mean for mean, _ in rec.losses] == pytest.approx([h["loss"] for h in result.history])

    more = Recorder()
    again = resume(str(out), epochs=3, log=quiet, callbacks=[more])
    assert more.calls == [("run_start", 2, 2), ("epoch_start", 3), ("epoch_end", 3),
                          ("run_end", 3, 3)]
    assert again.history[:2] == result.history and len(again.history) == 3


def test_a_callback_that_sets_stop_ends_the_run_after_that_epoch(tiny_hotdog, tiny_source, tmp_path):
    out = tmp_path / "run"
    rec = Recorder(stop_after=1)
    result = fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, epochs=4, **TINY),
                 log=quiet, callbacks=[rec])
    assert [h["epoch"] for h in result.history] == [1]
    assert rec.calls[-1] == ("run_end", 1, 1)
    assert json.loads((out / "checkpoints" / "last.json").read_text())["epoch"] == 1


def test_the_built_in_hooks_follow_the_options():
    def names(**options):
        config = TrainConfig(**options)
        return [type(h).__name__ for h in callbacks.standard(config)]

    plain = names()
    assert plain == ["Evaluate", "BestCheckpoint", "Checkpoints", "History", "EpochLine",
                     "DivergenceStop", "EarlyStop"]
    assert names(ema=0.99, freeze_epochs=1, cache_features=True, freeze_features=False,
                 mixup=0.2)[:4] == ["WeightAverage", "HeadFirst", "CachedFeatures", "BatchMixes"]
    # a distributed worker other than rank 0 measures and writes nothing
    worker = [type(h).__name__ for h in callbacks.standard(TrainConfig(ema=0.99), root=False)]
    assert worker == ["DivergenceStop"]


def test_only_the_hooks_a_callback_overrides_are_called():
    class OnlyEpochs(Callback):
        def on_epoch_end(self, loop):
            pass

    hooks = loop._Hooks([OnlyEpochs(), Recorder()])
    assert len(hooks.by_hook["on_epoch_end"]) == 2
    assert len(hooks.by_hook["on_batch_end"]) == 1
    assert loop._Hooks([OnlyEpochs()]).of("on_batch_end", None) is None
