"""The package's layout: no module imports one that imports it back.

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
