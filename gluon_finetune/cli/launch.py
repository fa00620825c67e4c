"""``gluon-finetune launch``: run a command as a distributed job on MXNet's parameter server."""
import sys

from . import formatter

DESCRIPTION = """\
Start a training job over several processes or machines with MXNet's own
parameter server: a scheduler, -s servers and -n workers, each with the DMLC
environment MXNet reads. Everything after `--` is the workers' command:
`train ...` runs `gluon-finetune train` with this Python and --kvstore
dist_sync unless it names a kvstore itself (or resumes a run, which knows its
own); any other command runs as given.

Rules of a job: --batch-size is per worker (a step uses batch x workers images
and averages their gradients, so --lr means what it means for one process with
that batch); all workers shuffle alike and each reads its own slice of every
global batch; only rank 0 writes the run folder and prints.

Faults: when any process dies (or its ssh connection drops), the launcher stops
the others within seconds and exits with status 1, naming the one that failed.
Rank 0's last checkpoint stays loadable: continue with `launch ... -- train
--resume RUN`. Ctrl-C or SIGTERM to the launcher stops the whole job.

With --hostfile (one host per line, NAME or NAME:SSH_PORT; the names must be
the addresses the machines reach each other at), servers and workers are spread
over the hosts round-robin and started over ssh (passwordless keys), in the
current directory and with this Python, which must exist under the same paths
on every host, like the data and the run folder (a shared file system). The
scheduler runs here, on --port, which the hosts must be able to reach."""

EPILOG = """\
examples:
  gluon-finetune launch -n 2 -s 1 -- train --data hotdog --out runs/dist --batch-size 64
  gluon-finetune launch -n 4 -s 2 --hostfile hosts.txt -- train --data /shared/hotdog \\
      --out /shared/runs/dist --kvstore dist_device_sync --ctx gpu
  gluon-finetune launch -n 2 -s 1 -- train --resume runs/dist      # after a crash
  gluon-finetune launch -n 2 -s 2 --hostfile hosts.txt --port 9091 \\
      --env MXNET_HOME=/shared/mxnet -- train --data /shared/hotdog --out /shared/runs/dist
"""

SUBCOMMANDS = ("train",)


def register(sub):
    p = sub.add_parser("launch", formatter_class=formatter, help="run training on several processes or machines",
                       description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("-n", "--workers", type=int, required=True, help="number of workers")
    p.add_argument("-s", "--servers", type=int, default=1, help="number of servers (default: 1)")
    p.add_argument("--hostfile", help="hosts for servers and workers, one per line as NAME or "
                                      "NAME:SSH_PORT (started over ssh, round-robin)")
    p.add_argument("--port", type=int, help="scheduler port (default: a free one)")
    p.add_argument("--host", help="scheduler address the others reach (default: 127.0.0.1; with "
                                  "--hostfile, this machine's name, or the address that routes to "
                                  "the first host when the name means 127.x)")
    p.add_argument("--ssh", default="ssh", help="ssh program, called as SSH [-o OPT]... [-p PORT] HOST "
                                                "COMMAND (default: ssh)")
    p.add_argument("--env", action="append", metavar="NAME[=VALUE]",
                   help="a variable for every process of the job, e.g. MXNET_HOME or "
                        "PS_VERBOSE=1 (NAME alone passes this shell's value; repeatable)")
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
    from ..distributed.launch import launch, parse_env

    return launch(worker_command(args.command), args.workers, args.servers, hostfile=args.hostfile,
                  port=args.port, host=args.host, ssh=args.ssh, env=parse_env(args.env))
