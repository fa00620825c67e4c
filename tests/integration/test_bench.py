"""scripts/bench.py runs, measures the library's code paths and prints its records (no timing asserts)."""
import json
import os
import re
import subprocess
import sys

from gluon_finetune import capability
from gluon_finetune.capability import has_bf16

from conftest import ROOT

BENCH = os.path.join(ROOT, "scripts", "bench.py")


def run_bench(*args):
    return subprocess.run([sys.executable, BENCH] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=600)


def test_quick_json_run_of_io_sections_and_its_replay(tiny_hotdog, tmp_path):
    proc = run_bench("--quick", "--only", "decode,pipeline", "--json", "--data", tiny_hotdog)
    assert proc.returncode == 0, proc.stderr
    assert "ours img/s" in proc.stderr  # the table goes to stderr with --json
    records = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    assert records[0]["bench"] == "versions" and records[0]["images"] == 32
    assert records[0]["cpu"] == capability.cpu_record()  # every record set names its CPU
    assert records[-1]["bench"] == "done" and records[-1]["failed"] == []
    seen = {(r["bench"], r["variant"]) for r in records if "variant" in r}
    assert ("decode_only", "read_image (library)") in seen
    assert {("train_pipeline", name) for name in ("0 workers", "1 worker", "2 workers")} <= seen
    assert {("recordio", "%s%s" % (tag, name)) for tag in ("", "small files: ",
                                                           "small files, cold cache: ")
            for name in ("folder of files, 2 w", "one .rec, 2 w", "read bytes, one .rec")} <= seen
    assert ("sgemm", "2048^3 mx.nd.dot") in seen
    for r in records:
        if "images_per_s" in r:
            assert r["images_per_s"] > 0 and r["reps_s"] and "load" in r
    saved = tmp_path / "bench.jsonl"
    saved.write_text(proc.stdout)
    again = run_bench("--replay", saved)
    assert again.returncode == 0, again.stderr
    assert "train_pipeline  2 workers" in again.stdout and "% of 2x decode" in again.stdout
    assert re.search(r"recordio +small files, cold cache: one \.rec, 2 w .* [0-9.]+x the folder "
                     r"of files", again.stdout), again.stdout
    assert again.stdout.startswith("CPU: %s\n" % capability.cpu_label(capability.cpu_record()))


def test_a_failing_peer_section_is_reported_and_the_others_still_run(tiny_hotdog, tmp_path):
    # A "peer interpreter" that fails every section, as a broken or stopped peer would.
    peer = tmp_path / "broken-python"
    peer.write_text("#!/bin/sh\necho 'peer: out of memory' >&2\nexit 1\n")
    peer.chmod(0o755)
    script = tmp_path / "peer.py"  # what the broken interpreter is handed (a clone has no ../shared)
    script.write_text("")
    proc = run_bench("--quick", "--only", "decode,step", "--data", tiny_hotdog, "--peer", peer,
                     "--peer-script", script)
    assert proc.returncode == 1, proc.stderr  # something failed: the exit status says so
    assert "Traceback" not in proc.stderr
    for section in ("sgemm", "decode_only", "train_step"):
        assert "peer %s: failed, the other sections go on: peer: out of memory" % section \
            in proc.stderr
        assert "failed (peer): %s: peer: out of memory" % section in proc.stdout
    # ours ran to the end: every section's row is in the table
    assert "decode_only" in proc.stdout and re.search(r"train_step\s+64 px, hybridized", proc.stdout)
    # No peer script at all (a user's clone without ../shared): the same, with the reason.
    proc = run_bench("--quick", "--only", "decode", "--data", tiny_hotdog, "--peer", peer,
                     "--peer-script", tmp_path / "nowhere" / "peer_torch.py")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "the peer script %s is not there" % (tmp_path / "nowhere" / "peer_torch.py") in proc.stderr
    assert "decode_only" in proc.stdout


def test_table_and_bad_sections(tiny_hotdog):
    proc = run_bench("--quick", "--only", "decode", "--data", tiny_hotdog)
    assert proc.returncode == 0, proc.stderr
    assert "ours img/s" in proc.stdout and "decode_only" in proc.stdout and "sgemm" in proc.stdout
    bad = run_bench("--only", "decode,warp")
    assert bad.returncode == 2 and "unknown section" in bad.stderr


def test_amp_section_runs_the_steps_in_bfloat16_in_a_child_process(tiny_hotdog):
    proc = run_bench("--quick", "--only", "step,infer,amp", "--json", "--data", tiny_hotdog)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    variants = {(r["bench"], r["variant"]) for r in records if "variant" in r}
    assert {("train_step", "64 px, hybridized"), ("infer", "224 px, batch 8")} <= variants
    amp = {("train_step", "64 px, hybridized, bf16 --amp"), ("infer", "224 px, batch 8, bf16 --amp")}
    if has_bf16():
        assert amp <= variants
        assert "bfloat16 mixed precision; the peer under bfloat16 autocast" in proc.stderr
    else:  # the float32 sections still ran; the table says why amp did not
        assert not amp & variants and "amp: skipped: --amp on the CPU computes in bfloat16" in proc.stderr


def test_book_epoch_grid_runs_each_pair_on_its_thread_count(tiny_hotdog):
    proc = run_bench("--quick", "--only", "book_epoch", "--epoch-grid", "1:0,2:1", "--json",
                     "--data", tiny_hotdog)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    epochs = [r for r in records if r.get("bench") == "book_epoch"]
    # each child read its count back from the OpenMP runtime MXNet loaded
    assert [(r["threads"], r["workers"]) for r in epochs] == [(1, 0), (2, 1)]
    assert [r["variant"] for r in epochs] == ["1 thread, 0 workers", "2 threads, 1 worker"]
    for r in epochs:  # --quick: 1 warm-up epoch + 1 timed, evaluation excluded
        assert r["n_per_rep"] == 32 and len(r["reps_s"]) == 1 and r["images_per_s"] > 0
    assert "book_epoch      1 thread, 0 workers" in proc.stderr


def test_replay_of_the_published_policy_pipeline_rounds():
    # The policy table (docs/performance.md) comes from these records; the replay must still read them.
    for name in ("policies-pipeline-quiet-2rounds.jsonl", "policies-pipeline-2rounds.jsonl"):
        proc = run_bench("--replay", os.path.join(ROOT, "docs", "bench", name))
        assert proc.returncode == 0, proc.stderr
        for words in ("trivial_augment", "rand_augment:2:9", "auto_augment"):
            line = [ln for ln in proc.stdout.splitlines() if ln.startswith("policy_pipeline")
                    and "%s, 2 workers" % words in ln]
            assert line and float(line[0].split("workers")[1].split()[2].rstrip("x")) > 0, proc.stdout


def test_replay_of_the_published_int8_rounds():
    # The deployment table (docs/performance.md) comes from these records: the INT8 row's ratio is the
    # median of our rounds over the median of the peer's INT8 rounds.
    proc = run_bench("--replay", os.path.join(ROOT, "docs", "bench", "int8-quiet-3rounds.jsonl"))
    assert proc.returncode == 0, proc.stderr
    rows = [re.match(r"infer\s+(.+?)\s{2,}([\d.]+)\s+([\d.]+)\s+([\d.]+x)", ln)
            for ln in proc.stdout.splitlines()]
    [(ours, peer, ratio)] = [m.groups()[1:] for m in rows if m and m.group(1) == "224 px, batch 64, INT8"]
    with open(os.path.join(ROOT, "docs", "performance.md")) as f:
        page = f.read()
    assert "**%s / %s INT8 (%s)**" % (ours, peer, ratio) in page
