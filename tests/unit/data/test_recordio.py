"""--data NAME.rec: `data pack` writes MXNet RecordIO, and every command reads it as a folder."""
import json
import os
import shutil
import struct
import warnings

import mxnet as mx
import numpy as np
import pytest

from gluon_finetune import recfile
from gluon_finetune.data import DataWarning, check_folder, make_loaders, scan_folder
from gluon_finetune.data.recordio import pack_folder
from gluon_finetune.errors import UserError
from gluon_finetune.imageio import read_image
from gluon_finetune.training.config import TrainConfig
from gluon_finetune.training.train import fit

from conftest import assert_user_error, run_cli, run_cli_each


@pytest.fixture(scope="module")
def packed(tiny_hotdog, tmp_path_factory):
    """``tiny_hotdog`` packed as it is: ``NAME.rec`` + ``NAME-test.rec`` and their files."""
    out = str(tmp_path_factory.mktemp("packed") / "hotdog")
    result = pack_folder(tiny_hotdog, out, quiet=True)
    return out, result


def names(items):
    """``(class folder/file name, label)`` of report items, folder or record alike."""
    return [("/".join(p.replace(os.sep, "/").split("/")[-2:]), label) for p, label in items]


def test_pack_writes_what_mxnets_own_readers_read(packed, tiny_hotdog):
    out, result = packed
    assert result["counts"] == {"train": 32, "test": 16} and not result["reencoded"]
    assert sorted(os.path.basename(p) for p in result["files"]) == sorted(
        ["hotdog-classes.json"] + ["hotdog%s.%s" % (s, e) for s in ("", "-test")
                                   for e in ("rec", "idx", "lst")])
    assert not [f for f in os.listdir(os.path.dirname(out)) if f.endswith(".tmp")]
    folder = scan_folder(tiny_hotdog)
    reader = mx.recordio.MXIndexedRecordIO(out + "-test.idx", out + "-test.rec", "r")
    for key, (path, label) in enumerate(folder.items["test"]):
        header, data = mx.recordio.unpack(reader.read_idx(key))
        with open(path, "rb") as f:
            assert data == f.read()                        # the file's own bytes
        assert (header.label, header.id) == (label, key)
    reader.close()
    with open(out + ".lst") as f:
        first = f.readline().rstrip("\n").split("\t")
    assert first[0] == "0" and float(first[1]) == 0 and first[2] == "hotdog/00000.jpg"
    dataset = mx.gluon.data.vision.ImageRecordDataset(out + ".rec")
    assert len(dataset) == 32 and [dataset[i][1] for i in (0, 31)] == [0, 1]
    assert (dataset[5][0].asnumpy() == read_image(folder.items["train"][5][0])).all()
    batches = mx.io.ImageRecordIter(path_imgrec=out + ".rec", path_imgidx=out + ".idx",
                                    data_shape=(3, 32, 32), resize=32, batch_size=8)
    assert next(iter(batches)).data[0].shape == (8, 3, 32, 32)
    with open(out + "-classes.json") as f:
        assert json.load(f)["classes"] == ["hotdog", "not-hotdog"]


def test_a_packed_folder_scans_checks_and_loads_as_the_folder(packed, tiny_hotdog, tmp_path):
    out, _ = packed
    folder, rec = scan_folder(tiny_hotdog), scan_folder(out + ".rec")
    assert rec.layout == "recordio with a test file" and rec.classes == folder.classes
    assert rec.counts == folder.counts
    assert {s: names(i) for s, i in rec.items.items()} == {s: names(i) for s, i in folder.items.items()}
    member, path = rec.items["test"][3][0], folder.items["test"][3][0]
    assert member == os.path.join(out + "-test.rec", "hotdog", os.path.basename(path))
    assert (read_image(member) == read_image(path)).all()
    assert "RecordIO, test records in hotdog-test.rec" in rec.summary()
    checked = check_folder(out + ".rec", workers=2)
    assert checked.checked and checked.num_images() == 48 and not checked.bad_files
    # One folder of class folders packs into one file, split at training time as the folder is.
    single = str(tmp_path / "single")
    shutil.copytree(os.path.join(tiny_hotdog, "train"), single)
    pack_folder(single, str(tmp_path / "one.rec"), quiet=True)
    a = scan_folder(single, split=0.3, split_seed=2, val_split=0.25, val_seed=1)
    b = scan_folder(str(tmp_path / "one.rec"), split=0.3, split_seed=2, val_split=0.25, val_seed=1)
    assert b.layout == "recordio" and {s: names(i) for s, i in b.items.items()} == \
        {s: names(i) for s, i in a.items.items()}
    data = make_loaders(out + ".rec", batch_size=8, size=32, num_workers=0, quiet=True)
    x, y = next(iter(data.train))
    assert x.shape == (8, 3, 32, 32) and data.classes == ["hotdog", "not-hotdog"]


