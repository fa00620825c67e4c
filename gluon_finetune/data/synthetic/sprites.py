"""Food sprites: sausages, buns, baguettes, burgers and the rest, drawn with PIL on RGBA layers, and their colours.
"""
import math

import numpy as np
from PIL import Image, ImageDraw


def _col(rng, lo, hi, alpha=255):
    """An RGBA colour with each channel uniform in [lo, hi]."""
    return tuple(int(v) for v in rng.integers(lo, np.asarray(hi) + 1)) + (alpha,)


def _scale(colour, factor):
    return tuple(int(min(255, max(0, c * factor))) for c in colour[:3]) + tuple(colour[3:])


# Ranges overlap between classes on purpose (bun ~ baguette ~ crust ~ dough,
# sausage ~ pepperoni ~ patty), so that colour alone does not give the answer.
_BUN = ((190, 135, 65), (240, 195, 130))
_SAUSAGE = ((125, 40, 25), (200, 100, 65))
_MUSTARD = ((215, 170, 15), (250, 225, 70))
_KETCHUP = ((170, 15, 15), (225, 55, 45))
_BANANA = ((220, 190, 50), (250, 235, 115))
_CARROT = ((215, 95, 15), (250, 155, 55))
_GREEN = ((40, 110, 20), (110, 190, 80))
_PATTY = ((75, 40, 25), (125, 75, 50))
_CHEESE = ((230, 180, 60), (252, 225, 130))
_WHITE = ((225, 225, 215), (255, 255, 250))
_YOLK = ((235, 150, 10), (255, 200, 60))
_ICING = (((220, 120, 150), (250, 180, 205)),   # pink
          ((90, 45, 25), (140, 85, 55)),        # chocolate
          ((235, 230, 220), (255, 252, 245)))   # white
_METAL = ((150, 150, 150), (215, 215, 220))


def _layer(w, h):
    w, h = max(4, int(math.ceil(w))), max(4, int(math.ceil(h)))
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _capsule(draw, cx, cy, length, thick, fill, outline=None, width=0):
    length = max(length, thick)
    box = (cx - length / 2, cy - thick / 2, cx + length / 2, cy + thick / 2)
    draw.rounded_rectangle(box, radius=thick / 2, fill=fill, outline=outline,
                           width=int(width))


def _lw(x):
    """A line width of at least one pixel."""
    return max(1, int(round(x)))


def _sausage_on(draw, rng, cx, cy, length, thick, colour):
    _capsule(draw, cx, cy, length, thick, colour, outline=_scale(colour, 0.7),
             width=_lw(thick * 0.08))
    # A highlight along the top makes it read as round, not flat.
    _capsule(draw, cx, cy - thick * 0.2, length * 0.8, thick * 0.22, _scale(colour, 1.25))
    if rng.random() < 0.4:  # grill marks
        for k in range(int(rng.integers(2, 5))):
            x = cx - length * 0.3 + k * length * 0.6 / 3
            draw.line((x - thick * 0.2, cy + thick * 0.4, x + thick * 0.2, cy - thick * 0.4),
                      fill=_scale(colour, 0.55), width=_lw(thick * 0.1))


def _sauce(draw, rng, cx, cy, length, thick):
    colour = _col(rng, *(_MUSTARD if rng.random() < 0.6 else _KETCHUP))
    n = int(rng.integers(5, 11))
    pts = [(cx - length / 2 + length * i / (n - 1), cy + (thick / 2 if i % 2 else -thick / 2))
           for i in range(n)]
    draw.line(pts, fill=colour, width=_lw(thick * rng.uniform(0.12, 0.22)), joint="curve")


def sprite_hotdog(rng, length):
    """A sausage lying in a bun, seen from above; ``length`` is the bun's."""
    thick = length * rng.uniform(0.26, 0.4)
    s_len = length * rng.uniform(1.0, 1.2)
    s_thick = thick * rng.uniform(0.42, 0.6)
    img, d = _layer(max(length, s_len) * 1.05, thick * 1.1)
    cx, cy = img.size[0] / 2, img.size[1] / 2
    bun = _col(rng, *_BUN)
    _capsule(d, cx, cy, length, thick, bun, outline=_scale(bun, 0.75), width=_lw(thick * 0.06))
    # The bun's cut: a darker groove the sausage lies in.
    _capsule(d, cx, cy, length * 0.94, s_thick * 1.25, _scale(bun, 0.82))
    off = thick * rng.uniform(-0.06, 0.06)
    _sausage_on(d, rng, cx, cy + off, s_len, s_thick, _col(rng, *_SAUSAGE))
    if rng.random() < 0.65:
        _sauce(d, rng, cx, cy + off, s_len * 0.7, s_thick * 0.55)
    return img


