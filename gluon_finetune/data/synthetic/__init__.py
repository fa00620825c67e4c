"""Generated image folders for offline demos and tests.

Two tasks are drawn from one set of visual primitives (food "sprites" made of
capsules, arcs, discs and wedges, textured table-cloth backgrounds, cutlery and
crumbs as clutter, uneven lighting and sensor noise):

``hotdog``
    The book's two classes, ``hotdog`` and ``not-hotdog``. A hotdog is a sausage
    lying in a bun, seen from above, tilted, at any size and place; sometimes two,
    sometimes next to another food. A not-hotdog picture shows one to three
    other foods, several of them built to look alike on purpose: a baguette has
    the bun's colour and shape, a sausage on its own has the sausage's, a sub
    sandwich has a filling lying in a bun, pizza
    carries sausage-coloured pepperoni on a bun-coloured crust, a burger stacks
    bun and patty. Colour alone does not separate the classes; the layered
    "sausage inside a bun" shape does.
``source``
    A ten-class task (one large food per picture, :data:`SOURCE_CLASSES`) for
    pretraining a network offline, the stand-in for ImageNet when its weights
    cannot be downloaded. Like ImageNet, whose 1000 classes include "hotdog"
    next to "French loaf", "cheeseburger" and "pizza", it has a hotdog class
    among other foods, including the look-alikes (baguette, sausage, a sub
    sandwich); the hotdog task's pictures are never among its pictures. What a
    network learns there (elongated shapes, one colour lying inside another,
    textures) is what the hotdog task needs. Without the hotdog class, three
    minutes of pretraining did not give features that beat training from
    scratch clearly (measured: a linear classifier on the pretrained features
    reached 75% test accuracy on the hotdog task without it, 90% with it).

Every picture is a pure function of ``(task, seed, split, class, index, size)``:
the same arguments give the same bytes (for one NumPy and Pillow version),
whatever the number of worker processes.

Layout written by :func:`generate`::

    OUT/synthetic.json                 how the folder was made (also marks it as ours)
    OUT/train/<class>/00000.jpg ...
    OUT/test/<class>/00000.jpg ...

One module per job: ``sprites`` (the foods), ``scenes`` (a whole picture, :func:`render`),
``sizes`` (``--size``) and ``writer`` (the folder, :func:`generate`).
"""
from .scenes import DEFAULT_SIZE, HOTDOG_CLASSES, MAX_ROTATION, SOURCE_CLASSES, TASKS, render, sample_image
from .sizes import check_size, parse_size
from .sprites import (
    sprite_baguette,
    sprite_banana,
    sprite_burger,
    sprite_carrot,
    sprite_cookie,
    sprite_donut,
    sprite_egg,
    sprite_fries,
    sprite_hotdog,
    sprite_pizza,
    sprite_sandwich,
    sprite_sausage,
    sprite_tomato,
)
from .writer import DEFAULT_COUNTS, JPEG_QUALITY, MARKER, generate

__all__ = ['DEFAULT_COUNTS', 'DEFAULT_SIZE', 'HOTDOG_CLASSES', 'JPEG_QUALITY', 'MARKER', 'MAX_ROTATION', 'SOURCE_CLASSES', 'TASKS', 'check_size', 'generate', 'parse_size', 'render', 'sample_image', 'sprite_baguette', 'sprite_banana', 'sprite_burger', 'sprite_carrot', 'sprite_cookie', 'sprite_donut', 'sprite_egg', 'sprite_fries', 'sprite_hotdog', 'sprite_pizza', 'sprite_sandwich', 'sprite_sausage', 'sprite_tomato']
