"""aug_lists as text and as data: the one-line spec, and the preprocessing description.

The spec is how the command line and config files name an aug_list; the
preprocessing description (:func:`preprocessing_steps`) is how an exported
model tells a program without this package how to prepare its input.

A spec is a comma-separated list of words, each with optional ``:``-separated
arguments, applied left to right::

    resized_crop:224,flip,color:0.4,to_tensor,normalize

=================================  ============================================
word                               augmenter
=================================  ============================================
``resize:S``                       ``ResizeAug(S)``: shorter side to S (one side only)
``force_resize:S`` / ``:WxH``      ``ForceResizeAug``: exactly that size
``resized_crop:S[:A-B[:R-Q]]``     :class:`RandomResizedCropAug` (area A-B, ratio R-Q)
``crop:S`` / ``:WxH``              ``RandomCropAug``
``center_crop:S`` / ``:WxH``       ``CenterCropAug``
``min_size:S`` / ``:WxH``          :class:`MinSizeAug`: upscale small images
``flip[:P]``                       ``HorizontalFlipAug(P)``, P = 0.5 by default
``vflip[:P]``                      :class:`VerticalFlipAug`
``brightness:F``, ``contrast:F``,  :class:`RandomColorAug` with one jitter
``saturation:F``, ``hue:F``
``color:F`` / ``color:B:C:S:H``    :class:`RandomColorAug` (F for B, C and S)
``gray:P``                         ``RandomGrayAug(P)``
``to_tensor``                      :class:`ToTensorAug`: CHW float32 in [0, 1]
``normalize[:M/M/M:S/S/S]``        :class:`NormalizeAug`, ImageNet statistics by default
``book_train[:S]``                 the book's training list (:func:`train_augs`)
``book_test[:S]``                  the book's test list (:func:`test_augs`)
``trivial_augment``                :class:`TrivialAugmentAug` (TrivialAugment Wide)
``rand_augment[:N[:M]]``           :class:`RandAugmentAug`, N = 2 ops at bin M = 9 of 31
``auto_augment``                   :class:`AutoAugmentAug`, the ImageNet policy
``erasing[:P[:VALUE]]``            :class:`RandomErasingAug`, P = 0.5, VALUE 0-255,
                                   R/G/B, ``mean`` or ``random``
``rotate:DEG[:P]``                 :class:`RotateAug`, counter-clockwise degrees
``shear_x:M[:P]``, ``shear_y``     :class:`ShearXAug`, :class:`ShearYAug` (factor)
``translate_x:PX[:P]``, ``_y``     :class:`TranslateXAug`, :class:`TranslateYAug`
``enhance_brightness:M[:P]``,      PIL ``ImageEnhance`` at factor 1 + M
``enhance_color``,                 (:class:`EnhanceBrightnessAug`, ...)
``enhance_contrast``,
``enhance_sharpness``
``posterize:BITS[:P]``             :class:`PosterizeAug`: keep the top BITS bits
``solarize:T[:P]``                 :class:`SolarizeAug`: invert values >= T
``autocontrast[:P]``,              :class:`AutoContrastAug`, :class:`EqualizeAug`,
``equalize[:P]``, ``invert[:P]``,  :class:`InvertAug`, :class:`IdentityAug`
``identity``
=================================  ============================================

The single operations take the policies' magnitudes. A signed one (rotate,
shear, translate, enhance) turns its magnitude's sign at random like the
policies do, unless the magnitude is written with a sign: ``rotate:30`` turns
by +30 or -30 degrees, ``rotate:+30`` always by +30. The enhance words are
not ``brightness``/``contrast``/``color``, which keep their ColorJitter
meaning (:class:`RandomColorAug`).

:func:`parse_spec` builds the list; :func:`to_spec` writes a list back to text,
so ``to_spec(parse_spec(s))`` describes the same augmentations.
"""
from mxnet import image

from ..constants import IMAGENET_MEAN, IMAGENET_STD, MAX_SIDE, RESIZED_CROP_RATIO, RESIZED_CROP_SCALE
from ..errors import UserError
from .augmenters import (
    MinSizeAug,
    NormalizeAug,
    RandomColorAug,
    RandomResizedCropAug,
    ToTensorAug,
    VerticalFlipAug,
)
from .erasing import RandomErasingAug
from .opaugs import OP_AUGMENTERS
from .policies import AutoAugmentAug, RandAugmentAug, TrivialAugmentAug
from .presets import test_augs, train_augs

