"""Uploaded bytes -> an RGB image, refusing what a server should not decode.

A server is where bad input arrives, and decoding is where it costs: a 40 KB
PNG can declare 50,000 x 50,000 pixels, 7.5 GB once decoded. So the size is
read from the file's own header first (PNG's IHDR chunk, GIF's screen
descriptor, JPEG's start-of-frame segment: a few dozen bytes, parsed here
without a decoder), and a picture over the pixel limit is refused with 413
before any pixel is decoded. Other formats (BMP, TIFF, WebP, ...) are sized by
Pillow's lazy ``Image.open``, which also reads only the header.

What passes is decoded by :func:`gluon_finetune.imageio.decode_image`, the
function ``predict`` reads files with (OpenCV for complete JPEGs, Pillow for the
rest, CMYK and 16-bit included), so the server sees the same pixels as
``predict`` and gives the same answers.
"""
import io
import struct

from ..imageio import ImageReadError, decode_image
from .problems import RequestError

#: Refusal statuses: too big (bytes or pixels) vs. bytes that are not a usable image.
TOO_LARGE = 413
UNUSABLE = 422

_PNG = b"\x89PNG\r\n\x1a\n"
_GIF = (b"GIF87a", b"GIF89a")
_JPEG = b"\xff\xd8"
#: JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic...): they
#: carry the size. C4 (Huffman tables), C8 (reserved) and CC (arithmetic tables) do not.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
#: Markers without a length field.
_STANDALONE = {0x01} | set(range(0xD0, 0xD9))


def header_size(data):
    """``(width, height)`` declared by an image's header, without decoding it.

    Parameters
    ----------
    data : bytes
        The encoded file.

    Returns
    -------
    tuple of int, or None
        None when the header could not be read here (an unknown format, or a
        header cut short); the decoder then decides.
    """
    if data.startswith(_PNG):
        # The first chunk must be IHDR: length (4), type (4), width (4), height (4).
        if len(data) >= 24 and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        return None
    if data[:6] in _GIF:
        if len(data) >= 10:
            return struct.unpack("<HH", data[6:10])  # the logical screen, little-endian
        return None
    if data.startswith(_JPEG):
        # Pillow as a second opinion: a header this walk cannot follow must not let
        # OpenCV decode an unchecked size.
        return _jpeg_size(data) or _pillow_size(data)
    return _pillow_size(data)


def _jpeg_size(data):
    """Walk the JPEG's segments up to its start-of-frame; ``(width, height)`` or None."""
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None  # not at a marker: a corrupt header
        marker = data[pos + 1]
        if marker == 0xFF:  # fill bytes may pad before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == 0xDA:  # start of scan before any frame header
            return None
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker in _SOF:
            if pos + 9 > end:
                return None
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return width, height
        pos += 2 + length
    return None


def _pillow_size(data):
    """Another format's size from Pillow's lazy open (which reads the header only)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we judge the size
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except Image.DecompressionBombError as err:
        raise RequestError(TOO_LARGE, "the image is too large: %s" % err) from None
    except Exception:
        return None  # not an image Pillow knows: decode_image says so in its own words


def is_animated(data):
    """True for a GIF, PNG (APNG) or WebP with more than one frame.

    Only those formats are asked: a JPEG is never animated, and Pillow opens the
    multi-picture JPEGs some phones write (MPO) as several frames, which are
    still one photo.
    """
    if not (data[:6] in _GIF or data.startswith(_PNG)
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")):
        return False
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            # Counting a GIF's frames skips over their data blocks; nothing is decoded.
            return bool(getattr(im, "is_animated", False))
    except Exception:
        return False  # the decoder reports the broken file


def decode_upload(data, max_bytes, max_pixels, name="the image"):
    """Decode uploaded image bytes within limits, as ``predict`` would decode the file.

    Parameters
    ----------
    data : bytes
        The encoded image file.
    max_bytes : int
        Refuse larger files (413).
    max_pixels : int
        Refuse images whose header declares more pixels (413), before decoding.
    name : str
        How error messages name this image (``"input 'image' element 2"``).

    Returns
    -------
    numpy.ndarray
        RGB ``uint8``, shape (height, width, 3).

    Raises
    ------
    RequestError
        413 for too many bytes or pixels; 422 for zero bytes, bytes that are
        not an image, a truncated file, an animated image, a 0-pixel size.
    """
    if not data:
        raise RequestError(UNUSABLE, "%s is empty (0 bytes)" % name)
    if len(data) > max_bytes:
        raise RequestError(TOO_LARGE, "%s is %d bytes, over the limit of %d bytes (--max-upload-mb)"
                           % (name, len(data), max_bytes))
    size = header_size(data)
    if size is not None:
        width, height = size
        if width * height > max_pixels:
            raise RequestError(TOO_LARGE, "%s declares %d x %d = %d pixels, over the limit of %d "
                               "(--max-pixels); it was not decoded"
                               % (name, width, height, width * height, max_pixels))
        if width == 0 or height == 0:
            raise RequestError(UNUSABLE, "%s declares a size of %d x %d pixels" % (name, width, height))
    if is_animated(data):
        raise RequestError(UNUSABLE, "%s is animated (several frames); send one still image" % name)
    try:
        image = decode_image(data, name=name)
    except ImageReadError as err:
        # decode_image's message starts "cannot read image <name>: <reason>".
        raise RequestError(UNUSABLE, str(err)) from None
    if image.shape[0] * image.shape[1] > max_pixels:  # a header this module could not read
        raise RequestError(TOO_LARGE, "%s has %d x %d pixels, over the limit of %d (--max-pixels)"
                           % (name, image.shape[1], image.shape[0], max_pixels))
    return image
