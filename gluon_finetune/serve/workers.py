"""``serve --workers N``: N server processes answering on one listening socket.

The parent binds the socket (so a busy port is one error line before anything
loads), then starts N copies of its own command line as children with
``--workers 1 --listen-fd FD``. Each child loads the run and runs its own batching
loop and uvicorn server on the inherited socket; the kernel hands each new
connection to whichever child accepts first. As ``launch`` does for training
workers, the children split the cores (``OMP_NUM_THREADS`` = cores // N) unless
the user chose a thread count.

The parent imports no MXNet: it only starts, watches and stops. SIGTERM (or
Ctrl-C) is passed on to every child, which drains its requests in flight; if one
child ends by itself (a load error, a crash), the others are stopped and its
exit status is the parent's.
"""
import os
import signal
import subprocess
import sys
import time

#: Seconds a child may take to drain after SIGTERM before it is killed.
STOP_SECONDS = 60
#: How often the parent looks at its children.
POLL_SECONDS = 0.2


def child_command(argv, fd, index, workers, python=None):
    """The command line of child ``index`` (0-based): the parent's own ``argv`` (after the
    program name) with ``--workers 1 --listen-fd FD`` appended (argparse keeps the last)."""
    return ([python or sys.executable, "-m", "gluon_finetune"] + list(argv)
            + ["--workers", "1", "--listen-fd", str(fd),
               "--worker-name", "worker %d/%d" % (index + 1, workers)])


def thread_share(workers, threads_option=None):
    """``(threads per child or None, how it was chosen)``.

    ``--threads N`` gives each child N; a thread count the user set in the environment
    (``OMP_NUM_THREADS`` and its kin, :func:`gluon_finetune.threads.user_choice`) is
    left for the children to inherit (None); otherwise each gets an equal share of the
    physical cores, at least one, as ``launch`` gives its workers.
    """
    from ..threads import physical_cores, user_choice

    if threads_option:
        return threads_option, "--threads"
    chosen = user_choice()
    if chosen is not None:
        return None, "%s=%s" % chosen
    return max(1, physical_cores() // workers), "a share of the cores"


def run_workers(sock, argv, workers, threads, log=print):
    """Start ``workers`` children serving ``sock``; wait; return the exit status.

    Parameters
    ----------
    sock : socket.socket
        The bound, listening socket the children inherit.
    argv : list of str
        The parent's command line after the program name (``["serve", RUN, ...]``).
    threads : int or None
        ``OMP_NUM_THREADS`` of each child (None: the environment's, unchanged).
    """
    fd = sock.fileno()
    env = dict(os.environ, **({} if threads is None else {"OMP_NUM_THREADS": str(threads)}))
    stop = {"signum": None}

    def on_signal(signum, frame):
        stop["signum"] = signum

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    children = []
    try:
        for i in range(workers):
            children.append(subprocess.Popen(child_command(argv, fd, i, workers), env=env,
                                             pass_fds=(fd,), stdin=subprocess.DEVNULL))
        while stop["signum"] is None:
            ended = [c for c in children if c.poll() is not None]
            if ended:
                code = ended[0].returncode
                log("a worker ended (exit status %s): stopping the others" % code)
                return code if code else 1
            time.sleep(POLL_SECONDS)
        log("got %s: the workers finish their requests in flight"
            % signal.Signals(stop["signum"]).name)
        return 0 if stop["signum"] == signal.SIGTERM else 128 + stop["signum"]
    finally:
        _stop(children)
        for s, handler in old.items():
            signal.signal(s, handler)


def _stop(children):
    """SIGTERM to the children still running, then wait (SIGKILL after STOP_SECONDS)."""
    for c in children:
        if c.poll() is None:
            c.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for c in children:
        try:
            c.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            c.kill()
            c.wait()