def sprite_sandwich(rng, length):
    """A sub roll seen from above, filled with lettuce, tomato and cheese.

    The same "something lying in a bun" layout as a hotdog, with a different
    filling: the source task teaches the layout without ever showing a hotdog,
    and the hotdog task has to tell the fillings apart.
    """
    thick = length * rng.uniform(0.28, 0.42)
    img, d = _layer(length * 1.08, thick * 1.1)
    cx, cy = img.size[0] / 2, img.size[1] / 2
    bun = _col(rng, *_BUN)
    _capsule(d, cx, cy, length, thick, bun, outline=_scale(bun, 0.75), width=_lw(thick * 0.06))
    f_thick = thick * rng.uniform(0.45, 0.6)
    f_len = length * rng.uniform(0.85, 1.02)
    green = _col(rng, *_GREEN)
    n = 13
    pts = [(cx - f_len / 2 + f_len * i / (n - 1), cy + (f_thick / 2 if i % 2 else -f_thick / 2))
           for i in range(n)]
    _capsule(d, cx, cy, f_len, f_thick * 0.8, green)
    d.line(pts, fill=_scale(green, 1.2), width=_lw(f_thick * 0.25))
    tomato = _col(rng, (190, 25, 20), (235, 70, 55))
    cheese = _col(rng, *_CHEESE)
    k = int(rng.integers(3, 7))
    for i in range(k):
        x = cx - f_len * 0.4 + f_len * 0.8 * i / max(1, k - 1)
        r = f_thick * rng.uniform(0.3, 0.42)
        if rng.random() < 0.6:
            d.ellipse((x - r, cy - r, x + r, cy + r), fill=tomato, outline=_scale(tomato, 0.8))
        else:
            d.polygon([(x - r, cy - r), (x + r, cy - r * 0.6), (x + r * 0.8, cy + r),
                       (x - r, cy + r * 0.7)], fill=cheese)
    return img


def sprite_baguette(rng, length):
    """A bun-coloured loaf with diagonal slashes: the hotdog's bun without a sausage."""
    thick = length * rng.uniform(0.2, 0.34)
    img, d = _layer(length * 1.02, thick * 1.05)
    cx, cy = img.size[0] / 2, img.size[1] / 2
    crust = _col(rng, *_BUN)
    _capsule(d, cx, cy, length, thick, crust, outline=_scale(crust, 0.7), width=_lw(thick * 0.07))
    slash = _scale(crust, rng.uniform(1.08, 1.2))
    n = int(rng.integers(3, 7))
    for k in range(n):
        x = cx - length * 0.36 + k * length * 0.72 / max(1, n - 1)
        d.line((x - thick * 0.22, cy + thick * 0.28, x + thick * 0.22, cy - thick * 0.28),
               fill=slash, width=_lw(thick * 0.14))
    return img


def sprite_sausage(rng, length):
    """One to three sausages side by side, no bun."""
    n = int(rng.choice([1, 1, 2, 3]))
    s_thick = length * rng.uniform(0.12, 0.2)
    img, d = _layer(length * 1.02, s_thick * (1.25 * n + 0.2))
    cx = img.size[0] / 2
    colour = _col(rng, *_SAUSAGE)
    for k in range(n):
        cy = s_thick * (0.6 + 1.25 * k)
        _sausage_on(d, rng, cx + length * rng.uniform(-0.05, 0.05), cy,
                    length * rng.uniform(0.85, 1.0), s_thick, _scale(colour, rng.uniform(0.9, 1.1)))
    return img


def sprite_banana(rng, length):
    """A yellow crescent with brown tips: elongated, curved, no layers."""
    thick = length * rng.uniform(0.14, 0.22)
    bend = rng.uniform(0.25, 0.45)               # sagitta / chord
    r = length * (0.25 / bend + bend) / 2        # circle through the chord's ends
    sag = length * bend
    img, d = _layer(length + thick * 2, sag + thick * 2.2)
    cx = img.size[0] / 2
    top = thick * 1.1
    box = (cx - r, top, cx + r, top + 2 * r)
    half = math.degrees(math.asin(min(1.0, length / 2 / r)))
    colour = _col(rng, *_BANANA)
    d.arc(box, 270 - half, 270 + half, fill=colour, width=_lw(thick))
    # Tips: short arcs in brown at both ends.
    tip = _col(rng, (90, 60, 20), (140, 100, 50))
    d.arc(box, 270 - half, 270 - half + 5, fill=tip, width=_lw(thick * 0.8))
    d.arc(box, 270 + half - 5, 270 + half, fill=tip, width=_lw(thick * 0.8))
    d.arc((box[0] + thick * 0.3, box[1] + thick * 0.3, box[2] - thick * 0.3, box[3] - thick * 0.3),
          270 - half * 0.8, 270 + half * 0.8, fill=_scale(colour, 0.85), width=_lw(thick * 0.15))
    return img.crop((0, 0, img.size[0], int(min(img.size[1], sag + thick * 2.6))))


