"""The neural converter: content encoder -> VAE decoder -> neural vocoder.

Per chunk of source audio: log-mel, F0 (tracker of choice) and frame energy; the content encoder
turns the mel into speaker-free content; the source's F0 is moved into the target's range
(log-Gaussian, from the running source statistics, as the WORLD baseline does); the decoder
renders the target voice's log-mel from content, converted F0, energy, the voice's speaker
embedding and its style latent; the vocoder turns mel and F0 into audio.

Inference only: the three models come from self-describing folders (the shipped ones by default)
and no training machinery is loaded.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import denoise, peak_limit
from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.vad import VoiceActivityDetector
from voxmorph.emotion.style import Expression
from voxmorph.models.decoder import ENERGY_MEAN, frame_conditioning, rebuild_mel, source_frames
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.pipeline.chunking import ChunkedConverter
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.voices.baseline import kept_level, load_baseline
from voxmorph.voices.mapping import VoiceMapping
from voxmorph.voices.statistics import StatsAccumulator
from voxmorph.voices.voice import Voice


class NeuralConverter(ChunkedConverter):
    """Converts any voice to ``target``; ``(n,)`` float32 16 kHz in, same length out (times the
    ``expression``'s tempo when one is given)."""

    def __init__(self, target: Voice, models: NeuralModels,
                 options: ConversionOptions = ConversionOptions(), expression: Expression | None = None):
        self.models = models
        self.expression = None if expression is None or expression.neutral else expression
        self.stretch = self.expression.tempo if self.expression else 1.0
        self._centre = target.stats.log_f0_mean
        self._baseline = load_baseline() if options.keep_emotion else None
        self._vad = VoiceActivityDetector() if options.keep_emotion else None
        self.mapping = VoiceMapping(target.stats, replace(options.mapping, keep_range=True)
                                    if options.keep_emotion else options.mapping)
        self.voice = models.conditioning(target)
        self.options = options
        self.tracker = get_tracker(options.f0_tracker)
        self.reset()

    def reset(self) -> None:
        """Forget the source statistics (call before a new speaker)."""
        self._source = StatsAccumulator()
        self._neutral = None  # the source speaker's predicted neutral pitch, from the first speech

    def _kept(self, x: np.ndarray, source) -> float:
        """The source's pitch level to keep (log F0 over its speaker's predicted neutral, beyond the
        prediction's error); 0 without a baseline or before a second of speech."""
        if self._baseline is None:
            return 0.0
        if self._neutral is None:
            speech = self._vad.speech_only(x)
            if speech.size < SAMPLE_RATE:
                return 0.0
            self._neutral = self._baseline.predict(SpeakerEncoder.shared().embed(speech))
        return kept_level(source.log_f0_mean, self._neutral)

    @torch.inference_mode()
    def convert_chunk(self, x: np.ndarray) -> np.ndarray:
        if self.options.denoise:
            x = denoise(x)
        f0 = mel_frame_f0(self.tracker, x)
        self._source.add_f0(f0)
        source = self._source.result()
        if source is not None:
            f0 = self.mapping.map_f0(f0, source, self._kept(x, source))
        f0_t = torch.from_numpy(np.asarray(f0, np.float32))[None]
        if self.expression is None:
            mel_hat = rebuild_mel(self.models.content, self.models.decoder, x, f0_t, self.voice)
        else:
            mel_hat, f0_t = self._expressive(x, f0_t)
        y = self.models.vocoder.synthesise(mel_hat[0], f0_t[0])
        n = round(x.size * self.stretch)
        y = np.pad(y[:n], (0, max(0, n - y.size)))
        return peak_limit(y)

    def _expressive(self, x: np.ndarray, f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`rebuild_mel` with the emotion applied: its pitch and loudness contours, frames
        stretched to its tempo, its spectral change -> ``(mel, f0)`` on the new time axis."""
        e = self.expression
        content, energy = source_frames(self.models.content, x, f0.shape[-1])
        n = e.frames_out(f0.shape[-1])
        f0, energy = e.contour(f0, energy, centre=self._centre, energy_centre=ENERGY_MEAN)
        f0, energy = e.stretch(f0, n, voicing=True), e.stretch(energy, n)
        mel = self.models.decoder.render(frame_conditioning(e.stretch(content, n), f0, energy), self.voice)
        return e.mel(mel), f0

