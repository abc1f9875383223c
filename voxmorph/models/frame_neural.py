"""The content encoder's and the decoder's streams frame by frame, for the live neural converter.

As :mod:`voxmorph.models.frame_vocoder` does for the vocoder: one 10 ms frame through a torch
stream costs a few hundred small module calls, whose dispatch outweighs the arithmetic. These
twins copy the trained weights into a :class:`~voxmorph.models.frame_net.FrameNet` (one compiled
call per frame) and compute the same frames; tests compare them with the offline torch models
(``ContentEncoder.forward``, ``MelDecoder.render``), which they equal frame for frame,
``lookahead`` frames late. These twins and the offline models are the two forms of each;
inference only, the weights are a copy taken when they are built.
"""

from __future__ import annotations

import numpy as np
import torch

from voxmorph.audio.features import LOG_F0_MEAN, LOG_F0_STD, MEL_MEAN, MEL_STD
from voxmorph.models.blocks import LeadIn
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import ENERGY_MEAN, ENERGY_STD, MelDecoder, VoiceConditioning
from voxmorph.models.frame_net import COMPILED, NetForm, array


class FrameContent:
    """Twin of :class:`~voxmorph.models.content.ContentStream` (content only):
    ``process(mel (N_MELS, k)) -> content (dim, k')``, ``lookahead`` frames behind."""

    def __init__(self, model: ContentEncoder, form: NetForm = COMPILED):
        self.net = form.net(model.inp, list(model.blocks), model.norm, model.bottleneck)
        self.lead = LeadIn(model.config.lookahead)

    def process(self, mel: np.ndarray) -> np.ndarray:
        frames = ((np.asarray(mel, np.float32) - MEL_MEAN) / MEL_STD).T
        out = self.net(frames)[self.lead.drop(len(frames)) :]
        return np.ascontiguousarray(out.T)


def conditioning(content: np.ndarray, f0: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Numpy twin of :func:`~voxmorph.models.decoder.frame_conditioning` for one stream:
    ``content (D, k)``, ``f0 (k,)`` Hz, ``energy (k,)`` dB -> ``(D + 3, k)`` float32."""
    f0 = np.asarray(f0, np.float32)
    voiced = f0 > 0
    out = np.empty((content.shape[0] + 3, content.shape[1]), np.float32)
    out[:-3] = content
    out[-3] = np.where(voiced, (np.log(np.maximum(f0, 1.0)) - LOG_F0_MEAN) / LOG_F0_STD, 0.0)
    out[-2] = voiced
    out[-1] = (np.asarray(energy, np.float32) - ENERGY_MEAN) / ENERGY_STD
    return out


class FrameDecoder:
    """Twin of :class:`~voxmorph.models.decoder.DecoderStream` for one voice:
    ``process(cond (content_dim + 3, k)) -> log-mel (N_MELS, k')``, ``lookahead`` frames behind."""

    def __init__(self, model: MelDecoder, voice: VoiceConditioning, form: NetForm = COMPILED):
        films = []
        with torch.no_grad():
            for i, block in enumerate(model.blocks):
                film = block.film(voice.u)[0]
                if voice.film is not None:
                    film = film + voice.film[i]
                scale, shift = array(film).reshape(2, -1)
                films.append((1.0 + scale, shift))
        bias = None if voice.mel_bias is None else array(voice.mel_bias)
        self.net = form.net(model.inp, [b.block for b in model.blocks], model.norm, model.head,
                            film=np.asarray(films, np.float32), head_bias=bias)
        self.lead = LeadIn(model.config.lookahead)

    def process(self, cond: np.ndarray) -> np.ndarray:
        frames = np.asarray(cond, np.float32).T
        out = self.net(frames)[self.lead.drop(len(frames)) :]
        return np.ascontiguousarray(out.T) * MEL_STD + MEL_MEAN
