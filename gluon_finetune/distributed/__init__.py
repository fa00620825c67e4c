"""Several processes: MXNet's dist kvstore and the launcher that starts them.

``kvstore`` is a worker's view of the cluster (rank, shard, the kvstore);
``launch`` starts a scheduler, servers and workers on this machine, splits the
cores between them and passes signals on.

May import: the leaves only.
"""
