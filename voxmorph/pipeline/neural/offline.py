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
from voxmorph.models.decoder import rebuild_mel
from voxmorph.pipeline.chunking import ChunkedConverter
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.voices.mapping import VoiceMapping
from voxmorph.voices.statistics import StatsAccumulator
from voxmorph.voices.voice import Voice


class NeuralConverter(ChunkedConverter):
    """Converts any voice to ``target``; ``(n,)`` float32 16 kHz in, same length out."""

    def __init__(self, target: Voice, models: NeuralModels,
                 options: ConversionOptions = ConversionOptions()):
        self.models = models
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
        mel_hat = rebuild_mel(self.models.content, self.models.decoder, x, f0_t, self.voice)
        y = self.models.vocoder.synthesise(mel_hat[0], f0_t[0])
        y = np.pad(y[: x.size], (0, max(0, x.size - y.size)))
        return peak_limit(y)

