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

import numpy as np
import torch

from voxmorph.audio.dsp import denoise, peak_limit
from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.features import energy_db, log_mel
from voxmorph.emotion.style import Expression
from voxmorph.models.decoder import ENERGY_MEAN, frame_conditioning, rebuild_mel
from voxmorph.pipeline.chunking import ChunkedConverter
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.voices.mapping import VoiceMapping
from voxmorph.voices.statistics import StatsAccumulator
from voxmorph.voices.voice import Voice


class NeuralConverter(ChunkedConverter):
    """Converts any voice to ``target``; ``(n,)`` float32 16 kHz in, same length out."""

    def __init__(self, target: Voice, models: NeuralModels,
                 options: ConversionOptions = ConversionOptions(), expression: Expression | None = None):
        self.models = models
        self.expression = None if expression is None or expression.neutral else expression
        self.stretch = self.expression.tempo if self.expression else 1.0
        self._centre = target.stats.log_f0_mean
        self.mapping = VoiceMapping(target.stats, options.mapping)
        self.voice = models.conditioning(target)
        self.options = options
        self.tracker = get_tracker(options.f0_tracker)
        self.reset()

    def reset(self) -> None:
        """Forget the source statistics (call before a new speaker)."""
        self._source = StatsAccumulator()

    @torch.inference_mode()
    def convert_chunk(self, x: np.ndarray) -> np.ndarray:
        if self.options.denoise:
            x = denoise(x)
        f0 = mel_frame_f0(self.tracker, x)
        self._source.add_f0(f0)
        source = self._source.result()
        if source is not None:
            f0 = self.mapping.map_f0(f0, source)
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
        """:func:`rebuild_mel` with the emotion applied: frames stretched to its tempo, its pitch
        level and range, its dynamics, its spectral change -> ``(mel, f0)`` on the new time axis."""
        e = self.expression
        frames = f0.shape[-1]
        content, _ = self.models.content(log_mel(x)[None, :, :frames])
        n = e.frames_out(frames)
        f0 = e.f0(e.stretch(f0, n, voicing=True), centre=self._centre)
        energy = e.energy(e.stretch(energy_db(x)[None, :frames], n), centre=ENERGY_MEAN)
        mel = self.models.decoder.render(frame_conditioning(e.stretch(content, n), f0, energy), self.voice)
        return e.mel(mel), f0

