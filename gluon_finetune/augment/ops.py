"""The image operations of the automatic policies, as plain functions on HWC uint8 arrays.

Each function takes an ``(H, W, C)`` ``uint8`` NumPy array (C = 3, or 1 for
grey) and a magnitude, and returns a new ``uint8`` array of the same shape; the
input is never modified. The definitions are PIL's (``ImageOps`` and
``ImageEnhance``), which torchvision's ``AutoAugment``, ``RandAugment`` and
``TrivialAugmentWide`` call on PIL images, so magnitudes mean what they mean
there:

=================  ==========================================================
operation          definition (magnitude ``m``)
=================  ==========================================================
``rotate``         counter-clockwise by ``m`` degrees about the centre, same size
``shear_x``        output (x, y) takes input (x + m*y, y), about the top-left
``shear_y``        output (x, y) takes input (x, y + m*x)
``translate_x``    shift right by ``int(m)`` pixels (left when negative)
``translate_y``    shift down by ``int(m)`` pixels
``brightness``     ``ImageEnhance.Brightness(1 + m)``: blend with black
``color``          ``ImageEnhance.Color(1 + m)``: blend with the grey image
``contrast``       ``ImageEnhance.Contrast(1 + m)``: blend with the mean grey
``sharpness``      ``ImageEnhance.Sharpness(1 + m)``: blend with PIL's SMOOTH
``posterize``      keep the top ``int(m)`` bits of each value
``solarize``       invert every value ``>= m``
``autocontrast``   stretch each channel to 0-255 (``ImageOps.autocontrast``)
``equalize``       flatten each channel's histogram (``ImageOps.equalize``)
``invert``         ``255 - x``
``identity``       a copy
=================  ==========================================================

The geometric operations sample with nearest neighbour by default (torchvision's
default for the policies) and fill what comes from outside the image with
``fill``. The work is done by OpenCV (look-up tables, ``remap``,
``filter2D``) and NumPy, because a policy runs once per training image.

How close to PIL 13: every operation gives PIL's pixels exactly. Checked
against torchvision 0.29's ``_apply_op`` on PIL images for every bin of the
TrivialAugment Wide and RandAugment tables, both signs (1,196 cases on the
built-in picture, all identical), and against PIL directly in
``tests/unit/augment/test_augment_policies.py``. The geometric operations get there by
doing PIL's arithmetic: its 16.16 fixed-point nearest-neighbour map, and for
shear the coefficients torchvision computes (``tan(atan(m))``, rounding
included). With ``interp=1`` (bilinear) OpenCV does the warp: close to PIL's
bilinear, not identical.
"""
import math

import numpy as np

from ..errors import UserError


def _cv2():
    import cv2

    return cv2


def _contig(arr):
    # Views from the fast path's flips have negative strides, which OpenCV refuses.
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


def _check(arr):
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 3:
        raise UserError("the policy operations work on HWC uint8 images (got %s %s); put them "
                        "before to_tensor and normalize in the aug_list"
                        % (getattr(arr, "dtype", type(arr).__name__), getattr(arr, "shape", "")))
    return _contig(arr)


def _lut(arr, table):
    """Apply one 256-entry table (or one per channel, shape (C, 256)) to every value."""
    table = np.clip(np.asarray(table), 0, 255).astype(np.uint8)
    if table.ndim == 2 and arr.shape[2] == 1:
        table = table[0]
    if table.ndim == 2:
        table = np.ascontiguousarray(table.T).reshape(256, 1, arr.shape[2])
    return _cv2().LUT(arr, table).reshape(arr.shape)


def _channels(arr):
    return [arr[:, :, 0]] if arr.shape[2] == 1 else _cv2().split(arr)


def _fill_value(fill, channels):
    values = [float(fill)] * channels if np.isscalar(fill) else [float(v) for v in fill]
    return tuple(values) + (0.0,) * (4 - len(values))


