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
=================================  ============================================

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
}

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
}


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
    :mod:`gluon_finetune.export`, which writes it as ``preprocessing.json``.

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
