"""Start a distributed training job: scheduler, servers and workers of MXNet's ps-lite.

Every process of the job gets the DMLC environment MXNet's parameter server reads
(``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``, ``DMLC_PS_ROOT_PORT``, ``DMLC_NUM_SERVER``,
``DMLC_NUM_WORKER``). The scheduler and the servers are plain Python processes
that import ``mxnet`` (the import runs their loop); the workers run the training
command.

On one machine they are local processes. With a hostfile, the scheduler runs
here and the servers and the workers are spread over the hosts round-robin and
started over ``ssh`` as MXNet's own ``tools/launch.py`` does: the remote command
exports the variables (plus ``DMLC_NODE_HOST``, the host's name as listed, which
ps-lite announces to the others), changes to this working directory and runs
the command; so the working directory, the Python installation and the run
folder must be reachable under the same paths on every host.

The launcher watches every process. When one dies (a crash, an out-of-memory
kill, a lost ssh connection) the others would wait for it forever at the next
gradient exchange, so the launcher stops them all within a bounded time and
says which one failed. Remote processes are tied to their ssh connection: the
remote command watches its standard input, and when the connection closes (the
launcher stopped the job, or died) it stops the process it started.
"""
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import time

from ..errors import UserError
from ..signals import Interrupted, signals_as_interrupt
from ..threads import physical_cores, user_choice
from .kvstore import SEED_ENV

#: Seconds between polls of the job's processes.
POLL = 0.2
#: Seconds the launcher grants processes to exit after SIGTERM before SIGKILL.
GRACE = 5.0
#: The variables of the job itself; ``--env`` cannot override them.
JOB_VARIABLES = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER",
                 "DMLC_NUM_WORKER", "DMLC_NODE_HOST", SEED_ENV)


class Process:
    """One process of the job: its role, where it runs and the Popen handle."""

    def __init__(self, role, index, host, popen):
        self.role, self.index, self.host, self.popen = role, index, host, popen

    @property
    def remote(self):
        return self.host is not None

    @property
    def name(self):
        where = " on %s" % self.host if self.remote else ""
        return "%s %d (pid %d%s)" % (self.role, self.index, self.popen.pid, where)


# --------------------------------------------------------------------------- setup