#: The augmentations the book's chapter shows, in its order, as spec strings.
BOOK_EXAMPLES = [
    "flip",
    "vflip",
    "resized_crop:200:0.1-1:0.5-2",
    "brightness:0.5",
    "hue:0.5",
    "contrast:0.5",
    "color:0.5:0.5:0.5:0.5",
    "flip,color:0.5:0.5:0.5:0.5,resized_crop:200:0.1-1:0.5-2",
]

def _num(word, text, what="a number"):
    try:
        return float(text)
    except ValueError:
        raise UserError("augmentation %r: %r is not %s" % (word, text, what)) from None


def _size(word, text):
    parts = text.lower().split("x")
    try:
        sides = [int(p) for p in parts]
    except ValueError:
        sides = []
    if len(sides) == 1:
        sides = sides * 2
    if len(sides) != 2:
        raise UserError("augmentation %r: %r is not a size (use 224 or WIDTHxHEIGHT such as 200x100)"
                        % (word, text))
    if not all(0 < s <= MAX_SIDE for s in sides):
        raise UserError("augmentation %r: size %s is out of range (1 to %d pixels a side)"
                        % (word, text, MAX_SIDE))
    return tuple(sides)


def _shorter_side(word, text):
    """``resize``'s one argument: a side length, never WIDTHxHEIGHT (which would lose HEIGHT)."""
    if "x" in text.lower():
        raise UserError("augmentation %r: %r is two sides, but resize takes one (the shorter side, "
                        "as in resize:256); for exactly WIDTHxHEIGHT write force_resize:%s"
                        % (word, text, text))
    return _size(word, text)[0]


def _range(word, text):
    parts = text.split("-")
    if len(parts) != 2:
        raise UserError("augmentation %r: %r is not a range (use LOW-HIGH such as 0.1-1)" % (word, text))
    return tuple(_num(word, p) for p in parts)


def _fmt(value):
    return ("%.4f" % value).rstrip("0").rstrip(".")


def _fmt_size(size):
    w, h = size
    return str(w) if w == h else "%dx%d" % (w, h)


def _color(word, args):
    if word == "color":
        if len(args) == 1:
            b = c = s = _num(word, args[0])
            h = 0.0
        elif len(args) == 4:
            b, c, s, h = (_num(word, a) for a in args)
        else:
            raise UserError("augmentation 'color' takes 1 value (brightness = contrast = "
                            "saturation) or 4 (brightness:contrast:saturation:hue)")
        return RandomColorAug(b, c, s, h)
    return RandomColorAug(**{word: _num(word, args[0])})


def _write_color(aug):
    b, c, s, h = aug.brightness, aug.contrast, aug.saturation, aug.hue
    if b == c == s and b > 0 and h == 0:
        return "color:%s" % _fmt(b)
    named = [(n, v) for n, v in (("brightness", b), ("contrast", c), ("saturation", s), ("hue", h)) if v]
    if len(named) == 1:
        return "%s:%s" % (named[0][0], _fmt(named[0][1]))
    return "color:%s" % ":".join(_fmt(v) for v in (b, c, s, h))


def _resized_crop(word, args):
    size = _size(word, args[0])
    scale = _range(word, args[1]) if len(args) > 1 else RESIZED_CROP_SCALE
    ratio = _range(word, args[2]) if len(args) > 2 else RESIZED_CROP_RATIO
    return RandomResizedCropAug(size, scale=scale, ratio=ratio)


def _write_resized_crop(aug):
    text = "resized_crop:%s" % _fmt_size(aug.size)
    default_ratio = all(abs(a - b) < 1e-6 for a, b in zip(aug.ratio, RESIZED_CROP_RATIO))
    if aug.scale != RESIZED_CROP_SCALE or not default_ratio:
        text += ":%s-%s" % tuple(_fmt(v) for v in aug.scale)
    if not default_ratio:
        text += ":%s-%s" % tuple(_fmt(v) for v in aug.ratio)
    return text


def _normalize(word, args):
    if not args:
        return NormalizeAug()
    if len(args) != 2:
        raise UserError("augmentation 'normalize' takes no value (ImageNet statistics) or "
                        "MEAN/MEAN/MEAN:STD/STD/STD")
    mean, std = ([_num(word, v) for v in a.split("/")] for a in args)
    return NormalizeAug(mean, std)


