"""The content encoder's and the decoder's streams in plain numpy, for the live neural converter.

As :mod:`voxmorph.models.frame_vocoder` does for the vocoder: one 10 ms frame through a torch
stream costs a few hundred small module calls, whose dispatch outweighs the arithmetic. These
twins copy the trained weights into numpy arrays (:mod:`voxmorph.models.frame_steps`) and compute
the same frames; tests compare them with the offline torch models (``ContentEncoder.forward``,
``MelDecoder.render``), which they equal frame for frame, ``lookahead`` frames late. These twins
and the offline models are the two forms of each; inference only, the weights are a copy taken
when they are built.
"""

from __future__ import annotations

import numpy as np
import torch

from voxmorph.audio.features import MEL_MEAN, MEL_STD
from voxmorph.models.blocks import LeadIn
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import MelDecoder, VoiceConditioning
from voxmorph.models.frame_steps import ConvNeXtStep, ConvStep, array, layer_norm


def _pointwise(conv: torch.nn.Conv1d) -> tuple[np.ndarray, np.ndarray]:
    return array(conv.weight[:, :, 0].T), array(conv.bias)


class FrameContent:
    """Numpy twin of :class:`~voxmorph.models.content.ContentStream` (content only):
    ``process(mel (N_MELS, k)) -> content (dim, k')``, ``lookahead`` frames behind."""

    def __init__(self, model: ContentEncoder):
        self.inp = ConvStep(model.inp)
        self.blocks = [ConvNeXtStep(b) for b in model.blocks]
        self.norm = (array(model.norm.weight), array(model.norm.bias), model.norm.eps)
        self.w, self.b = _pointwise(model.bottleneck)
        self.dim = model.config.dim
        self.lead = LeadIn(model.config.lookahead)

    def process(self, mel: np.ndarray) -> np.ndarray:
        out = []
        frames = ((np.asarray(mel, np.float32) - MEL_MEAN) / MEL_STD).T
        drop = self.lead.drop(len(frames))
        for i, frame in enumerate(frames):
            h = self.inp(frame)
            for block in self.blocks:
                h = block(h)
            if i < drop:
                continue
            out.append(layer_norm(h, *self.norm) @ self.w + self.b)
        return np.stack(out, axis=1) if out else np.zeros((self.dim, 0), np.float32)


class FrameDecoder:
    """Numpy twin of :class:`~voxmorph.models.decoder.DecoderStream` for one voice:
    ``process(cond (content_dim + 3, k)) -> log-mel (N_MELS, k')``, ``lookahead`` frames behind."""

    def __init__(self, model: MelDecoder, voice: VoiceConditioning):
        self.inp = ConvStep(model.inp)
        self.blocks = [ConvNeXtStep(b.block) for b in model.blocks]
        self.films = []
        with torch.no_grad():
            for i, block in enumerate(model.blocks):
                film = block.film(voice.u)[0]
                if voice.film is not None:
                    film = film + voice.film[i]
                scale, shift = array(film).reshape(2, -1)
                self.films.append((1.0 + scale, shift))
        self.norm = (array(model.norm.weight), array(model.norm.bias), model.norm.eps)
        self.w, self.b = _pointwise(model.head)
        if voice.mel_bias is not None:
            self.b = self.b + array(voice.mel_bias)
        self.lead = LeadIn(model.config.lookahead)

    def process(self, cond: np.ndarray) -> np.ndarray:
        out = []
        frames = np.asarray(cond, np.float32).T
        drop = self.lead.drop(len(frames))
        for i, frame in enumerate(frames):
            h = self.inp(frame)
            for block, (scale, shift) in zip(self.blocks, self.films, strict=True):
                h = block(h) * scale + shift
            if i < drop:
                continue
            out.append(layer_norm(h, *self.norm) @ self.w + self.b)
        return np.stack(out, axis=1) * MEL_STD + MEL_MEAN if out else np.zeros((len(self.b), 0), np.float32)
