"""Text normalisation applied once at the edge, before any rule or model reads a text.

Look-alike and invisible characters must not change what the rules see: "Teh\u200bran",
"Irаn" with a Cyrillic "а" and full-width "Ｉｒａｎ" all read as "Iran". Confusable letters
come from the Unicode confusables table shipped by ``confusable-homoglyphs``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from advisor.errors import InputError

# Zero-width, soft hyphen, joiners, bidi controls, word joiner, BOM, tag characters and
# variation selectors: none of them is visible, all of them split words for a regex.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def _fold_table() -> dict[str, str]:
    """Non-Latin letters that look like an ASCII letter or digit, from the Unicode table."""
    from confusable_homoglyphs import utils

    table: dict[str, str] = {}
    for char, glyphs in utils.load("confusables.json").items():
        if len(char) != 1 or char.isascii():
            continue
        for glyph in glyphs:
            target = glyph["c"]
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[char] = target
                break
    return table


def _fold_word(word: str, latin_context: bool) -> str:
    """Fold a word's look-alike letters when it mixes scripts, or when every letter of it
    has an ASCII twin inside Latin text; a genuinely Cyrillic or Greek word is kept."""
    if word.isascii():
        return word
    table = _fold_table()
    has_ascii = any(c.isascii() and c.isalpha() for c in word)
    all_foldable = all(c.isascii() or c in table for c in word)
    if has_ascii or (latin_context and all_foldable):
        return "".join(table.get(c, c) for c in word)
    return word


def check_text(text: str, what: str = "the question") -> None:
    """Reject text that cannot be encoded (a lone surrogate), with a message for the user."""
    if _SURROGATE.search(text):
        raise InputError(
            f"{what} contains an invalid character (a lone UTF-16 surrogate); "
            "paste it again as plain text"
        )


def normalise(text: str, what: str = "the question") -> str:
    """NFKC, invisible characters removed, look-alike letters folded to ASCII."""
    check_text(text, what)
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    letters = [c for c in text if c.isalpha()]
    latin_context = bool(letters) and sum(c.isascii() for c in letters) >= 0.6 * len(letters)
    return _WORD.sub(lambda m: _fold_word(m.group(0), latin_context), text)


# "Can't my students see it?", "But don't we need a licence?": an inverted negative question
# asks; it does not deny. Only the leading contraction is discounted, never a later "not".
_ASKING = re.compile(
    r"^\W*(?:(?:but|and|so|then|well|ok|okay)\W+)?"
    r"(can't|cannot|couldn't|don't|doesn't|didn't|isn't|aren't|wasn't|won't|wouldn't|"
    r"shouldn't|hasn't|haven't|mustn't)\s+"
    r"(?:I|we|you|they|he|she|it|my|our|your|their|his|her|the|a|an|this|that|these|those)\b",
    re.I,
)


def asking_cue(sentence: str) -> str | None:
    """The contraction that opens an inverted negative question ("Can't my students ..?"),
    or None. ``sentence`` is the text from the sentence start; it must end in a question mark
    for the cue to count as asking."""
    match = _ASKING.match(sentence)
    if match is None or not sentence.rstrip().endswith("?"):
        return None
    return match.group(1).lower()
