"""A worker of a distributed test job: trains with the library and saves its own weights.

Run by ``gluon-finetune launch`` (see test_distributed.py) as
``python dist_worker.py DATA SOURCE OUT BATCH``; every rank writes OUT/rank-<r>.params,
so the test can compare the weights each worker ended with.
"""
import os
import sys

from gluon_finetune.config import TrainConfig
from gluon_finetune.train import fit

data, source, out, batch = sys.argv[1:5]
config = TrainConfig(data=data, weights=source, out=os.path.join(out, "run"), epochs=1,
                     batch_size=int(batch), image_size=32, seed=7, quiet=True, freeze_features=True,
                     train_augs=os.environ["DIST_TEST_AUGS"], kvstore="dist_sync")
result = fit(config, log=print)
result.net.save_parameters(os.path.join(out, "rank-%d.params" % result.rank))