def test_the_same_seed_trains_the_same_from_the_folder_and_from_its_records(
        packed, tiny_hotdog, tiny_source, run_dir, tmp_path):
    out, _ = packed
    run = str(tmp_path / "run")
    # run_dir's settings exactly, on the records instead of the files.
    fit(TrainConfig(data=out + ".rec", out=run, weights=tiny_source, epochs=2, batch_size=8,
                    image_size=32, seed=3, quiet=True), log=lambda line: None)

    def history(folder):
        with open(os.path.join(folder, "history.jsonl")) as f:
            return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in f]

    ours, theirs = history(run), history(run_dir)
    assert [r["epoch"] for r in ours] == [1, 2]
    for a, b in zip(ours, theirs):
        assert a.keys() == b.keys() and a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert (a["train_acc"], a["test_acc"], a["lr"]) == (b["train_acc"], b["test_acc"], b["lr"])
    evaluate, predict = run_cli_each(["evaluate", run, "--data", out + ".rec", "--json", "--quiet"],
                                     ["predict", run, out + "-test.rec", "--json"])
    assert evaluate.returncode == 0, evaluate.stderr
    result = json.loads(evaluate.stdout)
    assert len(result["images"]) == 16
    assert result["accuracy"] in [r["test_acc"] for r in ours]    # the best checkpoint's
    assert predict.returncode == 0, predict.stderr
    rows = json.loads(predict.stdout)
    assert len(rows) == 16 and rows[0]["path"].endswith(os.path.join("hotdog-test.rec", "hotdog",
                                                                     "00000.jpg"))


def test_max_side_reencodes_as_jpeg_within_the_size(tiny_hotdog, tmp_path):
    result = pack_folder(tiny_hotdog, str(tmp_path / "small.rec"), max_side=24, quality=80,
                         quiet=True)
    assert result["reencoded"] and os.path.isfile(str(tmp_path / "small.rec"))
    rec = scan_folder(str(tmp_path / "small.rec"))
    for path, _ in rec.items["train"] + rec.items["test"]:
        data = recfile.read_member(path)
        assert data[:3] == b"\xff\xd8\xff"
        assert max(read_image(path).shape[:2]) == 24      # every tiny_hotdog image is 40-60 px
    with pytest.raises(UserError, match="--quality 101 is not a JPEG quality"):
        pack_folder(tiny_hotdog, str(tmp_path / "q"), quality=101)


def test_a_record_cut_in_parts_reads_back_whole(tmp_path):
    """A payload holding the magic number at a 4-byte boundary is written as parts (dmlc-core)."""
    rec, idx = str(tmp_path / "parts.rec"), str(tmp_path / "parts.idx")
    magic = struct.pack("<I", recfile.MAGIC)
    payloads = [b"ab" * 6 + magic + b"cdef" + magic + b"xyz", b"plain bytes", magic * 3]
    writer = mx.recordio.MXIndexedRecordIO(idx, rec, "w")
    for key, data in enumerate(payloads):
        writer.write_idx(key, mx.recordio.pack(mx.recordio.IRHeader(0, float(key % 2), key, 0), data))
    writer.close()
    index = recfile.load_index(rec)
    assert index.names == ["0/0", "1/1", "0/2"] and index.classes == ["0", "1"]   # no .lst
    assert [recfile.read_member(index.member(i)) for i in range(3)] == payloads
    with open(rec, "rb") as f:
        assert f.read().count(magic) > 6                  # it was indeed written in parts


def copy_rec(out, to):
    for ext in (".rec", ".idx", ".lst"):
        shutil.copy(out + ext, to + ext)
    shutil.copy(out + "-classes.json", to + "-classes.json")
    return to + ".rec"


