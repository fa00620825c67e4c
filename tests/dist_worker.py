"""Workers of distributed test jobs (see test_distributed.py), started by ``gluon-finetune launch``.

``python dist_worker.py train DATA SOURCE OUT BATCH``
    Trains with the library and saves its own weights: every rank writes
    OUT/rank-<r>.params, so the test can compare the weights each worker ended
    with. ``DIST_TEST_AUGS`` is the training aug spec; ``DIST_TEST_OPTIONS``, a
    JSON object of more ``TrainConfig`` fields (a schedule, momentum, epochs).

``python dist_worker.py leave-early``
    Every rank queues one large gradient exchange; rank 1 leaves at once, while
    rank 0 waits for the result and prints it. The exchange is asynchronous:
    unless the worker waits for it before MXNet shuts down at exit, rank 1's
    push is dropped and rank 0 waits forever.
"""
import json
import os
import sys


def train(data, source, out, batch):
    from gluon_finetune.training.config import TrainConfig
    from gluon_finetune.training.train import fit

    options = dict(epochs=1, seed=7, freeze_features=True, kvstore="dist_sync")
    options.update(json.loads(os.environ.get("DIST_TEST_OPTIONS", "{}")))
    config = TrainConfig(data=data, weights=source, out=os.path.join(out, "run"), batch_size=int(batch),
                         image_size=32, quiet=True, train_augs=os.environ["DIST_TEST_AUGS"], **options)
    result = fit(config, log=print)
    result.net.save_parameters(os.path.join(out, "rank-%d.params" % result.rank))


def leave_early(size=4000000, keys=2):
    import mxnet as mx

    from gluon_finetune.distributed.kvstore import Cluster

    kv = Cluster("dist_sync").kv
    for k in range(keys):
        kv.init(k, mx.nd.zeros((size,)))
    outs = [mx.nd.zeros((size,)) for _ in range(keys)]
    for k in range(keys):
        kv.pushpull(k, mx.nd.ones((size,)) * (kv.rank + 1), out=outs[k])
    if kv.rank == 0:
        print("rank 0 pulled %s" % [o[:1].asscalar() for o in outs], flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(*sys.argv[2:6])
    elif sys.argv[1] == "leave-early":
        leave_early()
    else:
        raise SystemExit("usage: dist_worker.py train DATA SOURCE OUT BATCH | leave-early")
