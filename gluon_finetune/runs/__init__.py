"""The run folder: its layout, its checkpoints and which weights a command uses.

Owns ``config.json``'s place, ``history.jsonl`` / ``history.csv``, ``log.txt``,
the checkpoint files and their pointers (``rundir``, ``checkpoint``), and the
choice of the best checkpoint and of best / last / EMA weights (``selection``,
``rundir.pick_weights``). It reads and writes files only: no network, no MXNet.

May import: the leaves only.
"""
