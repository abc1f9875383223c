"""Text to speech in any voice: text front-end -> text-to-frames -> the converter's decoder -> vocoder.

A sentence at a time: the text is normalised (:mod:`voxmorph.text.normalise`), cut into
sentences, turned into phone tokens (espeak-ng G2P, :mod:`voxmorph.text.tokens`) a few sentences
at a time; the text-to-frames model (:mod:`voxmorph.models.tts`) gives durations and, per frame,
content, F0 (in the voice's own range: its log-F0 mean and spread) and energy; the neural
converter's decoder renders them as the voice's log-mel (zero-shot, calibrated or adapted,
exactly as ``convert`` would) and its vocoder makes the sound. :meth:`Synthesiser.stream` yields
each sentence's audio as soon as it is made, so memory stays bounded and the first sound comes
after one sentence; :meth:`Synthesiser.speak` is the same stream joined.

With an emotion (:class:`~voxmorph.emotion.style.Expression`), the reading takes its tempo, its
pitch and loudness change (the styles' constants, or the learned prosody model's contours with
its latent drawn from the seed) and its spectral change, scaled by the intensity.

Punctuation shapes the reading: a comma, semicolon, colon or bracket makes a pause; ``?`` raises
the pitch over the last word; ``!`` widens the pitch range and lifts the level. The style latent
is drawn per sentence from the prior scaled by ``temperature`` (0 = the mean reading), from a
seed, so a take is reproducible.

Inference only: no training machinery is loaded.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.constants import HOP
from voxmorph.audio.dsp import peak_limit
from voxmorph.emotion.style import Expression
from voxmorph.errors import UserError
from voxmorph.models.decoder import ENERGY_MEAN, ENERGY_STD, frame_conditioning
from voxmorph.models.tts import TextToFrames, load_tts
from voxmorph.paths import shipped_model
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.text.normalise import normalise, split_sentences
from voxmorph.text.tokens import EDGE, PAUSE, Tokens, tokenise
from voxmorph.voices.voice import Voice

SENTENCES_PER_CALL = 8
"""Sentences tokenised per espeak-ng call while streaming."""
QUESTION_RISE = 1.5
"""Rise of log F0 over a question's last word, in the voice's standard deviations."""
EXCLAIM_RANGE, EXCLAIM_LIFT = 1.3, 0.1
"""``!``: pitch deviations scaled by this; energy raised by this (normalised units, 2 dB)."""
MIN_PAUSE, EDGE_FRAMES = 12, (5, 25)
"""Frames of a phrase pause at least; of the silence before and after a sentence, at least/most."""


@dataclass(frozen=True)
class SpeakOptions:
    rate: float = 1.0
    """Speaking rate: 1 as trained, 1.25 a quarter faster."""
    temperature: float = 0.6
    """Spread of the style latent (0: the same, average reading every time)."""
    seed: int | None = None
    """Seed of the style latents; None draws one (so takes differ)."""
    emotion: str | None = None
    """An emotion from :data:`voxmorph.emotion.names.EMOTIONS` (None: neutral reading)."""
    intensity: float | None = None
    """Of the emotion: 0 none, 1 as acted (the default), up to 1.5."""
    learned_prosody: bool = False
    """The emotion's pitch and loudness contours from the learned prosody model (its latent from
    the seed) instead of the styles' constant changes."""


