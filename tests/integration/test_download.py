"""Download, verification and safe extraction, against a real HTTP server on 127.0.0.1.

The server runs in a thread of the test process and serves zip archives the tests
build from tiny real JPEGs; it counts requests, can cut a response short, and can
answer 404. "Offline" is a closed local port.
"""
import hashlib
import io
import os
import shutil
import socket
import stat
import subprocess
import sys
import uuid
import zipfile

import pytest
from PIL import Image

from gluon_finetune.data import download as dl
from gluon_finetune.data.download import (
    HOTDOG_SHA1,
    HOTDOG_URL_ENV,
    DownloadError,
    download_file,
    download_hotdog,
    extract_archive,
)
from gluon_finetune.errors import UserError

from conftest import ROOT
from http_server import Server

REPO = ROOT


# ---------------------------------------------------------------------------
# archives

def jpeg_bytes(color, size=16):
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def hotdog_layout(prefix="hotdog/"):
    """Entries mimicking hotdog.zip: <prefix>{train,test}/{hotdog,not-hotdog}/*.jpg."""
    entries = {}
    for split, n in (("train", 3), ("test", 2)):
        for cls, color in (("hotdog", (200, 60, 40)), ("not-hotdog", (40, 160, 60))):
            for i in range(n):
                entries["%s%s/%s/%d.jpg" % (prefix, split, cls, i)] = jpeg_bytes(color)
    return entries


def make_zip(entries, extra=()):
    """Zip bytes from a {name: bytes} dict, then ``extra`` ZipInfo/bytes pairs (in order)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for info, data in extra:
            zf.writestr(info, data)
    return buf.getvalue()


def symlink_info(name):
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the mode bits below are meaningful
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def sha1_of(data):
    return hashlib.sha1(data).hexdigest()


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def listing(folder):
    """Every path under ``folder`` (hidden ones too), relative; [] if it does not exist."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


GOOD = make_zip(hotdog_layout())
GOOD_SHA1 = sha1_of(GOOD)
EXPECTED_FILES = sorted(n[len("hotdog/"):] for n in hotdog_layout())


# ---------------------------------------------------------------------------
# the server

@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