def _affine(arr, coeffs, fill, interp):
    """PIL's ``Image.transform(size, AFFINE, coeffs)``: output ``(x, y)`` samples the input
    at ``(a x + b y + c, d x + e y + f)``, in PIL's coordinates (pixel centres at
    +0.5).

    Nearest neighbour is PIL's own arithmetic (``ImagingTransformAffine``: 16.16
    fixed point, stepping from the first pixel centre), so the pixels are PIL's,
    also where the map lands exactly between two pixels (shear 0.2 does, on
    whole rows). Bilinear goes to OpenCV's ``warpAffine``: close to PIL's, not
    bit for bit.
    """
    a, b, c, d, e, f = (float(v) for v in coeffs)
    h, w, ch = arr.shape
    if interp == 0:
        def fix(v):
            return np.int64(math.floor(v * 65536.0 + 0.5))

        x0, y0 = fix(c + b * 0.5 + a * 0.5), fix(f + e * 0.5 + d * 0.5)
        steps = (fix(a), fix(b), fix(d), fix(e))
        # int32 when no sum can overflow it (any picture of a few thousand pixels).
        reach = max(abs(x0), abs(y0)) + (h + w) * max(abs(v) for v in steps)
        dtype = np.int32 if reach < 2 ** 31 else np.int64
        xs = np.arange(w, dtype=dtype)
        ys = np.arange(h, dtype=dtype)[:, None]
        # Integer sums are exact, so adding all at once equals PIL's running sums.
        maps = np.empty((h, w, 2), np.int16)
        for k, (start, along_x, along_y, size) in enumerate(((x0, steps[0], steps[1], w),
                                                             (y0, steps[2], steps[3], h))):
            coord = (ys * dtype(along_y) + dtype(start)) + xs * dtype(along_x)
            coord >>= 16
            # OpenCV copies the pixels (integer maps: no interpolation, outside -> fill).
            np.clip(coord, -1, size, out=coord)
            maps[:, :, k] = coord
        out = _cv2().remap(arr, maps, None, _cv2().INTER_NEAREST, borderMode=_cv2().BORDER_CONSTANT,
                           borderValue=_fill_value(fill, ch))
        return out.reshape(h, w, ch)
    cv2 = _cv2()
    # The same map on pixel indices (centres at 0): shift in by +0.5 and out by -0.5.
    matrix = np.array([[a, b, c + 0.5 * (a + b) - 0.5], [d, e, f + 0.5 * (d + e) - 0.5]])
    out = cv2.warpAffine(arr, matrix, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=_fill_value(fill, ch))
    return out.reshape(h, w, ch)


def _torchvision_shear(shear_x_deg, shear_y_deg):
    """torchvision's ``_get_inverse_affine_matrix`` for a pure shear about the top-left
    corner (angle 0, no translation, scale 1, centre (0, 0)), step by step, so the
    coefficients carry the same rounding as torchvision's ``_apply_op`` hands PIL."""
    rot, sx, sy = 0.0, math.radians(shear_x_deg), math.radians(shear_y_deg)
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    matrix = [d, -b, 0.0, -c, a, 0.0]
    matrix[2] += matrix[0] * (-0.0 - 0.0) + matrix[1] * (-0.0 - 0.0)
    matrix[5] += matrix[3] * (-0.0 - 0.0) + matrix[4] * (-0.0 - 0.0)
    return matrix


def check_fill(fill):
    """A geometric operation's fill: a grey level or an (R, G, B) triple, each 0-255."""
    values = [fill] if np.isscalar(fill) else list(fill)
    try:
        ok = len(values) in (1, 3) and all(0 <= float(v) <= 255 for v in values)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UserError("fill must be a grey level 0-255 or three of them (R, G, B), got %r" % (fill,))
    return fill if np.isscalar(fill) else tuple(float(v) for v in values)


def check_interp(interp):
    """The geometric operations' interpolation: 0 nearest or 1 bilinear (OpenCV's codes)."""
    if interp not in (0, 1):
        raise UserError("interp must be 0 (nearest, torchvision's default for the policies) "
                        "or 1 (bilinear), got %r" % (interp,))
    return int(interp)


# --------------------------------------------------------------------------- geometry


def rotate(arr, degrees, fill=0, interp=0):
    """Rotate counter-clockwise by ``degrees`` about the image centre, keeping the size.

    The map is PIL's ``Image.rotate`` (centre ``(w/2, h/2)``, cosines rounded
    to 15 places), so a square image rotated by 90 degrees is ``np.rot90``.
    """
    arr = _check(arr)
    h, w = arr.shape[:2]
    angle = -math.radians(float(degrees) % 360.0)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    cx, cy = w / 2.0, h / 2.0
    coeffs = [cos, sin, 0.0, -sin, cos, 0.0]
    coeffs[2] = cos * -cx + sin * -cy + 0.0 + cx
    coeffs[5] = -sin * -cx + cos * -cy + 0.0 + cy
    return _affine(arr, coeffs, fill, interp)


def shear_x(arr, factor, fill=0, interp=0):
    """Shear horizontally: output ``(x, y)`` takes input ``(x + factor * y, y)``, about the top-left."""
    arr = _check(arr)
    return _affine(arr, _torchvision_shear(math.degrees(math.atan(float(factor))), 0.0), fill, interp)


