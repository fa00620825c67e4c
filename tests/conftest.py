"""Shared test helpers: running the real command line in a subprocess."""
import os
import subprocess
import sys

import pytest

# Two pytest processes share the machine's cores (`make test`), and each starts MXNet
# processes of its own: OpenMP threads that spin while they wait take turns from the
# ones that compute (passive waiting cut the suite's CPU time by 13-16%, measured on 2 cores).
# Numbers do not change: only how idle threads wait.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# MXNet imports distutils (for LooseVersion), and setuptools' shim (distutils-precedence.pth,
# read when Python starts) then loads setuptools and its own copy of distutils: 0.7 to 1 s
# of the 3 to 4 s `import mxnet` takes, in each of the suite's some 200 processes (measured
# here: 3.1-3.8 s with the shim, 2.4-2.6 s without). Python 3.11 still has its own
# distutils, the same LooseVersion; from 3.12 on the shim is the only distutils.
if sys.version_info < (3, 12):
    os.environ.setdefault("SETUPTOOLS_USE_DISTUTILS", "stdlib")

# Before any test module imports mxnet: the package chooses MXNet's thread count
# (every core), which MXNet reads once, when it loads.
import gluon_finetune  # noqa: F401,E402

#: The tests' folder (helpers, conftest.py and data/ at its top) and the repository's root.
TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run ``python -m gluon_finetune ARGS`` in a real subprocess; return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gluon_finetune"] + [str(a) for a in args],
                          cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


#: Runs each command line of a JSON list through the real ``main()``, one after another in
#: this one process, and prints what each returned and wrote: the commands' own code path
#: (argument parsing, checks, ``run_guarded``), one ``import mxnet`` for all of them.
EACH_SCRIPT = r"""
import contextlib, io, json, sys, traceback
from gluon_finetune.cli import main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse's own errors
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        except BaseException:  # what a user would see as a traceback
            traceback.print_exc()
            code = 1
    results.append({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
print("\n" + json.dumps(results))
"""


def run_cli_each(*commands, cwd=None, env=None, timeout=600):
    """Run several ``gluon-finetune`` command lines in one real subprocess, in order.

    For checks of many user errors: each command goes through the command line's
    own ``main()`` as ``python -m gluon_finetune`` would run it, and its exit
    status, stdout and stderr come back as a ``CompletedProcess``, but the
    process (and its ``import mxnet``) is shared. Use :func:`run_cli` for a
    command whose outcome depends on a fresh process (threads, signals, exit).
    """
    import json

    argvs = [[str(a) for a in command] for command in commands]
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", EACH_SCRIPT], input=json.dumps(argvs), cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    return [subprocess.CompletedProcess(["gluon-finetune"] + argv, r["returncode"], r["stdout"],
                                        r["stderr"]) for argv, r in zip(argvs, results)]