def _write_normalize(aug):
    if aug.mean == tuple(IMAGENET_MEAN) and aug.std == tuple(IMAGENET_STD):
        return "normalize"
    return "normalize:%s:%s" % ("/".join(_fmt(v) for v in aug.mean), "/".join(_fmt(v) for v in aug.std))


def _prob(word, args):
    return _num(word, args[0], "a probability") if args else 0.5


def _with_prob(cls):
    def build(word, args):
        p = _prob(word, args)
        if not 0.0 <= p <= 1.0:
            raise UserError("augmentation %r: probability must be between 0 and 1, got %g" % (word, p))
        return cls(p)
    return build


def _int(word, text, what):
    try:
        return int(text)
    except ValueError:
        raise UserError("augmentation %r: %r is not a whole number (%s)" % (word, text, what)) from None


def _rand_augment(word, args):
    n = _int(word, args[0], "the number of operations") if args else 2
    m = _int(word, args[1], "the magnitude bin, 0-30") if len(args) > 1 else 9
    return RandAugmentAug(num_ops=n, magnitude=m)


def _erasing(word, args):
    p = _prob(word, args)
    value = 0
    if len(args) > 1:
        text = args[1].lower()
        if text in ("mean", "random"):
            value = text
        else:
            what = "VALUE is a grey level 0-255, R/G/B such as 124/116/104, 'mean' or 'random'"
            value = [_int(word, v, what) for v in text.split("/")]
            value = value[0] if len(value) == 1 else tuple(value)
    return RandomErasingAug(p=p, value=value)


def _write_erasing(aug):
    if aug.scale != (0.02, 0.33) or aug.ratio != (0.3, 3.3):
        raise ValueError("erasing with scale %r or ratio %r other than (0.02, 0.33) and (0.3, 3.3) "
                         "has no spec word" % (aug.scale, aug.ratio))
    value = aug.value
    if isinstance(value, tuple):
        value = "/".join(str(v) for v in value)
    if value == 0:
        return "erasing" if aug.p == 0.5 else "erasing:%s" % _fmt(aug.p)
    return "erasing:%s:%s" % (_fmt(aug.p), value)


# The spec word of each single operation: the op's name, with "enhance_" before
# the four that would otherwise clash with the ColorJitter words.
_OP_WORDS = {op: ("enhance_" + op if op in ("brightness", "color", "contrast", "sharpness") else op)
             for op in OP_AUGMENTERS}
_OP_FORMS = {"rotate": "DEG[:P]", "translate_x": "PX[:P]", "translate_y": "PX[:P]",
             "posterize": "BITS[:P]", "solarize": "T[:P]"}


def _operation(op):
    cls = OP_AUGMENTERS[op]

    def build(word, args):
        if not cls.takes_magnitude:
            return cls(p=_prob(word, args[:1]) if args else 1.0)
        text = args[0]
        magnitude = _num(word, text, "a magnitude")
        p = _num(word, args[1], "a probability") if len(args) > 1 else 1.0
        if op in ("posterize", "solarize"):
            return cls(magnitude, p=p)
        # A magnitude written with its sign is that magnitude; without, either sign.
        return cls(magnitude, p=p, random_sign=text[:1] not in "+-")
    return build


def _write_operation(aug):
    if aug.interp != 0 or (aug.fill != 0 and _takes_fill(aug)):
        raise ValueError("%s with fill %r or interp %r has no spec word (spec words use fill 0, "
                         "nearest)" % (type(aug).__name__, aug.fill, aug.interp))
    word = _OP_WORDS[aug.op]
    text = word
    if aug.takes_magnitude:
        mag = aug.magnitude
        text += ":" + ((_fmt(mag) if mag < 0 else "+" + _fmt(mag))
                       if aug.signed and not aug.random_sign else _fmt(abs(mag) if aug.signed else mag))
    if aug.p != 1.0:
        text += ":" + _fmt(aug.p)
    return text


def _takes_fill(aug):
    return aug.op in ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")


def _write_policy(word, extra=""):
    def write(aug):
        if aug.interp != 0 or aug.fill != 0 or getattr(aug, "num_magnitude_bins", 31) != 31:
            raise ValueError("%s with fill %r, interp %r or other than 31 magnitude bins has no "
                             "spec word" % (type(aug).__name__, aug.fill, aug.interp))
        return word + extra(aug) if extra else word
    return write


