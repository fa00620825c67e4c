"""Read any image file as an RGB ``uint8`` array of shape (height, width, 3).

Real folders hold grayscale scans, RGBA screenshots, palette GIFs, 16-bit PNGs,
CMYK JPEGs and files with upper-case extensions. Every one of them is read here
as 3-channel RGB, and a file that cannot be read raises
:class:`ImageReadError` naming the file, instead of crashing a loader deep
inside an epoch.

Complete baseline or progressive JPEGs, the bulk of any photo folder, are
decoded by OpenCV (libjpeg-turbo, no Python objects per row): faster than
Pillow (the README's Performance section) and the same pixels (EXIF
orientation is ignored, as Pillow does). Every other file, and any JPEG that does not end with its end-of-image
marker (a truncated download, trailing bytes), goes through Pillow, which
refuses truncated files instead of returning a half-grey picture.
"""
import io
import os

import numpy as np
from PIL import Image

from . import recfile
from .errors import UserError

#: File name endings treated as images (compared case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff",
                    ".webp", ".ppm", ".pgm")


class ImageReadError(UserError):
    """A file that is missing, empty or does not decode as an image."""


def is_image_file(path):
    """True when ``path`` ends with one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return os.path.splitext(str(path))[1].lower() in IMAGE_EXTENSIONS


def decode_image(data, name="<bytes>"):
    """Decode encoded image bytes to an RGB ``uint8`` NumPy array (H, W, 3).

    Parameters
    ----------
    data : bytes
        The encoded file content.
    name : str
        Used in the error message only.

    Raises
    ------
    ImageReadError
        When the bytes are empty, not an image, or truncated.
    """
    if not data:
        raise ImageReadError("cannot read image %s: the file is empty (0 bytes)" % name)
    arr = _decode_jpeg_fast(data)
    if arr is not None:
        return arr
    try:
        with Image.open(io.BytesIO(data)) as im:
            # load() decodes the whole file, so a truncated JPEG fails here rather
            # than turning into a half-grey picture during training.
            im.load()
            return _to_rgb(im)
    except ImageReadError:
        raise
    except Exception as err:  # PIL raises a zoo of types for bad files
        raise ImageReadError("cannot read image %s: %s" % (name, _reason(err))) from None


def read_bytes(path):
    """The encoded bytes of image file ``path``, or of the record it names inside a ``.rec``.

    A path inside a ``.rec`` (``pets.rec/cat/001.jpg``) reads that record
    (:mod:`gluon_finetune.recfile`).

    Raises
    ------
    ImageReadError
        A missing file, a folder, a file or record that cannot be read.
    """
    if ".rec" in str(path).lower():
        try:
            data = recfile.read_member(path)
        except recfile.RecordError as err:
            raise ImageReadError(str(err)) from None
        if data is not None:
            return data
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ImageReadError("image file not found: %s" % path) from None
    except IsADirectoryError:
        raise ImageReadError("%s is a folder, not an image file" % path) from None
    except OSError as err:
        raise ImageReadError("cannot open %s: %s" % (path, err.strerror)) from None


def read_image(path):
    """Read an image file (or a record of a ``.rec``) as an RGB ``uint8`` NumPy array (H, W, 3).

    Grayscale, RGBA (composited on white), palette, 16-bit and CMYK files are
    all returned as 3-channel 8-bit RGB.
    """
    return decode_image(read_bytes(path), name=str(path))


def read_image_nd(path):
    """:func:`read_image` as an ``mx.nd.NDArray``, the input of ``mxnet.image`` augmenters."""
    import mxnet as mx

    return mx.nd.array(read_image(path), dtype="uint8")


_JPEG_START = b"\xff\xd8\xff"
_JPEG_END = b"\xff\xd9"
_cv2 = None


def _opencv():
    global _cv2
    if _cv2 is None:
        try:
            import cv2
        except ImportError:  # opencv-python is a dependency, but Pillow alone still works
            cv2 = False
        _cv2 = cv2
    return _cv2


def _decode_jpeg_fast(data):
    """A complete JPEG decoded by OpenCV as RGB, or None to let Pillow decode it.

    Only files that start with a JPEG marker and end with the end-of-image
    marker qualify: OpenCV decodes a truncated JPEG without an error, which would
    turn a broken file into a grey-bottomed training image.
    """
    if not (data.startswith(_JPEG_START) and data.endswith(_JPEG_END)):
        return None
    cv2 = _opencv()
    if not cv2:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
        return None
    # cvtColor writes a new contiguous array; a [:, :, ::-1] view would make
    # every later copy (crop, resize, to-tensor) pay for the negative stride.
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _to_rgb(im):
    mode = im.mode
    if mode == "RGB":
        return np.asarray(im)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # PIL's convert("RGB") clips 16-bit values at 255; scale them down instead.
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(im)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo if hi > lo else 1.0) * 255.0
        return np.repeat(arr.astype(np.uint8)[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def _reason(err):
    text = str(err) or err.__class__.__name__
    if "cannot identify image file" in text:
        return "not an image file (or a format Pillow cannot decode)"
    if "truncated" in text:
        return "the file is truncated (%s)" % text
    return text
