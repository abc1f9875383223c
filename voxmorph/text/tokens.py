"""Sentences -> the speech synthesiser's input tokens: phones, pauses and sentence edges.

A sentence becomes ``EDGE, phones of word 1, phones of word 2, ..., EDGE`` with a ``PAUSE``
where its punctuation (``, ; : ( ) "``) breaks a phrase, and a flag on each word's first phone.
Phone ids are those of :data:`voxmorph.text.phonemes.SYMBOLS` (1 .. 41; 0 is padding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxmorph.text.phonemes import SYMBOLS, encode, phonemize_words

PAD = 0
"""Token id of padding (the phone symbols keep their ids: 1 .. len(SYMBOLS) - 1)."""
PAUSE = len(SYMBOLS)
"""A pause inside a sentence (a comma, a breath)."""
EDGE = len(SYMBOLS) + 1
"""The silence before and after a sentence."""
N_TOKENS = len(SYMBOLS) + 2

PHRASE_BREAK = re.compile(r"\s*[,;:()\"]+\s*")


@dataclass(frozen=True)
class Tokens:
    """One sentence's tokens, its word-start flags and how it ends (``.``, ``?`` or ``!``)."""

    ids: tuple[int, ...]
    word_start: tuple[int, ...]
    end: str = "."


def from_words(phrases: list[list[list[str]]], end: str = ".") -> Tokens:
    """Phrases of words of phones -> :class:`Tokens` (a ``PAUSE`` between phrases)."""
    ids, starts = [EDGE], [0]
    for i, words in enumerate(p for p in phrases if p):
        if i:
            ids.append(PAUSE)
            starts.append(0)
        for word in words:
            ids += encode(word)
            starts += [1] + [0] * (len(word) - 1)
    ids.append(EDGE)
    starts.append(0)
    return Tokens(tuple(ids), tuple(starts), end)


def tokenise(sentences: list[tuple[str, str]]) -> list[Tokens]:
    """``(normalised sentence, end mark)`` pairs -> their tokens (one espeak-ng call for all);
    a sentence with no phone at all gives no entry."""
    phrases = [[p for p in PHRASE_BREAK.split(s) if p.strip()] for s, _ in sentences]
    flat = [p for ps in phrases for p in ps]
    words = iter(phonemize_words(flat) if flat else [])
    out = []
    for ps, (_, end) in zip(phrases, sentences, strict=True):
        tok = from_words([next(words) for _ in ps], end)
        if len(tok.ids) > 2:
            out.append(tok)
    return out
