"""The text-to-frames model: phone tokens -> durations and, per 10 ms frame, what the decoder reads.

The speech synthesiser does not make mel or audio itself: it predicts, for every frame, the
content (the content encoder's speaker-free output), the speaker-normalised log F0 with a voicing
flag, and the frame energy, which the voice conversion decoder renders in any voice and the
vocoder turns into sound (:mod:`voxmorph.pipeline.speak`). So identity comes from the voice
system, and this model only says *what* is said and *how*.

Non-autoregressive, all convolutions (no attention, cheap on a CPU):

- a token encoder (embedding of phone / pause tokens and a word-start flag, ConvNeXt blocks) ->
  one vector per token;
- a **style latent** ``z`` (a VAE): a posterior encoder pools the target frames into a Gaussian,
  trained with a KL term toward ``N(0, I)``; at synthesis ``z`` is drawn from the prior (scaled
  by a temperature) or pinned, so prosody can vary from take to take as a reader's does. ``z``
  and an optional **condition vector** (an emotion embedding, in a later model; zeros here) are
  added to every token vector, so they shape durations and the frame contours alike;
- a duration predictor (log frames per token);
- length regulation by the durations (the forced-aligned ones in training), each frame also told
  its relative position inside its token;
- a frame decoder -> ``content`` (``content_dim``), normalised log F0, a voicing logit and
  normalised energy.

Training adds an adversarial critic on the frame sequences
(:class:`FrameCritic`, in the recipe), so the contours are not the flat average an L1 loss alone
gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from voxmorph.models.checkpoint_io import ModelFolder
from voxmorph.text.tokens import N_TOKENS, PAD, PAUSE

KIND = "text-to-frames"
FORMAT_VERSION = 1


PROSODY = 3
"""Frame channels after the content: normalised log F0, voicing logit, normalised energy."""


@dataclass(frozen=True)
class TtsConfig:
    content_dim: int = 64
    channels: int = 128
    encoder_blocks: int = 4
    duration_blocks: int = 2
    decoder_blocks: int = 4
    expansion: int = 2
    kernel: int = 5
    style_dim: int = 8
    posterior_channels: int = 64
    condition_dim: int = 0
    """Width of an extra per-utterance condition (an emotion embedding); 0 = none."""


CONFIGS = {
    "debug": TtsConfig(content_dim=8, channels=24, encoder_blocks=1, duration_blocks=1, decoder_blocks=1,
                       expansion=2, style_dim=2, posterior_channels=16),
    "small": TtsConfig(),
}


class ConvNeXtBlock(nn.Module):
    """A ConvNeXt block that sees both sides (``kernel // 2`` frames each), masked for padding."""

    def __init__(self, channels: int, expansion: int, kernel: int, dilation: int = 1):
        super().__init__()
        self.dwconv = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel // 2),
                                dilation=dilation, groups=channels)
        self.norm = nn.LayerNorm(channels, eps=1e-6)
        self.pw1 = nn.Linear(channels, expansion * channels)
        self.pw2 = nn.Linear(expansion * channels, channels)
        self.scale = nn.Parameter(torch.full((channels,), 0.1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.dwconv(x * mask).transpose(1, 2)
        h = self.pw2(nn.functional.gelu(self.pw1(self.norm(h)))) * self.scale
        return (x + h.transpose(1, 2)) * mask


class Stack(nn.Module):
    def __init__(self, channels: int, blocks: int, expansion: int, kernel: int, dilate: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(channels, expansion, kernel, 2 ** (i % 3) if dilate else 1) for i in range(blocks)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


def length_regulate(h: torch.Tensor, durations: torch.Tensor, frames: int | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``h (B, C, N)`` token vectors, ``durations (B, N)`` integer frames -> ``(frame vectors
    (B, C, T), position inside the token (B, 1, T) in [0, 1), frame mask (B, 1, T))``."""
    durations = durations.long().clamp(min=0)
    total = durations.sum(1)
    t = int(frames if frames is not None else max(int(total.max()), 1))
    ends = durations.cumsum(1)  # (B, N)
    idx = torch.arange(t)[None, :].repeat(h.shape[0], 1)
    token = torch.searchsorted(ends, idx, right=True).clamp(max=h.shape[2] - 1)  # (B, T)
    start = ends.gather(1, token) - durations.gather(1, token)
    pos = (idx - start).float() / durations.gather(1, token).clamp(min=1).float()
    out = h.gather(2, token[:, None, :].expand(-1, h.shape[1], -1))
    mask = (idx < total[:, None]).float()[:, None]
    return out * mask, pos[:, None] * mask, mask


class TextToFrames(nn.Module):
    """``forward(tokens (B, N), word_start (B, N), durations (B, N), z (B, style_dim)[, condition])
    -> (frames (B, content_dim + 3, T), log-duration prediction (B, N))``; :meth:`infer` predicts
    the durations itself."""

    def __init__(self, config: TtsConfig = TtsConfig()):
        super().__init__()
        self.config = config
        c = config.channels
        self.tokens = nn.Embedding(N_TOKENS, c, padding_idx=PAD)
        self.word_start = nn.Embedding(2, c)
        self.encoder = Stack(c, config.encoder_blocks, config.expansion, config.kernel)
        self.style = nn.Linear(config.style_dim, c)
        self.condition = nn.Linear(config.condition_dim, c) if config.condition_dim else None
        self.duration = Stack(c, config.duration_blocks, config.expansion, config.kernel)
        self.duration_out = nn.Conv1d(c, 1, 1)
        self.frame_in = nn.Conv1d(c + 1, c, 1)
        self.decoder = Stack(c, config.decoder_blocks, config.expansion, config.kernel, dilate=True)
        self.out = nn.Conv1d(c, config.content_dim + PROSODY, 1)
        p = config.posterior_channels
        self.posterior = nn.ModuleDict({
            "inp": nn.Conv1d(config.content_dim + PROSODY, p, 5, padding=2),
            "stack": Stack(p, 2, 2, 5),
            "out": nn.Linear(p, 2 * config.style_dim),
        })

    def encode_posterior(self, frames: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Target ``frames (B, content_dim + 3, T)`` -> ``(mu, logvar)`` of ``z``, each ``(B, style_dim)``."""
        h = self.posterior["stack"](self.posterior["inp"](frames) * mask, mask)
        pooled = h.sum(2) / mask.sum(2).clamp(min=1.0)
        mu, logvar = self.posterior["out"](pooled).chunk(2, dim=1)
        return mu, logvar.clamp(-8.0, 4.0)

    def encode(self, tokens: torch.Tensor, word_start: torch.Tensor, z: torch.Tensor,
               condition: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> token vectors ``(B, C, N)``, token mask ``(B, 1, N)``, log-duration prediction ``(B, N)``."""
        mask = (tokens != PAD).float()[:, None]
        h = (self.tokens(tokens) + self.word_start(word_start.long())).transpose(1, 2)
        h = self.encoder(h * mask, mask)
        g = self.style(z)
        if self.condition is not None:
            if condition is None:
                condition = z.new_zeros(z.shape[0], self.config.condition_dim)
            g = g + self.condition(condition)
        h = (h + g[:, :, None]) * mask
        log_d = self.duration_out(self.duration(h, mask))[:, 0] * mask[:, 0]
        return h, mask, log_d

    def decode(self, h: torch.Tensor, durations: torch.Tensor, frames: int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token vectors and integer durations -> ``(frames (B, content_dim + 3, T), mask (B, 1, T))``."""
        x, pos, mask = length_regulate(h, durations, frames)
        x = self.frame_in(torch.cat([x, pos], 1)) * mask
        return self.out(self.decoder(x, mask)) * mask, mask

    def forward(self, tokens, word_start, durations, z, condition=None, frames: int | None = None):
        h, _, log_d = self.encode(tokens, word_start, z, condition)
        out, _ = self.decode(h, durations, frames)
        return out, log_d

    @torch.no_grad()
    def predict_durations(self, tokens: torch.Tensor, word_start: torch.Tensor, z: torch.Tensor,
                          condition: torch.Tensor | None = None, rate: float = 1.0
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> ``(token vectors (B, C, N), durations (B, N))``: integer frames per token, divided by
        ``rate`` (2 = twice as fast), at least one for a phone. :meth:`decode` takes both."""
        h, mask, log_d = self.encode(tokens, word_start, z, condition)
        durations = torch.round(torch.expm1(log_d.clamp(min=0.0)) / rate) * mask[:, 0]
        durations = torch.where((tokens != PAD) & (tokens < PAUSE), durations.clamp(min=1), durations)
        return h, durations.long()

    @torch.no_grad()
    def infer(self, tokens: torch.Tensor, word_start: torch.Tensor, z: torch.Tensor,
              condition: torch.Tensor | None = None, rate: float = 1.0
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> ``(frames (B, content_dim + 3, T), durations (B, N))`` with predicted durations."""
        h, durations = self.predict_durations(tokens, word_start, z, condition, rate)
        out, _ = self.decode(h, durations)
        return out, durations


_FOLDER = ModelFolder(KIND, FORMAT_VERSION, "text-to-frames model")


def save_tts(model: TextToFrames, folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save(model, folder, card)


def load_tts(folder: str | Path) -> tuple[TextToFrames, dict]:
    return _FOLDER.load(folder, lambda config: TextToFrames(TtsConfig(**config)))


class FrameCritic(nn.Module):
    """The adversary of :class:`TextToFrames` (training only): a stack of strided 1-D convolutions
    over frame sequences ``(B, content_dim + 3, T)`` -> per-region real/fake scores and the
    feature maps (for feature matching)."""

    def __init__(self, in_channels: int, channels: int = 64):
        super().__init__()
        self.convs = nn.ModuleList([
            nn.Conv1d(in_channels, channels, 5, padding=2),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2),
            nn.Conv1d(channels, channels, 5, stride=2, padding=4, dilation=2),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2),
        ])
        self.out = nn.Conv1d(channels, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        for conv in self.convs:
            x = nn.functional.leaky_relu(conv(x), 0.2)
            feats.append(x)
        return self.out(x), feats