def sprite_carrot(rng, length):
    """An orange cone with rings and a green top."""
    thick = length * rng.uniform(0.16, 0.26)
    img, d = _layer(length * 1.25, thick * 1.6)
    cx, cy = img.size[0] / 2, img.size[1] / 2
    x0, x1 = cx - length / 2, cx + length / 2
    colour = _col(rng, *_CARROT)
    d.polygon([(x0, cy - thick / 2), (x1, cy - thick * 0.06), (x1, cy + thick * 0.06),
               (x0, cy + thick / 2)], fill=colour)
    d.ellipse((x0 - thick * 0.15, cy - thick / 2, x0 + thick * 0.15, cy + thick / 2), fill=colour)
    ring = _scale(colour, 0.75)
    for _ in range(int(rng.integers(3, 7))):
        t = rng.uniform(0.1, 0.8)
        x = x0 + t * length
        h = thick / 2 * (1 - t) * 0.7
        d.line((x, cy - h, x + thick * 0.05, cy + h * 0.2), fill=ring, width=_lw(thick * 0.06))
    green = _col(rng, *_GREEN)
    for _ in range(int(rng.integers(3, 6))):
        a = rng.uniform(-0.6, 0.6)
        ln = length * rng.uniform(0.12, 0.22)
        d.line((x0, cy, x0 - ln * math.cos(a), cy + ln * math.sin(a)), fill=green,
               width=_lw(thick * 0.12))
    return img


def sprite_donut(rng, length):
    """A ring of dough with icing and sprinkles."""
    r = length / 2
    img, d = _layer(length * 1.04, length * 1.04)
    c = img.size[0] / 2
    dough = _col(rng, *_BUN)
    d.ellipse((c - r, c - r, c + r, c + r), fill=dough, outline=_scale(dough, 0.75),
              width=_lw(r * 0.04))
    icing = _col(rng, *_ICING[int(rng.integers(len(_ICING)))])
    ri = r * rng.uniform(0.78, 0.9)
    d.ellipse((c - ri, c - ri, c + ri, c + ri), fill=icing)
    hole = r * rng.uniform(0.25, 0.38)
    for _ in range(int(rng.integers(0, 25))):
        a, rr = rng.uniform(0, 2 * math.pi), rng.uniform(hole * 1.3, ri * 0.9)
        x, y = c + rr * math.cos(a), c + rr * math.sin(a)
        b = rng.uniform(0, math.pi)
        ln = r * 0.08
        d.line((x, y, x + ln * math.cos(b), y + ln * math.sin(b)),
               fill=_col(rng, (30, 30, 30), (255, 255, 255)), width=_lw(r * 0.035))
    d.ellipse((c - hole * 1.12, c - hole * 1.12, c + hole * 1.12, c + hole * 1.12),
              fill=_scale(dough, 0.8))
    d.ellipse((c - hole, c - hole, c + hole, c + hole), fill=(0, 0, 0, 0))
    return img


