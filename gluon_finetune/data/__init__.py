"""Image folders to batches: one module per step, the common names importable from here.

A dataset is a folder in one of two layouts::

    root/train/<class>/*.jpg        root/<class>/*.jpg
    root/test/<class>/*.jpg         (split into train and test for you)

or a CSV file of image paths and labels (:mod:`~gluon_finetune.data.csv_labels`), or
MXNet RecordIO files (:mod:`~gluon_finetune.data.recordio`).

- :mod:`~gluon_finetune.data.folders`   the layout, the classes and which files are
  images (:func:`scan_folder`, :func:`list_images`), :class:`FolderReport`
- :mod:`~gluon_finetune.data.csv_labels` a CSV of paths, labels and splits (``--data labels.csv``)
- :mod:`~gluon_finetune.data.recordio`  ``data pack`` writes ``.rec`` / ``.idx`` / ``.lst``;
  :func:`scan_folder` reads them (``--data NAME.rec``)
- :mod:`~gluon_finetune.data.split`     the validation set: a ``val/`` folder, or
  :func:`carve_validation` of the training images (``--val-split``)
- :mod:`~gluon_finetune.data.check`     decode every file before training (:func:`check_folder`)
- :mod:`~gluon_finetune.data.dataset`   :class:`FolderDataset`, :class:`AugmentedDataset`
- :mod:`~gluon_finetune.data.loader`    train and test loaders (:func:`make_loaders`)
- :mod:`~gluon_finetune.data.workers`   how many worker processes, one thread each
- :mod:`~gluon_finetune.data.samples`   the book's grid of training images
- :mod:`~gluon_finetune.data.download`  downloads: ``fetch`` (HTTP + sha1), ``archives`` (safe
  extraction), ``cache`` (the markers), ``hotdog`` (the book's archive)
- :mod:`~gluon_finetune.data.synthetic` generated image folders for offline demos and tests:
  ``sprites``, ``scenes``, ``sizes``, ``writer``
"""
from ..imageio import IMAGE_EXTENSIONS
from ..lazy import lazy_getattr
from .check import check_folder
from .dataset import AugmentedDataset, FolderDataset
from .download import download_hotdog
from .folders import (
    DEFAULT_SPLIT,
    REC_SINGLE,
    REC_SPLITS,
    SINGLE,
    TRAIN_TEST,
    BadFile,
    DataWarning,
    FolderReport,
    find_layout,
    is_csv,
    is_hidden,
    is_rec,
    list_classes,
    list_images,
    rec_sibling,
    scan_folder,
    split_files,
)
from .loader import FolderData, FolderLoader, SeededBatches, ShardedBatchSampler, folder_loader, make_loaders
from .split import VAL_FOLDERS, carve_validation, find_val_folder
from .workers import MIN_IMAGES_FOR_WORKERS, default_workers, limit_worker_threads

__all__ = [
    "IMAGE_EXTENSIONS", "DEFAULT_SPLIT", "TRAIN_TEST", "SINGLE", "REC_SPLITS", "REC_SINGLE", "DataWarning", "BadFile",
    "FolderReport", "find_layout", "is_csv", "is_rec", "rec_sibling", "scan_folder", "check_folder", "split_files",
    "list_classes", "list_images", "is_hidden", "FolderDataset", "AugmentedDataset",
    "FolderData", "make_loaders", "folder_loader", "FolderLoader", "SeededBatches",
    "ShardedBatchSampler", "MIN_IMAGES_FOR_WORKERS", "default_workers",
    "limit_worker_threads", "Samples", "sample_images", "show_samples", "download_hotdog",
    "pack_folder", "VAL_FOLDERS", "carve_validation", "find_val_folder",
]

#: Loaded on first use (PEP 562): the sample grids draw with matplotlib, which loading
#: a folder does not need.
_LAZY = {"Samples": ".samples", "sample_images": ".samples", "show_samples": ".samples",
         "pack_folder": ".recordio"}


__getattr__ = lazy_getattr(__name__, _LAZY)