def closed_url(name="hotdog.zip"):
    """A URL on a local port nobody listens on: connection refused, like being offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return "http://127.0.0.1:%d/%s" % (port, name)


# ---------------------------------------------------------------------------
# download_hotdog: the normal path

def test_good_archive_extracts_and_second_call_does_not_download(server, tmp_path):
    url = server.serve("/hotdog.zip", GOOD)
    root = tmp_path / "datasets"

    path = download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[url], quiet=True)

    assert path == str(root / "hotdog")
    assert listing(root / "hotdog") == sorted(
        set(EXPECTED_FILES) | {"train", "test", "train/hotdog", "train/not-hotdog",
                               "test/hotdog", "test/not-hotdog"})
    with Image.open(root / "hotdog" / "train" / "hotdog" / "0.jpg") as im:
        assert im.size == (16, 16)
    assert (root / "hotdog.zip").read_bytes() == GOOD
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((root / "hotdog.zip").stat().st_mode) == 0o666 & ~umask
    # Only the archive, the tree and the marker: no temporary file or folder.
    assert sorted(os.listdir(root)) == [".hotdog.zip.extracted", "hotdog", "hotdog.zip"]
    assert server.hits("/hotdog.zip") == 1

    # "Nothing" means no download and no extraction either: a re-extraction
    # would replace the tree, and the sentinel with it.
    write(root / "hotdog" / "sentinel.txt", b"untouched")
    again = download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[url], quiet=True)
    assert again == path
    assert server.hits("/hotdog.zip") == 1
    assert (root / "hotdog" / "sentinel.txt").read_bytes() == b"untouched"


def test_removed_tree_is_extracted_again_from_the_kept_archive(server, tmp_path):
    url = server.serve("/hotdog.zip", GOOD)
    root = tmp_path / "datasets"
    path = download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[url], quiet=True)
    shutil.rmtree(path)

    assert download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[url], quiet=True) == path
    assert len(listing(root / "hotdog")) == len(EXPECTED_FILES) + 6
    assert server.hits("/hotdog.zip") == 1


def test_archive_put_in_root_is_used_without_network(tmp_path):
    # The offline recipe of the README: put hotdog.zip in the folder, run again.
    root = tmp_path / "datasets"
    write(root / "hotdog.zip", GOOD)
    path = download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[closed_url()], quiet=True)
    assert (root / "hotdog" / "test" / "not-hotdog" / "1.jpg").is_file()
    assert path == str(root / "hotdog")


def test_an_unrecorded_old_tree_is_replaced_as_a_whole(server, tmp_path):
    url = server.serve("/hotdog.zip", GOOD)
    root = tmp_path / "datasets"
    write(root / "hotdog" / "train" / "hotdog" / "stale.jpg", b"old")
    write(root / "other-dataset" / "keep.txt", b"keep")

    download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[url], quiet=True)

    assert not (root / "hotdog" / "train" / "hotdog" / "stale.jpg").exists()
    assert (root / "hotdog" / "train" / "hotdog" / "0.jpg").is_file()
    assert (root / "other-dataset" / "keep.txt").read_bytes() == b"keep"
    assert server.hits("/hotdog.zip") == 1


def test_default_root_follows_mxnet_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "mxhome"))
    assert dl.default_root() == str(tmp_path / "mxhome" / "datasets")


# ---------------------------------------------------------------------------
# refusals that leave nothing behind

def test_wrong_sha1_is_refused_and_nothing_is_left(server, tmp_path):
    url = server.serve("/hotdog.zip", GOOD)
    root = tmp_path / "datasets"

    with pytest.raises(UserError) as err:
        download_hotdog(root=str(root), sha1="0" * 40, urls=[url], quiet=True)

    msg = str(err.value)
    assert GOOD_SHA1 in msg and "0" * 40 in msg
    assert listing(root) == []
    assert server.hits("/hotdog.zip") == 1


def test_failed_download_keeps_the_previous_file(server, tmp_path):
    url = server.serve("/f.zip", GOOD)
    dest = write(tmp_path / "f.zip", b"previous content")
    with pytest.raises(DownloadError):
        download_file(url, str(dest), sha1="1" * 40, quiet=True)
    assert dest.read_bytes() == b"previous content"
    assert listing(tmp_path) == ["f.zip"]


@pytest.mark.parametrize("verify", [True, False])
def test_truncated_download_is_refused_and_nothing_is_left(server, tmp_path, verify):
    # With verify=False only the Content-Length check can catch the short body.
    url = server.serve("/hotdog.zip", GOOD, mode="truncate")
    root = tmp_path / "datasets"

    with pytest.raises(UserError) as err:
        download_hotdog(root=str(root), sha1=GOOD_SHA1, verify=verify, urls=[url], quiet=True)

    assert "incomplete download" in str(err.value)
    assert "got %d of %d bytes" % (len(GOOD) // 2, len(GOOD)) in str(err.value)
    assert listing(root) == []


def test_cut_archive_is_refused_and_nothing_is_left(server, tmp_path):
    # A complete HTTP response of an incomplete file: only extraction can tell.
    url = server.serve("/hotdog.zip", GOOD[:len(GOOD) * 2 // 3])
    root = tmp_path / "datasets"

    with pytest.raises(UserError) as err:
        download_hotdog(root=str(root), verify=False, urls=[url], quiet=True)

    assert "zip" in str(err.value)
    assert listing(root) == []


@pytest.mark.parametrize("case", ["existing", "new-in-empty-folder", "new-nested"])
def test_damaged_member_is_refused_and_nothing_is_left(tmp_path, case):
    # Zero bytes inside the second member's data: the central directory still
    # reads, the first member is written, the second fails its CRC check.
    data = bytearray(make_zip({"hotdog/train/a/first.bin": b"a" * 100,
                               "hotdog/train/a/big.bin": os.urandom(4000)}))
    offset = data.index(b"hotdog/train/a/big.bin") + len("hotdog/train/a/big.bin") + 100
    data[offset:offset + 50] = bytes(50)
    archive = write(tmp_path / "in" / "bad.zip", bytes(data))
    before = ["in", "in/bad.zip"]
    if case == "existing":
        target = tmp_path / "out"
        write(target / "keep.txt", b"keep")
        before += ["out", "out/keep.txt"]
    elif case == "new-in-empty-folder":
        (tmp_path / "box").mkdir()  # was there before: must stay
        target = tmp_path / "box" / "out"
        before += ["box"]
    else:
        target = tmp_path / "new" / "deeper" / "out"

    with pytest.raises(UserError) as err:
        extract_archive(str(archive), str(target), quiet=True)

    assert "big.bin" in str(err.value)
    assert listing(tmp_path) == sorted(before)


ABS_NAME = "/gluon_finetune_test_abs_%s.txt" % uuid.uuid4().hex


@pytest.mark.parametrize("bad", [
    ("../x", None),
    ("hotdog/../../x", None),
    ("..\\x", None),
    (ABS_NAME, None),
    ("C:/x", None),
    ("hotdog/link", symlink_info("hotdog/link")),
], ids=["dotdot", "nested-dotdot", "backslash-dotdot", "absolute", "drive", "symlink"])
def test_unsafe_entry_is_refused_and_nothing_is_written(tmp_path, bad):
    name, info = bad
    if info is None:
        info = zipfile.ZipInfo(name)
    # The bad entry comes last, after good ones a naive extractor would already
    # have written.
    data = make_zip(hotdog_layout(), extra=[(info, b"../../outside")])
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist()[-1] == name  # zipfile kept the name as given
    archive = write(tmp_path / "in" / "evil.zip", data)
    box = tmp_path / "box"
    box.mkdir()
    target = box / "target"

    with pytest.raises(UserError) as err:
        extract_archive(str(archive), str(target), quiet=True)

    assert repr(name) in str(err.value)
    assert listing(box) == []
    assert listing(tmp_path) == ["box", "in", "in/evil.zip"]
    assert not os.path.lexists(ABS_NAME)


def test_unsafe_archive_given_with_archive_leaves_root_untouched(tmp_path):
    data = make_zip(hotdog_layout(), extra=[(symlink_info("hotdog/train/l"), b"/etc")])
    archive = write(tmp_path / "evil.zip", data)
    root = tmp_path / "datasets"
    write(root / "hotdog" / "train" / "hotdog" / "mine.jpg", b"x")
    before = listing(root)

    with pytest.raises(UserError) as err:
        download_hotdog(root=str(root), archive=str(archive), verify=False, quiet=True)

    assert "symbolic link" in str(err.value)
    assert listing(root) == before


def test_macosx_and_dot_files_are_skipped(server, tmp_path):
    entries = hotdog_layout()
    entries.update({
        "__MACOSX/hotdog/train/hotdog/._0.jpg": b"resource fork",
        "__MACOSX/._hotdog": b"resource fork",
        "hotdog/.DS_Store": b"finder",
        "hotdog/train/hotdog/._0.jpg": b"resource fork",
        "hotdog/train/.hidden/a.jpg": jpeg_bytes((0, 0, 0)),
    })
    data = make_zip(entries)
    url = server.serve("/hotdog.zip", data)
    root = tmp_path / "datasets"

    # __MACOSX is a second top-level folder in the archive: it must not make
    # the tool wrap the archive in a folder of its own.
    path = download_hotdog(root=str(root), sha1=sha1_of(data), urls=[url], quiet=True)

    assert path == str(root / "hotdog")
    files = [p for p in listing(root / "hotdog") if p.endswith((".jpg", "Store"))]
    assert files == EXPECTED_FILES
    assert not (root / "__MACOSX").exists()


# ---------------------------------------------------------------------------
# mirrors and offline

def test_mirror_is_used_when_the_primary_fails(server, tmp_path):
    server.serve("/hotdog.zip", GOOD)
    root = tmp_path / "datasets"
    urls = [closed_url(), server.url("/missing/hotdog.zip"), server.url("/hotdog.zip")]

    path = download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=urls, quiet=True)

    assert (root / "hotdog" / "train" / "not-hotdog" / "2.jpg").is_file()
    assert path == str(root / "hotdog")
    assert server.hits("/missing/hotdog.zip") == 1
    assert server.hits("/hotdog.zip") == 1


def test_urls_come_from_the_environment(server, tmp_path, monkeypatch):
    url = server.serve("/env/hotdog.zip", GOOD)
    monkeypatch.setenv(HOTDOG_URL_ENV, "%s %s" % (closed_url(), url))
    download_hotdog(root=str(tmp_path), sha1=GOOD_SHA1, quiet=True)
    assert server.hits("/env/hotdog.zip") == 1
    assert (tmp_path / "hotdog" / "test").is_dir()


def test_offline_message_names_url_sha1_and_folder(tmp_path):
    root = tmp_path / "mxhome" / "datasets"
    urls = [closed_url(), closed_url()]

    with pytest.raises(UserError) as err:
        download_hotdog(root=str(root), urls=urls, quiet=True)

    msg = str(err.value)
    assert listing(tmp_path) == []  # not even the folder it created for the download
    for url in urls:
        assert url in msg
    assert dl.HOTDOG_URL in msg  # where the real file is, whatever was tried
    assert HOTDOG_SHA1 in msg
    assert str(root / "hotdog.zip") in msg
    assert "--archive" in msg
    assert not root.exists()


def test_offline_message_says_a_wrong_file_is_in_the_way(tmp_path):
    root = tmp_path / "datasets"
    write(root / "hotdog.zip", b"not the archive")

    with pytest.raises(UserError) as err:
        download_hotdog(root=str(root), urls=[closed_url()], quiet=True)

    assert sha1_of(b"not the archive") in str(err.value)
    assert (root / "hotdog.zip").read_bytes() == b"not the archive"  # not ours to delete
    assert listing(root) == ["hotdog.zip"]


# ---------------------------------------------------------------------------
# --archive: the user's own zip

def test_foreign_archive_needs_its_sha1_or_no_verify(tmp_path):
    data = make_zip(hotdog_layout(prefix="flowers/"))
    archive = write(tmp_path / "flowers.zip", data)
    root = tmp_path / "datasets"

    with pytest.raises(UserError) as err:
        download_hotdog(root=str(root), archive=str(archive), quiet=True)
    assert sha1_of(data) in str(err.value) and HOTDOG_SHA1 in str(err.value)
    assert listing(root) == []

    path = download_hotdog(root=str(root), archive=str(archive), sha1=sha1_of(data).upper(),
                           quiet=True)
    assert path == str(root / "flowers")
    assert (root / "flowers" / "train" / "hotdog" / "0.jpg").is_file()

    other = tmp_path / "other"
    assert download_hotdog(root=str(other), archive=str(archive), verify=False,
                           quiet=True) == str(other / "flowers")


def test_archive_without_a_single_top_folder_gets_a_folder_of_its_own(tmp_path):
    archive = write(tmp_path / "pets.zip", make_zip(hotdog_layout(prefix="")))
    root = tmp_path / "datasets"
    path = download_hotdog(root=str(root), archive=str(archive), verify=False, quiet=True)
    assert path == str(root / "pets")
    assert sorted(os.listdir(path)) == ["test", "train"]
    assert sorted(os.listdir(root)) == [".pets.zip.extracted", "pets"]


def test_other_archive_into_the_same_folder_invalidates_the_hotdog_record(tmp_path):
    root = tmp_path / "datasets"
    write(root / "hotdog.zip", GOOD)
    download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[closed_url()], quiet=True)
    impostor = make_zip({"hotdog/train/x/1.jpg": jpeg_bytes((1, 2, 3))})
    archive = write(tmp_path / "mine.zip", impostor)
    download_hotdog(root=str(root), archive=str(archive), verify=False, quiet=True)
    assert not (root / "hotdog" / "test").exists()

    # The hotdog record no longer vouches for root/hotdog: it is extracted again.
    download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[closed_url()], quiet=True)
    assert (root / "hotdog" / "test" / "hotdog" / "0.jpg").is_file()


def test_a_record_pointing_outside_root_is_not_trusted(server, tmp_path):
    url = server.serve("/hotdog.zip", GOOD)
    root = tmp_path / "datasets"
    (tmp_path / "elsewhere").mkdir()
    write(root / ".hotdog.zip.extracted",
          ('{"sha1": "%s", "folder": "../elsewhere"}' % GOOD_SHA1).encode())

    path = download_hotdog(root=str(root), sha1=GOOD_SHA1, urls=[url], quiet=True)

    assert path == str(root / "hotdog")
    assert server.hits("/hotdog.zip") == 1


def test_malformed_sha1_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="40 hexadecimal"):
        download_hotdog(root=str(tmp_path), sha1="abc", urls=[closed_url()], quiet=True)


# ---------------------------------------------------------------------------
# the command line, in real subprocesses

def cli(*args, env=None):
    full_env = dict(os.environ)
    full_env.pop(HOTDOG_URL_ENV, None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gluon_finetune", "data", "download"]
                          + [str(a) for a in args],
                          capture_output=True, text=True, cwd=REPO, env=full_env, timeout=120)


def assert_clean_error(proc):
    """Exit status 2, no traceback, one error; returns the error's lines."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(starts) == 1, proc.stderr
    return lines[starts[0]:]


