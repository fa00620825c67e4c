"""One declaration per setting: the commands' flags, defaults and checks come from the dataclasses."""
import dataclasses
import inspect

import pytest

from gluon_finetune.cli import build_parser, cli_flags
from gluon_finetune.inference.int8.options import Int8Options
from gluon_finetune.inference.options import (
    EvaluateOptions,
    ExportOptions,
    LoadOptions,
    PredictOptions,
)
from gluon_finetune.options import Rule, check, check_rules, default_of, from_args, options
from gluon_finetune.serve.options import ServeOptions
from gluon_finetune.training.config import TrainConfig

from conftest import assert_option_error

#: Each command, its declared settings, and what its parser has that is not a setting:
#: the inputs, how the answer is printed, --threads (set before MXNet loads), serve's
#: internal worker flags, and evaluate's CSV columns (TrainConfig's own declarations).
COMMANDS = {
    "evaluate": ((EvaluateOptions, Int8Options),
                 {"run", "data", "path_col", "label_col", "json", "quiet", "threads"}),
    "predict": ((PredictOptions, Int8Options), {"run", "images", "json", "csv", "threads"}),
    "export": ((ExportOptions, Int8Options), {"run", "threads"}),
    "serve": ((ServeOptions, Int8Options), {"run", "threads", "listen_fd", "worker_name"}),
}


def subparser(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[name]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_of_a_command_is_a_declared_field_with_its_default(command):
    classes, not_settings = COMMANDS[command]
    actions = {a.dest: a for a in subparser(command)._actions if a.dest != "help"}
    declared = {o.dest: (f, o) for cls in classes for f, o in options(cls)}
    assert set(actions) - not_settings == set(declared), command
    for dest, (f, o) in declared.items():
        default = actions[dest].default
        if o.kind == "negated":  # --no-access-log: the flag is the field's opposite
            assert default is False and default_of(f) is True, dest
        else:
            assert default == default_of(f), dest
        assert actions[dest].option_strings == [o.flag], dest


def test_parsed_flags_become_the_settings():
    args = subparser("serve").parse_args(["RUN", "--port", "9000", "--no-access-log", "--int8",
                                          "--calib-images", "16", "--checkpoint", "last"])
    serve = from_args(ServeOptions, args)
    assert (serve.port, serve.access_log, serve.int8, serve.checkpoint) == (9000, False, True, "last")
    assert from_args(Int8Options, args).calib_images == 16
    assert from_args(ServeOptions, subparser("serve").parse_args(["RUN"])) == ServeOptions()


def test_the_library_functions_take_the_declared_defaults():
    from gluon_finetune.inference.evaluate import evaluate_run
    from gluon_finetune.inference.export import export_run
    from gluon_finetune.inference.predict import load_run

    for func, cls in ((evaluate_run, EvaluateOptions), (export_run, ExportOptions),
                      (load_run, LoadOptions)):
        params = inspect.signature(func).parameters
        shared = [f for f in dataclasses.fields(cls) if f.name in params]
        assert len(shared) >= 4, func.__name__
        for f in shared:
            assert params[f.name].default == default_of(f), (func.__name__, f.name)


def test_a_field_has_one_flag_across_the_declarations():
    seen = {}
    for cls in (TrainConfig, EvaluateOptions, PredictOptions, ExportOptions, ServeOptions,
                Int8Options):
        for f, o in options(cls):
            assert seen.setdefault(f.name, o.flag) == o.flag, (cls.__name__, f.name)
    assert cli_flags()["batch_size"] == "--batch-size" and cli_flags()["mode"] == "--scratch"


@pytest.mark.parametrize("settings, message", [
    (lambda: PredictOptions(top_k=0), "--top-k must be at least 1"),
    (lambda: PredictOptions(latency=0), "--latency must time at least 1 call"),
    (lambda: EvaluateOptions(mistakes=-1), "--mistakes must be 0 or more"),
    (lambda: EvaluateOptions(int8=True, amp=True),
     "--int8 and --amp are two different precisions; choose one"),
    (lambda: ExportOptions(quantize="int8", format="onnx"),
     r"--quantize int8 writes MXNet symbol \+ params .*combined with --format onnx"),
    (lambda: ExportOptions(name="a/b"), "--name 'a/b' is not a plain file name"),
    (lambda: ServeOptions(port=70000), "--port must be 0 to 65535, got 70000"),
    (lambda: ServeOptions(max_upload_mb=0), "--max-upload-mb must be more than 0, got 0"),
    (lambda: LoadOptions(weights="avg"), "unknown --weights 'avg'; use auto"),
    (lambda: Int8Options(calib_images=3), "--calib-images 3 is too few"),
])
def test_a_refusal_names_the_field_in_python_and_the_flag_on_the_command_line(settings, message):
    assert_option_error(lambda: check(settings()), message)


def test_the_library_checks_before_it_reads_anything(tmp_path):
    """evaluate_run and export_run refuse a bad setting before they look for the run."""
    from gluon_finetune.inference.evaluate import evaluate_run
    from gluon_finetune.inference.export import export_run

    missing = str(tmp_path / "no-run")
    err = assert_option_error(lambda: evaluate_run(missing, missing, batch_size=0),
                              "--batch-size must be at least 1")
    assert str(err) == "batch_size must be at least 1"
    assert_option_error(lambda: export_run(missing, format="tflite"), "unknown --format 'tflite'")
    assert_option_error(lambda: export_run(missing, int8=Int8Options(calib_images=16)),
                        "--calib-data and --calib-images go with --quantize int8")
    assert not (tmp_path / "no-run").exists()


def test_a_rule_reads_several_fields_and_their_values():
    @dataclasses.dataclass
    class Two:
        low: int = 1
        high: int = 2
        RULES = (Rule(lambda c: c.low < c.high, "{low} %(low)s must be below {high} %(high)s"),)

    check(Two())
    with pytest.raises(Exception, match="^low 3 must be below high 2$"):
        check_rules(Two(low=3), Two.RULES)
    assert_option_error(lambda: TrainConfig(kvstore="dist_sync", freeze_features=True,
                                            cache_features=True).resolved(),
                        r"--cache-features is not supported in a distributed job \(--kvstore "
                        r"dist_sync\)")