def sprite_burger(rng, length):
    """A burger from the side: bun, patty, cheese, lettuce, tomato, bun."""
    w = length
    h = w * rng.uniform(0.6, 0.8)
    img, d = _layer(w * 1.1, h * 1.1)
    cx = img.size[0] / 2
    y = img.size[1] / 2 + h / 2
    bun = _col(rng, *_BUN)
    layers = [("bun", 0.16), ("patty", 0.18)]
    if rng.random() < 0.7:
        layers.append(("cheese", 0.06))
    if rng.random() < 0.6:
        layers.append(("tomato", 0.08))
    if rng.random() < 0.8:
        layers.append(("lettuce", 0.08))
    for name, frac in layers:
        t = h * frac
        if name == "bun":
            d.rounded_rectangle((cx - w * 0.45, y - t, cx + w * 0.45, y), radius=t * 0.45,
                                fill=bun, outline=_scale(bun, 0.75), width=_lw(t * 0.08))
        elif name == "patty":
            p = _col(rng, *_PATTY)
            d.rounded_rectangle((cx - w * 0.5, y - t, cx + w * 0.5, y), radius=t * 0.4, fill=p)
        elif name == "cheese":
            c = _col(rng, *_CHEESE)
            d.polygon([(cx - w * 0.52, y - t), (cx + w * 0.52, y - t), (cx + w * 0.45, y + t),
                       (cx + w * 0.35, y), (cx - w * 0.2, y), (cx - w * 0.3, y + t * 1.2),
                       (cx - w * 0.4, y)], fill=c)
        elif name == "tomato":
            d.rounded_rectangle((cx - w * 0.46, y - t, cx + w * 0.46, y), radius=t * 0.3,
                                fill=_col(rng, (190, 25, 20), (235, 70, 55)))
        else:
            g = _col(rng, *_GREEN)
            n = 9
            pts = [(cx - w * 0.52 + w * 1.04 * i / (n - 1), y - t * (1.0 if i % 2 else 0.2))
                   for i in range(n)]
            d.polygon(pts + [(cx + w * 0.5, y), (cx - w * 0.5, y)], fill=g)
        y -= t * 0.92
    top = h * rng.uniform(0.3, 0.4)
    d.chord((cx - w * 0.47, y - top, cx + w * 0.47, y + top), 180, 360, fill=bun,
            outline=_scale(bun, 0.75), width=_lw(top * 0.05))
    seed_c = _col(rng, (235, 225, 190), (255, 250, 225))
    for _ in range(int(rng.integers(0, 12))):
        a = rng.uniform(math.pi * 1.1, math.pi * 1.9)
        rr = rng.uniform(0.2, 0.85)
        x, yy = cx + w * 0.47 * rr * math.cos(a), y + top * rr * math.sin(a)
        d.ellipse((x - w * 0.015, yy - w * 0.008, x + w * 0.015, yy + w * 0.008), fill=seed_c)
    return img


def sprite_pizza(rng, length):
    """A slice: bun-coloured crust, cheese, sausage-coloured pepperoni."""
    ln = length
    half = ln * rng.uniform(0.28, 0.42)
    img, d = _layer(ln * 1.08, half * 2.3)
    cy = img.size[1] / 2
    tip, x1 = ln * 0.04, ln * 0.04 + ln
    cheese = _col(rng, *_CHEESE)
    d.polygon([(tip, cy), (x1, cy - half), (x1, cy + half)], fill=cheese)
    crust = _col(rng, *_BUN)
    cw = ln * rng.uniform(0.08, 0.13)
    d.rounded_rectangle((x1 - cw, cy - half * 1.08, x1 + cw * 0.3, cy + half * 1.08),
                        radius=cw * 0.6, fill=crust, outline=_scale(crust, 0.75),
                        width=_lw(cw * 0.12))
    pep = _col(rng, *_SAUSAGE)
    for _ in range(int(rng.integers(2, 7))):
        t = rng.uniform(0.3, 0.85)
        x = tip + t * (x1 - tip - cw)
        y = cy + rng.uniform(-0.7, 0.7) * half * t
        r = ln * rng.uniform(0.05, 0.08)
        d.ellipse((x - r, y - r, x + r, y + r), fill=pep, outline=_scale(pep, 0.75))
    if rng.random() < 0.5:
        g = _col(rng, *_GREEN)
        for _ in range(int(rng.integers(2, 6))):
            t = rng.uniform(0.3, 0.85)
            x = tip + t * (x1 - tip - cw)
            y = cy + rng.uniform(-0.7, 0.7) * half * t
            d.line((x, y, x + ln * 0.06, y + ln * 0.02), fill=g, width=_lw(ln * 0.02))
    return img


def sprite_egg(rng, length):
    """A fried egg: an irregular white blob with a yolk."""
    r = length / 2
    img, d = _layer(length * 1.1, length * 0.85)
    cx, cy = img.size[0] / 2, img.size[1] / 2
    n = 14
    radii = rng.uniform(0.75, 1.0, n)
    pts = [(cx + r * radii[i] * math.cos(2 * math.pi * i / n),
            cy + r * 0.72 * radii[i] * math.sin(2 * math.pi * i / n)) for i in range(n)]
    white = _col(rng, *_WHITE)
    d.polygon(pts, fill=white, outline=_scale(white, 0.88))
    ry = r * rng.uniform(0.25, 0.35)
    x, y = cx + rng.uniform(-0.2, 0.2) * r, cy + rng.uniform(-0.15, 0.15) * r
    yolk = _col(rng, *_YOLK)
    d.ellipse((x - ry, y - ry, x + ry, y + ry), fill=yolk, outline=_scale(yolk, 0.85))
    d.ellipse((x - ry * 0.5, y - ry * 0.6, x - ry * 0.1, y - ry * 0.25), fill=_scale(yolk, 1.15))
    return img


