"""Which network is the default, and the image sizes each network was trained at and needs.

What the network builders (:mod:`gluon_finetune.networks.model`, the catalog) and the training
options both need, so it lives below both.
"""

#: The network fine-tuned when none is named (the book's).
DEFAULT_MODEL = "resnet18_v2"
#: The book's crop size, and every zoo network's input size but these.
DEFAULT_IMAGE_SIZE = 224
#: Networks trained on other sizes: Inception v3's 299 (below about 139 px its fixed
#: 8x8 average pool has nothing left to pool). Keys are name prefixes.
MODEL_IMAGE_SIZES = {"inceptionv3": 299}


#: Networks whose smallest input is above 32 px (measured: a forward pass at 32, 64, ...
#: 224, 299): SqueezeNet's head ends in a fixed 13x13 average pool, DenseNet's features
#: in a fixed 7x7 one, Inception v3's in an 8x8 one; AlexNet's strides leave nothing at 32.
MIN_IMAGE_SIZE = {"squeezenet": 224, "densenet": 224, "inceptionv3": 299, "alexnet": 64}


def _by_prefix(table, model, default):
    """``table``'s value for the first name prefix ``model`` starts with, else ``default``."""
    return next((size for prefix, size in table.items() if model.lower().startswith(prefix)),
                default)


def min_image_size(model):
    """The smallest input ``model`` runs on (its fixed-size pools), 32 for the others."""
    return _by_prefix(MIN_IMAGE_SIZE, model, 32)


def default_image_size(model):
    """The input size network ``model`` was trained at (ImageNet's, in the zoos)."""
    return _by_prefix(MODEL_IMAGE_SIZES, model, DEFAULT_IMAGE_SIZE)