def check_port_free(host, port):
    """Refuse to start when the scheduler's port is taken (ps-lite would hang or abort)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host if host not in ("localhost",) else "127.0.0.1", port))
    except OSError as err:
        raise UserError("the scheduler port %d on %s is in use (%s); pick another with --port, "
                        "or stop the process holding it" % (port, host or "this machine",
                                                             err.strerror)) from None
    finally:
        sock.close()


def free_port(host="127.0.0.1"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def read_hostfile(path):
    """``(host, ssh_port)`` pairs, one host per line as ``name`` or ``name:port``.

    ``#`` comments and blank lines are ignored; ``ssh_port`` is None when the
    line gives none (ssh's default then applies).
    """
    try:
        with open(path) as f:
            lines = [line.split("#")[0].strip() for line in f]
    except OSError as err:
        raise UserError("cannot read hostfile %s: %s" % (path, err.strerror)) from None
    hosts = []
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        name, _, port = line.partition(":")
        if not name or (port and not port.isdigit()) or " " in line:
            raise UserError("hostfile %s, line %d: %r is not a host; write one host per line as "
                            "NAME or NAME:SSH_PORT" % (path, number, line))
        hosts.append((name, int(port) if port else None))
    if not hosts:
        raise UserError("hostfile %s lists no hosts" % path)
    return hosts


def scheduler_address(hosts):
    """This machine's address as the hosts reach it.

    This machine's name when it resolves to an address other hosts can reach;
    otherwise (a name that resolves to 127.x, common in containers) the address
    of the interface that routes to the first host.
    """
    name = socket.getfqdn()
    try:
        if not socket.gethostbyname(name).startswith("127."):
            return name
    except OSError:
        pass
    for target in [h for h, _ in hosts] + ["192.0.2.1"]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.connect((target, 9))  # UDP: nothing is sent, the kernel only picks a route
            return sock.getsockname()[0]
        except OSError:
            continue
        finally:
            sock.close()
    raise UserError("cannot tell this machine's address as the hosts reach it; pass --host ADDRESS")


def parse_env(items, environ=None):
    """``--env NAME=VALUE`` / ``--env NAME`` (this shell's value) -> dict."""
    environ = os.environ if environ is None else environ
    out = {}
    for item in items or ():
        name, eq, value = item.partition("=")
        if not name or not name.replace("_", "a").isalnum() or name[0].isdigit():
            raise UserError("--env %r: give NAME=VALUE or the NAME of a variable set here" % item)
        if name in JOB_VARIABLES:
            raise UserError("--env %s: the launcher sets this variable itself" % name)
        if not eq:
            if name not in environ:
                raise UserError("--env %s: the variable is not set here; give NAME=VALUE" % name)
            value = environ[name]
        out[name] = value
    return out


def job_env(root_uri, port, workers, servers, seed, interface=None):
    """The DMLC variables (and the job's shared seed) every process of the job gets."""
    env = {"DMLC_PS_ROOT_URI": root_uri, "DMLC_PS_ROOT_PORT": str(port),
           "DMLC_NUM_SERVER": str(servers), "DMLC_NUM_WORKER": str(workers),
           SEED_ENV: str(seed)}
    if interface:
        env["DMLC_INTERFACE"] = interface
    return env


def remote_command(env, argv, cwd, grace=GRACE):
    """The shell command an ssh host runs: ``argv`` in ``cwd`` with ``env`` exported.

    The command runs in the background while a watcher reads the shell's
    standard input, which is the ssh connection: when the connection closes
    before the command ended (the launcher stopped the job, or died, or the
    network went away), the watcher sends SIGTERM and, ``grace`` seconds later,
    SIGKILL. Without it, a remote worker whose peer died would wait at the next
    gradient exchange forever. The shell exits with the command's status.
    """
    exports = " ".join("export %s=%s;" % (k, shlex.quote(v)) for k, v in sorted(env.items()))
    command = " ".join(shlex.quote(a) for a in argv)
    # A background job's stdin is /dev/null in a non-interactive shell, so the
    # watcher reads the connection through fd 3. Its output goes to /dev/null so
    # that, once killed, it does not hold the session open.
    return ("%s cd %s || exit 1; exec 3<&0; %s </dev/null & pid=$!; "
            "( cat <&3 >/dev/null 2>&1; kill -TERM $pid 2>/dev/null; sleep %d; "
            "kill -KILL $pid 2>/dev/null ) >/dev/null 2>&1 & watcher=$!; exec 3<&-; "
            "wait $pid; status=$?; kill $watcher 2>/dev/null; exit $status"
            % (exports, shlex.quote(cwd), command, int(grace)))


def ssh_command(host, env, argv, cwd, ssh="ssh", port=None):
    """The ssh call that runs ``argv`` on ``host`` in ``cwd`` with ``env`` exported."""
    args = [ssh, "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes"]
    if port:
        args += ["-p", str(port)]
    return args + [host, remote_command(env, argv, cwd)]


# --------------------------------------------------------------------------- the job


def launch(command, workers, servers=1, hostfile=None, port=None, host=None, seed=None,
           ssh="ssh", env=None, log=None):
    """Run ``command`` as ``workers`` workers with ``servers`` servers and a scheduler.

    Parameters
    ----------
    command : list of str
        The worker's argv, e.g. ``[sys.executable, "-m", "gluon_finetune", "train", ...]``.
    workers, servers : int
    hostfile : str, optional
        Hosts for servers and workers, one per line as ``name`` or ``name:ssh_port``
        (started over ssh, round-robin); the scheduler runs here.
    port : int, optional
        The scheduler's port (default: a free one).
    host : str, optional
        The scheduler's address as the others reach it (default 127.0.0.1, or
        :func:`scheduler_address` with a hostfile).
    seed : int, optional
        The seed all workers shuffle with when the command gives none.
    ssh : str
        The ssh program; it is called as ``ssh -o ... [-p PORT] HOST COMMAND``.
    env : dict, optional
        More variables for every process of the job (e.g. ``DMLC_INTERFACE``, ``MXNET_HOME``).

    Returns
    -------
    int
        0 when every worker finished cleanly; 1 when a process failed (and the
        rest were stopped); 128 + the signal number when the launcher was
        stopped (130 on Ctrl-C), after stopping the job.
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    if workers < 1 or servers < 1:
        raise UserError("a job needs at least one worker (-n) and one server (-s)")
    hosts = read_hostfile(hostfile) if hostfile else None
    local = hosts is None
    host = host or ("127.0.0.1" if local else scheduler_address(hosts))
    if port is None:
        port = free_port("127.0.0.1" if local else "")
    else:
        check_port_free("127.0.0.1" if local else "", port)
    seed = random.SystemRandom().randrange(2 ** 31) if seed is None else seed
    base = dict(env or {})
    base.update(job_env(host, port, workers, servers, seed, interface="lo" if local else None))
    # Workers sharing one machine split its cores instead of each taking all of them,
    # unless the user chose a thread count.
    cores = physical_cores()
    threads = str(max(1, cores // workers)) if local and user_choice() is None else None
    death_signal = _death_signal()
    procs = []

    def start(role, index, argv, where=None):
        penv = dict(base, DMLC_ROLE=role)
        if where is None:
            if role == "worker" and threads and "OMP_NUM_THREADS" not in penv:
                penv["OMP_NUM_THREADS"] = threads
            # A session of its own: stopping the process also stops its data loader workers.
            popen = subprocess.Popen(argv, env=dict(os.environ, **penv), stdin=subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=death_signal)
        else:
            name, ssh_port = where
            penv["DMLC_NODE_HOST"] = name
            popen = subprocess.Popen(ssh_command(name, penv, argv, os.getcwd(), ssh=ssh, port=ssh_port),
                                     stdin=subprocess.PIPE)
            where = name
        procs.append(Process(role, index, where, popen))

    node = [sys.executable, "-c", "import mxnet"]
    with signals_as_interrupt("SIGINT", "SIGTERM", "SIGHUP"):
        try:
            start("scheduler", 0, node)
            for i in range(servers):
                start("server", i, node, None if local else hosts[i % len(hosts)])
            for i in range(workers):
                start("worker", i, list(command), None if local else hosts[i % len(hosts)])
            log("launched %d worker(s), %d server(s) and a scheduler at %s:%d%s"
                % (workers, servers, host, port,
                   "" if local else " over ssh on " + ", ".join(h for h, _ in hosts)))
            if threads:
                log("%d physical core(s) split between %d worker(s): %s thread(s) each "
                    "(OMP_NUM_THREADS or --env OMP_NUM_THREADS=N to choose)" % (cores, workers, threads))
            return _watch(procs, log)
        except Interrupted as stop:
            log("%s: stopping the job" % ("interrupted" if stop.signum == signal.SIGINT
                                          else "got %s" % signal.Signals(stop.signum).name))
            return 128 + stop.signum  # the job is stopped just below
        finally:
            # Normally every process has ended by now; this covers an exception of our own.
            _stop(procs)


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
                    "otherwise wait for it forever" % (p.name, _describe_exit(code, p.remote),
                                                       len(others)))
                _stop(procs)
                return 1
        if all(w.popen.poll() == 0 for w in workers):
            # Servers and the scheduler leave once every worker has said goodbye.
            _stop(procs, grace=GRACE * 2)
            return 0
        time.sleep(POLL)


def _stop(procs, grace=GRACE):
    """SIGTERM every process still running, SIGKILL what is left after ``grace`` seconds."""
    for p in procs:
        if p.remote and p.popen.stdin and not p.popen.stdin.closed:
            # Closing the connection's input is what tells the remote watcher to stop it.
            try:
                p.popen.stdin.close()
            except OSError:
                pass
        if p.popen.poll() is None:
            _signal(p, signal.SIGTERM)
    deadline = time.time() + grace
    for p in procs:
        try:
            p.popen.wait(timeout=max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            _signal(p, signal.SIGKILL)
            p.popen.wait()
    for p in procs:
        if not p.remote:
            # Whatever the process left behind in its session (data loader workers).
            _signal(p, signal.SIGKILL)


def _signal(p, signum):
    try:
        if p.remote:
            p.popen.send_signal(signum)
        else:
            os.killpg(p.popen.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _death_signal():
    """A ``preexec_fn`` that makes the child get SIGKILL when the launcher dies (Linux).

    Without it, a launcher killed by SIGKILL or the OOM killer would leave the
    job's processes waiting for each other forever.
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # loaded here, before any fork
    except (OSError, AttributeError):
        return None

    def set_death_signal():
        prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG

    return set_death_signal if sys.platform.startswith("linux") else None


def _describe_exit(code, remote=False):
    if code is None:
        return "is still running"
    if code < 0:
        try:
            return "was killed by %s" % signal.Signals(-code).name
        except ValueError:
            return "was killed by signal %d" % -code
    if remote and code == 255:
        return "exited with status 255 (ssh could not connect, or lost the connection)"
    if remote and code > 128:
        try:
            return "exited with status %d (killed by %s on its host)" % (code,
                                                                        signal.Signals(code - 128).name)
        except ValueError:
            pass
    return "exited with status %d" % code