def assert_user_error(proc, *fragments):
    """A user mistake: exit status 2, one ``error:`` line naming the problem, no traceback.

    Legitimate ``note:`` or ``warning:`` lines may come before the error (a CPU
    without VNNI gets one before any INT8 work), so the error line is looked
    for, not assumed to be the first.
    """
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [i for i, line in enumerate(proc.stderr.splitlines()) if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    message = "\n".join(proc.stderr.splitlines()[errors[0]:])  # the error and its continuation
    for fragment in fragments:
        assert fragment in message, (fragment, proc.stderr)


def assert_option_error(call, fragment):
    """``call()`` refuses a setting: the message names the field (``batch_size``) for a
    Python caller, and the command line's form of it the flag in ``fragment`` (a regex
    of the command line's message, ``--batch-size must be``)."""
    import re

    from gluon_finetune.cli import cli_flags
    from gluon_finetune.errors import OptionError
    from gluon_finetune.training.config import SCRATCH_LABEL

    CLI_FLAGS = cli_flags()

    with pytest.raises(OptionError) as err:
        call()
    field_of = {flag: name for name, flag in CLI_FLAGS.items()}
    field_of["--scratch"] = SCRATCH_LABEL["mode"]
    library = re.sub(r"--[a-z][a-z0-9-]*", lambda m: field_of.get(m.group(0), m.group(0)), fragment)
    assert re.search(library, str(err.value)), (library, str(err.value))
    assert re.search(fragment, err.value.render(CLI_FLAGS)), (fragment, err.value.render(CLI_FLAGS))
    return err.value


#: The flags of two CPUs people use: an AVX2 laptop or Zen 3 server (no AVX-512, VNNI or
#: bfloat16) and an AVX-512 server with all three (Zen 4, Sapphire Rapids).
AVX2_FLAGS = "fpu sse4_1 avx avx2 fma f16c"
AVX512_FLAGS = AVX2_FLAGS + " avx512f avx512bw avx512_vnni avx512_bf16"


def write_cpuinfo(folder, flags, model="Test CPU"):
    """A file laid out like ``/proc/cpuinfo`` listing ``flags``; returns its path.

    Point the project's capability check at it with ``GLUON_FINETUNE_CPUINFO``
    (in this process through ``monkeypatch.setenv``, or in a child's environment).
    """
    path = os.path.join(str(folder), "cpuinfo-%d" % abs(hash((flags, model))))
    with open(path, "w") as f:
        for n in range(2):
            f.write("processor\t: %d\nmodel name\t: %s\nflags\t\t: %s\n\n" % (n, model, flags))
    return path


def assert_user_errors(*cases, **kwargs):
    """Each case, ``(command, fragment, ...)``, is a user error (:func:`assert_user_error`);
    the commands run in one process (:func:`run_cli_each`). Returns the processes."""
    procs = run_cli_each(*[case[0] for case in cases], **kwargs)
    for proc, case in zip(procs, cases):
        assert_user_error(proc, *case[1:])
    return procs


@pytest.fixture
def cli():
    """The :func:`run_cli` function, as a fixture."""
    return run_cli


@pytest.fixture(scope="session")
def tiny_hotdog(tmp_path_factory):
    """A small synthetic hotdog folder (16 + 16 training, 8 + 8 test images of 40-60 px)."""
    from gluon_finetune.data import synthetic

    out = str(tmp_path_factory.mktemp("data") / "hotdog")
    synthetic.generate(out, task="hotdog", n_per_class=16, n_test_per_class=8, size=(40, 60),
                       seed=0, quiet=True)
    return out


@pytest.fixture(scope="session")
def tiny_source(tmp_path_factory):
    """A 1000-class resnet18_v2 .params file standing in for ImageNet weights."""
    import mxnet as mx

    from gluon_finetune.networks import model

    mx.random.seed(0)
    net = model.scratch_net(1000)
    net(mx.nd.zeros((1, 3, 32, 32)))
    path = str(tmp_path_factory.mktemp("source") / "source.params")
    net.save_parameters(path)
    return path


@pytest.fixture(scope="session")
def run_dir(tiny_hotdog, tiny_source, tmp_path_factory):
    """A finished two-epoch fine-tuning run folder on ``tiny_hotdog`` at 32 px.

    Shared by the evaluate, predict and export tests: they read it and write
    only into their own sub-folders or tmp_path.
    """
    from gluon_finetune.training.config import TrainConfig
    from gluon_finetune.training.train import fit

    out = tmp_path_factory.mktemp("runs") / "run"
    fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, epochs=2, batch_size=8,
                    image_size=32, seed=3, quiet=True), log=lambda line: None)
    return str(out)


#: The modules whose tests take longest (`pytest --durations`), run first: pytest-xdist
#: hands out tests in collection order, so the last tests to finish are short ones and
#: neither process waits long for the other at the end.
SLOW_FIRST = ("test_distributed.py", "test_cli_train.py", "test_bench.py", "test_demo.py",
              "test_demo_script.py", "test_download.py")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = os.path.basename(str(item.fspath))
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order within each module stays as written