def test_cli_downloads_into_mxnet_home_and_prints_the_folder(server, tmp_path):
    url = server.serve("/hotdog.zip", GOOD)
    env = {"MXNET_HOME": str(tmp_path / "mxhome"), HOTDOG_URL_ENV: url}

    first = cli("--sha1", GOOD_SHA1, env=env)
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "mxhome" / "datasets" / "hotdog"
    assert first.stdout == str(folder) + "\n"
    assert (folder / "train" / "hotdog" / "0.jpg").is_file()

    second = cli("--sha1", GOOD_SHA1, "--quiet", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == str(folder) + "\n"
    assert second.stderr == ""
    assert server.hits("/hotdog.zip") == 1


def test_cli_foreign_archive_refused_then_accepted(tmp_path):
    data = make_zip(hotdog_layout(prefix="mine/"))
    archive = write(tmp_path / "mine.zip", data)
    root = tmp_path / "datasets"

    refused = cli("--root", root, "--archive", archive)
    assert len(assert_clean_error(refused)) == 1
    assert "--sha1 %s" % sha1_of(data) in refused.stderr
    assert listing(root) == []

    accepted = cli("--root", root, "--archive", archive, "--sha1", sha1_of(data), "--quiet")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout == str(root / "mine") + "\n"

    unverified = cli("--root", tmp_path / "r2", "--archive", archive, "--no-verify", "--quiet")
    assert unverified.returncode == 0, unverified.stderr
    assert (tmp_path / "r2" / "mine" / "test" / "not-hotdog" / "1.jpg").is_file()


def test_cli_offline_and_bad_input_errors_are_clean(tmp_path):
    root = tmp_path / "datasets"
    url = closed_url()
    offline = cli("--root", root, "--url", url)
    assert assert_clean_error(offline)[0] == "error: could not download hotdog.zip:"
    assert url in offline.stderr and HOTDOG_SHA1 in offline.stderr
    assert str(root / "hotdog.zip") in offline.stderr
    assert "--archive" in offline.stderr

    bad_hash = cli("--root", root, "--url", url, "--sha1", "xyz")
    assert len(assert_clean_error(bad_hash)) == 1

    missing = cli("--root", root, "--archive", tmp_path / "nope.zip")
    assert len(assert_clean_error(missing)) == 1
    assert "nope.zip" in missing.stderr
    assert listing(root) == []


def test_cli_help_teaches_source_sha1_folder_and_offline_use():
    proc = cli("--help")
    assert proc.returncode == 0
    for text in (dl.HOTDOG_URL, dl.HOTDOG_MIRROR_URL, HOTDOG_SHA1, "MXNET_HOME",
                 "~/.mxnet/datasets", "--archive", "--no-verify", HOTDOG_URL_ENV):
        assert text in proc.stdout, text
