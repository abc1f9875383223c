"""The neural converter's three trained stages, loaded together, and how a voice conditions them.

Inference only: each stage comes from a self-describing folder (the shipped ones by default) and
no training machinery is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voxmorph.errors import UserError
from voxmorph.models.checkpoint_io import weights_id
from voxmorph.models.content import ContentEncoder, load_content
from voxmorph.models.decoder import MelDecoder, VoiceConditioning, load_decoder
from voxmorph.paths import shipped_model
from voxmorph.pipeline.vocoder import NeuralVocoder
from voxmorph.voices.voice import Voice


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
        content_dir = Path(content or shipped_model("content"))
        decoder_dir = Path(decoder or shipped_model("decoder"))
        for d in (content_dir, decoder_dir):
            if not (d / "config.json").exists():
                raise UserError(f"{d}: no trained model there; the neural converter is not available yet")
        c, _ = load_content(content_dir)
        dec, _ = load_decoder(decoder_dir)
        voc = NeuralVocoder.load(vocoder or shipped_model("vocoder-converter"))
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
