"""The package's layout: imports go down the layers, and no module imports one that imports it back.

The import graph is read from the source with ``ast`` (imports inside functions
included), so a cycle hidden behind a function-level import fails here too.
"""
import ast
import os

import pytest

import gluon_finetune

PACKAGE_DIR = os.path.dirname(gluon_finetune.__file__)


def modules():
    """``{dotted name: path}`` of every module of the package."""
    found = {}
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), os.path.dirname(PACKAGE_DIR))
                dotted = rel[:-3].replace(os.sep, ".")
                if dotted.endswith(".__init__"):
                    dotted = dotted[: -len(".__init__")]
                found[dotted] = os.path.join(folder, name)
    return found


def imports_of(name, path, known):
    """The package's modules that module ``name`` imports."""
    is_package = path.endswith("__init__.py")
    base = name.split(".") if is_package else name.split(".")[:-1]
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base[: len(base) - node.level + 1]
                source = ".".join(parts + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = "%s.%s" % (source, alias.name)
                if sub in known:
                    targets.add(sub)
                elif source in known:
                    targets.add(source)
    # A package's own submodules import it first by Python's rules: not a cycle of ours.
    return {t for t in targets if t != name and not name.startswith(t + ".")}


def find_cycle(graph):
    """One import cycle as a list of names, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, stack)
                if found:
                    return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_one_that_imports_it_back():
    known = modules()
    assert {"gluon_finetune.augment.spec", "gluon_finetune.data.loader"} <= set(known)
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", ["gluon_finetune.augment", "gluon_finetune.data"])
def test_the_public_faces_keep_the_readme_names(name):
    import importlib

    module = importlib.import_module(name)
    wanted = {
        # every name the README's "Using the augmentations" section uses
        "gluon_finetune.augment": ["AugTransform", "apply_aug_list", "apply_aug_list_batch",
                                   "five_crop", "ten_crop", "seed_everything", "test_augs",
                                   "train_augs", "VerticalFlipAug", "RandomResizedCropAug",
                                   "RandomColorAug", "MinSizeAug", "ToTensorAug", "NormalizeAug",
                                   "simple_train_augs", "simple_test_augs", "parse_spec",
                                   "to_spec", "show_images", "apply", "preview",
                                   "compile_aug_list", "IMAGENET_MEAN", "IMAGENET_STD"],
        "gluon_finetune.data": ["make_loaders", "scan_folder", "check_folder", "default_workers",
                                "list_images", "download_hotdog", "show_samples"],
    }[name]
    assert [w for w in wanted if not hasattr(module, w)] == []


def package_of(name):
    """The node of ``name`` in the package-level graph: its sub-package, or the flat module."""
    parts = name.split(".")
    return ".".join(parts[:2])


def test_no_package_imports_one_that_imports_it_back():
    known = modules()
    graph = {}
    for name, path in known.items():
        node = package_of(name)
        graph.setdefault(node, set()).update(
            package_of(t) for t in imports_of(name, path, known) if package_of(t) != node)
    assert {"gluon_finetune.augment", "gluon_finetune.data", "gluon_finetune.cli"} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, "package import cycle: " + " -> ".join(cycle)


#: The layers, bottom up: a module may import from its own layer and the ones below.
#: Flat modules not named here are leaves (layer 0).
LAYERS = [
    ["gluon_finetune"],                                       # the leaves, flat modules
    ["gluon_finetune.data", "gluon_finetune.augment"],
    ["gluon_finetune.runs", "gluon_finetune.distributed"],
    ["gluon_finetune.networks"],
    ["gluon_finetune.training"],
    ["gluon_finetune.inference", "gluon_finetune.serve"],
    ["gluon_finetune.experiments"],
    ["gluon_finetune.cli", "gluon_finetune.__main__"],
]


def layer_of(name, packages):
    """The layer of module ``name``: its sub-package's, or 0 for a flat module (a leaf)."""
    node = package_of(name)
    for i, names in enumerate(LAYERS):
        if node in names:
            return i
    assert node not in packages, "sub-package %s has no layer in LAYERS" % node
    return 0


def test_imports_go_down_the_layers():
    known = modules()
    packages = {package_of(n) for n, p in known.items() if p.endswith("__init__.py")}
    assert {"gluon_finetune.training", "gluon_finetune.inference", "gluon_finetune.runs",
            "gluon_finetune.experiments", "gluon_finetune.networks"} <= packages
    upward = sorted("%s -> %s" % (name, target) for name, path in known.items()
                    for target in imports_of(name, path, known)
                    if layer_of(target, packages) > layer_of(name, packages))
    assert upward == [], "imports up the layers:\n" + "\n".join(upward)


def test_the_layer_check_finds_an_upward_import(tmp_path):
    known = modules()
    packages = {package_of(n) for n, p in known.items() if p.endswith("__init__.py")}
    assert layer_of("gluon_finetune.training.train", packages) > \
        layer_of("gluon_finetune.runs.rundir", packages) > layer_of("gluon_finetune.errors", packages)
    bad = tmp_path / "rundir.py"
    bad.write_text("from ..training.train import fit\n")
    assert imports_of("gluon_finetune.runs.rundir", str(bad), known) == {"gluon_finetune.training.train"}


FRESH = r"""
import json, sys
{code}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in
                        ("mxnet", "matplotlib", "gluon_finetune"))))
"""


def fresh_modules(code, env=None):
    """The modules (of mxnet, matplotlib, gluon_finetune) a fresh interpreter holds after ``code``."""
    import json
    import subprocess
    import sys

    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", FRESH.format(code=code)], capture_output=True,
                          text=True, env=full_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_importing_augment_loads_neither_matplotlib_nor_drawing_nor_training_code():
    loaded = fresh_modules("from gluon_finetune.augment import train_augs, AugTransform")
    assert "mxnet" in loaded  # the augmenters are mxnet.image's
    assert not {m for m in loaded if m.startswith("matplotlib")}
    assert not loaded & {"gluon_finetune.plots", "gluon_finetune.augment.previews",
                         "gluon_finetune.data.synthetic", "gluon_finetune.training.train"}
    # the drawing names are still there, loaded when first used
    loaded = fresh_modules("from gluon_finetune.augment import show_images, preview")
    assert {"gluon_finetune.plots", "gluon_finetune.augment.previews"} <= loaded


def test_the_top_level_api_is_lazy_and_complete():
    loaded = fresh_modules("import gluon_finetune")
    assert loaded == {"gluon_finetune", "gluon_finetune.threads", "gluon_finetune.lazy"}  # no mxnet
    loaded = fresh_modules("from gluon_finetune import TrainConfig, fit, resume, load_run, "
                           "evaluate_run, export_run, Callback")
    assert {"gluon_finetune.training.train", "gluon_finetune.inference.predict", "gluon_finetune.inference.evaluate",
            "gluon_finetune.inference.export", "mxnet"} <= loaded
    import gluon_finetune as package

    assert {"TrainConfig", "fit", "resume", "load_run", "evaluate_run", "export_run"} <= set(
        package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'fitt'"):
        _ = package.fitt


THREADS = r"""
import os
import gluon_finetune
print(os.environ.get("OMP_NUM_THREADS"), gluon_finetune.threads.configure())
"""


def test_the_thread_choice_is_automatic_and_a_host_project_can_opt_out():
    import subprocess
    import sys

    from gluon_finetune import threads

    env = {k: v for k, v in os.environ.items()
           if k not in threads.THREAD_VARIABLES + (threads.AUTO_MARKER, threads.OPT_OUT)}

    def run(**extra):
        proc = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True,
                              env=dict(env, **extra), timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    cores = str(threads.physical_cores())
    assert run() == [cores, cores]
    assert run(GLUON_FINETUNE_THREADS="off") == ["None", "None"]
    assert run(OMP_NUM_THREADS="1") == ["1", "1"]  # the user's own choice always wins
