"""Image and audio token formulas: the one implementation, used by the client and the local host.

Pure functions, no I/O. The formulas are OpenAI's published ones; ``docs/tokens.md`` gives them
with worked examples:

* tile family (gpt-4o, gpt-4.1, gpt-4-turbo, ...): ``low`` costs the base; ``high`` and
  ``auto`` fit the image in 2048x2048, scale it so the short side is at most 768, and add
  one tile cost per 512x512 tile.
* patch family (gpt-4.1-mini, gpt-4.1-nano, o4-mini): one token per 32x32 patch, at most
  1536, times a per-model multiplier. ``detail`` does not change the count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import InputError, UnknownModelError
from .limits import IMAGE_DETAILS

TILE = 512
PATCH = 32
PATCH_CAP = 1536
HIGH_FIT = 2048
HIGH_SHORT_SIDE = 768
LOW_FIT = 512

#: Estimated audio input tokens per second: no official rate is published for gpt-4o audio input, and
#: about 10 a second is the common estimate (Phi-4-multimodal uses one per 80 ms, 12.5 a second).
AUDIO_TOKENS_PER_SECOND = 10
#: The model whose formula is used when none is named (and for hosts whose model has none).
DEFAULT_TOKEN_MODEL = "gpt-4o"


@dataclass(frozen=True)
class TileFamily:
    """Tile formula constants: ``base + tile * tiles`` (``base`` alone at detail low)."""

    base: int
    tile: int


@dataclass(frozen=True)
class PatchFamily:
    """Patch formula multiplier applied to the capped patch count."""

    multiplier: float


#: Model name (or its prefix before a date or version suffix) -> formula.
MODEL_FORMULAS: dict[str, TileFamily | PatchFamily] = {
    "gpt-4o": TileFamily(85, 170),
    "gpt-4o-mini": TileFamily(2833, 5667),
    "gpt-4.1": TileFamily(85, 170),
    "gpt-4.5": TileFamily(85, 170),
    "gpt-4-turbo": TileFamily(85, 170),
    "o1": TileFamily(75, 150),
    "o3": TileFamily(75, 150),
    "gpt-4.1-mini": PatchFamily(1.62),
    "gpt-4.1-nano": PatchFamily(2.46),
    "o4-mini": PatchFamily(1.72),
}


def formula_for(model: str) -> TileFamily | PatchFamily:
    """Return the formula of ``model``, matching the longest known name it starts with.

    ``gpt-4o-2024-08-06`` uses ``gpt-4o``; ``gpt-4o-mini-2024-07-18`` uses ``gpt-4o-mini``.
    """
    name = model.strip().lower()
    matches = [known for known in MODEL_FORMULAS if name == known or name.startswith(known + "-")]
    if not matches:
        tiles = sorted(k for k, f in MODEL_FORMULAS.items() if isinstance(f, TileFamily))
        patches = sorted(k for k, f in MODEL_FORMULAS.items() if isinstance(f, PatchFamily))
        raise UnknownModelError(
            f"No image token formula is known for model {model!r}. Known models: tile family "
            f"{', '.join(tiles)}; patch family {', '.join(patches)}. Pass one of these as "
            "model= (the family your deployment's model belongs to)."
        )
    return MODEL_FORMULAS[max(matches, key=len)]


def check_detail(detail: str) -> str:
    """Return ``detail`` if it is one of auto, low, high; raise InputError otherwise."""
    if detail not in IMAGE_DETAILS:
        raise InputError(f"detail={detail!r} is not valid; use one of {', '.join(IMAGE_DETAILS)}.")
    return detail


def _fit(width: int, height: int, box: int) -> tuple[int, int]:
    """Scale down (never up) so both sides fit in ``box``, keeping the aspect ratio."""
    if width <= box and height <= box:
        return width, height
    scale = box / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def service_size(width: int, height: int, detail: str = "auto") -> tuple[int, int]:
    """The size at which a tile-family service looks at an image for ``detail``.

    ``low`` fits 512x512; ``high`` and ``auto`` fit 2048x2048, then scale down so the short
    side is at most 768. Resizing to this size before upload loses nothing the service keeps.
    """
    check_detail(detail)
    _check_size(width, height)
    if detail == "low":
        return _fit(width, height, LOW_FIT)
    w, h = _fit(width, height, HIGH_FIT)
    short = min(w, h)
    if short > HIGH_SHORT_SIDE:
        scale = HIGH_SHORT_SIDE / short
        w, h = max(1, round(w * scale)), max(1, round(h * scale))
    return w, h


def patch_count(width: int, height: int) -> int:
    """Patches of 32x32 for a patch-family model, before the multiplier (at most 1536)."""
    _check_size(width, height)
    raw = math.ceil(width / PATCH) * math.ceil(height / PATCH)
    if raw <= PATCH_CAP:
        return raw
    ratio = math.sqrt(PATCH_CAP * PATCH * PATCH / (width * height))
    # Shrink the ratio so that a whole number of patches fits along each side.
    ratio *= min(
        math.floor(width * ratio / PATCH) / (width * ratio / PATCH),
        math.floor(height * ratio / PATCH) / (height * ratio / PATCH),
    )
    # Rounding to 1e-9 keeps a side that is exactly n patches long from counting n + 1.
    cols = math.ceil(round(width * ratio / PATCH, 9))
    rows = math.ceil(round(height * ratio / PATCH, 9))
    return min(cols * rows, PATCH_CAP)


def image_tokens(width: int, height: int, detail: str = "auto", model: str = DEFAULT_TOKEN_MODEL) -> int:
    """Input tokens one image of ``width`` x ``height`` pixels costs on ``model``.

    >>> image_tokens(2048, 4096, "high", "gpt-4o")
    1105
    """
    check_detail(detail)
    formula = formula_for(model)
    if isinstance(formula, PatchFamily):
        return math.ceil(patch_count(width, height) * formula.multiplier)
    if detail == "low":
        _check_size(width, height)
        return formula.base
    w, h = service_size(width, height, detail)
    return formula.base + formula.tile * math.ceil(w / TILE) * math.ceil(h / TILE)


def audio_tokens(seconds: float) -> int:
    """An estimate of the input tokens of ``seconds`` of audio (10 per second, rounded up)."""
    if seconds < 0 or math.isnan(seconds):
        raise InputError(f"seconds={seconds!r} is not a duration; pass a number of seconds >= 0.")
    return math.ceil(seconds * AUDIO_TOKENS_PER_SECOND)


def _check_size(width: int, height: int) -> None:
    if not (isinstance(width, int) and isinstance(height, int)) or width < 1 or height < 1:
        raise InputError(
            f"Image size {width!r}x{height!r} is not valid; width and height must be whole "
            "numbers of pixels, at least 1."
        )
