"""read_image: the OpenCV fast path for JPEGs gives Pillow's pixels and keeps Pillow's refusals."""
import io

import numpy as np
import pytest
from PIL import Image

from gluon_finetune import imageio
from gluon_finetune.imageio import ImageReadError, decode_image, read_image


def jpeg_bytes(arr, **kwargs):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90, **kwargs)
    return buf.getvalue()


def pil_rgb(data):
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def noise(h, w, channels=3, seed=0):
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.RandomState(seed).randint(0, 256, shape).astype(np.uint8)


@pytest.mark.parametrize("channels", [3, 1])
def test_jpeg_fast_path_gives_pillows_pixels(channels):
    data = jpeg_bytes(noise(37, 53, channels))
    assert imageio._decode_jpeg_fast(data) is not None  # the fast path is taken
    got = decode_image(data)
    assert got.dtype == np.uint8 and got.shape == (37, 53, 3) and got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(got, pil_rgb(data))


def test_truncated_jpeg_is_still_refused(tmp_path):
    data = jpeg_bytes(noise(48, 48))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:len(data) // 2])
    assert imageio._decode_jpeg_fast(path.read_bytes()) is None  # left to Pillow
    with pytest.raises(ImageReadError, match="cut.jpg"):
        read_image(str(path))


def test_trailing_bytes_go_through_pillow_and_read_the_same():
    data = jpeg_bytes(noise(20, 30))
    padded = data + b"\x00\x00 garbage"
    assert imageio._decode_jpeg_fast(padded) is None
    np.testing.assert_array_equal(decode_image(padded), decode_image(data))


def test_exif_orientation_is_ignored_like_pillow():
    # A landscape picture whose EXIF says "rotate 90": both decoders return it as stored.
    exif = Image.Exif()
    exif[0x0112] = 6
    data = jpeg_bytes(noise(20, 40), exif=exif.tobytes())
    got = decode_image(data)
    assert got.shape == (20, 40, 3)
    np.testing.assert_array_equal(got, pil_rgb(data))


def test_png_and_empty_files_keep_their_paths():
    buf = io.BytesIO()
    arr = noise(9, 11)
    Image.fromarray(arr).save(buf, "PNG")
    np.testing.assert_array_equal(decode_image(buf.getvalue()), arr)
    with pytest.raises(ImageReadError, match="empty"):
        decode_image(b"", name="x.jpg")
    with pytest.raises(ImageReadError, match="not an image"):
        decode_image(b"\xff\xd8\xffnot really a jpeg\xff\xd9", name="fake.jpg")
