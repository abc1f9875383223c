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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.dsp import denoise
from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.errors import UserError
from voxmorph.models.checkpoint_io import weights_id
from voxmorph.models.content import ContentEncoder, load_content
from voxmorph.models.decoder import MelDecoder, VoiceConditioning, load_decoder, rebuild_mel
from voxmorph.pipeline.analysis import StatsAccumulator
from voxmorph.pipeline.chunking import ChunkedConverter
from voxmorph.pipeline.vocoder import NeuralVocoder
from voxmorph.pipeline.voice import Voice
from voxmorph.pipeline.voice_mapping import MappingOptions, VoiceMapping

WEIGHTS = Path(__file__).resolve().parent.parent / "models" / "weights"


@dataclass(frozen=True)
class NeuralModels:
    """The three trained stages of the neural converter."""

    content: ContentEncoder
    decoder: MelDecoder
    vocoder: NeuralVocoder
    decoder_id: str
    """Fingerprint of the decoder's weights; a voice adapter is only used with the decoder it was tuned on."""

    @classmethod
    def load(cls, content: str | Path | None = None, decoder: str | Path | None = None,
             vocoder: str | Path | None = None) -> NeuralModels:
        """Each stage from its folder, the shipped one where none is given (the shipped vocoder
        here is the copy-synthesis one fine-tuned on the shipped decoder's output)."""
        content_dir, decoder_dir = Path(content or WEIGHTS / "content"), Path(decoder or WEIGHTS / "decoder")
        for d in (content_dir, decoder_dir):
            if not (d / "config.json").exists():
                raise UserError(f"{d}: no trained model there; the neural converter is not available yet")
        c, _ = load_content(content_dir)
        dec, _ = load_decoder(decoder_dir)
        voc = NeuralVocoder.load(vocoder or WEIGHTS / "vocoder-converter")
        return cls(c, dec, voc, weights_id(decoder_dir))

    def conditioning(self, voice: Voice) -> VoiceConditioning:
        """The decoder conditioning of ``voice``: its adapter (trained, or a calibration) if it was
        made for this decoder, else :meth:`zero_shot`."""
        a = voice.adapter
        if a is not None and a.decoder == self.decoder_id:
            t = {k: torch.from_numpy(np.asarray(v, np.float32)) for k, v in a.arrays.items()}
            return VoiceConditioning(t["u"][None], t["film"], t["mel_bias"])
        return self.zero_shot(voice)

    @torch.no_grad()
    def zero_shot(self, voice: Voice) -> VoiceConditioning:
        """``voice`` from its speaker embedding alone (style latent 0, the prior mean)."""
        speaker = torch.from_numpy(np.asarray(voice.embedding, np.float32))[None]
        return self.decoder.voice(speaker, torch.zeros(1, self.decoder.config.style_dim))

    def adapted(self, voice: Voice) -> bool | None:
        """True if ``voice`` has an adapter (or calibration) for this decoder, False if it has one
        for another decoder (so it converts zero-shot), None if it has none."""
        return None if voice.adapter is None else voice.adapter.decoder == self.decoder_id


@dataclass(frozen=True)
class NeuralConverterOptions:
    mapping: MappingOptions = MappingOptions()
    f0_tracker: str = "harvest"
    denoise: bool = False
    chunk_s: float = 10.0
    context_s: float = 0.5
    fade_s: float = 0.05


class NeuralConverter(ChunkedConverter):
    """Converts any voice to ``target``; ``(n,)`` float32 16 kHz in, same length out."""

    def __init__(self, target: Voice, models: NeuralModels,
                 options: NeuralConverterOptions = NeuralConverterOptions()):
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
        return np.clip(y, -1.0, 1.0)