def _write_rand_augment(aug):
    if aug.magnitude != 9:
        return ":%d:%d" % (aug.num_ops, aug.magnitude)
    return "" if aug.num_ops == 2 else ":%d" % aug.num_ops


# word -> (builder(word, args), (min args, max args), help text)
_BUILDERS = {
    "resize": (lambda w, a: image.ResizeAug(_shorter_side(w, a[0]), interp=1), (1, 1), "S"),
    "force_resize": (lambda w, a: image.ForceResizeAug(_size(w, a[0]), interp=1), (1, 1), "WxH"),
    "resized_crop": (_resized_crop, (1, 3), "S[:AREA_LO-AREA_HI[:RATIO_LO-RATIO_HI]]"),
    "crop": (lambda w, a: image.RandomCropAug(_size(w, a[0]), interp=1), (1, 1), "S|WxH"),
    "center_crop": (lambda w, a: image.CenterCropAug(_size(w, a[0]), interp=1), (1, 1), "S|WxH"),
    "min_size": (lambda w, a: MinSizeAug(_size(w, a[0])), (1, 1), "S|WxH"),
    "flip": (_with_prob(image.HorizontalFlipAug), (0, 1), "[:P]"),
    "vflip": (_with_prob(VerticalFlipAug), (0, 1), "[:P]"),
    "gray": (_with_prob(image.RandomGrayAug), (0, 1), "[:P]"),
    "brightness": (_color, (1, 1), "F"),
    "contrast": (_color, (1, 1), "F"),
    "saturation": (_color, (1, 1), "F"),
    "hue": (_color, (1, 1), "F"),
    "color": (_color, (1, 4), "F|B:C:S:H"),
    "to_tensor": (lambda w, a: ToTensorAug(), (0, 0), ""),
    "normalize": (_normalize, (0, 2), "[:M/M/M:S/S/S]"),
    "book_train": (lambda w, a: train_augs(_size(w, a[0]) if a else 224), (0, 1), "[:S]"),
    "book_test": (lambda w, a: test_augs(_size(w, a[0]) if a else 224), (0, 1), "[:S]"),
    "trivial_augment": (lambda w, a: TrivialAugmentAug(), (0, 0), ""),
    "rand_augment": (_rand_augment, (0, 2), "[:N[:M]]"),
    "auto_augment": (lambda w, a: AutoAugmentAug(), (0, 0), ""),
    "erasing": (_erasing, (0, 2), "[:P[:VALUE]]"),
}
for _op, _word in _OP_WORDS.items():
    if OP_AUGMENTERS[_op].takes_magnitude:
        _BUILDERS[_word] = (_operation(_op), (1, 2), _OP_FORMS.get(_op, "M[:P]"))
    elif _op == "identity":
        _BUILDERS[_word] = (_operation(_op), (0, 0), "")
    else:
        _BUILDERS[_word] = (_operation(_op), (0, 1), "[:P]")

# augmenter class -> writer(aug) -> spec word
_WRITERS = {
    image.ResizeAug: lambda a: "resize:%d" % a.size,
    image.ForceResizeAug: lambda a: "force_resize:%dx%d" % tuple(a.size),
    RandomResizedCropAug: _write_resized_crop,
    image.RandomCropAug: lambda a: "crop:%s" % _fmt_size(a.size),
    image.CenterCropAug: lambda a: "center_crop:%s" % _fmt_size(a.size),
    MinSizeAug: lambda a: "min_size:%s" % _fmt_size(a.size),
    image.HorizontalFlipAug: lambda a: "flip" if a.p == 0.5 else "flip:%s" % _fmt(a.p),
    VerticalFlipAug: lambda a: "vflip" if a.p == 0.5 else "vflip:%s" % _fmt(a.p),
    image.RandomGrayAug: lambda a: "gray" if a.p == 0.5 else "gray:%s" % _fmt(a.p),
    RandomColorAug: _write_color,
    ToTensorAug: lambda a: "to_tensor",
    NormalizeAug: _write_normalize,
    TrivialAugmentAug: _write_policy("trivial_augment"),
    RandAugmentAug: _write_policy("rand_augment", _write_rand_augment),
    AutoAugmentAug: _write_policy("auto_augment"),
    RandomErasingAug: _write_erasing,
}
_WRITERS.update({cls: _write_operation for cls in OP_AUGMENTERS.values()})