def _disc(rng, length, lo, hi, edge):
    """A layer with a disc of a colour drawn from ``lo``-``hi``: (img, draw, centre, radius, colour)."""
    r = length / 2
    img, d = _layer(length * 1.04, length * 1.04)
    c = img.size[0] / 2
    colour = _col(rng, lo, hi)
    d.ellipse((c - r, c - r, c + r, c + r), fill=colour, outline=_scale(colour, edge))
    return img, d, c, r, colour


def sprite_cookie(rng, length):
    """A brown disc with darker chips."""
    img, d, c, r, _ = _disc(rng, length, (150, 95, 45), (205, 150, 90), 0.8)
    chip = _col(rng, (45, 25, 15), (90, 55, 35))
    for _ in range(int(rng.integers(4, 12))):
        a, rr = rng.uniform(0, 2 * math.pi), rng.uniform(0, r * 0.8)
        x, y, s = c + rr * math.cos(a), c + rr * math.sin(a), r * rng.uniform(0.06, 0.12)
        d.ellipse((x - s, y - s, x + s, y + s), fill=chip)
    return img


def sprite_tomato(rng, length):
    """A red fruit with a highlight and a green stem."""
    img, d, c, r, red = _disc(rng, length, (170, 20, 15), (235, 75, 50), 0.75)
    d.ellipse((c - r * 0.55, c - r * 0.6, c - r * 0.15, c - r * 0.3), fill=_scale(red, 1.3))
    d.line((c, c - r * 0.95, c + r * 0.15, c - r * 1.15 + r * 0.3),
           fill=_col(rng, *_GREEN), width=_lw(r * 0.12))
    return img


def sprite_fries(rng, length):
    """Yellow sticks in a red box: many small elongated shapes."""
    img, d = _layer(length * 0.8, length * 1.05)
    w, h = img.size
    for _ in range(int(rng.integers(7, 14))):
        x = w / 2 + rng.uniform(-0.28, 0.28) * w
        a = rng.uniform(-0.35, 0.35)
        ln = h * rng.uniform(0.4, 0.6)
        d.line((x, h * 0.5, x + ln * math.sin(a), h * 0.5 - ln * math.cos(a)),
               fill=_col(rng, (220, 175, 50), (250, 215, 110)), width=_lw(w * 0.07))
    box = _col(rng, (170, 20, 20), (225, 60, 50))
    d.polygon([(w * 0.08, h * 0.45), (w * 0.92, h * 0.45), (w * 0.8, h * 0.98),
               (w * 0.2, h * 0.98)], fill=box)
    return img


# Sprites of the two tasks: negatives of the hotdog task and source classes.
_FOODS = {
    "baguette": sprite_baguette, "banana": sprite_banana, "burger": sprite_burger,
    "carrot": sprite_carrot, "donut": sprite_donut, "egg": sprite_egg,
    "pizza": sprite_pizza, "sausage": sprite_sausage, "cookie": sprite_cookie,
    "tomato": sprite_tomato, "fries": sprite_fries, "sandwich": sprite_sandwich,
    "hotdog": sprite_hotdog,
}


# Look-alikes are drawn more often among negatives: they are what makes the task
# more than "is there something red-brown on something tan?".
_NEGATIVE_WEIGHTS = {"baguette": 4, "sausage": 4, "sandwich": 4, "pizza": 3, "burger": 3,
                     "banana": 2, "carrot": 1, "donut": 1, "egg": 1, "cookie": 1, "tomato": 1,
                     "fries": 1}
_NEG_NAMES = tuple(_NEGATIVE_WEIGHTS)
_NEG_P = np.array([_NEGATIVE_WEIGHTS[k] for k in _NEG_NAMES], float)
_NEG_P /= _NEG_P.sum()


# Typical size of each food relative to the picture's shorter side.
_LENGTH = {"hotdog": (0.45, 0.9), "baguette": (0.45, 0.95), "sandwich": (0.45, 0.9),
           "sausage": (0.35, 0.75), "banana": (0.4, 0.8), "carrot": (0.4, 0.8),
           "pizza": (0.4, 0.75),
           "burger": (0.4, 0.7), "donut": (0.3, 0.6), "egg": (0.35, 0.65),
           "cookie": (0.2, 0.45), "tomato": (0.2, 0.45), "fries": (0.3, 0.55)}