def shear_y(arr, factor, fill=0, interp=0):
    """Shear vertically: output ``(x, y)`` takes input ``(x, y + factor * x)``, about the top-left."""
    arr = _check(arr)
    return _affine(arr, _torchvision_shear(0.0, math.degrees(math.atan(float(factor)))), fill, interp)


def _shift(arr, dx, dy, fill):
    # An integer shift: exact with OpenCV's nearest-neighbour warp, in one pass.
    cv2 = _cv2()
    h, w, c = arr.shape
    out = cv2.warpAffine(arr, np.array([[1.0, 0.0, float(dx)], [0.0, 1.0, float(dy)]]), (w, h),
                         flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=_fill_value(fill, c))
    return out.reshape(h, w, c)


def translate_x(arr, pixels, fill=0):
    """Shift right by ``int(pixels)`` (torchvision truncates the magnitude); left when negative."""
    return _shift(_check(arr), int(pixels), 0, fill)


def translate_y(arr, pixels, fill=0):
    """Shift down by ``int(pixels)``; up when negative."""
    return _shift(_check(arr), 0, int(pixels), fill)


# --------------------------------------------------------------------------- colour (ImageEnhance)


def _grey(arr):
    """PIL's ``convert("L")``: ITU-R 601-2 luma, as one channel (H, W)."""
    if arr.shape[2] == 1:
        return arr[:, :, 0]
    # PIL's fixed point (16 bits, rounded), not OpenCV's 14-bit one: they differ by one
    # grey level on some pixels, and colour blends that level into the image. In
    # float32 every intermediate is an integer below 2**24, so exact.
    weights = np.array([[19595.0, 38470.0, 7471.0]], np.float32)
    grey = _cv2().transform(arr.astype(np.float32), weights)
    return np.floor((grey.reshape(arr.shape[:2]) + 32768.0) * (1.0 / 65536.0)).astype(np.uint8)


def _blend(degenerate, arr, factor):
    """PIL's ``Image.blend(degenerate, arr, factor)``: ``degenerate + factor * (arr - degenerate)``."""
    # In float32 and truncated towards zero, as PIL's C loop computes it: one
    # IEEE operation per step (subtract, multiply, add), each rounded once.
    cv2 = _cv2()
    if degenerate.ndim == 2:
        degenerate = cv2.merge([degenerate] * arr.shape[2]) if arr.shape[2] > 1 else degenerate[:, :, None]
    deg = degenerate.reshape(arr.shape).astype(np.float32)
    out = arr.astype(np.float32)
    cv2.subtract(out, deg, out)
    np.multiply(out, np.float32(factor), out=out)
    cv2.add(out, deg, out)
    np.clip(out, 0.0, 255.0, out=out)
    return out.astype(np.uint8)


def brightness(arr, factor):
    """``ImageEnhance.Brightness(factor)``: every value times ``factor``, truncated, clipped."""
    arr = _check(arr)
    # PIL blends in float32 (one rounding of the product), then truncates:
    # 10 * 1.3 is 12 there, not 13.
    table = np.clip(np.trunc(np.float32(factor) * np.arange(256, dtype=np.float32)), 0, 255)
    return _lut(arr, table)


def color(arr, factor):
    """``ImageEnhance.Color(factor)``: 0 gives the grey image, 1 the image, 2 twice its saturation."""
    arr = _check(arr)
    if arr.shape[2] == 1:
        return arr.copy()
    return _blend(_grey(arr), arr, factor)


def contrast(arr, factor):
    """``ImageEnhance.Contrast(factor)``: blend with the image's mean grey (rounded, as PIL does)."""
    arr = _check(arr)
    mean = int(float(_grey(arr).mean()) + 0.5)
    f = float(factor)
    # PIL's blend in float32, truncated towards zero, then clipped.
    diff = (np.arange(256) - mean).astype(np.float32)
    table = np.clip(np.trunc(np.float32(mean) + np.float32(f) * diff), 0, 255)
    return _lut(arr, table)


_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13.0


def sharpness(arr, factor):
    """``ImageEnhance.Sharpness(factor)``: blend with PIL's SMOOTH filter (border pixels kept)."""
    arr = _check(arr)
    h, w, c = arr.shape
    if h < 3 or w < 3:
        return arr.copy()
    smooth = _cv2().filter2D(arr, -1, _SMOOTH).reshape(arr.shape)
    # PIL's filter leaves the one-pixel border as it was.
    smooth[0], smooth[-1], smooth[:, 0], smooth[:, -1] = arr[0], arr[-1], arr[:, 0], arr[:, -1]
    return _blend(smooth, arr, factor)


