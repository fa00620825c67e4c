"""The documentation: generated pages up to date, the MkDocs site builds, the README's links hold.

Real subprocesses: ``scripts/gen_docs.py --check`` and ``mkdocs build --strict`` run
as a user (or CI) runs them. Strict mode fails on a link to a missing page, file or
anchor and on a page missing from ``nav`` (``mkdocs.yml``).
"""
import os
import re
import shutil
import subprocess
import sys

from conftest import ROOT

GEN_DOCS = os.path.join(ROOT, "scripts", "gen_docs.py")
README = os.path.join(ROOT, "README.md")
GENERATED = ["cli.md", "augment-words.md", "api.md"]

#: ``[text](target)`` and ``![alt](target)``, target without spaces (an optional "title" after).
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def run(args, **kwargs):
    return subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True,
                          timeout=300, **kwargs)


def test_the_generated_reference_pages_are_up_to_date():
    proc = run([GEN_DOCS, "--check"])
    assert proc.returncode == 0, (
        "docs/reference/ is stale: run `python scripts/gen_docs.py`\n" + proc.stdout + proc.stderr)
    for name in GENERATED:
        assert os.path.getsize(os.path.join(ROOT, "docs", "reference", name)) > 1000, name


def test_the_check_names_a_stale_page(tmp_path):
    # The same check against a copy whose API page was edited by hand: it must fail and say which.
    shutil.copytree(os.path.join(ROOT, "docs", "reference"), str(tmp_path / "docs" / "reference"))
    with open(str(tmp_path / "docs" / "reference" / "api.md"), "a", encoding="utf-8") as f:
        f.write("\nedited by hand\n")
    proc = run([GEN_DOCS, "--check", "--root", str(tmp_path)])
    assert proc.returncode == 1
    assert os.path.join("docs", "reference", "api.md") in proc.stderr
    assert "cli.md" not in proc.stderr and "augment-words.md" not in proc.stderr
    assert (tmp_path / "docs" / "reference" / "api.md").read_text(encoding="utf-8").endswith(
        "edited by hand\n")  # --check writes nothing


def test_the_cli_page_has_every_sub_command_help():
    from gluon_finetune.cli import COMMANDS

    with open(os.path.join(ROOT, "docs", "reference", "cli.md"), encoding="utf-8") as f:
        page = f.read()
    for name in COMMANDS + ["data download", "data check", "data show", "data synth"]:
        assert "$ gluon-finetune %s --help\nusage: gluon-finetune %s " % (name, name) in page, name


def test_mkdocs_builds_the_site_strictly(tmp_path):
    site = tmp_path / "site"
    proc = run(["-m", "mkdocs", "build", "--strict", "--site-dir", str(site)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in ["index.html", "guides/training.html", "performance.html", "reference/cli.html",
                 "reference/api.html", "reference/augment-words.html", "development.html"]:
        assert (site / page).is_file(), page
    # the records and figures are copied beside the pages that link them
    assert (site / "bench" / "zen3-step-infer-int8.jsonl").is_file()
    assert (site / "images" / "report.png").is_file()


def headings_slugs(path):
    """The anchors of a Markdown file's headings, as GitHub and as Python-Markdown (MkDocs) make them."""
    slugs = set()
    fence = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                fence = not fence
            match = None if fence else re.match(r"#{1,6} +(.+?) *#*$", line.rstrip("\n"))
            if match:
                text = match.group(1).lower()
                slugs.add(re.sub(r" ", "-", re.sub(r"[^\w\- ]", "", text)))  # GitHub
                slugs.add(re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", text).strip()))  # MkDocs
    return slugs


def readme_links():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links in code blocks are not links
    return LINK.findall(text)


def test_every_relative_link_of_the_readme_points_to_a_file():
    links = [t for t in readme_links() if not re.match(r"[a-z][a-z0-9+.-]*:", t)]  # not http:, mailto:
    assert len(links) > 20  # the checker sees the README's links
    broken = []
    for target in links:
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(ROOT, path)) if path else README
        if not os.path.exists(full):
            broken.append(target)
        elif anchor and full.endswith(".md") and anchor not in headings_slugs(full):
            broken.append(target + " (no such heading)")
    assert broken == []


def test_the_link_checker_catches_a_broken_link():
    assert LINK.findall("see [the guide](docs/guides/nope.md#x) and ![f](docs/images/a.png)") == [
        "docs/guides/nope.md#x", "docs/images/a.png"]
    assert not os.path.exists(os.path.join(ROOT, "docs", "guides", "nope.md"))
    assert "the-python-api" in headings_slugs(os.path.join(ROOT, "docs", "guides", "training.md"))
    assert "no-such-heading" not in headings_slugs(README)


def test_the_readme_is_short_and_keeps_its_quick_start():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    assert len(text.splitlines()) <= 320
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
