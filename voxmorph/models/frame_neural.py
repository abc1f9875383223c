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

from voxmorph.audio.features import MEL_MEAN, MEL_STD
from voxmorph.models.blocks import LeadIn
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import MelDecoder, VoiceConditioning
from voxmorph.models.frame_net import FrameNet, array


class FrameContent:
    """Twin of :class:`~voxmorph.models.content.ContentStream` (content only):
    ``process(mel (N_MELS, k)) -> content (dim, k')``, ``lookahead`` frames behind."""

    def __init__(self, model: ContentEncoder, int8: bool = False):
        self.net = FrameNet(model.inp, list(model.blocks), model.norm, model.bottleneck, int8=int8)
        self.lead = LeadIn(model.config.lookahead)

    def process(self, mel: np.ndarray) -> np.ndarray:
        frames = ((np.asarray(mel, np.float32) - MEL_MEAN) / MEL_STD).T
        out = self.net(frames)[self.lead.drop(len(frames)) :]
        return np.ascontiguousarray(out.T)


class FrameDecoder:
    """Twin of :class:`~voxmorph.models.decoder.DecoderStream` for one voice:
    ``process(cond (content_dim + 3, k)) -> log-mel (N_MELS, k')``, ``lookahead`` frames behind."""

    def __init__(self, model: MelDecoder, voice: VoiceConditioning, int8: bool = False):
        films = []
        with torch.no_grad():
            for i, block in enumerate(model.blocks):
                film = block.film(voice.u)[0]
                if voice.film is not None:
                    film = film + voice.film[i]
                scale, shift = array(film).reshape(2, -1)
                films.append((1.0 + scale, shift))
        bias = None if voice.mel_bias is None else array(voice.mel_bias)
        self.net = FrameNet(model.inp, [b.block for b in model.blocks], model.norm, model.head,
                            film=np.asarray(films, np.float32), head_bias=bias, int8=int8)
        self.lead = LeadIn(model.config.lookahead)

    def process(self, cond: np.ndarray) -> np.ndarray:
        frames = np.asarray(cond, np.float32).T
        out = self.net(frames)[self.lead.drop(len(frames)) :]
        return np.ascontiguousarray(out.T) * MEL_STD + MEL_MEAN