def test_a_truncated_rec_or_a_disagreeing_idx_is_refused_naming_the_record(packed, tmp_path):
    out, _ = packed
    cut = copy_rec(out, str(tmp_path / "cut"))
    with open(cut, "rb+") as f:
        f.truncate(os.path.getsize(cut) - 100)
    with pytest.raises(UserError, match=r"record 31 \(at byte \d+ in .*cut.rec, listed in .*cut.idx\)"
                                        r" runs past the end of the file.*truncated"):
        scan_folder(cut)
    shifted = copy_rec(out, str(tmp_path / "shifted"))
    with open(shifted[:-4] + ".idx") as f:
        lines = f.read().splitlines()
    key, offset = lines[4].split("\t")
    lines[4] = "%s\t%d" % (key, int(offset) + 4)
    with open(shifted[:-4] + ".idx", "w") as f:
        f.write("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="record 4 .* does not start a record: the .idx disagrees"):
        scan_folder(shifted)
    with open(shifted[:-4] + ".idx", "a") as f:
        f.write("garbage\n")
    with pytest.raises(UserError, match=r"line 33 of .*shifted.idx is not `key<TAB>offset`"):
        scan_folder(shifted)
    os.remove(shifted[:-4] + ".idx")
    with pytest.raises(UserError, match="has no index shifted.idx beside it"):
        scan_folder(shifted)
    with pytest.raises(UserError, match="RecordIO file .*missing.rec does not exist; write it with"):
        scan_folder(str(tmp_path / "missing.rec"))


def test_a_lst_classes_file_or_label_that_disagrees_is_refused_naming_the_file(packed, tmp_path):
    out, _ = packed
    other = copy_rec(out, str(tmp_path / "other"))
    with open(other[:-4] + ".lst") as f:
        lines = f.read().splitlines()
    with open(other[:-4] + ".lst", "w") as f:
        f.write("\n".join(["99\t0.000000\thotdog/x.jpg"] + lines[1:]) + "\n")
    with pytest.raises(UserError, match=r"other.lst has no line for record 0 .*belongs to another .rec"):
        scan_folder(other)
    twice = copy_rec(out, str(tmp_path / "twice"))
    with open(twice[:-4] + ".lst") as f:
        lines = f.read().splitlines()
    lines[1] = lines[1].rsplit("\t", 1)[0] + "\t" + lines[0].rsplit("\t", 1)[1]
    with open(twice[:-4] + ".lst", "w") as f:
        f.write("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"twice.lst lists hotdog/00000.jpg twice \(again for record 1\)"):
        scan_folder(twice)
    few = copy_rec(out, str(tmp_path / "few"))
    with open(few[:-4] + "-classes.json", "w") as f:
        json.dump({"classes": ["hotdog"]}, f)
    with pytest.raises(UserError, match=r"few-classes.json names 1 classes, but a record of .*few.rec has label 1"):
        scan_folder(few)
    with open(few[:-4] + "-classes.json", "w") as f:
        f.write("[not json")
    with pytest.raises(UserError, match=r"few-classes.json is not a class list"):
        scan_folder(few)
    # Labels that are not classes, and a payload too short for MXNet's image header.
    for name, payload in (("half", mx.recordio.pack(mx.recordio.IRHeader(0, 0.5, 0, 0), b"x")),
                          ("minus", mx.recordio.pack(mx.recordio.IRHeader(0, -1.0, 0, 0), b"x")),
                          ("short", b"tiny")):
        rec, idx = str(tmp_path / (name + ".rec")), str(tmp_path / (name + ".idx"))
        writer = mx.recordio.MXIndexedRecordIO(idx, rec, "w")
        writer.write_idx(0, payload)
        writer.close()
        expected = "holds no image header" if name == "short" else "has label .*a class needs a whole number"
        with pytest.raises(UserError, match=r"record 0 \(at byte 0 in .*%s.rec.*\) %s" % (name, expected)):
            scan_folder(rec)
    with pytest.raises(UserError, match="--max-side 4 is too small"):
        pack_folder(out + ".rec", str(tmp_path / "small"), max_side=4)


def test_a_record_that_does_not_decode_is_listed_and_the_loader_workers_go_on(tiny_hotdog, tmp_path):
    folder = str(tmp_path / "broken")
    shutil.copytree(tiny_hotdog, folder)
    bad = os.path.join(folder, "train", "hotdog", "00003.jpg")
    with open(bad, "wb") as f:
        f.write(b"\xff\xd8\xff not a jpeg at all")
    pack_folder(folder, str(tmp_path / "broken"), quiet=True)   # the bytes are packed as they are
    rec = str(tmp_path / "broken.rec")
    report = check_folder(rec, workers=0)
    assert [b.path for b in report.bad_files] == [os.path.join(rec, "hotdog", "00003.jpg")]
    assert "unreadable: broken.rec/hotdog/00003.jpg" in report.summary().replace(os.sep, "/")
    with pytest.raises(UserError, match="broken.rec/hotdog/00003.jpg"):
        check_folder(rec, workers=0, strict=True)
    data = make_loaders(rec, batch_size=8, size=32, num_workers=2, check=False, quiet=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        labels = np.concatenate([y.asnumpy() for _, y in data.train])
    assert len(labels) == 32 and (labels == 0).sum() == 16     # its class kept its count


def test_the_pack_command_writes_refuses_and_replaces(tiny_hotdog, tmp_path):
    out = str(tmp_path / "cli")
    first, again, missing, nodir, slash = run_cli_each(
        ["data", "pack", tiny_hotdog, "--out", out, "--quiet"],
        ["data", "pack", tiny_hotdog, "--out", out],
        ["data", "pack", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")],
        ["data", "pack", tiny_hotdog, "--out", str(tmp_path / "no" / "such")],
        ["data", "pack", tiny_hotdog, "--out", str(tmp_path) + os.sep])
    assert first.returncode == 0, first.stderr
    assert "packed 32 train, 16 test records (2 classes)" in first.stdout
    assert "train --data %s" % (out + ".rec") in first.stdout
    assert_user_error(again, "cli-classes.json and 6 more files of that name already exist",
                      "--overwrite")
    assert_user_error(missing, "nothing does not exist")
    assert_user_error(nodir, "folder", "does not exist; create it first")
    assert_user_error(slash, "names a folder: give a file name without extension")
    assert not os.path.exists(str(tmp_path / "x.rec"))
    # --overwrite with a single folder replaces NAME.rec and removes the stale NAME-test files.
    proc = run_cli("data", "pack", os.path.join(tiny_hotdog, "train"), "--out", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert not os.path.exists(out + "-test.rec") and not os.path.exists(out + "-test.idx")
    assert scan_folder(out + ".rec").layout == "recordio"
