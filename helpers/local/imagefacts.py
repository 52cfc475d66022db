"""Plain facts about an image: size, format and dominant colours by name.

Colours are found by shrinking the image to at most 64x64 pixels (a fixed resampling filter, so
the result is deterministic) and giving each pixel the name of the nearest colour of a small
palette; colours covering at least 5% of the pixels are named, largest first.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .engines import LruCache, digest

#: Name -> RGB; a small palette of everyday colour names.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "dark gray": (64, 64, 64),
    "gray": (128, 128, 128),
    "light gray": (200, 200, 200),
    "white": (255, 255, 255),
    "red": (200, 30, 30),
    "dark red": (120, 10, 10),
    "orange": (245, 140, 20),
    "yellow": (245, 215, 30),
    "brown": (130, 80, 35),
    "beige": (225, 205, 165),
    "green": (0, 128, 0),
    "dark green": (0, 70, 25),
    "light green": (150, 215, 120),
    "teal": (0, 128, 128),
    "light blue": (150, 200, 240),
    "blue": (30, 90, 210),
    "navy": (15, 25, 100),
    "purple": (120, 50, 150),
    "pink": (240, 140, 180),
}
_NAMES = list(PALETTE)
_RGB = np.array([PALETTE[n] for n in _NAMES], dtype=np.int32)
MIN_SHARE = 0.05


@dataclass(frozen=True)
class ImageFacts:
    """Width, height, format name (PNG, JPEG, ...) and (colour, share) pairs, largest first."""

    width: int
    height: int
    format: str
    colours: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        """One sentence, e.g. 'A PNG image of 1240x1754 pixels, mostly white (93%), with black (6%).'"""
        text = f"A {self.format} image of {self.width}x{self.height} pixels"
        if self.colours:
            first, share = self.colours[0]
            text += f", mostly {first} ({share:.0%})" if share > 0.5 else f", largely {first} ({share:.0%})"
            rest = [f"{name} ({part:.0%})" for name, part in self.colours[1:]]
            if rest:
                text += ", with " + " and ".join(rest)
        return text + "."


_cache = LruCache(512)


def image_facts(data: bytes) -> ImageFacts:
    """The facts of the image ``data`` (cached by content hash)."""
    key = digest(data)
    facts = _cache.get(key)
    if facts is None:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or "unknown"
            width, height = image.size
            small = image.convert("RGB")
            small.thumbnail((64, 64), Image.Resampling.BILINEAR)
            pixels = np.asarray(small, dtype=np.int32).reshape(-1, 3)
        distance = ((pixels[:, None, :] - _RGB[None, :, :]) ** 2).sum(axis=2)
        counts = np.bincount(distance.argmin(axis=1), minlength=len(_NAMES))
        shares = counts / max(1, len(pixels))
        order = sorted(range(len(_NAMES)), key=lambda i: (-counts[i], i))
        colours = tuple((_NAMES[i], round(float(shares[i]), 4)) for i in order if shares[i] >= MIN_SHARE)[:3]
        facts = ImageFacts(width, height, fmt, colours)
        _cache.put(key, facts)
    return facts