# --------------------------------------------------------------------------- values (ImageOps)


def posterize(arr, bits):
    """Keep the top ``int(bits)`` bits (0-8) of every value, zeroing the others."""
    arr = _check(arr)
    bits = int(bits)
    if not 0 <= bits <= 8:
        raise UserError("posterize keeps 0 to 8 bits, got %d" % bits)
    return arr & np.uint8((0xFF << (8 - bits)) & 0xFF)


def solarize(arr, threshold):
    """Invert every value ``>= threshold`` (``ImageOps.solarize``); 256 leaves the image alone."""
    arr = _check(arr)
    values = np.arange(256)
    return _lut(arr, np.where(values >= float(threshold), 255 - values, values))


def invert(arr):
    """``255 - x`` for every value."""
    return 255 - _check(arr)


def autocontrast(arr):
    """``ImageOps.autocontrast``: map each channel's darkest value to 0 and brightest to 255.

    A channel with one value only is left alone; values map through
    ``int(x * 255 / (hi - lo) - lo * 255 / (hi - lo))``, as in PIL.
    """
    arr = _check(arr)
    extremes = [_cv2().minMaxLoc(plane)[:2] for plane in _channels(arr)]
    lo = [int(e[0]) for e in extremes]
    hi = [int(e[1]) for e in extremes]
    values = np.arange(256, dtype=np.float64)
    tables = []
    for c in range(arr.shape[2]):
        if hi[c] <= lo[c]:
            tables.append(values)
            continue
        scale = 255.0 / (hi[c] - lo[c])
        offset = -lo[c] * scale
        # int() truncates towards zero; values below 0 clip to 0 anyway.
        tables.append(np.clip(np.trunc(values * scale + offset), 0, 255))
    return _lut(arr, np.stack(tables))


def equalize(arr):
    """``ImageOps.equalize``: each channel's cumulative histogram becomes (about) a straight line."""
    arr = _check(arr)
    tables = []
    for plane in _channels(arr):
        hist = _cv2().calcHist([plane], [0], None, [256], [0, 256]).ravel().astype(np.int64)
        used = hist[hist > 0]
        step = (int(used.sum()) - int(used[-1])) // 255 if len(used) > 1 else 0
        if not step:
            tables.append(np.arange(256))
            continue
        # PIL: lut[i] = (step // 2 + sum(hist[:i])) // step, clipped at 255.
        before = np.concatenate([[0], np.cumsum(hist)[:-1]])
        tables.append(np.minimum((step // 2 + before) // step, 255))
    return _lut(arr, np.stack(tables))


def identity(arr):
    """A copy, so no operation ever hands back its input."""
    return _check(arr).copy()


#: operation name -> (function, True for the geometric ones that take ``fill``)
OPERATIONS = {
    "identity": (identity, False),
    "shear_x": (shear_x, True),
    "shear_y": (shear_y, True),
    "translate_x": (translate_x, True),
    "translate_y": (translate_y, True),
    "rotate": (rotate, True),
    "brightness": (brightness, False),
    "color": (color, False),
    "contrast": (contrast, False),
    "sharpness": (sharpness, False),
    "posterize": (posterize, False),
    "solarize": (solarize, False),
    "autocontrast": (autocontrast, False),
    "equalize": (equalize, False),
    "invert": (invert, False),
}


#: The operations that take a signed magnitude (the policies flip its sign at random).
SIGNED = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate",
          "brightness", "color", "contrast", "sharpness")


def apply_op(arr, name, magnitude, fill=0, interp=0):
    """Run operation ``name`` at a policy magnitude, as torchvision's ``_apply_op`` does.

    The magnitude is the policy's: the four ``ImageEnhance`` operations use a
    factor of ``1 + magnitude``, posterize ``int(magnitude)`` bits, solarize the
    magnitude as threshold, translate ``int(magnitude)`` pixels, the rest take
    it as it is (and the operations without one ignore it).
    """
    if name in ("brightness", "color", "contrast", "sharpness"):
        return OPERATIONS[name][0](arr, 1.0 + float(magnitude))
    if name in ("translate_x", "translate_y"):
        return OPERATIONS[name][0](arr, magnitude, fill=fill)
    if name in ("rotate", "shear_x", "shear_y"):
        return OPERATIONS[name][0](arr, magnitude, fill=fill, interp=interp)
    if name in ("posterize", "solarize"):
        return OPERATIONS[name][0](arr, magnitude)
    return OPERATIONS[name][0](arr)
