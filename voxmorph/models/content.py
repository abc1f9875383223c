"""The content encoder: log-mel -> speaker-independent content features and phone logits.

A stack of causal ConvNeXt blocks reads log-mel at the frame rate. Its output goes through a
small bottleneck (the *content*, ``dim`` channels per 10 ms frame) and a linear phone head over
:data:`voxmorph.text.phonemes.SYMBOLS` (CTC, blank first). Training makes the content phonetic
(CTC through the linear head) and speaker-free (a speaker classifier behind gradient reversal,
in :mod:`voxmorph.models.adversary`); the decoder reads the content, the recogniser the logits.

Look-ahead: the network itself is causal, and its outputs are shifted back by ``lookahead``
frames, so frame ``t`` of the content depends on mel frames ``<= t + lookahead`` through every
layer. Offline this is a pad at the end; the live form
(:class:`voxmorph.models.frame_neural.FrameContent`) emits frame ``t - lookahead`` when mel frame
``t`` arrives, i.e. it is ``lookahead`` frames late.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from voxmorph.audio.constants import N_MELS
from voxmorph.audio.features import MEL_MEAN, MEL_STD, SILENCE_LOG_MEL
from voxmorph.models.blocks import CausalConv1d, CausalConvNeXtBlock, ChannelNorm, pointwise
from voxmorph.models.checkpoint_io import ModelFolder
from voxmorph.text.phonemes import SYMBOLS

KIND = "content-encoder"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ContentConfig:
    channels: int = 192
    blocks: int = 6
    expansion: int = 3
    kernel: int = 5
    dim: int = 64
    """Content channels: the bottleneck the decoder reads."""
    lookahead: int = 2
    """Frames of look-ahead (10 ms each)."""


CONFIGS = {
    "debug": ContentConfig(channels=24, blocks=1, expansion=2, dim=8),
    "small": ContentConfig(),
    "base": ContentConfig(channels=256, blocks=8),
}


class ContentEncoder(nn.Module):
    """``forward(mel (B, N_MELS, T)) -> (content (B, dim, T), logits (B, len(SYMBOLS), T))``;
    frame ``t`` of both depends on mel frames ``<= t + lookahead``."""

    def __init__(self, config: ContentConfig = ContentConfig()):
        super().__init__()
        self.config = config
        c = config.channels
        self.inp = CausalConv1d(N_MELS, c, 3)
        self.blocks = nn.ModuleList(
            CausalConvNeXtBlock(c, config.expansion, config.kernel) for _ in range(config.blocks)
        )
        self.norm = ChannelNorm(c, eps=1e-6)
        self.bottleneck = nn.Conv1d(c, config.dim, 1)
        self.phones = nn.Conv1d(config.dim, len(SYMBOLS), 1)

    def _head(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        content = pointwise(self.bottleneck, self.norm(h).transpose(1, 2))  # (B, T, dim)
        return content.transpose(1, 2), pointwise(self.phones, content).transpose(1, 2)

    def causal(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The unshifted network: frame ``t`` from mel frames ``<= t``."""
        h = self.inp((mel - MEL_MEAN) / MEL_STD)
        for block in self.blocks:
            h = block(h)
        return self._head(h)

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        la = self.config.lookahead
        content, logits = self.causal(nn.functional.pad(mel, (0, la), value=SILENCE_LOG_MEL))
        return content[..., la:], logits[..., la:]


def best_path(logits: torch.Tensor) -> list[int]:
    """``(symbols, T)`` CTC logits -> symbol ids: best symbol per frame, repeats merged, blanks dropped."""
    best = logits.argmax(0).tolist()
    return [s for i, s in enumerate(best) if s != 0 and (i == 0 or s != best[i - 1])]


_FOLDER = ModelFolder(KIND, FORMAT_VERSION, "content encoder")


def save_content(model: ContentEncoder, folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save(model, folder, card)


def load_content(folder: str | Path) -> tuple[ContentEncoder, dict]:
    return _FOLDER.load(folder, lambda config: ContentEncoder(ContentConfig(**config)))
