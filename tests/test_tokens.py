"""Token formulas: the worked examples of docs/tokens.md, exactly."""

import pytest

from helpers import UnknownModelError, audio_tokens, image_tokens, service_size
from helpers.errors import InputError
from helpers.tokens import formula_for, patch_count


def test_tile_high_worked_example():
    assert service_size(2048, 4096, "high") == (768, 1536)
    assert image_tokens(2048, 4096, "high", "gpt-4o") == 1105


@pytest.mark.parametrize(
    ("size", "detail", "expected"),
    [
        ((4096, 8192, "low"), "low", 85),
        ((512, 512), "high", 85 + 170),
        ((513, 512), "high", 85 + 170 * 2),
        ((1024, 1024), "auto", 85 + 170 * 4),  # short side 1024 -> 768: 2x2 tiles
        ((100, 5000), "high", 85 + 170 * 4),  # fits 2048: 41x2048 -> 1 x 4 tiles
    ],
)
def test_tile_formula(size, detail, expected):
    assert image_tokens(size[0], size[1], detail, "gpt-4o") == expected


def test_tile_family_bases():
    assert image_tokens(800, 600, "low", "gpt-4o-mini") == 2833
    assert image_tokens(2048, 4096, "high", "gpt-4o-mini") == 2833 + 5667 * 6


def test_patch_worked_examples_before_multiplier():
    assert patch_count(1024, 1024) == 1024
    assert patch_count(1800, 2400) == 1452
    assert patch_count(10000, 10000) == 1521  # capped area: 39 x 39 patches


def test_patch_multipliers_round_up():
    assert image_tokens(1024, 1024, "auto", "gpt-4.1-mini") == 1659  # 1024 * 1.62 = 1658.88
    assert image_tokens(1800, 2400, "high", "gpt-4.1-nano") == 3572  # 1452 * 2.46 = 3571.92
    assert image_tokens(1024, 1024, "low", "o4-mini") == 1762  # detail does not matter: 1024 * 1.72


def test_low_detail_fits_512():
    assert service_size(2048, 1024, "low") == (512, 256)
    assert service_size(300, 200, "low") == (300, 200)


def test_model_names_with_versions_use_the_longest_prefix():
    assert formula_for("gpt-4o-2024-08-06") == formula_for("gpt-4o")
    assert formula_for("GPT-4o-mini-2024-07-18") == formula_for("gpt-4o-mini")
    assert formula_for("gpt-4.1-mini-2025-04-14") == formula_for("gpt-4.1-mini")


def test_unknown_model_lists_the_families():
    with pytest.raises(UnknownModelError) as err:
        image_tokens(100, 100, "low", "llava")
    assert str(err.value) == (
        "No image token formula is known for model 'llava'. Known models: tile family gpt-4-turbo, "
        "gpt-4.1, gpt-4.5, gpt-4o, gpt-4o-mini, o1, o3; patch family gpt-4.1-mini, gpt-4.1-nano, o4-mini. "
        "Pass one of these as model= (the family your deployment's model belongs to)."
    )


def test_bad_detail_and_size():
    with pytest.raises(InputError, match=r"detail='medium' is not valid; use one of auto, low, high\."):
        image_tokens(10, 10, "medium")
    with pytest.raises(InputError, match=r"Image size 0x10 is not valid"):
        image_tokens(0, 10)


def test_audio_tokens_estimate():
    assert audio_tokens(1.357) == 14
    assert audio_tokens(0) == 0
    with pytest.raises(InputError, match="is not a duration"):
        audio_tokens(-1)