def known_words():
    """The spec words with their argument forms, for help texts and messages."""
    return [_written(w, form) for w, (_, _, form) in _BUILDERS.items()]


def _written(word, form):
    return word + form if form.startswith("[") or not form else "%s:%s" % (word, form)


def parse_spec(spec):
    """Build an aug_list from a spec string such as ``"resized_crop:224,flip,color:0.5"``.

    Raises
    ------
    UserError
        For an empty spec, an unknown word or a bad argument; the message names
        the word and lists what is accepted.
    """
    items = [item.strip() for item in str(spec).split(",")]
    if not any(items):
        raise UserError("empty augmentation spec; give words such as 'resized_crop:224,flip'")
    augs = []
    for item in items:
        if not item:
            raise UserError("augmentation spec %r has an empty item (two commas in a row?)" % spec)
        word, *args = item.split(":")
        word = word.strip().lower()
        if word not in _BUILDERS:
            raise UserError("unknown augmentation %r in %r; known words: %s"
                            % (word, spec, ", ".join(known_words())))
        build, (lo, hi), form = _BUILDERS[word]
        if not lo <= len(args) <= hi:
            raise UserError("augmentation %r takes %s; write it as %s"
                            % (item, "no value" if hi == 0 else "%d to %d values" % (lo, hi),
                               _written(word, form)))
        made = build(word, [a.strip() for a in args])
        augs.extend(made if isinstance(made, list) else [made])
    return augs


def to_spec(augs):
    """Write an aug_list back as a spec string (inverse of :func:`parse_spec`).

    Raises
    ------
    ValueError
        When the list holds an augmenter that has no spec word.
    """
    words = []
    for aug in augs:
        writer = _WRITERS.get(type(aug))
        if writer is None:
            raise ValueError("%s has no spec word; spec words exist for: %s"
                             % (type(aug).__name__, ", ".join(sorted(c.__name__ for c in _WRITERS))))
        words.append(writer(aug))
    return ",".join(words)


# --------------------------------------------------------------------------- preprocessing as data


def preprocessing_steps(augs):
    """Describe a deterministic test aug_list as plain data, one dict per step.

    The description is what a program without this package (or without MXNet)
    needs to prepare an image the way the network was tested: see
    :mod:`gluon_finetune.inference.export`, which writes it as ``preprocessing.json``.

    Returns
    -------
    list of dict
        Steps with ``"op"`` one of ``resize_shorter`` (``size``),
        ``resize`` (``width``, ``height``), ``min_size`` (``width``, ``height``),
        ``center_crop`` (``width``, ``height``), ``to_tensor``, ``normalize``
        (``mean``, ``std``).

    Raises
    ------
    UserError
        For a random augmenter (a flip, a random crop, colour jitter): a test
        list with one has no fixed meaning to write down.
    """
    steps = []
    for aug in augs:
        if isinstance(aug, image.ResizeAug):
            steps.append({"op": "resize_shorter", "size": int(aug.size),
                          "interpolation": _interp_name(aug.interp)})
        elif isinstance(aug, image.ForceResizeAug):
            steps.append({"op": "resize", "width": int(aug.size[0]), "height": int(aug.size[1]),
                          "interpolation": _interp_name(aug.interp)})
        elif isinstance(aug, MinSizeAug):
            steps.append({"op": "min_size", "width": aug.size[0], "height": aug.size[1],
                          "interpolation": _interp_name(aug.interp)})
        elif isinstance(aug, image.CenterCropAug):
            steps.append({"op": "center_crop", "width": int(aug.size[0]), "height": int(aug.size[1]),
                          "interpolation": _interp_name(aug.interp)})
        elif isinstance(aug, ToTensorAug):
            steps.append({"op": "to_tensor", "scale": 1.0 / 255.0, "layout": "CHW"})
        elif isinstance(aug, NormalizeAug):
            steps.append({"op": "normalize", "mean": list(aug.mean), "std": list(aug.std)})
        else:
            raise UserError("the run's test augmentation %s is random or has no data description; "
                            "exported models need a fixed test list such as "
                            "'resize:256,center_crop:224,to_tensor,normalize'" % type(aug).__name__)
    return steps


def _interp_name(code):
    names = {0: "nearest", 1: "bilinear", 2: "bicubic", 3: "area", 4: "lanczos"}
    return names.get(int(code), "opencv-%d" % int(code))
