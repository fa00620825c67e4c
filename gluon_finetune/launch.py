"""Start a distributed training job: scheduler, servers and workers of MXNet's ps-lite.

Every process of the job gets the DMLC environment MXNet's parameter server reads
(``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``, ``DMLC_NUM_SERVER``,
``DMLC_NUM_WORKER``). The scheduler and the servers are plain Python processes
that import ``mxnet`` (the import runs their loop); the workers run the training
command. On one machine they are local processes; with a hostfile, servers and
workers are spread over the hosts round-robin and started over ``ssh`` in the
same working directory, as MXNet's own ``tools/launch.py`` does (the run folder
must then be on a file system all hosts share).

The launcher watches every process. When one dies (a crash, an out-of-memory
kill, a lost ssh connection) the others would wait for it forever at the next
gradient exchange, so the launcher stops them all within a bounded time and
says which one failed.
"""
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time

from .distributed import SEED_ENV
from .errors import UserError

#: Seconds between polls of the job's processes.
POLL = 0.2
#: Seconds the launcher grants processes to exit after SIGTERM before SIGKILL.
GRACE = 5.0


class Process:
    """One process of the job: its role, where it runs and the Popen handle."""

    def __init__(self, role, index, host, popen):
        self.role, self.index, self.host, self.popen = role, index, host, popen

    @property
    def name(self):
        where = "" if self.host in (None, "localhost", "127.0.0.1") else " on %s" % self.host
        return "%s %d (pid %d%s)" % (self.role, self.index, self.popen.pid, where)


def check_port_free(host, port):
    """Refuse to start when the scheduler's port is taken (ps-lite would hang or abort)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host if host not in ("localhost",) else "127.0.0.1", port))
    except OSError as err:
        raise UserError("the scheduler port %d on %s is in use (%s); pick another with --port, "
                        "or stop the process holding it" % (port, host, err.strerror)) from None
    finally:
        sock.close()


def free_port(host="127.0.0.1"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def read_hostfile(path):
    """Host names, one per line (``#`` comments and blank lines ignored)."""
    try:
        with open(path) as f:
            hosts = [line.split("#")[0].strip() for line in f]
    except OSError as err:
        raise UserError("cannot read hostfile %s: %s" % (path, err.strerror)) from None
    hosts = [h for h in hosts if h]
    if not hosts:
        raise UserError("hostfile %s lists no hosts" % path)
    return hosts


def job_env(root_uri, port, workers, servers, seed, interface=None):
    """The DMLC variables (and the job's shared seed) every process of the job gets."""
    env = {"DMLC_PS_ROOT_URI": root_uri, "DMLC_PS_ROOT_PORT": str(port),
           "DMLC_NUM_SERVER": str(servers), "DMLC_NUM_WORKER": str(workers),
           SEED_ENV: str(seed)}
    if interface:
        env["DMLC_INTERFACE"] = interface
    return env


def ssh_command(host, env, argv, cwd, ssh="ssh"):
    """The ssh call that runs ``argv`` on ``host`` in ``cwd`` with ``env`` exported."""
    exports = " ".join("export %s=%s;" % (k, shlex.quote(v)) for k, v in sorted(env.items()))
    remote = "%s cd %s; %s" % (exports, shlex.quote(cwd), " ".join(shlex.quote(a) for a in argv))
    return [ssh, "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes", host, remote]


def launch(command, workers, servers=1, hostfile=None, port=None, host=None, seed=None,
           ssh="ssh", log=None):
    """Run ``command`` as ``workers`` workers with ``servers`` servers and a scheduler.

    Parameters
    ----------
    command : list of str
        The worker's argv, e.g. ``[sys.executable, "-m", "gluon_finetune", "train", ...]``.
    workers, servers : int
    hostfile : str, optional
        Hosts for servers and workers (over ssh); the scheduler runs here.
    port : int, optional
        The scheduler's port (default: a free one).
    host : str, optional
        The scheduler's address as the others reach it (default 127.0.0.1, or
        this machine's name with a hostfile).
    seed : int, optional
        The seed all workers shuffle with when the command gives none.

    Returns
    -------
    int
        0 when every worker finished cleanly; 1 when a process failed (and the
        rest were stopped); 130 on Ctrl-C.
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    if workers < 1 or servers < 1:
        raise UserError("a job needs at least one worker (-n) and one server (-s)")
    hosts = read_hostfile(hostfile) if hostfile else None
    local = hosts is None
    host = host or ("127.0.0.1" if local else socket.getfqdn())
    if port is None:
        port = free_port("127.0.0.1" if local else "")
    else:
        check_port_free("127.0.0.1" if local else "", port)
    seed = random.SystemRandom().randrange(2 ** 31) if seed is None else seed
    base = job_env(host, port, workers, servers, seed, interface="lo" if local else None)
    threads = str(max(1, (os.cpu_count() or 1) // workers)) if local else None
    procs = []

    def start(role, index, argv, where=None):
        env = dict(base, DMLC_ROLE=role)
        if role == "worker" and threads and "OMP_NUM_THREADS" not in os.environ:
            # Workers sharing one machine split its cores instead of each taking all of them.
            env["OMP_NUM_THREADS"] = threads
        if where is None:
            popen = subprocess.Popen(argv, env=dict(os.environ, **env))
        else:
            popen = subprocess.Popen(ssh_command(where, env, argv, os.getcwd(), ssh=ssh))
        procs.append(Process(role, index, where, popen))

    node = [sys.executable, "-c", "import mxnet"]
    try:
        start("scheduler", 0, node)
        for i in range(servers):
            start("server", i, node, None if local else hosts[i % len(hosts)])
        for i in range(workers):
            start("worker", i, list(command), None if local else hosts[i % len(hosts)])
        log("launched %d worker(s), %d server(s) and a scheduler at %s:%d%s"
            % (workers, servers, host, port, "" if local else " over ssh on " + ", ".join(hosts)))
        return _watch(procs, log)
    except KeyboardInterrupt:
        log("interrupted: stopping the job")
        _stop(procs)
        return 130


def _watch(procs, log):
    """Wait for the workers; stop everything when any process fails."""
    workers = [p for p in procs if p.role == "worker"]
    while True:
        for p in procs:
            code = p.popen.poll()
            # A scheduler or server leaves with status 0 only after every worker said
            # goodbye, so only a non-zero status (or a signal) is a failure.
            if code is not None and code != 0:
                others = [q for q in procs if q.popen.poll() is None]
                log("error: %s %s; stopping the other %d process(es) of the job, which would "
                    "otherwise wait for it forever" % (p.name, _describe_exit(code), len(others)))
                _stop(procs)
                return 1
        if all(w.popen.poll() == 0 for w in workers):
            # Servers and the scheduler leave once every worker has said goodbye.
            _stop(procs, grace=GRACE * 2)
            return 0
        time.sleep(POLL)


def _stop(procs, grace=GRACE):
    for p in procs:
        if p.popen.poll() is None:
            p.popen.send_signal(signal.SIGTERM)
    deadline = time.time() + grace
    for p in procs:
        try:
            p.popen.wait(timeout=max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.popen.kill()
            p.popen.wait()


def _describe_exit(code):
    if code is None:
        return "is still running"
    if code < 0:
        try:
            return "was killed by %s" % signal.Signals(-code).name
        except ValueError:
            return "was killed by signal %d" % -code
    return "exited with status %d" % code
