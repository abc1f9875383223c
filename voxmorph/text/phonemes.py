"""English text -> phones through espeak-ng (via phonemizer), on a fixed 41-phone inventory.

espeak-ng's en-us output has about 60 symbols, several of them rare variants or fused sequences
(``ɑːɹ``, ``aɪɚ``, ``əl``). Recognisers learn better on a compact set, so :data:`SPLIT` cuts the
fused symbols into their parts and :data:`MERGE` folds variants into their nearest phone
(``ɐ`` and ``ᵻ`` are reduced vowels, ``ɜː`` is the stressed ``ɚ``). The table is fixed, so a
model's output layer and its checkpoints stay valid whatever text comes later.

espeak-ng is GPL-3; it runs as a separate library reached through phonemizer at run time and is
not distributed with voxmorph (see the README's licence section).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from voxmorph.errors import UserError

PHONES = (
    "n s ɪ k l t ɹ ə d z m æ ɛ ɚ b p oʊ ɑː eɪ i f ɡ aɪ ʌ v ŋ uː h ʃ w dʒ ɾ tʃ j ɔː aʊ θ ʊ ɔɪ ð ʒ"
).split()
"""The phone inventory, in order of frequency in English words."""

BLANK = "_"
SYMBOLS = (BLANK, *PHONES)
"""Output symbols of phone recognisers: the CTC blank (id 0), then :data:`PHONES`."""
SYMBOL_IDS = {s: i for i, s in enumerate(SYMBOLS)}

SPLIT = {
    "ɑːɹ": ("ɑː", "ɹ"), "oːɹ": ("ɔː", "ɹ"), "ɔːɹ": ("ɔː", "ɹ"), "ɛɹ": ("ɛ", "ɹ"), "ʊɹ": ("ʊ", "ɹ"),
    "ɪɹ": ("ɪ", "ɹ"), "aɪɚ": ("aɪ", "ɚ"), "aɪə": ("aɪ", "ə"), "iə": ("i", "ə"), "əl": ("ə", "l"),
    "n̩": ("ə", "n"),
}
MERGE = {
    "ɐ": "ə", "ᵻ": "ɪ", "ɜː": "ɚ", "ɔ": "ɔː", "oː": "oʊ", "iː": "i", "iːː": "i", "ʔ": "t", "x": "k",
    "r": "ɹ", "e": "ɛ", "a": "æ", "o": "oʊ", "u": "uː", "ɒ": "ɑː", "ɑ": "ɑː", "ɬ": "l", "ç": "h",
}


def normalise_phone(symbol: str) -> tuple[str, ...]:
    """One espeak-ng symbol -> phones of :data:`PHONES` (empty if it has no counterpart)."""
    if symbol in SPLIT:
        return SPLIT[symbol]
    symbol = MERGE.get(symbol, symbol)
    return (symbol,) if symbol in SYMBOL_IDS else ()


@lru_cache(maxsize=1)
def _backend():
    try:
        from phonemizer.backend import EspeakBackend

        quiet = logging.getLogger("voxmorph.phonemizer")  # numbers read out change word counts: expected
        quiet.setLevel(logging.ERROR)
        return EspeakBackend("en-us", preserve_punctuation=False, with_stress=False, logger=quiet)
    except (ImportError, RuntimeError) as err:
        hint = "install it (apt-get install espeak-ng)"
        raise UserError(f"espeak-ng is needed for phonemes ({err}); {hint}") from None


def phonemize(texts: list[str]) -> list[list[str]]:
    """English sentences -> one phone list each (digits and abbreviations are read out by espeak-ng)."""
    from phonemizer.separator import Separator

    lines = _backend().phonemize(list(texts), separator=Separator(phone=" ", word=" | ", syllable=""),
                                 strip=True, njobs=1)
    return [[p for s in line.split() if s != "|" for p in normalise_phone(s)] for line in lines]


def phonemize_words(texts: list[str]) -> list[list[list[str]]]:
    """English phrases -> per phrase, per word, its phones (words without a phone dropped)."""
    from phonemizer.separator import Separator

    lines = _backend().phonemize(list(texts), separator=Separator(phone=" ", word=" | ", syllable=""),
                                 strip=True, njobs=1)
    out = []
    for line in lines:
        words = [[p for s in w.split() for p in normalise_phone(s)] for w in line.split("|")]
        out.append([w for w in words if w])
    return out


def encode(phones: list[str]) -> list[int]:
    """Phones -> symbol ids (``1 ..``; ``0`` is the blank)."""
    return [SYMBOL_IDS[p] for p in phones]


def decode(ids: list[int]) -> list[str]:
    return [SYMBOLS[i] for i in ids]
