"""``gluon-finetune data download``: fetch, verify and extract the hotdog archive."""
from . import formatter

DESCRIPTION = """\
Download the hotdog data set of Dive into Deep Learning (hotdog.zip: train/ with
1000 hotdog + 1000 not-hotdog images, test/ with 400 + 400), check its sha1,
and extract it safely. Prints the folder that holds train/ and test/.

  source   http://d2l-data.s3-accelerate.amazonaws.com/hotdog.zip
  mirror   https://apache-mxnet.s3-accelerate.amazonaws.com/gluon/dataset/hotdog.zip
  sha1     fba480ffa8aa7e0febbb511d181409f899b9baa5
  folder   --root, default MXNet's dataset folder: $MXNET_HOME/datasets,
           else ~/.mxnet/datasets (the archive is kept as <root>/hotdog.zip,
           the data goes to <root>/hotdog, replacing an older copy there)

The file is downloaded under a temporary name and kept only when its sha1
matches; the mirror is tried when the source fails. Running the command again
does nothing once a verified copy is extracted.

Offline: fetch hotdog.zip elsewhere, check `sha1sum hotdog.zip` against the sha1
above, then put it in the --root folder and run this command, or pass it
with --archive PATH. --archive with --sha1 HASH (or --no-verify) also extracts
your own zipped image folder, with the same checks: entries that would land
outside the folder (.., absolute paths, symlinks) are refused, __MACOSX/ and
dot-files are skipped, and nothing half-extracted is ever left behind.
"""

EPILOG = """\
examples:
  gluon-finetune data download                          # into ~/.mxnet/datasets/hotdog
  gluon-finetune data download --root data              # into data/hotdog
  gluon-finetune data download --archive ~/Downloads/hotdog.zip   # offline
  gluon-finetune data download --archive flowers.zip --sha1 $(sha1sum flowers.zip | cut -c1-40)
  DATA=$(gluon-finetune data download --quiet)         # the folder, for scripts

environment:
  GLUON_FINETUNE_HOTDOG_URL   URLs to use instead of the two above (space separated)
  MXNET_HOME                  MXNet's cache folder; the default root is $MXNET_HOME/datasets
"""


def register(actions):
    p = actions.add_parser(
        "download", formatter_class=formatter, description=DESCRIPTION, epilog=EPILOG,
        help="download, verify and extract the hotdog data set (or extract a zip you have)")
    p.add_argument("--root", metavar="DIR",
                   help="folder for hotdog.zip and the extracted data "
                        "(default: $MXNET_HOME/datasets or ~/.mxnet/datasets)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--archive", metavar="PATH",
                        help="use this zip file instead of downloading (the offline path)")
    source.add_argument("--url", metavar="URL", action="append",
                        help="download from URL instead (repeat for mirrors, tried in order)")
    p.add_argument("--sha1", metavar="HASH",
                   help="expected sha1 of the archive (default: the book's hotdog.zip)")
    p.add_argument("--no-verify", action="store_true",
                   help="accept an archive whatever its sha1 (extraction stays safe)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars or status lines; print only the folder")
    p.set_defaults(func=run)


def run(args):
    from ..data.download import HOTDOG_SHA1, download_hotdog

    path = download_hotdog(root=args.root, archive=args.archive,
                           sha1=args.sha1 or HOTDOG_SHA1, verify=not args.no_verify,
                           urls=args.url, quiet=args.quiet)
    print(path)
    return 0
