"""Normalisation at the edge: look-alike and invisible characters read as plain letters."""

from __future__ import annotations

import pytest

from advisor.errors import InputError
from advisor.text import asking_cue, normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ir\u0430n", "Iran"),  # Cyrillic a
        ("Teh\u200bran", "Tehran"),  # zero-width space
        ("Teh\u00adran", "Tehran"),  # soft hyphen
        ("Teh\u2060ran", "Tehran"),  # word joiner
        ("\uff29\uff52\uff41\uff4e", "Iran"),  # full-width letters
        ("\U0001d408\U0001d42b\U0001d41a\U0001d427", "Iran"),  # mathematical bold
        ("T\u0435hran", "Tehran"),  # Cyrillic e
        ("\u0422ehr\u0430n", "Tehran"),  # Cyrillic T and a
        ("Cuba\ufeff", "Cuba"),  # byte-order mark
        ("North\u00a0Korea", "North Korea"),  # no-break space
    ],
)
def test_look_alikes_fold_to_ascii(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_genuine_non_latin_words_are_kept() -> None:
    assert normalise("\u0418\u0440\u0430\u043d") == "\u0418\u0440\u0430\u043d"  # Russian "Iran"
    assert normalise("caf\u00e9 r\u00e9sum\u00e9") == "caf\u00e9 r\u00e9sum\u00e9"
    assert normalise("\u0641\u0627\u06cc\u0644 report") == "\u0641\u0627\u06cc\u0644 report"


def test_lone_surrogate_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="invalid character"):
        normalise("ship it to \ud800 Tehran")


def test_plain_text_is_unchanged() -> None:
    text = "Can I send my exploit research to a co-author in China?"
    assert normalise(text) == text


@pytest.mark.parametrize(
    ("sentence", "cue"),
    [
        ("Can't my foreign students use the equipment?", "can't"),
        ("But don't we need a licence for this?", "don't"),
        ("Isn't the code already public?", "isn't"),
        ("We can't share the code.", None),  # a statement denies
        ("Can't my students use it.", None),  # no question mark: not a question
        ("Why can't my students use it?", None),  # not inverted at the start
    ],
)
def test_asking_cue_finds_only_inverted_negative_questions(sentence: str, cue: str | None) -> None:
    assert asking_cue(sentence) == cue
