"""``gluon-finetune doctor``: the machine, its versions and what it can run."""
from . import formatter

DESCRIPTION = """\
Print what a bug report needs and what choosing options needs: the versions of
Python, MXNet (and which wheel), oneDNN, GluonCV and numpy; the CPU model, its
vector instruction set and the flags that matter (AVX2, AVX-512, VNNI,
bfloat16, AMX); the thread count MXNet runs with and why; whether --amp and
--int8 help on this machine; and each GPU the CUDA driver sees, with its
compute capability against what the installed MXNet wheel has kernels for.

A probe that fails (MXNet missing, no /proc/cpuinfo) is reported on its line;
the command itself does not fail. Set GLUON_FINETUNE_CPUINFO=FILE to read the
CPU's flags from another file laid out like /proc/cpuinfo."""

EPILOG = """\
examples:
  gluon-finetune doctor                 # paste the output into a bug report
  gluon-finetune doctor --json | python -c "import json,sys; print(json.load(sys.stdin)['amp'])"
"""


def register(sub):
    p = sub.add_parser("doctor", formatter_class=formatter,
                       help="versions, CPU flags, threads, GPUs: what this machine can run",
                       description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-probe", action="store_true",
                   help="skip the child process that asks oneDNN its version and instruction "
                        "set (about 4 s)")
    p.set_defaults(func=run)


def run(args):
    import json

    from ..doctor import diagnose, text

    report = diagnose(probe_onednn=not args.no_probe)
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else text(report))
    return 0
