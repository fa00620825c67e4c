"""The numbers several modules share: ImageNet statistics and the book's crop defaults.

Each value is defined here once and imported everywhere it is used (the
augmenters and their spec, the figures that undo normalisation, the exported
preprocessing description, the demo's settings). This module imports nothing,
so any module of the package can import it without creating a cycle.
"""

#: ImageNet channel statistics (RGB, pixel values scaled to [0, 1]), which the
#: model zoo's pretrained networks were trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: The random-resized crop's defaults (the book's and torchvision's): the crop's
#: area as a share of the image's area, and its aspect ratio (width / height).
RESIZED_CROP_SCALE = (0.08, 1.0)
RESIZED_CROP_RATIO = (3.0 / 4.0, 4.0 / 3.0)

#: The largest crop or resize side accepted (a guard against typos like 22400).
MAX_SIDE = 4096

#: ``--sampler`` choices: uniform shuffling (the book's) or every class equally often
#: (:class:`gluon_finetune.data.sampling.BalancedSampler`).
SAMPLERS = ("random", "balanced")