class Synthesiser:
    """``speak(text) -> (n,) float32 audio at 16 kHz`` in ``voice``."""

    def __init__(self, voice: Voice, models: NeuralModels, tts: TextToFrames,
                 options: SpeakOptions = SpeakOptions()):
        if not 0.25 <= options.rate <= 4.0:
            raise UserError(f"rate {options.rate}: give a speaking rate between 0.25 and 4")
        if options.temperature < 0:
            raise UserError(f"temperature {options.temperature}: give 0 or more")
        if tts.config.content_dim != models.decoder.config.content_dim:
            raise UserError("the text-to-frames model was trained for another content encoder "
                            "than the decoder reads")
        self.models, self.tts, self.options = models, tts, options
        self.seed = options.seed if options.seed is not None else secrets.randbits(31)
        self.expression = Expression.of(options.emotion, options.intensity, seed=self.seed,
                                        learned=options.learned_prosody)
        self.voice = models.conditioning(voice)
        self.log_f0 = (voice.stats.log_f0_mean, voice.stats.log_f0_std)

    @classmethod
    def load(cls, voice: Voice, tts_model: str | Path | None = None, options: SpeakOptions = SpeakOptions(),
             models: NeuralModels | None = None) -> Synthesiser:
        folder = Path(tts_model or shipped_model("tts"))
        if not (folder / "config.json").exists():
            raise UserError(f"{folder}: no trained text-to-frames model there")
        tts, _ = load_tts(folder)
        return cls(voice, models or NeuralModels.load(), tts, options)

    @staticmethod
    def sentences(text: str) -> list[tuple[str, str]]:
        """Normalised sentences of ``text``; a one-line error if there is nothing to say."""
        if not text.strip():
            raise UserError("the text is empty")
        found = split_sentences(normalise(text))
        if not found:
            raise UserError("the text has no words to speak (only punctuation or symbols)")
        return found

    def stream(self, text: str) -> Iterator[np.ndarray]:
        """Each sentence's audio in order (the first after one sentence's work)."""
        return self.stream_sentences(self.sentences(text))

    def stream_sentences(self, found: list[tuple[str, str]]) -> Iterator[np.ndarray]:
        """:meth:`stream` of sentences already found by :meth:`sentences`."""
        index = 0
        for lo in range(0, len(found), SENTENCES_PER_CALL):
            for tok in tokenise(found[lo : lo + SENTENCES_PER_CALL]):
                yield self.sentence(tok, index)
                index += 1

    def speak(self, text: str) -> np.ndarray:
        parts = list(self.stream(text))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    @torch.inference_mode()
    def frames(self, tok: Tokens, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One sentence -> ``(content (1, D, T), f0 (1, T) Hz, energy (1, T) dB)``."""
        g = torch.Generator().manual_seed(self.seed * 100_003 + index)
        z = torch.randn(1, self.tts.config.style_dim, generator=g) * self.options.temperature
        ids = torch.tensor([tok.ids])
        rate = self.options.rate / (self.expression.tempo if self.expression else 1.0)
        h, durations = self.tts.predict_durations(ids, torch.tensor([tok.word_start]), z, rate=rate)
        durations = torch.from_numpy(_shape_pauses(np.array(tok.ids), durations[0].numpy()))
        out, _ = self.tts.decode(h, durations[None])
        d = out.shape[1] - 3
        content, lf0, voiced, energy = out[:, :d], out[0, d].clone(), out[0, d + 1] > 0, out[0, d + 2].clone()
        last_word = _last_word_frames(np.array(tok.ids), np.array(tok.word_start), durations.numpy())
        if tok.end == "?":
            a, b = last_word
            lf0[a:b] += torch.linspace(0.0, QUESTION_RISE, b - a)
        elif tok.end == "!":
            lf0 = lf0 * EXCLAIM_RANGE
            energy = energy + EXCLAIM_LIFT
        mean, std = self.log_f0
        f0 = torch.where(voiced, torch.exp(mean + std * lf0), torch.zeros_like(lf0))[None]
        energy = (energy * ENERGY_STD + ENERGY_MEAN)[None]
        if self.expression is not None:
            f0, energy = self.expression.contour(f0, energy, centre=mean, energy_centre=ENERGY_MEAN)
        return content, f0, energy

    @torch.inference_mode()
    def sentence(self, tok: Tokens, index: int = 0) -> np.ndarray:
        """One sentence's audio (``index`` picks its style latent from the seed)."""
        content, f0, energy = self.frames(tok, index)
        mel = self.models.decoder.render(frame_conditioning(content, f0, energy), self.voice)
        if self.expression is not None:
            mel = self.expression.mel(mel)
        y = self.models.vocoder.synthesise(mel[0], f0[0])
        return peak_limit(np.asarray(y[: f0.shape[-1] * HOP], np.float32))


def _shape_pauses(ids: np.ndarray, durations: np.ndarray) -> np.ndarray:
    out = durations.copy()
    out[ids == PAUSE] = np.maximum(out[ids == PAUSE], MIN_PAUSE)
    out[ids == EDGE] = np.clip(out[ids == EDGE], *EDGE_FRAMES)
    return out


def _last_word_frames(ids: np.ndarray, word_start: np.ndarray, durations: np.ndarray) -> tuple[int, int]:
    """Frame span of the sentence's last word (its first phone to the final ``EDGE``)."""
    ends = np.cumsum(durations)
    starts = np.flatnonzero(word_start)
    first = int(starts[-1]) if starts.size else 1
    return int(ends[first - 1]), int(ends[len(ids) - 2])
