"""``gluon-finetune launch``: run a command as a distributed job on MXNet's parameter server."""
import sys

from . import formatter

DESCRIPTION = """\
Start a training job over several processes or machines with MXNet's own
parameter server: a scheduler, -s servers and -n workers, each with the DMLC
environment MXNet reads. Everything after `--` is the workers' command; a
gluon-finetune sub-command (train, compare) runs with this Python, and gets
--kvstore dist_sync unless it names a kvstore itself.

Rules of a job: --batch-size is per worker (a step uses batch x workers images
and averages their gradients, so --lr means what it means for one process with
that batch); all workers shuffle alike and each reads its own slice of every
global batch; only rank 0 writes the run folder and prints. When any process
dies, the launcher stops the others and exits with status 1.

With --hostfile, servers and workers are spread over the listed hosts and
started over ssh (passwordless keys) in the current directory, which must be
on a file system all hosts share, like the run folder."""

EPILOG = """\
examples:
  gluon-finetune launch -n 2 -s 1 -- train --data hotdog --out runs/dist --batch-size 64
  gluon-finetune launch -n 4 -s 2 --hostfile hosts.txt -- train --data /shared/hotdog \\
      --out /shared/runs/dist --kvstore dist_device_sync --ctx gpu
  gluon-finetune launch -n 2 -s 1 -- train --resume runs/dist      # after a crash
"""

SUBCOMMANDS = ("train", "compare")


def register(sub):
    p = sub.add_parser("launch", formatter_class=formatter, help="run training on several processes or machines",
                       description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("-n", "--workers", type=int, required=True, help="number of workers")
    p.add_argument("-s", "--servers", type=int, default=1, help="number of servers (default: 1)")
    p.add_argument("--hostfile", help="hosts for servers and workers, one per line (started over ssh)")
    p.add_argument("--port", type=int, help="scheduler port (default: a free one)")
    p.add_argument("--host", help="scheduler address the others reach (default: 127.0.0.1, or this "
                                  "machine's name with --hostfile)")
    p.add_argument("--ssh", default="ssh", help="ssh program (default: ssh)")
    p.add_argument("command", nargs="+", metavar="-- COMMAND", help="the workers' command")
    p.set_defaults(func=run)


def worker_command(command):
    """The workers' argv: gluon-finetune sub-commands run with this interpreter."""
    command = list(command)
    if command and command[0] in SUBCOMMANDS:
        if not any(a == "--kvstore" or a.startswith("--kvstore=") for a in command) \
                and "--resume" not in command:
            command += ["--kvstore", "dist_sync"]
        return [sys.executable, "-m", "gluon_finetune"] + command
    return command


def run(args):
    from ..launch import launch

    return launch(worker_command(args.command), args.workers, args.servers, hostfile=args.hostfile,
                  port=args.port, host=args.host, ssh=args.ssh)
