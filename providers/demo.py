"""Portraits for the demo providers, drawn here with Pillow so the demo looks like a marketplace without
shipping anyone's photograph (no licence to track, nothing fetched). Each is a friendly illustrated bust:
background, shoulders, face and hair chosen from the name, so a provider keeps the same picture across
re-seeds and the thirty demo providers look different from one another."""

import hashlib
import io

from PIL import Image, ImageDraw

SIZE = 256  # pixels, square; the largest place it is shown is the 128 px profile avatar, at 2x
_SCALE = 4  # drawn this many times larger, then reduced: smooth edges without an anti-aliasing library

BACKGROUNDS = [
    ((214, 230, 250), (168, 198, 240)),
    ((250, 228, 214), (240, 190, 160)),
    ((220, 242, 226), (170, 214, 184)),
    ((240, 226, 250), (204, 180, 232)),
    ((252, 242, 204), (236, 212, 140)),
    ((212, 240, 240), (160, 212, 214)),
]
SKIN_TONES = [(255, 224, 196), (241, 194, 158), (224, 172, 128), (198, 134, 94), (141, 85, 54), (96, 58, 36)]
HAIR_COLOURS = [(40, 30, 24), (86, 56, 32), (150, 98, 52), (214, 176, 104), (120, 120, 124), (168, 64, 40)]
CLOTHES = [
    (31, 95, 191),
    (23, 74, 150),
    (58, 125, 90),
    (150, 60, 80),
    (90, 70, 140),
    (60, 64, 72),
    (200, 110, 40),
]
HAIR_STYLES = ["short", "long", "bun", "curly", "short", "long", "bald"]


def demo_portrait(name: str) -> bytes:
    """A 256 x 256 JPEG portrait for ``name``; the same name always gives the same picture."""
    digest = hashlib.sha256(name.encode()).digest()

    def pick(options: list, byte: int):
        return options[digest[byte] % len(options)]

    top, bottom = pick(BACKGROUNDS, 0)
    skin = pick(SKIN_TONES, 1)
    hair = pick(HAIR_COLOURS, 2)
    clothes = pick(CLOTHES, 3)
    style = pick(HAIR_STYLES, 4)

    size = SIZE * _SCALE
    image = Image.new("RGB", (size, size), top)
    draw = ImageDraw.Draw(image)
    for y in range(0, size, _SCALE):  # vertical gradient, top to bottom
        t = y / size
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.rectangle((0, y, size, y + _SCALE), fill=colour)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        """Coordinates given on a 0-100 grid, so the drawing reads in percent of the picture."""
        x0, y0, x1, y1 = (round(value * size / 100) for value in (x0, y0, x1, y1))
        return (x0, y0, x1, y1)

    head = box(32, 22, 68, 66)
    if style == "long":
        draw.rounded_rectangle(box(27, 18, 73, 80), radius=size // 6, fill=hair)
    if style == "bun":
        draw.ellipse(box(41, 6, 59, 24), fill=hair)
    draw.ellipse(box(12, 76, 88, 130), fill=clothes)  # shoulders, running off the bottom edge
    draw.rectangle(box(43, 58, 57, 80), fill=skin)  # neck
    draw.ellipse(box(38, 74, 62, 86), fill=skin)  # the collar's opening
    if style in ("short", "long", "bun"):
        draw.ellipse(box(30, 17, 70, 56), fill=hair)  # round the sides of the head
    draw.ellipse(head, fill=skin)
    if style == "curly":
        for x, y in [(32, 30), (40, 22), (50, 19), (60, 22), (68, 30), (36, 25), (64, 25)]:
            draw.ellipse(box(x - 9, y - 9, x + 9, y + 9), fill=hair)
    elif style != "bald":
        draw.chord(box(32, 19, 68, 45), start=180, end=360, fill=hair)  # hair over the forehead
    eye = (34, 30, 30)
    draw.ellipse(box(41, 42, 45.5, 47), fill=eye)
    draw.ellipse(box(54.5, 42, 59, 47), fill=eye)
    draw.arc(box(43, 47, 57, 58), start=20, end=160, fill=(150, 70, 60), width=max(1, size // 90))  # a smile

    image = image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()
