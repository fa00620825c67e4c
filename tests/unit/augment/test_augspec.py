"""The text spec for aug_lists: parsing, writing back, and clear errors."""
import json

import pytest
from mxnet import image

from gluon_finetune import augment as A
from gluon_finetune.augment.spec import BOOK_EXAMPLES, known_words, parse_spec, to_spec
from gluon_finetune.errors import UserError

CANONICAL = [
    "resized_crop:224,flip,color:0.5",
    "resized_crop:200:0.1-1:0.5-2,flip,vflip:0.3,color:0.5:0.5:0.5:0.5",
    "resize:256,center_crop:224,to_tensor,normalize",
    "min_size:32x16,crop:32x16,center_crop:8,gray:0.2,force_resize:3x4",
    "brightness:0.5,contrast:0.2,saturation:0.3,hue:0.1",
    "to_tensor,normalize:0.5/0.5/0.5:0.25/0.25/0.25",
]


@pytest.mark.parametrize("spec", CANONICAL + BOOK_EXAMPLES)
def test_canonical_specs_round_trip_exactly(spec):
    assert to_spec(parse_spec(spec)) == spec


def test_spec_builds_the_same_list_as_the_python_api():
    dumps = lambda augs: [json.loads(a.dumps()) for a in augs]
    assert dumps(parse_spec("book_train")) == dumps(A.train_augs())
    assert dumps(parse_spec("book_test:64")) == dumps(A.test_augs(64))
    augs = parse_spec("flip:0.25,resized_crop:200:0.1-1:0.5-2")
    assert isinstance(augs[0], image.HorizontalFlipAug) and augs[0].p == 0.25
    assert augs[1].size == (200, 200) and augs[1].scale == (0.1, 1.0) and augs[1].ratio == (0.5, 2.0)
    assert parse_spec("color:0.4")[0].dumps() == A.RandomColorAug(0.4, 0.4, 0.4, 0.0).dumps()


def test_presets_expand_and_write_back_expanded():
    assert to_spec(parse_spec("book_train")) == "resized_crop:224,flip,to_tensor,normalize"
    assert to_spec(parse_spec(" flip , vflip ")) == "flip,vflip"


@pytest.mark.parametrize("spec,fragment", [
    ("flip,sharpen:2", "unknown augmentation 'sharpen'"),
    ("", "empty augmentation spec"),
    ("flip,,vflip", "empty item"),
    ("crop:99999", "out of range"),
    ("crop:abc", "'abc' is not a size"),
    ("resized_crop:224:0.5", "not a range"),
    ("resized_crop:224:0.9-0.1", "0 < min <= max <= 1"),
    ("flip:2", "probability must be between 0 and 1"),
    ("to_tensor:3", "takes no value"),
    ("color:1:2", "takes 1 value"),
    ("brightness:2", "brightness must be between 0 and 1"),
])
def test_bad_specs_name_the_word(spec, fragment):
    with pytest.raises(UserError) as err:
        parse_spec(spec)
    assert fragment in str(err.value)


def test_unknown_word_lists_what_is_accepted():
    with pytest.raises(UserError) as err:
        parse_spec("blur:3")
    for word in ("resized_crop", "flip[:P]", "color:F|B:C:S:H", "book_train[:S]"):
        assert word in str(err.value)
    assert len(known_words()) >= 15


def test_to_spec_refuses_augmenters_without_a_word():
    with pytest.raises(ValueError, match="CastAug"):
        to_spec([image.CastAug()])


@pytest.mark.parametrize("size", ["200x100", "256x256", "256X256"])
def test_resize_refuses_two_sides_instead_of_dropping_the_height(size):
    # resize:S sets the shorter side; WxH would have kept W and silently lost H.
    with pytest.raises(UserError) as err:
        parse_spec("flip,resize:%s" % size)
    message = str(err.value)
    assert "'resize'" in message and size in message and "force_resize:%s" % size in message


def test_resize_and_force_resize_keep_their_meanings():
    (short,) = parse_spec("resize:256")
    assert isinstance(short, image.ResizeAug) and short.size == 256
    (exact,) = parse_spec("force_resize:200x100")
    assert isinstance(exact, image.ForceResizeAug) and tuple(exact.size) == (200, 100)
    assert to_spec([short, exact]) == "resize:256,force_resize:200x100"
