"""Shared test helpers: running the real command line in a subprocess."""
import os
import subprocess
import sys

import pytest

# Before any test module imports mxnet: the package chooses MXNet's thread count
# (every core), which MXNet reads once, when it loads.
import gluon_finetune  # noqa: F401,E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run ``python -m gluon_finetune ARGS`` in a real subprocess; return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gluon_finetune"] + [str(a) for a in args],
                          cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


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

    from gluon_finetune import model

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
    from gluon_finetune.config import TrainConfig
    from gluon_finetune.train import fit

    out = tmp_path_factory.mktemp("runs") / "run"
    fit(TrainConfig(data=tiny_hotdog, out=str(out), weights=tiny_source, epochs=2, batch_size=8,
                    image_size=32, seed=3, quiet=True), log=lambda line: None)
    return str(out)
